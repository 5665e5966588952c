import type { Rng } from '../math/rng.ts';

/** One training batch: P classes x K samples, as row indices into the dataset and their labels. */
export interface PkBatch {
  readonly indices: Int32Array;
  readonly labels: Int32Array;
}

function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Draws P-classes-by-K-samples batches so every batch holds positives for every anchor (online mining needs them).
 * Classes and each class's samples are dealt from shuffled decks that are reshuffled when used up, so one epoch
 * (steps = ceil(n / (P*K))) shows every sample about once. A class with fewer than K samples repeats some.
 */
/**
 * Hard-negative batches: `share` of each batch's classes are near neighbours of the others (one drawn from the
 * `neighbours` list of an anchor class dealt from the deck), the rest dealt as usual.
 */
export interface NeighbourBatches {
  readonly neighbours: ReadonlyMap<number, readonly number[]>;
  /** Fraction of the P classes that are neighbours of the batch's other classes, in [0, 1). */
  readonly share: number;
}

export class PkSampler {
  private readonly byClass: Map<number, number[]>;
  private readonly classDeck: number[] = [];
  private readonly sampleDecks = new Map<number, number[]>();
  readonly p: number;
  readonly k: number;

  constructor(labels: ArrayLike<number>, p: number, k: number, private readonly rng: Rng, private readonly hard?: NeighbourBatches) {
    if (!Number.isInteger(p) || p < 2) throw new RangeError(`P must be an integer >= 2 (negatives need two classes), got ${p}`);
    if (!Number.isInteger(k) || k < 2) throw new RangeError(`K must be an integer >= 2 (positives need two samples), got ${k}`);
    this.byClass = new Map();
    for (let i = 0; i < labels.length; i++) {
      const c = labels[i];
      const list = this.byClass.get(c);
      if (list) list.push(i);
      else this.byClass.set(c, [i]);
    }
    if (this.byClass.size < 2) throw new RangeError(`training needs at least 2 classes, got ${this.byClass.size}`);
    this.p = Math.min(p, this.byClass.size);
    this.k = k;
    if (hard && !(hard.share >= 0 && hard.share < 1)) throw new RangeError(`hard-negative share must lie in [0, 1), got ${hard.share}`);
  }

  get classCount(): number {
    return this.byClass.size;
  }

  stepsPerEpoch(n: number): number {
    return Math.max(1, Math.ceil(n / (this.p * this.k)));
  }

  next(): PkBatch {
    const classes: number[] = [];
    const neighbourSlots = this.hard ? Math.floor(this.p * this.hard.share) : 0;
    let neighboursAdded = 0;
    while (classes.length < this.p) {
      if (this.classDeck.length === 0) this.classDeck.push(...shuffleInPlace([...this.byClass.keys()], this.rng));
      const c = this.classDeck.pop()!;
      // A class may come round again right after a reshuffle; a batch never holds it twice.
      if (classes.includes(c)) continue;
      classes.push(c);
      if (neighboursAdded < neighbourSlots && classes.length < this.p) {
        const near = (this.hard!.neighbours.get(c) ?? []).filter((o) => this.byClass.has(o) && !classes.includes(o));
        if (near.length > 0) {
          classes.push(near[this.rng.int(0, near.length)]);
          neighboursAdded++;
        }
      }
    }
    const indices = new Int32Array(this.p * this.k);
    const labels = new Int32Array(this.p * this.k);
    let row = 0;
    for (const c of classes) {
      const members = this.byClass.get(c)!;
      for (let j = 0; j < this.k; j++) {
        let deck = this.sampleDecks.get(c);
        if (!deck || deck.length === 0) {
          deck = shuffleInPlace([...members], this.rng);
          this.sampleDecks.set(c, deck);
        }
        indices[row] = deck.pop()!;
        labels[row++] = c;
      }
    }
    return { indices, labels };
  }
}
