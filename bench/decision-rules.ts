/**
 * The decision rules of bench/challenge-rules.ts on the 500-class protocols, from embeddings that
 * bench/single-errors.ts cached (train references and test queries of saved encoders): does a rule that wins on the
 * challenge set lose on single compound or unseen classes?
 *
 *   node bin/run-ts.js bench/decision-rules.ts --pair single:50:S:REF.f32:TEST.f32 [--pair unseen:50:S:REF:TEST ...]
 *
 * A pair names the protocol, spectra per class, the train split's seed, and the two cached files (float32, dim 64).
 * Writes bench/results/decision-rules.json (merged by label).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { accuracyOf, predictAll } from './challenge-rules.ts';

const DIM = 64;
const TEST_PER_CLASS = 9;
const OUT = 'bench/results/decision-rules.json';

const { values } = parseArgs({ options: { pair: { type: 'string', multiple: true } } });
if (!values.pair?.length) throw new Error('give at least one --pair protocol:perClass:seed:REF.f32:TEST.f32');

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice();
}

const classMajor = (classes: readonly number[], per: number) => Int32Array.from(classes.flatMap((c) => Array.from({ length: per }, () => c)));
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

const rows: Array<{ label: string; protocol: string; perClass: number; seed: number; queries: number; accuracy: Record<string, number>; errors: Record<string, number> }> = [];
for (const pair of values.pair) {
  const [protocol, per, seedText, refFile, testFile] = pair.split(':');
  const perClass = Number(per);
  const refs = readF32(refFile);
  const queries = readF32(testFile);
  const refY = classMajor(range(0, 500), perClass);
  const testY = protocol === 'unseen' ? classMajor(range(400, 500), TEST_PER_CLASS) : classMajor(range(0, 500), TEST_PER_CLASS);
  if (refs.length !== refY.length * DIM || queries.length !== testY.length * DIM) throw new Error(`${pair}: sizes do not match ${protocol} at ${perClass}/class`);
  const t0 = performance.now();
  const preds = predictAll({ emb: refs, y: refY, n: refY.length }, { emb: queries, y: testY, n: testY.length }, DIM);
  const accuracy: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const [name, p] of preds) {
    accuracy[name] = accuracyOf(p, testY);
    errors[name] = Math.round(((100 - accuracy[name]) * testY.length) / 100);
  }
  const label = `${protocol}-${perClass}-s${seedText}: ${path.basename(testFile)}`;
  rows.push({ label, protocol, perClass, seed: Number(seedText), queries: testY.length, accuracy, errors });
  console.error(`${label}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
const names = Object.keys(rows[0].errors);
console.log(`| errors | ${names.join(' | ')} |\n| --- |${names.map(() => ' --- |').join('')}`);
for (const r of rows) console.log(`| ${r.protocol} ${r.perClass}/class s${r.seed} (of ${r.queries}) | ${names.map((n) => r.errors[n]).join(' | ')} |`);
const previous = existsSync(OUT) ? (JSON.parse(readFileSync(OUT, 'utf8')) as { rows: typeof rows }).rows : [];
const merged = [...previous.filter((p) => !rows.some((r) => r.label === p.label)), ...rows];
writeFileSync(OUT, JSON.stringify({ note: 'errors and accuracy (percent) per decision rule (bench/challenge-rules.ts) on cached 500-class embeddings', rows: merged }, null, 2) + '\n');
