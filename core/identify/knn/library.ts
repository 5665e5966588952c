import { SpectrumInputError } from '../../errors.ts';
import type { Encoder } from '../../encoder/types.ts';
import { addProfile, profileDim } from '../mixture/profile.ts';
import { findPeaks, type Peak } from '../peaks/peak-features.ts';

/**
 * The reference library: named classes, each with reference embeddings and (optionally) the preprocessed reference
 * spectra they came from, so the library can be re-embedded when the model changes. Searches run brute force over one
 * contiguous [references x dim] Float32Array: measured in bench/knn.ts, that stays far under a millisecond per query
 * at the 25 000 references of the benchmark, so no approximate index is used.
 */

export interface LibraryClassInfo {
  readonly name: string;
  readonly references: number;
  readonly hasSpectra: boolean;
  readonly hasProfile: boolean;
}

interface ClassEntry {
  name: string;
  count: number;
  /** Row-major [count, dim], each row unit norm. */
  embeddings: Float32Array;
  /** Row-major [count, points] on the model grid, or null when the spectra were not kept. */
  spectra: Float32Array | null;
  /** Sum of the references' spectral profiles (profile.ts), or null unless every reference came with a spectrum. */
  profileSum: Float64Array | null;
  /** Each reference's peak list (peak-features.ts), or null unless every reference came with a spectrum. */
  peaks: Peak[][] | null;
}

/** The whole library laid out for search; rebuilt lazily after every change. */
export interface LibraryMatrix {
  readonly dim: number;
  readonly classNames: readonly string[];
  /** Row-major [references, dim]. */
  readonly embeddings: Float32Array;
  /** Class index of each reference row. */
  readonly labels: Int32Array;
  /** Row-major [classes, dim]: the normalized mean embedding of each class (the paper's class embedding). */
  readonly centroids: Float32Array;
  /** Row-major [classes, profileDim]: unit mean spectral profile per class; null unless every class has one. */
  readonly profiles: Float32Array | null;
  readonly profileDim: number;
}

export interface Neighbor {
  readonly reference: number;
  readonly classIndex: number;
  readonly similarity: number;
}

export interface ClassRank {
  readonly classIndex: number;
  readonly class: string;
  /** Best cosine similarity of the query to any reference of the class. */
  readonly similarity: number;
  /** Number of the k nearest references that belong to the class. */
  readonly votes: number;
  /** Mean of the class's m best similarities (KnnOptions.meanOfBest); absent when not asked for. */
  readonly meanOfBest?: number;
}

export interface KnnResult {
  readonly neighbors: readonly Neighbor[];
  /**
   * Classes by the mean of their m best similarities with KnnOptions.meanOfBest (identify()'s default), else by kNN
   * vote (ties: higher best similarity) and then the remaining classes by best similarity.
   */
  readonly ranking: readonly ClassRank[];
}

export interface KnnOptions {
  /** Neighbours searched (the paper: 3); they vote when meanOfBest is not given. */
  readonly k?: number;
  /** How many classes to rank (the rest are not sorted). Default 10. */
  readonly topClasses?: number;
  /** Leave these reference rows out (leave-one-out calibration). */
  readonly excludeReference?: number;
  /** Leave this class out (simulates a query from an unseen class). */
  readonly excludeClass?: number;
  /**
   * Rank classes by the mean of their m best similarities (a class with fewer references: all it has) instead of
   * the k-vote; the votes are still counted. identify() uses it (DEFAULT_MEAN_OF_BEST).
   */
  readonly meanOfBest?: number;
}

export interface LibraryInit {
  readonly dim: number;
  /** Points of the model grid the spectra are on (0 when spectra are never kept). */
  readonly points: number;
  /** Encoder version the embeddings come from. */
  readonly modelVersion: string;
}

export class ReferenceLibrary {
  private readonly classes: ClassEntry[] = [];
  private cache: LibraryMatrix | null = null;
  dim: number;
  points: number;
  modelVersion: string;

  constructor(init: LibraryInit) {
    if (!Number.isInteger(init.dim) || init.dim <= 0) {
      throw new SpectrumInputError('library-dim', `embedding dimension must be a positive integer, got ${init.dim}`);
    }
    this.dim = init.dim;
    this.points = init.points;
    this.modelVersion = init.modelVersion;
  }

  get classCount(): number {
    return this.classes.length;
  }

  get referenceCount(): number {
    return this.classes.reduce((sum, c) => sum + c.count, 0);
  }

  classNames(): string[] {
    return this.classes.map((c) => c.name);
  }

  hasClass(name: string): boolean {
    return this.classes.some((c) => c.name === name);
  }

  list(): LibraryClassInfo[] {
    return this.classes.map((c) => ({ name: c.name, references: c.count, hasSpectra: c.spectra !== null, hasProfile: c.profileSum !== null }));
  }

  /** Reference embeddings of one class, row-major [count, dim] (a view; do not write). */
  embeddingsOf(name: string): Float32Array {
    return this.entry(name).embeddings;
  }

  /** Sum of the spectral profiles of a class's references, or null. */
  profileSumOf(name: string): Float64Array | null {
    return this.entry(name).profileSum;
  }

  /** Peak lists of a class's references (confusable-pairs.ts), or null when some reference came without a spectrum. */
  peaksOf(name: string): readonly (readonly Peak[])[] | null {
    return this.entry(name).peaks;
  }

  /** Restores a class's profile sum (deserialization). */
  setProfileSum(name: string, sum: Float64Array | null): void {
    if (sum && sum.length !== profileDim(this.points)) {
      throw new SpectrumInputError('library-shape', `class "${name}": profile has ${sum.length} values, expected ${profileDim(this.points)}`);
    }
    this.entry(name).profileSum = sum;
    this.cache = null;
  }

  /** Reference spectra of one class, row-major [count, points], or null when not kept. */
  spectraOf(name: string): Float32Array | null {
    return this.entry(name).spectra;
  }

  /**
   * Adds references to a class (creating it when new). Embeddings are normalized here, so any encoder output works.
   * Spectra, when given, must be the same references on the model grid; they always feed the class's spectral
   * profile (mixture verification) and are stored only with keepSpectra (default true; 20 kB per reference at
   * 5000 points, so large benchmark libraries skip them).
   */
  addReferences(name: string, embeddings: Float32Array, spectra?: Float32Array | null, keepSpectra = true): void {
    validateName(name);
    if (embeddings.length === 0 || embeddings.length % this.dim !== 0) {
      throw new SpectrumInputError(
        'library-shape',
        `embeddings for class "${name}" have ${embeddings.length} values, not a positive multiple of dim ${this.dim}`,
      );
    }
    const count = embeddings.length / this.dim;
    const normalized = normalizeRows(embeddings, this.dim, name);
    if (spectra && spectra.length !== count * this.points) {
      throw new SpectrumInputError(
        'library-shape',
        `class "${name}": ${count} references need ${count * this.points} spectrum values (${this.points} points each), got ${spectra.length}`,
      );
    }
    let profile: Float64Array | null = null;
    let peaks: Peak[][] | null = null;
    if (spectra && this.points > 0) {
      profile = new Float64Array(profileDim(this.points));
      peaks = [];
      for (let r = 0; r < count; r++) {
        const spectrum = spectra.subarray(r * this.points, (r + 1) * this.points);
        addProfile(spectrum, profile);
        peaks.push(findPeaks(spectrum));
      }
    }
    const kept = spectra && keepSpectra ? Float32Array.from(spectra) : null;
    const existing = this.classes.find((c) => c.name === name);
    if (!existing) {
      this.classes.push({ name, count, embeddings: normalized, spectra: kept, profileSum: profile, peaks });
    } else {
      existing.embeddings = concat(existing.embeddings, normalized);
      // A class keeps spectra only while every reference has one, so re-embedding never silently drops references.
      existing.spectra = existing.spectra && kept ? concat(existing.spectra, kept) : null;
      if (existing.profileSum && profile) for (let i = 0; i < profile.length; i++) existing.profileSum[i] += profile[i];
      else existing.profileSum = null;
      existing.peaks = existing.peaks && peaks ? [...existing.peaks, ...peaks] : null;
      existing.count += count;
    }
    this.cache = null;
  }

  /**
   * Enrolls a class from a few preprocessed spectra (row-major [n, points]) with the current encoder: no retraining,
   * the paper's key property. Returns the number of references the class now has.
   */
  async enroll(name: string, spectra: Float32Array, encoder: Encoder, keepSpectra = true): Promise<number> {
    this.checkEncoder(encoder);
    if (spectra.length === 0 || spectra.length % this.points !== 0) {
      throw new SpectrumInputError(
        'library-shape',
        `enrolling "${name}": ${spectra.length} values is not a positive multiple of the grid's ${this.points} points`,
      );
    }
    const n = spectra.length / this.points;
    const embeddings = await encoder.embed(spectra, n);
    this.addReferences(name, embeddings, spectra, keepSpectra);
    return this.entry(name).count;
  }

  removeClass(name: string): void {
    const index = this.classes.findIndex((c) => c.name === name);
    if (index < 0) throw unknownClass(name);
    this.classes.splice(index, 1);
    this.cache = null;
  }

  renameClass(from: string, to: string): void {
    validateName(to);
    const entry = this.entry(from);
    if (from !== to && this.hasClass(to)) {
      throw new SpectrumInputError('library-class-exists', `cannot rename "${from}" to "${to}": that class exists`);
    }
    entry.name = to;
    this.cache = null;
  }

  /**
   * Re-embeds every reference with a new encoder (the model changed). Fails before changing anything when a class
   * has no stored spectra, since its old embeddings would not be comparable with the new model's.
   */
  async reembed(encoder: Encoder, batchSize = 256): Promise<void> {
    if (encoder.grid.points !== this.points) {
      throw new SpectrumInputError(
        'library-grid',
        `the new model expects ${encoder.grid.points} points but the library's spectra have ${this.points}`,
      );
    }
    const missing = this.classes.filter((c) => c.spectra === null).map((c) => c.name);
    if (missing.length) {
      throw new SpectrumInputError(
        'library-no-spectra',
        `cannot re-embed: classes without stored spectra: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`,
      );
    }
    const updated: Float32Array[] = [];
    for (const c of this.classes) {
      const out = new Float32Array(c.count * encoder.dim);
      for (let start = 0; start < c.count; start += batchSize) {
        const n = Math.min(batchSize, c.count - start);
        const batch = (c.spectra as Float32Array).subarray(start * this.points, (start + n) * this.points);
        out.set(await encoder.embed(batch, n), start * encoder.dim);
      }
      updated.push(normalizeRows(out, encoder.dim, c.name));
    }
    this.dim = encoder.dim;
    this.modelVersion = encoder.version;
    this.classes.forEach((c, i) => (c.embeddings = updated[i]));
    this.cache = null;
  }

  /** The contiguous search layout (cached until the next change). */
  matrix(): LibraryMatrix {
    if (this.cache) return this.cache;
    const total = this.referenceCount;
    const embeddings = new Float32Array(total * this.dim);
    const labels = new Int32Array(total);
    const centroids = new Float32Array(this.classes.length * this.dim);
    let row = 0;
    this.classes.forEach((c, ci) => {
      embeddings.set(c.embeddings, row * this.dim);
      labels.fill(ci, row, row + c.count);
      row += c.count;
      const centroid = centroids.subarray(ci * this.dim, (ci + 1) * this.dim);
      for (let r = 0; r < c.count; r++) {
        for (let j = 0; j < this.dim; j++) centroid[j] += c.embeddings[r * this.dim + j];
      }
      normalizeInPlace(centroid);
    });
    const pdim = profileDim(this.points);
    let profiles: Float32Array | null = null;
    if (this.points > 0 && this.classes.length && this.classes.every((c) => c.profileSum)) {
      profiles = new Float32Array(this.classes.length * pdim);
      this.classes.forEach((c, ci) => {
        const row = profiles!.subarray(ci * pdim, (ci + 1) * pdim);
        row.set(c.profileSum!);
        normalizeInPlace(row);
      });
    }
    this.cache = { dim: this.dim, classNames: this.classNames(), embeddings, labels, centroids, profiles, profileDim: pdim };
    return this.cache;
  }

  /** Cosine kNN of one unit-norm query (the paper: k = 3, majority vote). */
  knn(query: Float32Array, options: KnnOptions = {}): KnnResult {
    return knnSearch(this.matrix(), query, options);
  }

  private entry(name: string): ClassEntry {
    const found = this.classes.find((c) => c.name === name);
    if (!found) throw unknownClass(name);
    return found;
  }

  private checkEncoder(encoder: Encoder): void {
    if (encoder.dim !== this.dim || encoder.grid.points !== this.points) {
      throw new SpectrumInputError(
        'library-model-mismatch',
        `the model (dim ${encoder.dim}, ${encoder.grid.points} points) does not match the library (dim ${this.dim}, ${this.points} points); re-embed the library first`,
      );
    }
  }
}

/** Cosine kNN over a library matrix; similarities are dot products since every row is unit norm. */
export function knnSearch(matrix: LibraryMatrix, query: Float32Array, options: KnnOptions = {}): KnnResult {
  const { dim, embeddings, labels, classNames } = matrix;
  if (query.length !== dim) {
    throw new SpectrumInputError('query-dim', `query embedding has ${query.length} values, the library expects ${dim}`);
  }
  const k = options.k ?? 3;
  const total = labels.length;
  const classCount = classNames.length;
  const bestPerClass = new Float32Array(classCount).fill(-Infinity);
  // Top-k by insertion into a short sorted list: k is tiny, so this beats a heap.
  const topSim = new Float32Array(k).fill(-Infinity);
  const topRow = new Int32Array(k).fill(-1);
  const m = options.meanOfBest ?? 0;
  if (m !== 0 && !(Number.isInteger(m) && m >= 1)) throw new SpectrumInputError('bad-mean-of-best', `meanOfBest must be a positive integer, got ${m}`, { field: 'meanOfBest' });
  // Each class's m best similarities, sorted descending (m is small: insertion as for the top k).
  const classTop = m ? new Float32Array(classCount * m).fill(-Infinity) : null;
  for (let r = 0; r < total; r++) {
    const label = labels[r];
    if (r === options.excludeReference || label === options.excludeClass) continue;
    let s = 0;
    const base = r * dim;
    for (let j = 0; j < dim; j++) s += embeddings[base + j] * query[j];
    if (s > bestPerClass[label]) bestPerClass[label] = s;
    if (classTop && s > classTop[label * m + m - 1]) {
      let p = label * m + m - 1;
      while (p > label * m && classTop[p - 1] < s) {
        classTop[p] = classTop[p - 1];
        p--;
      }
      classTop[p] = s;
    }
    if (s > topSim[k - 1]) {
      let p = k - 1;
      while (p > 0 && topSim[p - 1] < s) {
        topSim[p] = topSim[p - 1];
        topRow[p] = topRow[p - 1];
        p--;
      }
      topSim[p] = s;
      topRow[p] = r;
    }
  }
  const neighbors: Neighbor[] = [];
  const votes = new Map<number, number>();
  for (let i = 0; i < k; i++) {
    if (topRow[i] < 0) break;
    const classIndex = labels[topRow[i]];
    neighbors.push({ reference: topRow[i], classIndex, similarity: topSim[i] });
    votes.set(classIndex, (votes.get(classIndex) ?? 0) + 1);
  }
  if (classTop) return { neighbors, ranking: rankByMeanOfBest(bestPerClass, classTop, m, votes, classNames, options.topClasses ?? 10) };
  const ranking = rankClasses(bestPerClass, votes, classNames, options.topClasses ?? 10);
  return { neighbors, ranking };
}

function rankByMeanOfBest(
  best: Float32Array,
  classTop: Float32Array,
  m: number,
  votes: Map<number, number>,
  classNames: readonly string[],
  top: number,
): ClassRank[] {
  const score = new Float64Array(best.length).fill(-Infinity);
  const order: number[] = [];
  for (let c = 0; c < best.length; c++) {
    if (best[c] === -Infinity) continue;
    let sum = 0;
    let n = 0;
    for (let j = 0; j < m && classTop[c * m + j] > -Infinity; j++, n++) sum += classTop[c * m + j];
    score[c] = sum / n;
    order.push(c);
  }
  const chosen = selectTop(order, top, (a, b) => score[b] - score[a] || best[b] - best[a]);
  return chosen.map((c) => ({ classIndex: c, class: classNames[c], similarity: best[c], votes: votes.get(c) ?? 0, meanOfBest: score[c] }));
}

function rankClasses(
  best: Float32Array,
  votes: Map<number, number>,
  classNames: readonly string[],
  top: number,
): ClassRank[] {
  const order: number[] = [];
  for (let c = 0; c < best.length; c++) if (best[c] > -Infinity) order.push(c);
  const voted = (c: number) => votes.get(c) ?? 0;
  // Partial selection keeps this O(classes) when the library is large.
  const chosen = selectTop(order, Math.max(top, votes.size), (a, b) => voted(b) - voted(a) || best[b] - best[a]);
  return chosen.map((c) => ({ classIndex: c, class: classNames[c], similarity: best[c], votes: voted(c) }));
}

/** The n best items under compare, sorted; O(items x n), fine for the n <= ~20 used here. */
export function selectTop<T>(items: readonly T[], n: number, compare: (a: T, b: T) => number): T[] {
  const out: T[] = [];
  for (const item of items) {
    if (out.length < n || compare(item, out[out.length - 1]) < 0) {
      let p = out.length < n ? out.length : n - 1;
      if (out.length < n) out.push(item);
      while (p > 0 && compare(item, out[p - 1]) < 0) {
        out[p] = out[p - 1];
        p--;
      }
      out[p] = item;
    }
  }
  return out;
}

export function normalizeInPlace(v: Float32Array): Float32Array {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  const norm = Math.sqrt(s);
  if (norm > 0) for (let j = 0; j < v.length; j++) v[j] /= norm;
  return v;
}

function normalizeRows(rows: Float32Array, dim: number, name: string): Float32Array {
  const out = Float32Array.from(rows);
  for (let r = 0; r < out.length / dim; r++) {
    const row = out.subarray(r * dim, (r + 1) * dim);
    let s = 0;
    for (let j = 0; j < dim; j++) s += row[j] * row[j];
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new SpectrumInputError('library-embedding', `class "${name}": reference ${r} has a zero or non-finite embedding`);
    }
    normalizeInPlace(row);
  }
  return out;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The one rule for a class name, shared by the HTTP API, the CLI, the store and this library: the store refuses what
 * the library would refuse, so nothing is committed that a later start could not load.
 */
export function validateClassName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
    throw new SpectrumInputError('library-class-name', `class name must be 1-200 characters, not only white space, got ${JSON.stringify(String(name).slice(0, 220))}`);
  }
}

const validateName: (name: string) => void = validateClassName;

function unknownClass(name: string): SpectrumInputError {
  return new SpectrumInputError('library-unknown-class', `no class "${name}" in the library`);
}

// ---------------------------------------------------------------------------------------------------------------
// Serialization: "SPLB", u32 format version, u32 header length, JSON header (padded to 4 bytes), then per class its
// Float32 embeddings and, when kept, its Float32 spectra, little-endian. Pure: bytes in, bytes out.

const MAGIC = 'SPLB';
const FORMAT_VERSION = 1;

interface SerializedHeader {
  dim: number;
  points: number;
  modelVersion: string;
  classes: Array<{ name: string; count: number; spectra: boolean; profile?: boolean }>;
}

export function serializeLibrary(library: ReferenceLibrary): Uint8Array {
  const entries = library.list();
  const header: SerializedHeader = {
    dim: library.dim,
    points: library.points,
    modelVersion: library.modelVersion,
    classes: entries.map((c) => ({ name: c.name, count: c.references, spectra: c.hasSpectra, profile: c.hasProfile })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 4) * 4;
  let floats = 0;
  const pdim = profileDim(header.points);
  for (const c of header.classes) floats += c.count * (header.dim + (c.spectra ? header.points : 0)) + (c.profile ? pdim : 0);
  const out = new Uint8Array(12 + padded + floats * 4);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, json.length, true);
  out.fill(0x20, 12, 12 + padded);
  out.set(json, 12);
  let offset = 12 + padded;
  const write = (values: Float32Array) => {
    for (let i = 0; i < values.length; i++, offset += 4) view.setFloat32(offset, values[i], true);
  };
  for (const c of header.classes) {
    write(library.embeddingsOf(c.name));
    const spectra = library.spectraOf(c.name);
    if (spectra) write(spectra);
    const profile = library.profileSumOf(c.name);
    if (c.profile && profile) write(Float32Array.from(profile));
  }
  return out;
}

export function deserializeLibrary(bytes: Uint8Array, file?: string): ReferenceLibrary {
  const corrupt = (why: string) => new SpectrumInputError('library-corrupt', `not a readable spectrad library: ${why}`, { file });
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) throw corrupt('missing SPLB header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== FORMAT_VERSION) throw corrupt(`format version ${version}, this build reads ${FORMAT_VERSION}`);
  const jsonLength = view.getUint32(8, true);
  if (12 + jsonLength > bytes.length) throw corrupt('header longer than the file');
  let header: SerializedHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jsonLength))) as SerializedHeader;
  } catch {
    throw corrupt('header is not JSON');
  }
  if (!Number.isInteger(header.dim) || !Number.isInteger(header.points) || !Array.isArray(header.classes)) {
    throw corrupt('header lacks dim, points or classes');
  }
  let offset = 12 + Math.ceil(jsonLength / 4) * 4;
  const read = (n: number): Float32Array => {
    if (offset + n * 4 > bytes.length) throw corrupt('file is truncated');
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++, offset += 4) out[i] = view.getFloat32(offset, true);
    return out;
  };
  const library = new ReferenceLibrary({ dim: header.dim, points: header.points, modelVersion: String(header.modelVersion ?? '') });
  for (const c of header.classes) {
    if (typeof c.name !== 'string' || !Number.isInteger(c.count) || c.count <= 0) throw corrupt('bad class entry');
    const embeddings = read(c.count * header.dim);
    const spectra = c.spectra ? read(c.count * header.points) : null;
    library.addReferences(c.name, embeddings, spectra);
    library.setProfileSum(c.name, c.profile ? Float64Array.from(read(profileDim(header.points))) : null);
  }
  if (offset !== bytes.length) throw corrupt(`${bytes.length - offset} trailing bytes`);
  return library;
}
