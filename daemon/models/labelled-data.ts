import { createRng, type Rng } from '../../core/math/rng.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import type { LabelledRows } from '../workers/retrain-protocol.ts';

export interface LabelledReference {
  readonly class: string;
  /** Preprocessed spectrum on the model grid. */
  readonly vector: Float32Array;
}

export interface HeldOutSplit {
  readonly train: LabelledRows;
  readonly val: LabelledRows;
  /** Class names by label index. */
  readonly classes: readonly string[];
}

/**
 * Splits the library's labelled spectra into training references and held-out spectra, per class and seeded: a
 * class gives round(n * share) of its spectra to the held-out set, at least one when it has two or more and always
 * keeps at least one for training (a class of one spectrum is trained on but cannot be measured). The held-out
 * accuracy is the kNN (k = 3) accuracy of the held-out spectra against the training references.
 */
export function splitHeldOut(refs: readonly LabelledReference[], share: number, seed: number, points: number): HeldOutSplit {
  if (!(share > 0 && share < 1)) throw new SpectrumInputError('bad-hold-out', `hold-out share must lie between 0 and 1, got ${share}`, { field: 'holdOut' });
  const byClass = new Map<string, Float32Array[]>();
  for (const r of refs) {
    if (r.vector.length !== points) continue; // a reference from another grid cannot be trained on
    const list = byClass.get(r.class) ?? [];
    list.push(r.vector);
    byClass.set(r.class, list);
  }
  const classes = [...byClass.keys()].sort();
  const trainRows: Array<[Float32Array, number]> = [];
  const valRows: Array<[Float32Array, number]> = [];
  const rng = createRng(seed);
  classes.forEach((name, label) => {
    const members = shuffle([...byClass.get(name)!], rng);
    const held = members.length < 2 ? 0 : Math.min(members.length - 1, Math.max(1, Math.round(members.length * share)));
    members.forEach((v, i) => (i < held ? valRows : trainRows).push([v, label]));
  });
  const trainable = new Set(trainRows.map(([, l]) => l)).size;
  if (trainable < 2) {
    throw new SpectrumInputError('too-few-classes', `retraining needs labelled spectra of at least 2 classes; the library has ${trainable}`, { field: 'library' });
  }
  if (valRows.length === 0) {
    throw new SpectrumInputError('no-held-out', 'retraining needs a class with at least 2 labelled spectra to measure the candidate on', { field: 'library' });
  }
  return { train: rows(trainRows, points), val: rows(valRows, points), classes };
}

function rows(list: ReadonlyArray<[Float32Array, number]>, points: number): LabelledRows {
  const x = new Float32Array(list.length * points);
  const y = new Int32Array(list.length);
  list.forEach(([v, label], i) => {
    x.set(v, i * points);
    y[i] = label;
  });
  return { x, y, n: list.length, points };
}

function shuffle<T>(a: T[], rng: Rng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
