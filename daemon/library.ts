import type { Encoder } from '../core/encoder/types.ts';
import { SpectrumInputError } from '../core/errors.ts';
import type { Calibration } from '../core/identify/knn/calibration.ts';
import { ReferenceLibrary } from '../core/identify/index.ts';
import { validateClassName } from '../core/identify/knn/library.ts';
import { createSpectrum } from '../core/spectrum.ts';
import type { PipelineLogger } from '../pipelines/ports.ts';
import { prepareCalibration, runInThisThread, yieldToEventLoop, type CalibrationRunner, type CalibrationSettings } from './workers/off-thread-calibration.ts';
import { logPhaseMemory } from './startup-memory.ts';
import { ulid } from './store/ids.ts';
import type { Store } from './store/store.ts';

export interface DemoLibraryOptions {
  readonly classes: 'all' | readonly number[];
  readonly perClass: number;
  readonly seed: number;
}

/**
 * The reference library the pipeline identifies against. The store is its source of truth (classes, reference
 * spectra on the model grid, their embeddings and the model version that made them); this holds the in-memory
 * ReferenceLibrary built from it, re-embedding references when the model changed.
 */
export class LibraryService {
  private current: ReferenceLibrary;
  /** The calibration made for `current` before it became current (absent: the identify stage calibrates it). */
  private calibrated: { readonly library: ReferenceLibrary; readonly calibration: Calibration } | undefined;
  private calibrationSettings: CalibrationSettings | undefined;
  private calibrationRunner: CalibrationRunner | undefined;
  private refining: Promise<void> = Promise.resolve();
  /**
   * Embeddings of the store's references made ahead by this encoder for a model not yet active (a site node preparing
   * a version before its activation, daemon/models/model-preparation.ts): used in place of the store's, and the store
   * is not written while they are set, since its embeddings still serve the active model. adopt() ends that.
   */
  private ahead: ReadonlyMap<number, Float32Array> | undefined;

  constructor(
    private readonly store: Store,
    private readonly encoder: Encoder,
    private readonly preprocessVector: (y: Float32Array) => Float32Array,
    private readonly log: PipelineLogger,
  ) {
    this.current = this.empty();
  }

  /** Builds from `embeddings` (reference id -> embedding by this encoder) and leaves the store's embeddings alone. */
  useEmbeddingsMadeAhead(embeddings: ReadonlyMap<number, Float32Array>): void {
    this.ahead = embeddings;
  }

  /** This library became the daemon's: from now on it writes its embeddings to the store like any other. */
  adopt(): void {
    this.ahead = undefined;
  }

  get library(): ReferenceLibrary {
    return this.current;
  }

  /**
   * From now on every library state is calibrated off the identification path (prepareCalibration: a worker thread,
   * small embedding steps). A state with no calibration yet waits for it before it becomes current (the first load
   * of a switched-to model: the previous model's thresholds mean nothing in the new embedding space). A state made
   * by enrollment or undo becomes current at once with the thresholds of the state before (same model; a class
   * without statistics of its own takes the pooled prior, core/identify/knn/calibration.ts classStatistics), and its own
   * calibration replaces them in the background: labelling answers in the time of one embedding, not a calibration.
   * The current state is calibrated in the background now, so the first enrollment finds thresholds to carry over.
   */
  calibrateBeforeUse(settings: CalibrationSettings, runner?: CalibrationRunner): void {
    this.calibrationSettings = settings;
    this.calibrationRunner = runner;
    if (this.current.classCount >= 2 && !this.calibrated) this.recalibrateInBackground(this.current);
  }

  /**
   * Calibrates the current state here and now (thresholds, mixture templates and the unknown-component calibration,
   * in steps: the open-set test of every answer needs its bar, core/identify/mixture/open-set.ts, so the first spectra do not
   * go without it), for the daemon's start: the inputs start after the library, so nothing identifies yet and nothing can stall, while a worker
   * thread would add its own memory to the start-up peak and the identify stage's own first-batch calibration would
   * do the same work a second time. calibrateBeforeUse afterwards finds the state calibrated.
   */
  async calibrateNow(settings: CalibrationSettings): Promise<void> {
    const library = this.current;
    if (library.classCount < 2) return;
    const calibration = await prepareCalibration(library, this.encoder, settings, this.log, runInThisThread, { unexplainedInBackground: true, awaitUnexplained: true });
    if (calibration && this.current === library) this.calibrated = { library, calibration };
  }

  /** The calibration made for this library state (the identify stage asks at every batch); undefined: none yet. */
  calibrationFor(library: ReferenceLibrary): Calibration | undefined {
    return this.calibrated?.library === library ? this.calibrated.calibration : undefined;
  }

  /** Resolves when the background calibration of the current state (if any) has finished. */
  async settled(): Promise<void> {
    await this.refining;
  }

  private recalibrateInBackground(library: ReferenceLibrary): void {
    const settings = this.calibrationSettings;
    if (!settings) return;
    this.refining = prepareCalibration(library, this.encoder, settings, this.log, this.calibrationRunner)
      .then((calibration) => {
        // A state replaced meanwhile (another enrollment) keeps its own calibration run.
        if (calibration && this.current === library) this.calibrated = { library, calibration };
      })
      .catch((err: unknown) => this.log.warn({ err }, 'background calibration of the library failed; keeping the previous thresholds'));
  }

  /**
   * Builds the library from the store, re-embedding references made by another model version; the build yields to
   * the event loop between classes so micro-batches keep running. With calibrateBeforeUse, see there for when the
   * new state becomes current; meanwhile identification uses the previous state.
   */
  async load(): Promise<void> {
    const lib = this.empty();
    // The store's rows are read once and each class's rows let go as soon as the library holds its copy: the
    // references' spectra are 20 kB each (30 MB for the 500-class demo), and every copy held at once (rows read
    // twice, the class blocks, the library's own) raised the start-up peak of resident memory by ~90 MB.
    const byClass = await this.referencesByClass();
    let built = 0;
    for (const [name, rows] of byClass) {
      byClass.delete(name);
      const points = this.encoder.grid.points;
      const keepSpectra = rows.vec.every((v) => v.length === points);
      try {
        lib.addReferences(name, concat(rows.emb), keepSpectra ? concat(rows.vec) : null);
      } catch (err) {
        // A row the library refuses (written by an older version, or edited by hand) must not stop the daemon: it
        // is set aside with its reason, logged and alerted, and the rest loads.
        this.loadAround(lib, name, rows, keepSpectra, err);
      }
      // About 1 ms a class (profile sums of 5000-point spectra): 500 classes in one go would stall for half a second.
      if (++built % 25 === 0) await yieldToEventLoop();
    }
    if (!this.calibrationSettings) {
      this.calibrated = undefined;
      this.current = lib;
      return;
    }
    // The current state's own calibration may still be running (it starts with calibrateBeforeUse): finishing it
    // costs less than calibrating the new state from scratch, and its thresholds carry over.
    if (!this.calibrated && this.current.classCount >= 2) await this.refining;
    const carried = this.calibrated?.calibration;
    if (carried && lib.classCount >= 2) {
      this.calibrated = { library: lib, calibration: carried };
      this.current = lib;
      this.recalibrateInBackground(lib);
      return;
    }
    const calibration = await prepareCalibration(lib, this.encoder, this.calibrationSettings, this.log, this.calibrationRunner);
    this.calibrated = calibration ? { library: lib, calibration } : undefined;
    this.current = lib;
  }

  /**
   * The store's references grouped by class in store order, with embeddings of this model: references made by another
   * model version (or none yet) are re-embedded and stored first.
   */
  private async referencesByClass(): Promise<Map<string, ClassRows>> {
    const refs = this.store.references();
    const stale = refs.filter((r) => r.modelVersion !== this.encoder.version || !r.embedding);
    const embeddingOf = new Map<number, Float32Array>();
    const ahead = this.ahead;
    for (const r of stale) {
      const made = ahead?.get(r.id);
      if (made) embeddingOf.set(r.id, made);
    }
    const missing = stale.filter((r) => !embeddingOf.has(r.id));
    if (missing.length > 0) {
      this.log.info({ references: missing.length, modelVersion: this.encoder.version }, 're-embedding library references for this model');
      const embeddings = await this.embed(missing.map((r) => r.vector));
      if (!ahead) this.store.setEmbeddings(this.encoder.version, missing.map((r, i) => ({ id: r.id, embedding: embeddings[i] })));
      missing.forEach((r, i) => embeddingOf.set(r.id, embeddings[i]));
    }
    const byClass = new Map<string, ClassRows>();
    for (const r of refs) {
      const entry = byClass.get(r.class) ?? { ids: [], emb: [], vec: [] };
      entry.ids.push(r.id);
      entry.emb.push(embeddingOf.get(r.id) ?? r.embedding!);
      entry.vec.push(r.vector);
      byClass.set(r.class, entry);
    }
    return byClass;
  }

  /**
   * A class the library refused as a whole: with a bad name it is quarantined; otherwise its references are tried one
   * by one, those the library refuses (a zero or non-finite embedding, a wrong length) are quarantined and the class
   * loads with the others (all refused: the class is quarantined).
   */
  private loadAround(lib: ReferenceLibrary, name: string, rows: ClassRows, keepSpectra: boolean, err: unknown): void {
    try {
      validateClassName(name);
    } catch {
      this.quarantine(name, err);
      return;
    }
    const good: number[] = [];
    const bad: Array<{ id: number; reason: string }> = [];
    rows.ids.forEach((id, i) => {
      try {
        this.empty().addReferences(name, rows.emb[i], keepSpectra ? rows.vec[i] : null);
        good.push(i);
      } catch (e) {
        bad.push({ id, reason: e instanceof Error ? e.message : String(e) });
      }
    });
    if (good.length === 0 || bad.length === 0) {
      this.quarantine(name, err);
      return;
    }
    try {
      lib.addReferences(name, concat(good.map((i) => rows.emb[i])), keepSpectra ? concat(good.map((i) => rows.vec[i])) : null);
    } catch (e) {
      this.quarantine(name, e);
      return;
    }
    this.store.quarantineReferences(bad.map((b) => b.id), bad[0].reason);
    const message = `${bad.length} reference(s) of library class ${JSON.stringify(name)} could not be loaded and were set aside (quarantined); the class loads with ${good.length}: ${bad[0].reason}`;
    this.log.error({ class: name, references: bad.map((b) => b.id), reason: bad[0].reason }, 'library references quarantined');
    this.alert(message);
  }

  private alert(message: string): void {
    try {
      this.store.addAlert({ id: ulid(), kind: 'library-quarantine', instrument: 'library', at: new Date().toISOString(), message });
    } catch (alertErr) {
      this.log.error({ err: alertErr }, 'could not record the quarantine alert');
    }
  }

  private quarantine(name: string, err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.store.quarantineClass(name, reason);
    const message = `library class ${JSON.stringify(name.slice(0, 200))} could not be loaded and was set aside (quarantined): ${reason}`;
    this.log.error({ class: name, reason }, 'library class quarantined');
    this.alert(message);
  }

  /** At first start: a demo library from generated benchmark spectra (train split), unless classes exist. */
  async ensureDemo(options: DemoLibraryOptions): Promise<boolean> {
    if (this.store.listClasses().length > 0) return false;
    // Generated, embedded and stored in a call of its own, so its spectra are garbage before load() reads them back.
    await this.storeDemoReferences(options);
    await this.load();
    logPhaseMemory(this.log, 'demo: library loaded');
    return true;
  }

  private async storeDemoReferences(options: DemoLibraryOptions): Promise<void> {
    const { loadDefinition, generateRandomSplit } = await import('../core/benchmark/index.ts');
    const def = loadDefinition('benchmark');
    const classes = options.classes === 'all' ? def.classes.map((_, i) => i) : [...options.classes];
    const started = Date.now();
    // In chunks of classes (each class has its own seeded stream, so the spectra are the same as in one go): 500
    // classes x 20 references generated at once held 400 MB of raw and preprocessed spectra before the first was stored.
    const chunk = Math.max(1, Math.floor(2000 / options.perClass));
    let spectra = 0;
    for (let start = 0; start < classes.length; start += chunk) {
      const data = generateRandomSplit(def, { split: 'train', perClass: options.perClass, seed: options.seed, classes: classes.slice(start, start + chunk) });
      const vectors: Float32Array[] = [];
      for (let r = 0; r < data.n; r++) vectors.push(this.preprocessVector(data.x.subarray(r * data.points, (r + 1) * data.points)));
      if (start === 0) logPhaseMemory(this.log, 'demo: generated and preprocessed', { spectra: data.n });
      const embeddings = await this.embed(vectors);
      const byClass = new Map<number, number[]>();
      for (let r = 0; r < data.n; r++) byClass.set(data.y[r], [...(byClass.get(data.y[r]) ?? []), r]);
      for (const [cls, rows] of byClass) {
        this.store.addReferences(
          String(cls),
          'demo',
          rows.map((r) => ({ vector: vectors[r], embedding: embeddings[r], modelVersion: this.encoder.version })),
        );
      }
      spectra += data.n;
      await yieldToEventLoop();
    }
    logPhaseMemory(this.log, 'demo: embedded and stored', { spectra });
    this.log.info({ classes: classes.length, perClass: options.perClass, ms: Date.now() - started }, 'built the demo library from generated benchmark spectra');
  }

  /**
   * Enrolls references (preprocessed vectors) into a class, creating it when new: no retraining. Received spectra
   * among them (spectrumIds) are recorded as labelled by `by`, and their unknown/low-confidence alerts resolved.
   */
  async enroll(
    name: string,
    vectors: readonly Float32Array[],
    origin: string,
    spectrumIds?: readonly (string | undefined)[],
    by?: string,
    requestKey?: string,
  ): Promise<{ class: string; created: boolean; added: number; enrollmentId: string; replayed?: boolean }> {
    // Checked before anything is embedded or written (the store checks again): nothing is committed that fails.
    validateClassName(name);
    const before = requestKey ? this.replay(requestKey, name) : undefined;
    if (before) return before;
    const embeddings = await this.embed(vectors);
    const again = requestKey ? this.replay(requestKey, name) : undefined;
    if (again) return again;
    const enrollmentId = ulid();
    const created = this.store.addReferences(
      name,
      origin,
      vectors.map((v, i) => ({ vector: v, embedding: embeddings[i], modelVersion: this.encoder.version, spectrumId: spectrumIds?.[i], enrollmentId })),
      { labelledBy: by, requestKey },
    );
    await this.load();
    return { class: name, created, added: vectors.length, enrollmentId };
  }

  /** The answer of an enrollment already made under this idempotency key (a client's retry); nothing is added. */
  private replay(requestKey: string, name: string) {
    const done = this.store.enrollmentByKey(requestKey);
    if (!done) return undefined;
    if (done.class !== name) {
      throw new SpectrumInputError('idempotency-key-reused', `Idempotency-Key ${JSON.stringify(requestKey)} was used for class "${done.class}", not "${name}"`);
    }
    return { class: done.class, created: done.created, added: done.added, enrollmentId: done.enrollmentId, replayed: true };
  }

  async undo(enrollmentId: string): Promise<{ removed: number }> {
    const { removed } = this.store.undoEnrollment(enrollmentId);
    if (removed > 0) await this.load();
    return { removed };
  }

  private empty(): ReferenceLibrary {
    return new ReferenceLibrary({ dim: this.encoder.dim, points: this.encoder.grid.points, modelVersion: this.encoder.version });
  }

  private async embed(vectors: readonly Float32Array[], batch = 256): Promise<Float32Array[]> {
    const points = this.encoder.grid.points;
    const dim = this.encoder.dim;
    const out: Float32Array[] = [];
    for (let start = 0; start < vectors.length; start += batch) {
      const chunk = vectors.slice(start, start + batch);
      const x = new Float32Array(chunk.length * points);
      chunk.forEach((v, i) => x.set(v.subarray(0, points), i * points));
      const e = await this.encoder.embed(x, chunk.length);
      for (let i = 0; i < chunk.length; i++) out.push(e.slice(i * dim, (i + 1) * dim));
    }
    return out;
  }
}

/** One class's references as the store holds them: row ids, embeddings of this model, spectra on the model grid. */
interface ClassRows {
  readonly ids: number[];
  readonly emb: Float32Array[];
  readonly vec: Float32Array[];
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A benchmark row as a Spectrum on the index axis, for the core preprocessing. */
export function benchmarkSpectrum(y: Float32Array) {
  return createSpectrum({ y, xUnit: 'index' });
}
