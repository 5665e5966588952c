/**
 * The RRUFF development corpus (../shared/data/rruff-dev; Lafuente B., Downs R. T., Yang H., Stone N. (2015) "The
 * power of databases: the RRUFF project", Highlights in Mineralogical Crystallography, 1-30) read through the
 * product's file reader, and the seeded split by sample (RRUFF ID) that bench:real and its tuning share.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveRng } from '../../core/math/rng.ts';
import { parseSpectra } from '../../core/formats/index.ts';
import type { Spectrum } from '../../core/spectrum.ts';
import { classFold } from '../../core/training/class-folds.ts';

export type RealDataset = 'raman-532' | 'ir';

export interface RealSpectrum {
  readonly mineral: string;
  /** RRUFF ID without its '-n' suffix: one physical sample. */
  readonly sample: string;
  readonly file: string;
  readonly spectrum: Spectrum;
}

/** Every file of one dataset, read as delimited text (RRUFF's export: ##KEY=value header lines, then x, y rows). */
export function loadRealDataset(root: string, dataset: RealDataset): RealSpectrum[] {
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Record<string, Record<string, string[]>>;
  const out: RealSpectrum[] = [];
  for (const [mineral, files] of Object.entries(manifest[dataset] ?? {})) {
    for (const file of files) {
      const text = readFileSync(join(root, dataset, file));
      const [spectrum] = parseSpectra(text, { format: 'csv', fileName: file });
      const id = /^##RRUFFID=(\S+)/m.exec(text.toString('utf8'))?.[1] ?? file.split('__')[1];
      out.push({ mineral, sample: id.replace(/-\d+$/, ''), file, spectrum: { ...spectrum, xUnit: 'cm-1' } });
    }
  }
  return out;
}

export interface RealSplitOptions {
  readonly seed: number;
  /** Share of the minerals (with >= 2 samples) whose samples are all queried and none enrolled. Default 0.2. */
  readonly queryOnlyShare?: number;
  /** Most samples enrolled per known mineral (at least one sample is always left to query). Default 2. */
  readonly maxEnrolled?: number;
  /** Class folds (core/training/class-folds.ts): fold `testFold` is the test part, the others validation. */
  readonly folds?: number;
  readonly testFold?: number;
}

export interface RealSplit {
  /** Enrolled references: mineral -> spectra. */
  readonly references: ReadonlyMap<string, RealSpectrum[]>;
  /** Queried spectra; `known` when their mineral is enrolled. */
  readonly queries: readonly { readonly item: RealSpectrum; readonly known: boolean; readonly part: 'validation' | 'test' }[];
  readonly queryOnly: readonly string[];
}

/** Minerals with >= 2 samples; 1..maxEnrolled samples enrolled (one fewer than it has, at most maxEnrolled). */
export function splitBySample(items: readonly RealSpectrum[], options: RealSplitOptions): RealSplit {
  const share = options.queryOnlyShare ?? 0.2;
  const maxEnrolled = options.maxEnrolled ?? 2;
  const folds = options.folds ?? 5;
  const testFold = options.testFold ?? 0;
  const byMineral = new Map<string, Map<string, RealSpectrum[]>>();
  for (const item of items) {
    const samples = byMineral.get(item.mineral) ?? new Map<string, RealSpectrum[]>();
    samples.set(item.sample, [...(samples.get(item.sample) ?? []), item]);
    byMineral.set(item.mineral, samples);
  }
  const minerals = [...byMineral.keys()].filter((m) => byMineral.get(m)!.size >= 2).sort();
  const rng = deriveRng(options.seed, 0x5eed);
  const order = minerals.map((m) => ({ m, r: rng.next() })).sort((a, b) => a.r - b.r).map((e) => e.m);
  const queryOnly = new Set(order.slice(0, Math.round(share * order.length)));
  const references = new Map<string, RealSpectrum[]>();
  const queries: RealSplit['queries'][number][] = [];
  for (const mineral of minerals) {
    const part = classFold(mineral, folds) === testFold ? 'test' : 'validation';
    const samples = [...byMineral.get(mineral)!.entries()].sort(([a], [b]) => a.localeCompare(b));
    const shuffled = samples.map((s) => ({ s, r: rng.next() })).sort((a, b) => a.r - b.r).map((e) => e.s[1]);
    const enrolled = queryOnly.has(mineral) ? 0 : Math.min(maxEnrolled, shuffled.length - 1);
    if (enrolled) references.set(mineral, shuffled.slice(0, enrolled).flat());
    for (const sample of shuffled.slice(enrolled)) for (const item of sample) queries.push({ item, known: enrolled > 0, part });
  }
  return { references, queries, queryOnly: [...queryOnly].sort() };
}
