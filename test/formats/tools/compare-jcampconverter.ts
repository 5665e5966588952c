// Evidence for the reader choice: jcampconverter 10.0.2 (last MIT release) vs spectrad's own reader.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
// The library is not a dependency: pass the path of an installed jcampconverter 10.0.2 ESM entry.
const modulePath = process.argv[2];
if (!modulePath) {
  console.error('usage: node bin/run-ts.js test/formats/tools/compare-jcampconverter.ts /path/to/jcampconverter.mjs');
  process.exit(2);
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped optional module loaded at run time
const { convert } = (await import(modulePath)) as { convert: (text: string, opts?: object) => any };
import { parseSpectrumFile, toJcamp } from '../../../core/formats/index.ts';
import { createSpectrum } from '../../../core/spectrum.ts';

const dir = new URL('../../fixtures/formats/', import.meta.url).pathname;
function jcc(text: string): string {
  try {
    const r = convert(text, { keepRecordsRegExp: /.*/ });
    const specs = r.flatten.flatMap((e: { spectra?: unknown[] }) => e.spectra ?? []);
    return specs.map((s: { data: { x: number[]; y: number[] } }) => `${s.data.x.length}pts y0=${s.data.y[0]} yN=${s.data.y[s.data.y.length - 1]}`).join(' | ') || 'no spectra, no error';
  } catch (e) {
    return 'THROWS ' + (e as Error).message.slice(0, 80);
  }
}
function ours(text: string): string {
  try {
    return parseSpectrumFile(text).map((b) => b.error ? `ERROR ${b.error.code}: ${b.error.message.slice(0, 90)}` : `${b.spectrum!.y.length}pts`).join(' | ');
  } catch (e) {
    return 'ERROR ' + (e as { code?: string }).code + ': ' + (e as Error).message.slice(0, 90);
  }
}
const spec = readFileSync(dir + 'spec-examples.jdx', 'utf8');
console.log('== spec examples (expect 9 pts, y0=2 yN=-3 each)');
console.log('jcc :', jcc(spec));
console.log('ours:', ours(spec));
const opus = readFileSync(dir + 'opus-ir-difdup.jdx', 'utf8');
const lines = opus.split('\n');
const dataStart = lines.findIndex((l) => l.startsWith('##XYDATA')) + 1;
const cases: Record<string, string> = {
  'failed DIF Y-check (check value altered)': lines.map((l, i) => (i === dataStart + 1 ? l.replace(/^(\S+?)A/, '$1B') : l)).join('\n'),
  'one data line removed (missing points)': lines.filter((_, i) => i !== dataStart + 5).join('\n'),
  'NPOINTS wrong (+1)': opus.replace('##NPOINTS=1801', '##NPOINTS=1802'),
  'unknown character in data': lines.map((l, i) => (i === dataStart + 3 ? l.slice(0, 20) + '!' + l.slice(21) : l)).join('\n'),
  'truncated (no ##END, half the data)': lines.slice(0, dataStart + 10).join('\n'),
};
for (const [name, text] of Object.entries(cases)) {
  console.log(`== ${name}`);
  console.log('jcc :', jcc(text));
  console.log('ours:', ours(text));
}
// Speed: a 100k-point DIF and AFFN file, best of 5, each parser.
const n = 100_000;
const s = createSpectrum({ x: Array.from({ length: n }, (_, i) => 400 + i * 0.05), y: Array.from({ length: n }, (_, i) => Math.sin(i / 300) + 0.1 * Math.cos(i / 7)), xUnit: 'cm-1' });
for (const compression of ['DIF', 'AFFN'] as const) {
  const text = toJcamp(s, { compression });
  const time = (f: () => unknown) => { let best = Infinity; for (let k = 0; k < 15; k++) { const t = performance.now(); f(); best = Math.min(best, performance.now() - t); } return best; };
  const tj = time(() => convert(text));
  const to = time(() => parseSpectrumFile(text));
  console.log(`== speed ${compression} ${n} points (${(text.length / 1e6).toFixed(1)} MB): jcampconverter ${tj.toFixed(1)} ms, ours ${to.toFixed(1)} ms, ratio ${(tj / to).toFixed(2)}`);
  const cj = convert(text).flatten[0].spectra[0].data.y;
  const co = parseSpectrumFile(text)[0].spectrum!.y;
  let maxdiff = 0; for (let i = 0; i < n; i++) maxdiff = Math.max(maxdiff, Math.abs(cj[i] - co[i]));
  console.log(`   max |y_jcc - y_ours| = ${maxdiff}`);
}
