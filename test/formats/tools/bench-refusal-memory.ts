// Peak memory of refusing an oversized file: `npm run bench:formats-memory`. Each case runs in a fresh Node process
// that reads the file into memory, notes its resident memory (VmRSS) and then parses it with the default limits;
// the table shows the peak (VmHWM) over that baseline next to the file size. Target: a refused file costs at most
// 4x its size. Writes bench/results/formats-refusal-memory.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const child = `
import { readFileSync } from 'node:fs';
const { parseSpectrumFile } = await import(${JSON.stringify(path.join(root, 'core/formats/index.ts'))});
const vm = (f) => parseInt(readFileSync('/proc/self/status', 'utf8').split('\\n').find((l) => l.startsWith(f + ':')).slice(f.length + 1), 10) / 1024;
const bytes = readFileSync(process.argv[1]);
const base = vm('VmRSS');
let outcome;
try { const b = parseSpectrumFile(bytes, { fileName: 'f' }); outcome = b.find((x) => x.error)?.error?.code ?? 'read'; } catch (e) { outcome = e.code ?? String(e); }
console.log(JSON.stringify({ base, peak: vm('VmHWM'), outcome }));
`;

const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-refusal-'));
const cases: Array<{ name: string; make: () => string }> = [
  { name: 'CSV, 10 000 000 one-value rows', make: () => '1\n'.repeat(10_000_000) },
  { name: 'CSV, 6 000 000 x,y rows', make: () => Array.from({ length: 6_000_000 }, (_, i) => `${i},1`).join('\n') + '\n' },
  {
    name: 'JCAMP-DX XYPOINTS, 6 000 000 tuples',
    make: () => '##TITLE=t\n##JCAMP-DX=5.01\n##XYPOINTS=(XY..XY)\n' + Array.from({ length: 6_000_000 }, (_, i) => `${i + 1},1`).join('\n') + '\n##END=\n',
  },
];
const rows: Array<Record<string, string | number>> = [];
try {
  for (const c of cases) {
    const file = path.join(dir, 'input');
    const text = c.make();
    writeFileSync(file, text);
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child, file], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 });
    const r = JSON.parse(out.trim().split('\n').pop() as string) as { base: number; peak: number; outcome: string };
    const sizeMb = Buffer.byteLength(text) / 1024 / 1024;
    rows.push({ case: c.name, fileMb: +sizeMb.toFixed(1), outcome: r.outcome, peakOverBaseMb: +(r.peak - r.base).toFixed(1), ratio: +((r.peak - r.base) / sizeMb).toFixed(2) });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log('| case | file MB | outcome | peak over baseline MB | x file size |\n| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.case} | ${r.fileMb} | ${r.outcome} | ${r.peakOverBaseMb} | ${r.ratio} |`);
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/formats-refusal-memory.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 1) + '\n');
