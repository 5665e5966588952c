/**
 * Exports nobody imports: `node bin/run-ts.js scripts/unused-exports.ts [--json] [PREFIX...]`.
 *
 * Reads every file of tsconfig.json with the TypeScript compiler API (no type checking, so it takes seconds) and
 * follows static imports, re-exports (`export { x } from`, `export *`), dynamic imports (`const { x } = await
 * import(...)`, `(await import(...)).x`; any other use of a dynamic import counts every export as used) and
 * `typeof import('...').x`. An export counts as used when another file imports it, directly or through re-exports.
 * Test files (`*.test.ts`) are entry points: their own exports are not listed. Prints `file: name (kind)` per unused
 * export, `local` when the file itself still uses the name (the `export` keyword could go) and `dead` when nothing
 * does, and the totals; PREFIX limits the listing to files under those paths. `--product` counts only imports by
 * product files (core, adapters, pipelines, daemon, config, dashboard/src): what it lists beyond the plain run is
 * product code that only tests and benchmarks use.
 */
import ts from 'typescript';
import path from 'node:path';

const root = process.cwd();
const args = process.argv.slice(2);
const json = args.includes('--json');
/** --product: count only uses from product files, listing what only tests and benchmarks import (research code). */
const productOnly = args.includes('--product');
const PRODUCT = /^(core|adapters|pipelines|daemon|config|dashboard\/src)\//;
const prefixes = args.filter((a) => !a.startsWith('--'));

const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), (f) => ts.sys.readFile(f));
const config = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
const files = config.fileNames.filter((f) => !f.endsWith('.d.ts')).map((f) => path.resolve(f));
const fileSet = new Set(files);

interface ModuleInfo {
  /** Own exports: name -> kind. */
  readonly exports: Map<string, string>;
  /** Re-exports: exported name -> [source file, name there]. */
  readonly reexports: Map<string, [string, string]>;
  /** `export * from` sources. */
  readonly stars: string[];
  readonly source: ts.SourceFile;
}

const modules = new Map<string, ModuleInfo>();
/** (file, name) pairs imported by some other file; '*' = every export. */
const used = new Map<string, Set<string>>();

function resolve(spec: string, from: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const r = ts.resolveModuleName(spec, from, config.options, ts.sys).resolvedModule;
  const target = r ? path.resolve(r.resolvedFileName) : path.resolve(path.dirname(from), spec);
  return fileSet.has(target) ? target : undefined;
}

function markUsed(file: string, name: string): void {
  const set = used.get(file) ?? new Set<string>();
  if (set.has(name)) return;
  set.add(name);
  used.set(file, set);
  const info = modules.get(file);
  if (!info) return;
  if (name === '*') {
    for (const [, [src, n]] of info.reexports) markUsed(src, n);
    for (const s of info.stars) markUsed(s, '*');
    return;
  }
  const re = info.reexports.get(name);
  if (re) markUsed(re[0], re[1]);
  else if (!info.exports.has(name)) for (const s of info.stars) markUsed(s, name);
}

const hasExport = (node: ts.Node) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
const isDefault = (node: ts.Node) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);

for (const file of files) {
  const text = ts.sys.readFile(file) ?? '';
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const info: ModuleInfo = { exports: new Map(), reexports: new Map(), stars: [], source };
  for (const st of source.statements) {
    if (ts.isExportDeclaration(st)) {
      const from = st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? resolve(st.moduleSpecifier.text, file) : undefined;
      if (!st.exportClause) {
        if (from) info.stars.push(from);
      } else if (ts.isNamedExports(st.exportClause)) {
        for (const el of st.exportClause.elements) {
          const local = (el.propertyName ?? el.name).text;
          if (from) info.reexports.set(el.name.text, [from, local]);
          else if (st.moduleSpecifier === undefined) info.exports.set(el.name.text, 'export list');
        }
      }
      continue;
    }
    if (ts.isExportAssignment(st)) {
      info.exports.set('default', 'default');
      continue;
    }
    if (!hasExport(st)) continue;
    const kind = ts.SyntaxKind[st.kind].replace(/Declaration|Statement/, '').toLowerCase();
    if (isDefault(st)) info.exports.set('default', kind);
    else if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) info.exports.set(d.name.text, 'const');
    } else {
      const name = (st as ts.DeclarationStatement).name;
      if (name && ts.isIdentifier(name)) info.exports.set(name.text, kind);
    }
  }
  modules.set(file, info);
}

/** Every import-like use in one file. */
function collectUses(file: string, source: ts.SourceFile): void {
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const target = resolve(node.moduleSpecifier.text, file);
      const clause = node.importClause;
      if (target && clause) {
        if (clause.name) markUsed(target, 'default');
        const nb = clause.namedBindings;
        if (nb && ts.isNamespaceImport(nb)) markUsed(target, '*');
        else if (nb) for (const el of nb.elements) markUsed(target, (el.propertyName ?? el.name).text);
      }
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      // Re-exports are followed when the re-exported name is used (markUsed); nothing to do here.
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      const target = arg && ts.isStringLiteral(arg) ? resolve(arg.text, file) : undefined;
      if (target) markDynamic(target, node);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const target = resolve(node.argument.literal.text, file);
      if (target) {
        if (node.qualifier) markUsed(target, ts.isIdentifier(node.qualifier) ? node.qualifier.text : node.qualifier.left.getText());
        else markUsed(target, '*');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

function markDynamic(target: string, call: ts.CallExpression): void {
  let node: ts.Node = call;
  while (ts.isAwaitExpression(node.parent) || ts.isParenthesizedExpression(node.parent) || ts.isAsExpression(node.parent)) node = node.parent;
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && ts.isObjectBindingPattern(parent.name)) {
    for (const el of parent.name.elements) {
      const n = el.propertyName ?? el.name;
      if (ts.isIdentifier(n)) markUsed(target, n.text);
      else markUsed(target, '*');
    }
  } else if (ts.isPropertyAccessExpression(parent) && parent.expression === node) {
    markUsed(target, parent.name.text);
  } else markUsed(target, '*');
}

for (const [file, info] of modules) if (!productOnly || PRODUCT.test(path.relative(root, file))) collectUses(file, info.source);

/** A property or member name (`a.x`, `{ x: 1 }`, `x: T` in a type), not a reference to a declaration. */
function isMemberName(id: ts.Identifier): boolean {
  const p = id.parent;
  return (
    (ts.isPropertyAccessExpression(p) && p.name === id) ||
    (ts.isQualifiedName(p) && p.right === id) ||
    ((ts.isPropertyAssignment(p) || ts.isPropertySignature(p) || ts.isPropertyDeclaration(p) || ts.isMethodDeclaration(p) || ts.isMethodSignature(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p) || ts.isEnumMember(p)) && p.name === id) ||
    (ts.isBindingElement(p) && p.propertyName === id) ||
    ts.isImportSpecifier(p) ||
    ts.isExportSpecifier(p)
  );
}

/** Whether the file itself refers to the name outside its export site. */
function usedLocally(source: ts.SourceFile, name: string): boolean {
  let count = 0;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === name && !isMemberName(node)) count++;
    ts.forEachChild(node, visit);
  };
  visit(source);
  return count > 1;
}

const rows: Array<{ file: string; name: string; kind: string; local: boolean }> = [];
for (const [file, info] of modules) {
  const rel = path.relative(root, file);
  if (rel.endsWith('.test.ts') || (productOnly && !PRODUCT.test(rel))) continue;
  const set = used.get(file);
  if (set?.has('*')) continue;
  for (const [name, kind] of info.exports) {
    if (set?.has(name)) continue;
    rows.push({ file: rel, name, kind, local: usedLocally(info.source, name) });
  }
}
const shown = prefixes.length ? rows.filter((r) => prefixes.some((p) => r.file.startsWith(p))) : rows;
if (json) console.log(JSON.stringify(shown, null, 2));
else {
  for (const r of shown) console.log(`${r.file}: ${r.name} (${r.kind}, ${r.local ? 'local' : 'dead'})`);
  const dead = shown.filter((r) => !r.local).length;
  console.log(`\n${shown.length} unused exports (${dead} dead, ${shown.length - dead} used only in their own file) in ${new Set(shown.map((r) => r.file)).size} files`);
}
