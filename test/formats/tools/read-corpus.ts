// How many real files spectrad reads, through the product: `npm run corpus:formats -- DIR|FILE ...`.
// Runs `spectrad inspect` (default options) on every file under the arguments and compares each spectrum's point
// count with what the file itself declares, read here without spectrad's reader: JCAMP-DX ##NPOINTS= (per block, in
// order), or for delimited text (RRUFF and other exports) the numeric rows before any ##END=. Prints one line per
// file not read with its declared count, then a summary; --json FILE also writes the summary and those lines.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface InspectLine {
  file: string;
  block?: number;
  points?: number;
  warnings?: Array<{ code: string }>;
  code?: string;
  error?: string;
}

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
if (args.length === 0) {
  console.error('usage: npm run corpus:formats -- DIR|FILE ... [--json out.json]');
  process.exit(2);
}

function walk(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p)
    .sort()
    .flatMap((n) => (n.startsWith('.') || /\.(md|json)$/i.test(n) ? [] : walk(path.join(p, n))));
}
const files = args.flatMap(walk);

/** Point counts the file declares: ##NPOINTS= of each block, else its numeric rows. */
function declared(file: string): number[] | undefined {
  const text = readFileSync(file).toString('latin1');
  const npoints = [...text.matchAll(/^\s*##\s*NPOINTS\s*=\s*([0-9.eE+]+)/gim)].map((m) => Number(m[1]));
  if (/^\s*##\s*(TITLE|JCAMP-?DX)\s*=/im.test(text)) return npoints.length ? npoints : undefined;
  const rows = text.split(/^##END=/m)[0].split(/\r?\n|\r/).filter((l) => /^\s*[-+.\d]/.test(l)).length;
  return rows ? [rows] : undefined;
}

const root = path.resolve(new URL('../../../', import.meta.url).pathname);
const lines: InspectLine[] = [];
for (let i = 0; i < files.length; i += 400) {
  let out: string;
  try {
    out = execFileSync(process.execPath, [path.join(root, 'bin/spectrad.js'), 'inspect', ...files.slice(i, i + 400)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  } catch (error) {
    // Exit code 1 means some file was refused; its stdout still holds every line.
    out = (error as { stdout?: string }).stdout ?? '';
  }
  for (const l of out.split('\n')) if (l.trim()) lines.push(JSON.parse(l) as InspectLine);
}

const byFile = new Map<string, InspectLine[]>();
for (const l of lines) byFile.set(l.file, [...(byFile.get(l.file) ?? []), l]);
let declaredCount = 0;
let warned = 0;
const refusals = new Map<string, number>();
const notes: string[] = [];
for (const file of files) {
  const got = byFile.get(file) ?? [];
  const errors = got.filter((l) => l.error);
  if (got.some((l) => l.warnings?.length)) warned++;
  const want = declared(file);
  const counts = got.map((l) => l.points);
  // Blocks without a table (a LINK block, a structure or peak-assignment block) may declare NPOINTS too: each
  // spectrum read must match the next declared count in file order.
  let at = 0;
  const inOrder = counts.every((n) => {
    while (want && at < want.length && want[at] !== n) at++;
    return want !== undefined && at++ < want.length;
  });
  const match = errors.length === 0 && (!want || inOrder);
  if (match) {
    declaredCount++;
    continue;
  }
  for (const e of errors) refusals.set(e.code ?? '?', (refusals.get(e.code ?? '?') ?? 0) + 1);
  notes.push(
    errors.length
      ? `refused  ${file}: ${errors.map((e) => `${e.code}: ${(e.error ?? '').replace(`${file}`, '').replace(/^[:,\s]+/, '').slice(0, 160)}`).join(' | ')}`
      : `count    ${file}: read ${counts.join(',')} points, declares ${want?.join(',')}`,
  );
}
for (const n of notes) console.log(n);
const summary = {
  files: files.length,
  readWithDeclaredCount: declaredCount,
  share: files.length ? declaredCount / files.length : 0,
  readWithWarnings: warned,
  refusedByCode: Object.fromEntries(refusals),
};
console.log(
  `\n${summary.files} files: ${summary.readWithDeclaredCount} read with their declared point count (${(summary.share * 100).toFixed(1)} %), ${warned} of them with warnings; refusals by code: ${JSON.stringify(summary.refusedByCode)}`,
);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ ...summary, notes }, null, 1) + '\n');
