/**
 * Which augmentation trains the best encoder on the universal benchmark? Each recipe trains the same architecture on
 * the same spectra (a class subset, so a recipe costs minutes, not an hour, on 2 cores), is compared on the
 * validation split (random draws of the train distribution) and measured once on the fixed test split.
 *
 * `npm run bench:augment -- [--classes 0-199] [--per-class 20] [--epochs 8] [--arch tiny] [--only id,id] [--seed S]`
 * Results merge into bench/results/augment.json by recipe id, class range, per-class count, epochs and seed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs as parseNodeArgs } from 'node:util';
import { embeddingDim, getArchitecture } from '../core/encoder/architectures.ts';
import { embedRows } from '../core/encoder/model-files.ts';
import { initEngine } from '../core/engine/index.ts';
import { DEFAULT_AUGMENT, knnAccuracy, LIGHT_AUGMENT, NO_AUGMENT, prepareTestSplit, train, type AugmentOptions } from '../core/training/index.ts';

const OUT = 'bench/results/augment.json';

const RECIPES: ReadonlyArray<{ id: string; what: string; augment: AugmentOptions }> = [
  { id: 'none', what: 'no augmentation', augment: NO_AUGMENT },
  { id: 'light', what: 'light: shift 10, broadening 1.5, gain 5 %', augment: LIGHT_AUGMENT },
  { id: 'full', what: 'full: light + noise 1 % + baseline 5 % (core/training default)', augment: DEFAULT_AUGMENT },
  { id: 'light-warp20', what: 'light + x-warp up to 20 points (knots every 400)', augment: { ...LIGHT_AUGMENT, maxWarp: 20 } },
  { id: 'light-warp40', what: 'light + x-warp up to 40 points (knots every 400)', augment: { ...LIGHT_AUGMENT, maxWarp: 40 } },
  { id: 'warp30-p8', what: 'x-warp up to 30 points, broadening 1.5, p 0.8', augment: { ...NO_AUGMENT, maxWarp: 30, maxBroaden: 1.5, probability: 0.8 } },
];

function parseRange(s: string): number[] {
  const m = /^(\d+)-(\d+)$/.exec(s);
  if (!m) throw new Error(`--classes wants A-B, got "${s}"`);
  const out: number[] = [];
  for (let c = Number(m[1]); c <= Number(m[2]); c++) out.push(c);
  return out;
}

function parseArgs(argv: string[]) {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      classes: { type: 'string', default: '0-199' },
      'per-class': { type: 'string', default: '20' },
      epochs: { type: 'string', default: '8' },
      arch: { type: 'string', default: 'tiny' },
      seed: { type: 'string', default: '1' },
      only: { type: 'string' },
    },
  });
  return {
    classes: values.classes,
    perClass: Number(values['per-class']),
    epochs: Number(values.epochs),
    arch: values.arch,
    seed: Number(values.seed),
    only: values.only?.split(','),
  };
}

interface Row {
  id: string;
  what: string;
  classes: string;
  perClass: number;
  epochs: number;
  arch: string;
  seed: number;
  bestEpoch: number;
  valAccuracy: number;
  testAccuracy: number;
  testErrors: number;
  trainSeconds: number;
  load: number[];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await initEngine({ backend: 'wasm' });
  const classes = parseRange(args.classes);
  const arch = getArchitecture(args.arch);
  const test = prepareTestSplit('benchmark', classes);
  const previous: Row[] = existsSync(OUT) ? (JSON.parse(readFileSync(OUT, 'utf8')) as { rows: Row[] }).rows : [];
  const key = (r: Row) => `${r.id}|${r.classes}|${r.perClass}|${r.epochs}|${r.arch}|${r.seed}`;
  const rows = new Map(previous.map((r) => [key(r), r]));
  const fresh: Row[] = [];
  for (const recipe of RECIPES.filter((r) => !args.only || args.only.includes(r.id))) {
    const spec = { name: 'benchmark' as const, perClass: args.perClass, seed: args.seed, classes };
    const result = await train({ train: spec, val: { ...spec, perClass: 5 }, arch, epochs: args.epochs, seed: args.seed, augment: recipe.augment });
    const emb = await embedRows(result.model, test.x, test.n, test.points, embeddingDim(arch));
    const acc = knnAccuracy(result.trainEmbeddings, result.trainData.y, emb, test.y, 3);
    result.model.dispose();
    const row: Row = {
      id: recipe.id,
      what: recipe.what,
      classes: args.classes,
      perClass: args.perClass,
      epochs: args.epochs,
      arch: arch.name,
      seed: args.seed,
      bestEpoch: result.bestEpoch + 1,
      valAccuracy: 100 * result.bestValAccuracy,
      testAccuracy: 100 * acc,
      testErrors: Math.round((1 - acc) * test.n),
      trainSeconds: Math.round(result.wallSeconds),
      load: os.loadavg(),
    };
    console.log(`${row.id.padEnd(14)} val ${row.valAccuracy.toFixed(2)} %  test ${row.testAccuracy.toFixed(2)} % (${row.testErrors} errors of ${test.n})  ${row.trainSeconds} s`);
    rows.set(key(row), row);
    fresh.push(row);
    mkdirSync(path.dirname(OUT), { recursive: true });
    writeFileSync(OUT, JSON.stringify({ generatedAt: new Date().toISOString(), rows: [...rows.values()] }, null, 2) + '\n');
  }
  console.log('\n| recipe | classes | per class | epochs | val % | test % | test errors | s |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of fresh) {
    console.log(`| ${r.id} | ${r.classes} | ${r.perClass} | ${r.epochs} | ${r.valAccuracy.toFixed(2)} | ${r.testAccuracy.toFixed(2)} | ${r.testErrors} | ${r.trainSeconds} |`);
  }
}

await main();
