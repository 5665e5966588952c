// Parse and write speed of core/formats on 100 000-point spectra: `npm run bench:formats`.
// Prints a table and writes bench/results/formats.json. Timings on shared machines are noisy: compare rows of one run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseSpectrumFile, toCsv, toJcamp } from '../../../core/formats/index.ts';
import { createSpectrum } from '../../../core/spectrum.ts';

const n = 100_000;
const spectrum = createSpectrum({
  x: Array.from({ length: n }, (_, i) => 400 + i * 0.05),
  y: Array.from({ length: n }, (_, i) => Math.sin(i / 300) + 0.1 * Math.cos(i / 7)),
  xUnit: 'cm-1',
  yUnit: 'absorbance',
});

function best(f: () => unknown, runs = 10): number {
  let min = Infinity;
  for (let k = 0; k < runs; k++) {
    const t = performance.now();
    f();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

const inputs: Record<string, string> = {
  'JCAMP-DX DIF': toJcamp(spectrum, { compression: 'DIF' }),
  'JCAMP-DX AFFN': toJcamp(spectrum, { compression: 'AFFN' }),
  CSV: toCsv(spectrum),
};
const rows = Object.entries(inputs).map(([format, text]) => {
  const parseMs = best(() => parseSpectrumFile(text));
  const writeMs = best(() => (format === 'CSV' ? toCsv(spectrum) : toJcamp(spectrum, { compression: format.endsWith('DIF') ? 'DIF' : 'AFFN' })));
  return { format, points: n, megabytes: +(text.length / 1e6).toFixed(2), parseMs: +parseMs.toFixed(1), writeMs: +writeMs.toFixed(1), pointsPerSecond: Math.round(n / (parseMs / 1000)) };
});
console.table(rows);
const out = new URL('../../../bench/results/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('formats.json', out), JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2) + '\n');
