/**
 * Continues training a saved benchmark encoder with another recipe (a few epochs from its weights), and writes the
 * result as a model directory: a cheaper test of a training-side change than a full run.
 *
 *   npm run bench:finetune -- --from DIR --out DIR [--per-class 50] [--classes 0-499] [--epochs 4]
 *     [--lr 3e-4] [--augment shift40|light|full|none] [--seed 1]
 *
 * The training split is the benchmark's (seed, per-class), as bench:paper draws it; validation 5 per class.
 */
import { parseArgs } from 'node:util';
import { initEngine } from '../core/engine/index.ts';
import { parseClassList } from '../core/benchmark/index.ts';
import { generateRandomSplit, loadDefinition } from '../core/benchmark/index.ts';
import { readModelCard, saveModelDir } from '../core/encoder/model-files.ts';
import { WHOLE_SPECTRUM_SHIFT } from './lib/protocols.ts';
import { AUGMENT_PRESETS, train, type AugmentOptions } from '../core/training/index.ts';


const { values: args } = parseArgs({
  options: {
    from: { type: 'string' },
    out: { type: 'string' },
    'per-class': { type: 'string', default: '50' },
    classes: { type: 'string', default: '0-499' },
    epochs: { type: 'string', default: '4' },
    lr: { type: 'string', default: '3e-4' },
    augment: { type: 'string', default: 'shift40' },
    seed: { type: 'string', default: '1' },
  },
});
if (!args.from || !args.out) throw new Error('--from DIR and --out DIR are required');
const augment: AugmentOptions | false =
  args.augment === 'shift40' ? WHOLE_SPECTRUM_SHIFT : args.augment === 'none' ? false : AUGMENT_PRESETS[args.augment as 'full' | 'light'];
if (augment === undefined) throw new Error(`--augment shift40|light|full|none, got ${args.augment}`);
const seed = Number(args.seed);
const perClass = Number(args['per-class']);
const classes = parseClassList(args.classes!, 500);
const log = (m: string) => console.error(`[finetune] ${m}`);
const engine = await initEngine({ logger: () => {} });
const def = loadDefinition('benchmark');
const card = await readModelCard(args.from);
if (!card.training || !card.metrics) throw new Error(`${args.from}: the model card has no training record to continue`);
const before = card.training;
const result = await train({
  train: generateRandomSplit(def, { split: 'train', perClass, seed, classes }),
  val: generateRandomSplit(def, { split: 'val', perClass: 5, seed, classes }),
  arch: card.architecture,
  epochs: Number(args.epochs),
  lr: Number(args.lr),
  warmupEpochs: 0,
  seed,
  augment,
  initialWeights: args.from,
  onProgress: (p) => {
    if (p.kind === 'epoch') log(`epoch ${p.record.epoch + 1}/${p.epochs} loss ${p.record.loss.toFixed(4)} val ${(100 * (p.record.valAccuracy ?? 0)).toFixed(2)} % (${p.record.seconds.toFixed(0)} s)`);
  },
});
await saveModelDir(
  result.model,
  {
    ...card,
    version: `${card.version}-ft-${args.augment}-e${args.epochs}`,
    createdAt: new Date().toISOString(),
    engine: { ...card.engine, backend: engine.backend },
    training: {
      ...before,
      description: `${before.description}; then ${result.epochsRun} more epochs from these weights at lr ${args.lr}, augment ${args.augment} (bench/finetune.ts)`,
      epochs: before.epochs + result.epochsRun,
      wallSeconds: before.wallSeconds + Math.round(result.wallSeconds),
      learningRate: Number(args.lr),
      stoppedBecause: result.stoppedBecause,
      augment: augment === false ? { preset: 'none' } : { preset: args.augment!, ...augment },
    },
    metrics: { k: card.metrics.k, valKnnAccuracy: result.bestValAccuracy },
  },
  args.out,
);
log(`saved ${args.out}: val ${(100 * result.bestValAccuracy).toFixed(2)} % (best epoch ${result.bestEpoch + 1}), ${result.wallSeconds.toFixed(0)} s`);
