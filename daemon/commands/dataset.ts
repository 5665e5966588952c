import { type Command, Option } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  BENCHMARK_NAMES,
  type BenchmarkName,
  type Dataset,
  generateRandomSplit,
  generateTestSplit,
  loadDefinition,
  parseClassList,
  PUBLISHED_PER_CLASS,
} from '../../core/benchmark/index.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { encodeNpy } from '../../core/npy.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import { integer, positiveInt } from './arguments.ts';

type Split = 'test' | 'train' | 'val';
type Format = 'npy' | 'jcamp' | 'csv';

interface DatasetOptions {
  split: Split;
  perClass?: number;
  seed: number;
  classes?: string;
  out: string;
  format: Format;
}



/** Generates the requested split; the test split is fixed, so --per-class and --seed do not apply to it. */
export function buildDataset(name: BenchmarkName, opts: Omit<DatasetOptions, 'out' | 'format'>): Dataset {
  const def = loadDefinition(name);
  const classes = opts.classes === undefined ? undefined : parseClassList(opts.classes, def.classes.length);
  if (opts.split === 'test') {
    if (opts.perClass !== undefined) {
      throw new SpectrumInputError('bad-option', '--per-class applies to train/val only: the test split has fixed variants per class', { field: 'per-class' });
    }
    return generateTestSplit(def, { classes });
  }
  return generateRandomSplit(def, {
    split: opts.split,
    perClass: opts.perClass ?? PUBLISHED_PER_CLASS[opts.split],
    seed: opts.seed,
    classes,
  });
}

function writeNpy(dataset: Dataset, split: Split, out: string): string[] {
  const xPath = path.join(out, `x_${split}.npy`);
  const yPath = path.join(out, `y_${split}.npy`);
  writeFileSync(xPath, encodeNpy(dataset.x, [dataset.n, dataset.points]));
  writeFileSync(yPath, encodeNpy(dataset.y, [dataset.n]));
  return [xPath, yPath];
}

async function runDataset(name: string, opts: DatasetOptions): Promise<void> {
  if (!BENCHMARK_NAMES.includes(name as BenchmarkName)) {
    throw new SpectrumInputError('unknown-benchmark', `unknown data set "${name}"; expected ${BENCHMARK_NAMES.join(' or ')}`);
  }
  const started = performance.now();
  const dataset = buildDataset(name as BenchmarkName, opts);
  mkdirSync(opts.out, { recursive: true });
  const written = opts.format === 'npy' ? writeNpy(dataset, opts.split, opts.out) : await writeFiles(dataset, name as BenchmarkName, opts);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const what = opts.format === 'npy' ? written.join(' and ') : `${written.length} ${opts.format} files in ${opts.out}`;
  process.stderr.write(`${name} ${opts.split}: ${dataset.n} spectra x ${dataset.points} points -> ${what} (${seconds} s)\n`);
}

/** One file per spectrum, named <class>-<index within the class>, for feeding the daemon's folder input. */
async function writeFiles(dataset: Dataset, name: BenchmarkName, opts: DatasetOptions): Promise<string[]> {
  const { toCsv, toJcamp } = await import('../../core/formats/index.ts');
  const written: string[] = [];
  const seen = new Map<number, number>();
  for (let r = 0; r < dataset.n; r++) {
    const cls = dataset.y[r];
    const index = seen.get(cls) ?? 0;
    seen.set(cls, index + 1);
    const spectrum = createSpectrum({
      y: dataset.x.subarray(r * dataset.points, (r + 1) * dataset.points),
      xUnit: 'index',
      yUnit: 'arbitrary',
      meta: { title: `${name} ${opts.split} class ${cls} #${index}`, sampleId: `${name}-${opts.split}-${cls}-${index}` },
    });
    const file = path.join(opts.out, `${cls}-${index}.${opts.format === 'jcamp' ? 'jdx' : 'csv'}`);
    writeFileSync(file, opts.format === 'jcamp' ? toJcamp(spectrum) : toCsv(spectrum));
    written.push(file);
  }
  return written;
}

export function register(program: Command): void {
  program
    .command('dataset')
    .description('Write a split of the synthetic benchmark (Schuetzke et al. 2023) as .npy arrays or one file per spectrum.')
    .argument('<benchmark>', `data set: ${BENCHMARK_NAMES.join(' | ')}`)
    .addOption(new Option('--split <split>', 'which split').choices(['test', 'train', 'val']).default('test'))
    .option('--per-class <n>', `random samples per class (train/val; default ${PUBLISHED_PER_CLASS.train} train, ${PUBLISHED_PER_CLASS.val} val as published)`, positiveInt)
    .option('--seed <s>', 'seed of the random train/val samples (same seed, same bytes)', integer, 0)
    .option('--classes <list>', 'class indices, e.g. 0-99 or 0-9,20,30-39 (default: all)')
    .requiredOption('--out <dir>', 'output folder (created if missing)')
    .addOption(new Option('--format <format>', 'npy: x_<split>.npy float32 [n, points] + y_<split>.npy int32 [n]; jcamp|csv: <class>-<index>.jdx|.csv').choices(['npy', 'jcamp', 'csv']).default('npy'))
    .action(async (name: string, opts: DatasetOptions) => {
      try {
        await runDataset(name, opts);
      } catch (err) {
        if (!(err instanceof SpectrumInputError)) throw err;
        process.stderr.write(`spectrad dataset: ${err.message} [${err.code}]\n`);
        process.exitCode = 2;
      }
    });
}
