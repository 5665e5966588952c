/**
 * `npm run reliability:fuzz [-- --runs N] [-- --seed S]`: the fuzzing properties of support/reliability/fuzz-properties.ts
 * (every parser, MQTT payloads as the daemon parses them, serial framing in line, marker and JCAMP-DX modes) with many
 * more runs than the test suite; prints a table and writes bench/results/reliability-fuzz.json (inputs fuzzed,
 * failures, slowest input, peak RSS). Exits 1 on any failure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { FRAMINGS, framingProperty, parserProperties } from '../../support/reliability/fuzz-properties.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '2026' },
    out: { type: 'string', default: 'bench/results/reliability-fuzz.json' },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
if (!(Number.isInteger(runs) && runs >= 1 && Number.isInteger(seed))) throw new RangeError(`bad --runs ${values.runs} or --seed ${values.seed}`);

interface Row {
  property: string;
  inputs: number;
  failures: number;
  seconds: number;
  slowestMs: number;
  counterexample?: string;
}

/** Wraps a property's predicate to time each input: a hang shows as a huge slowest input (or no end at all). */
function timed<T extends unknown[]>(p: fc.IProperty<T>, slowest: { ms: number }): fc.IProperty<T> {
  const run = p.run.bind(p);
  p.run = (v: T) => {
    const t = performance.now();
    try {
      return run(v);
    } finally {
      slowest.ms = Math.max(slowest.ms, performance.now() - t);
    }
  };
  return p;
}

const properties: Array<[string, fc.IProperty<never>]> = [
  ...Object.entries(parserProperties()).map(([name, p]): [string, fc.IProperty<never>] => [`parse: ${name}`, p]),
  ...FRAMINGS.flatMap(({ name, framing }): Array<[string, fc.IProperty<never>]> => [
    [`serial framing ${name}, 64-byte frames`, framingProperty(framing, 64) as unknown as fc.IProperty<never>],
    [`serial framing ${name}, 4 kB frames`, framingProperty(framing, 4096) as unknown as fc.IProperty<never>],
  ]),
];

const rows: Row[] = [];
const started = Date.now();
for (const [name, property] of properties) {
  const slowest = { ms: 0 };
  const t = Date.now();
  const result = fc.check(timed(property, slowest), { numRuns: runs, seed });
  const row: Row = { property: name, inputs: result.numRuns, failures: result.failed ? 1 : 0, seconds: (Date.now() - t) / 1000, slowestMs: Math.round(slowest.ms * 10) / 10 };
  if (result.failed) row.counterexample = `${fc.stringify(result.counterexample).slice(0, 500)}: ${String(result.errorInstance).slice(0, 500)}`;
  rows.push(row);
  console.log(`${name.padEnd(78)} ${String(row.inputs).padStart(7)} inputs  ${row.failures ? 'FAILED' : 'ok    '}  ${row.seconds.toFixed(1).padStart(6)} s  slowest ${row.slowestMs} ms`);
}
const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
const summary = {
  command: `npm run reliability:fuzz -- --runs ${runs} --seed ${seed}`,
  at: new Date().toISOString(),
  runsPerProperty: runs,
  seed,
  properties: rows.length,
  inputsFuzzed: rows.reduce((a, r) => a + r.inputs, 0),
  failures: rows.reduce((a, r) => a + r.failures, 0),
  slowestInputMs: Math.max(...rows.map((r) => r.slowestMs)),
  maxRssMb,
  seconds: (Date.now() - started) / 1000,
  rows,
};
console.log(`\n${summary.inputsFuzzed} inputs fuzzed, ${summary.failures} failures, slowest input ${summary.slowestInputMs} ms, peak RSS ${maxRssMb} MB, ${summary.seconds.toFixed(0)} s`);
mkdirSync(path.dirname(values.out), { recursive: true });
writeFileSync(values.out, JSON.stringify(summary, null, 2) + '\n');
console.log(`wrote ${values.out}`);
process.exit(summary.failures === 0 ? 0 : 1);
