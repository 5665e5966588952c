import {
  generateRandomSplit,
  generateTestSplit,
  loadDefinition,
  type BenchmarkName,
  type Dataset,
} from '../benchmark/index.ts';
import { deriveRng } from '../math/rng.ts';
import { sha256Hex } from '../encoder/model-files.ts';
import { normalizeRows } from './augment.ts';

export type { Dataset };

/** A benchmark split named rather than given: generated on demand, reproducible from its seed. */
export interface DatasetSpec {
  readonly name: BenchmarkName;
  readonly perClass: number;
  readonly seed: number;
  /** Class indices; all classes when absent. */
  readonly classes?: readonly number[];
}

export interface PreparedData {
  /** Max-normalized rows, the encoder's input contract. */
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly points: number;
  readonly description: string;
  readonly sha256: string;
  readonly classCount: number;
}

function isDatasetSpec(d: Dataset | DatasetSpec): d is DatasetSpec {
  return typeof (d as DatasetSpec).name === 'string';
}

/** Compresses a sorted class list into "0-99,250" for descriptions and model cards. */
export function describeClasses(classes: readonly number[]): string {
  const sorted = [...new Set(classes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function prepare(ds: Dataset, description: string): PreparedData {
  const x = normalizeRows(ds.x, ds.n, ds.points);
  return { x, y: ds.y, n: ds.n, points: ds.points, description, sha256: sha256Hex(ds.x, ds.y), classCount: new Set(ds.y).size };
}

export function prepareRandomSplit(spec: DatasetSpec, split: 'train' | 'val'): PreparedData {
  const def = loadDefinition(spec.name);
  const ds = generateRandomSplit(def, { split, perClass: spec.perClass, seed: spec.seed, classes: spec.classes ? [...spec.classes] : undefined });
  const classes = describeClasses(spec.classes ?? def.classes.map((_, i) => i));
  return prepare(ds, `${spec.name} ${split} split (Schuetzke et al. 2023 generator), ${spec.perClass} per class, classes ${classes}, seed ${spec.seed}`);
}

export function prepareTestSplit(name: BenchmarkName, classes?: readonly number[]): PreparedData {
  const def = loadDefinition(name);
  const ds = generateTestSplit(def, { classes: classes ? [...classes] : undefined });
  return prepare(ds, `${name} test split (fixed variants), classes ${describeClasses(classes ?? def.classes.map((_, i) => i))}`);
}

export function prepareDataset(d: Dataset | DatasetSpec, split: 'train' | 'val', what: string): PreparedData {
  if (isDatasetSpec(d)) return prepareRandomSplit(d, split);
  if (d.x.length !== d.n * d.points || d.y.length !== d.n) {
    throw new RangeError(`${what} dataset: x has ${d.x.length} values, y ${d.y.length} labels, for n=${d.n} x ${d.points} points`);
  }
  return prepare(d, `${what}: ${d.n} given spectra of ${d.points} points, ${new Set(d.y).size} classes`);
}

/** The rng of one epoch: resuming at epoch e draws exactly what the uninterrupted run drew. */
export function epochRng(seed: number, epoch: number) {
  return deriveRng(seed, 0x7a41, epoch);
}
