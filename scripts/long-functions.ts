/**
 * Functions longer than a reader can hold: `node bin/run-ts.js scripts/long-functions.ts [--max N] [--json] [FOLDER...]`
 * (`npm run lint:functions`).
 *
 * Parses every .ts file under the folders (default daemon, adapters, pipelines) with the TypeScript compiler API (no
 * type checking) and lists each function, method, constructor, accessor, arrow function and function expression whose
 * body spans more than N lines (default 150), longest first, as `file:line name lines`. A nested function counts in its
 * own right and inside the one that holds it. Exits 1 when anything under daemon/ is listed: the daemon is the
 * composition root that newcomers read first, so it is held to the limit; adapters and pipelines are listed to watch.
 */
import ts from 'typescript';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = process.cwd();
const args = process.argv.slice(2);
const json = args.includes('--json');
const maxAt = args.indexOf('--max');
const max = maxAt >= 0 ? Number(args[maxAt + 1]) : 150;
if (!Number.isFinite(max) || max < 1) {
  console.error(`--max wants a positive number of lines, got ${args[maxAt + 1]}`);
  process.exit(2);
}
const folders = args.filter((a, i) => !a.startsWith('--') && !(maxAt >= 0 && i === maxAt + 1));
const ENFORCED = 'daemon/';

interface LongFunction {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
}

function tsFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...tsFilesUnder(full));
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** A readable name: the declaration's own, else the variable, property or call argument it is assigned to. */
function nameOf(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return `${classNameOf(node)}.constructor`;
  if (node.name) {
    const own = node.name.getText(source);
    return ts.isMethodDeclaration(node) || ts.isAccessor(node) ? `${classNameOf(node)}.${own}` : own;
  }
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText(source);
  if (ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(source).slice(0, 40)})`;
  return '(anonymous)';
}

function classNameOf(node: ts.Node): string {
  const owner = node.parent;
  return (ts.isClassLike(owner) || ts.isObjectLiteralExpression(owner)) && 'name' in owner && owner.name ? (owner.name as ts.Identifier).text : '(object)';
}

function longFunctionsIn(file: string): LongFunction[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration;
      const start = source.getLineAndCharacterOfPosition(fn.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(fn.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max) found.push({ file: path.relative(root, file), line: start + 1, name: nameOf(fn, source), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const targets = folders.length > 0 ? folders : ['daemon', 'adapters', 'pipelines'];
const long = targets
  .flatMap((dir) => tsFilesUnder(path.resolve(root, dir)))
  .flatMap(longFunctionsIn)
  .sort((a, b) => b.lines - a.lines);
if (json) console.log(JSON.stringify({ max, functions: long }, null, 2));
else {
  for (const f of long) console.log(`${f.file}:${f.line} ${f.name} ${f.lines} lines`);
  console.log(`${long.length} function(s) over ${max} lines in ${targets.join(', ')}`);
}
process.exitCode = long.some((f) => f.file.startsWith(ENFORCED)) ? 1 : 0;
