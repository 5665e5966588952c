import benchmarkJson from './data/benchmark.json' with { type: 'json' };
import challengeJson from './data/challenge.json' with { type: 'json' };
import { SpectrumInputError } from '../errors.ts';

/**
 * Class definitions of the universal synthetic benchmark (Schuetzke, Szymanski & Reischl, npj Comput. Mater. 2023;
 * data in ./data, MIT licence there). 'benchmark' holds 500 classes, 'challenge' 27 hard classes in 9 triplets.
 */
export type BenchmarkName = 'benchmark' | 'challenge';

export const BENCHMARK_NAMES: readonly BenchmarkName[] = ['benchmark', 'challenge'];

export interface ClassDefinition {
  /** Delta-peak positions, as point indices on the 0..points-1 axis. */
  readonly peakPositions: readonly number[];
  /** Peak heights before blurring; the tallest peak of a class is 1.0. */
  readonly peakHeights: readonly number[];
}

export interface BenchmarkDefinition {
  readonly name: BenchmarkName;
  readonly points: number;
  readonly classes: readonly ClassDefinition[];
}

interface PublishedConfig {
  datapoints: number;
  classes: number;
  spectra: Record<string, { peak_positions: number[]; peak_heights: number[] }>;
}

const published: Record<BenchmarkName, PublishedConfig> = { benchmark: benchmarkJson, challenge: challengeJson };
const cache = new Map<BenchmarkName, BenchmarkDefinition>();

/** The class definitions of a benchmark; class i is the i-th entry of the published file (its key "i"). */
export function loadDefinition(name: BenchmarkName): BenchmarkDefinition {
  const cached = cache.get(name);
  if (cached) return cached;
  const config = published[name];
  if (!config) {
    throw new SpectrumInputError('unknown-benchmark', `unknown benchmark "${String(name)}"; expected ${BENCHMARK_NAMES.join(' or ')}`);
  }
  const classes: ClassDefinition[] = [];
  for (let i = 0; i < config.classes; i++) {
    const entry = config.spectra[String(i)];
    // The published generator labels classes by their order in the file; the files list keys "0".."n-1" in order.
    if (!entry || entry.peak_positions.length !== entry.peak_heights.length) {
      throw new Error(`benchmark data ${name}: class ${i} missing or malformed`);
    }
    classes.push(Object.freeze({
      peakPositions: Object.freeze([...entry.peak_positions]),
      peakHeights: Object.freeze([...entry.peak_heights]),
    }));
  }
  const def: BenchmarkDefinition = Object.freeze({ name, points: config.datapoints, classes: Object.freeze(classes) });
  cache.set(name, def);
  return def;
}
