import { Worker } from 'node:worker_threads';
import { SpectrumInputError } from '../../core/errors.ts';
import type { EngineChoice } from '../../core/engine/onnx.ts';
import type { PipelineLogger } from '../../pipelines/ports.ts';
import { splitHeldOut, type LabelledReference } from './labelled-data.ts';
import type { RetrainJob, WorkerToMain } from '../workers/retrain-protocol.ts';
import type { ModelRegistry, ModelVersion, PromotionDecision } from './versions.ts';

export interface RetrainSettings {
  /** Epoch budget of a background run (fine-tuning from the promoted weights). */
  readonly epochs: number;
  /** Share of each class's labelled spectra held out to measure the candidate (and the current model) on. */
  readonly holdOut: number;
  readonly lr: number;
  readonly seed: number;
  /** Promote the candidate when it is at least as good as the current model. */
  readonly autoPromote: boolean;
  readonly backend: RetrainJob['backend'];
  /** Start a run by itself once this many spectra have been labelled since the last run started (0: only on demand). */
  readonly afterLabels?: number;
}

/** What the manager needs of the running daemon. */
export interface ModelHost {
  /** Labelled spectra of the library (enrolled classes and references) on the model grid. */
  references(): LabelledReference[];
  readonly points: number;
  /** Loads a model directory, re-embeds the library with it and switches to it between micro-batches; its version. */
  switchTo(dir: string): Promise<string>;
  /** Gets a model directory ready in the background so that switching to it later is quick (absent: switches load then). */
  prepare?(dir: string): void;
  /** The inference engine the current model runs on (absent: not known to the host). */
  engine?(): EngineChoice | undefined;
}

export type RetrainState = 'idle' | 'training' | 'evaluating' | 'promoted' | 'kept' | 'failed' | 'cancelled';

export interface VersionView {
  readonly version: string;
  readonly createdAt: string;
  readonly active: boolean;
  readonly modelVersion?: string;
  readonly baseVersion?: string;
  readonly metrics: Readonly<Record<string, number>>;
}

/** GET /api/retrain, and the socket.io event 'retrain' (docs/DASHBOARD.md). */
export interface RetrainStatus {
  readonly state: RetrainState;
  readonly progress?: number;
  readonly epoch?: number;
  readonly epochs?: number;
  readonly loss?: number;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly candidate?: string;
  readonly before?: { readonly modelVersion?: string; readonly metrics: Readonly<Record<string, number>> };
  readonly after?: { readonly modelVersion?: string; readonly metrics: Readonly<Record<string, number>> };
  readonly activeVersion?: string;
  /** The engine the active model runs on (onnx or tfjs) and why. */
  readonly inference?: EngineChoice;
  readonly versions: readonly VersionView[];
  /** Spectra labelled since the last run started, and the count that starts a run by itself (absent: on demand only). */
  readonly labelsSinceLast: number;
  /** The version a rollback returns to; absent when there is none (POST /api/models/rollback would answer 409). */
  readonly rollbackTo?: string;
  readonly threshold?: number;
}

export interface SwitchAnswer {
  readonly version: string;
  readonly modelVersion: string;
  readonly decision?: PromotionDecision;
}

const BOOTSTRAP = new URL('../workers/worker-bootstrap.mjs', import.meta.url);
const ENTRY = new URL('../workers/retrain-worker.ts', import.meta.url).href;

/** The part of a worker_thread the manager uses (tests hand in a stand-in). */
export interface TrainingWorker {
  on(event: 'message', listener: (m: WorkerToMain) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  postMessage(m: { type: 'cancel' }): void;
  terminate(): Promise<number>;
}

export type SpawnTrainingWorker = (job: RetrainJob) => TrainingWorker;

const spawnWorkerThread: SpawnTrainingWorker = (job) => new Worker(BOOTSTRAP, { workerData: { module: ENTRY, job } }) as unknown as TrainingWorker;

/**
 * What a site (several daemons sharing one model registry, daemon/site) needs to hear from the manager, and the
 * site-wide lock on retraining runs. Absent on a single node.
 */
export interface ModelManagerSiteHooks {
  /** A run saved a candidate in this node's registry. */
  candidateSaved?(version: string): void;
  /** A version became this node's active model (promotion or rollback). */
  activated?(version: string, how: 'promote' | 'rollback'): void;
  /** Takes the site's one-run lock; resolves to why not when another node runs (or the site cannot be asked). */
  claimRun?(): Promise<string | undefined>;
  releaseRun?(): void;
}

interface Run {
  readonly worker: TrainingWorker;
  readonly version: string;
  readonly base: ModelVersion;
  readonly heldOut: number;
  readonly references: number;
  cancelled: boolean;
}


/**
 * Model versions and background retraining: a run trains a candidate in a worker_thread from the promoted model's
 * weights on the library's labelled spectra, records it in the registry with its held-out accuracy before and after,
 * and promotes it when the rule allows (auto-promote) or when asked. Promotion and rollback re-embed the library and
 * switch the daemon's encoder between micro-batches (ModelHost.switchTo). One run at a time.
 */
export class ModelManager {
  private run: Run | undefined;
  private live: Omit<RetrainStatus, 'activeVersion' | 'versions' | 'labelsSinceLast' | 'threshold'> = { state: 'idle' };
  private switching: Promise<unknown> = Promise.resolve();
  private labelsSinceLastRun = 0;
  /** Set by daemon/site when the daemon is part of a site. */
  siteHooks: ModelManagerSiteHooks | undefined;
  private claimed = false;

  constructor(
    private readonly registry: ModelRegistry,
    private readonly host: ModelHost,
    private readonly settings: RetrainSettings,
    private readonly emit: (status: RetrainStatus) => void,
    private readonly log: PipelineLogger,
    private readonly spawn: SpawnTrainingWorker = spawnWorkerThread,
  ) {}

  /** The shipped model becomes v1 when the registry is empty, so rollback can always return to it. */
  static registerBase(registry: ModelRegistry, dir: string, modelVersion: string, accuracy: number): void {
    if (registry.list().length > 0) return;
    registry.add({ version: registry.nextVersion(), dir, accuracyBefore: null, accuracyAfter: accuracy, modelVersion });
    registry.promote('v1', true);
  }

  get running(): boolean {
    return this.run !== undefined;
  }

  status(): RetrainStatus {
    const current = this.registry.current();
    const auto = this.settings.afterLabels ? { threshold: this.settings.afterLabels } : {};
    const inference = this.host.engine?.();
    const rollbackTo = this.registry.previous()?.version;
    return {
      ...this.live, activeVersion: current?.version, ...(inference ? { inference } : {}), versions: this.versions(), labelsSinceLast: this.labelsSinceLastRun,
      ...(rollbackTo ? { rollbackTo } : {}), ...auto,
    };
  }

  versions(): VersionView[] {
    const current = this.registry.current()?.version;
    return this.registry.list().map((v) => ({
      version: v.version,
      createdAt: v.createdAt,
      active: v.version === current,
      modelVersion: v.modelVersion,
      baseVersion: v.baseVersion,
      metrics: {
        accuracy: v.accuracyAfter,
        ...(v.accuracyBefore !== null ? { accuracyBefore: v.accuracyBefore } : {}),
        ...(v.heldOut !== undefined ? { heldOut: v.heldOut } : {}),
        ...(v.references !== undefined ? { references: v.references } : {}),
      },
    }));
  }

  /**
   * Counts newly labelled spectra (enrollment) and starts a run by itself when `afterLabels` of them have accumulated
   * and none is going; labels that arrive during a run count towards the next one. A run that cannot start (too few
   * labelled spectra per class yet) is logged and retried at the next label. Returns whether a run started.
   */
  noteLabelled(count: number): boolean {
    this.labelsSinceLastRun += Math.max(0, count);
    const threshold = this.settings.afterLabels ?? 0;
    if (threshold <= 0 || this.run || this.labelsSinceLastRun < threshold) {
      this.publish();
      return false;
    }
    if (this.siteHooks?.claimRun) {
      // On a site the run needs the site's lock first: asked now, started when granted (or logged and left).
      void this.startExclusive()
        .then(() => this.log.info({ labels: threshold }, 'retraining started by itself: enough new labels'))
        .catch((err: unknown) => {
          this.log.warn({ err: err instanceof Error ? err.message : String(err), labels: this.labelsSinceLastRun }, 'enough new labels for a retraining run, but it could not start');
          this.publish();
        });
      return true;
    }
    try {
      this.start();
      this.log.info({ labels: threshold }, 'retraining started by itself: enough new labels');
      return true;
    } catch (err) {
      this.log.warn({ err, labels: this.labelsSinceLastRun }, 'enough new labels for a retraining run, but it could not start');
      this.publish();
      return false;
    }
  }

  /** Starts a background run; 409-worthy SpectrumInputError 'retrain-running' when one is going. */
  start(options: { epochs?: number; holdOut?: number } = {}): RetrainStatus {
    if (this.run) throw new SpectrumInputError('retrain-running', 'a retraining run is already going; cancel it first (DELETE /api/retrain)');
    const base = this.registry.current();
    if (!base) throw new SpectrumInputError('model-none', 'no promoted model to retrain from');
    const epochs = options.epochs ?? this.settings.epochs;
    const split = splitHeldOut(this.host.references(), options.holdOut ?? this.settings.holdOut, this.settings.seed, this.host.points);
    const version = this.registry.nextVersion();
    const job: RetrainJob = {
      baseDir: base.dir,
      outDir: this.registry.dirFor(version),
      cardVersion: `retrain-${version}`,
      epochs,
      lr: this.settings.lr,
      seed: this.settings.seed,
      backend: this.settings.backend,
      train: split.train,
      val: split.val,
    };
    const worker = this.spawn(job);
    this.labelsSinceLastRun = 0;
    const run: Run = { worker, version, base, heldOut: split.val.n, references: split.train.n, cancelled: false };
    this.run = run;
    this.live = {
      state: 'training',
      progress: 0,
      epoch: 0,
      epochs,
      candidate: version,
      startedAt: new Date().toISOString(),
      message: `fine-tuning ${base.version} on ${split.train.n} labelled spectra of ${split.classes.length} classes, ${split.val.n} held out`,
      before: { modelVersion: base.version, metrics: {} },
    };
    this.log.info({ version, base: base.version, epochs, references: split.train.n, heldOut: split.val.n }, 'retraining started');
    worker.on('message', (m: WorkerToMain) => void this.onWorker(run, m));
    worker.on('error', (err) => this.finish(run, { state: 'failed', message: `training failed: ${err.message}` }));
    worker.on('exit', (code) => {
      if (this.run === run) this.finish(run, run.cancelled ? { state: 'cancelled', message: 'cancelled' } : { state: 'failed', message: `training worker exited (code ${code})` });
    });
    this.publish();
    return this.status();
  }

  /**
   * start() after taking the site's one-run lock when the daemon is part of a site (POST /api/retrain): refused with
   * 'retrain-running' while another node runs. On a single node it is start().
   */
  async startExclusive(options: { epochs?: number; holdOut?: number } = {}): Promise<RetrainStatus> {
    if (this.run || !this.siteHooks?.claimRun) return this.start(options);
    const refused = await this.siteHooks.claimRun();
    if (refused) throw new SpectrumInputError('retrain-running', refused);
    try {
      const status = this.start(options);
      this.claimed = true;
      return status;
    } catch (err) {
      this.siteHooks.releaseRun?.();
      throw err;
    }
  }

  /** Cancels the run; false when none is going. */
  cancel(): boolean {
    const run = this.run;
    if (!run) return false;
    run.cancelled = true;
    run.worker.postMessage({ type: 'cancel' });
    // A worker deep in a training step answers at the step's end; terminate if it does not within a few seconds.
    setTimeout(() => void run.worker.terminate(), 5000).unref();
    return true;
  }

  /**
   * Prepares a version of the registry in the background (loaded, library embedded and calibrated) so that its
   * promotion is quick: a candidate as soon as it is saved, and on a site every version added by another node.
   */
  prepare(version: string): void {
    const entry = this.registry.get(version);
    if (!entry || this.registry.current()?.version === version) return;
    this.host.prepare?.(entry.dir);
  }

  /** Promotes a version (the rule unless forced), re-embeds the library and switches to it. */
  promote(version: string, force = false): Promise<SwitchAnswer> {
    return this.serial(async () => {
      const decision = this.registry.decide(version, force);
      if (!decision.promote) {
        throw new SpectrumInputError('model-worse', `model ${version} is worse on the held-out spectra (${fmt(decision.candidate)} < ${fmt(decision.current)}); force it to promote anyway`, { field: 'version' });
      }
      const entry = this.registry.get(version)!;
      const modelVersion = await this.host.switchTo(entry.dir);
      this.registry.promote(version, true);
      this.log.info({ version, modelVersion, forced: force }, 'model promoted');
      this.siteHooks?.activated?.(version, 'promote');
      // The last run's words ("candidate v2 saved") must not outlive what happened to the candidate.
      this.live = { ...this.live, ...(this.live.candidate === version && this.live.state === 'kept' ? { state: 'promoted' as const } : {}), message: `${version} promoted${force && decision.current !== null && decision.candidate < decision.current ? ' (forced, although worse on the held-out spectra)' : ''}` };
      this.publish();
      return { version, modelVersion, decision };
    });
  }

  /** Back to the previously promoted version (re-embeds and switches). */
  rollback(): Promise<SwitchAnswer> {
    return this.serial(async () => {
      const history = this.registry;
      const current = history.current();
      const previous = history.previous();
      if (!current || !previous) throw new SpectrumInputError('model-no-previous', 'no previously promoted model version to roll back to');
      const modelVersion = await this.host.switchTo(previous.dir);
      history.rollback();
      this.log.info({ from: current.version, to: previous.version, modelVersion }, 'model rolled back');
      this.siteHooks?.activated?.(previous.version, 'rollback');
      // The last run's "promoted" no longer holds once its version is rolled back.
      const settled = !this.run && (this.live.state === 'promoted' || this.live.state === 'kept');
      this.live = { ...this.live, ...(settled ? { state: 'idle' as const } : {}), message: `rolled back from ${current.version} to ${previous.version}` };
      this.publish();
      return { version: previous.version, modelVersion };
    });
  }

  /** Stops a run at daemon shutdown. */
  async stop(): Promise<void> {
    const run = this.run;
    if (!run) return;
    run.cancelled = true;
    await run.worker.terminate();
  }

  private async onWorker(run: Run, m: WorkerToMain): Promise<void> {
    if (this.run !== run) return;
    switch (m.type) {
      case 'before':
        this.live = { ...this.live, before: { modelVersion: run.base.version, metrics: { accuracy: m.accuracy } } };
        break;
      case 'epoch':
        this.live = {
          ...this.live,
          epoch: m.epoch,
          epochs: m.epochs,
          progress: m.epoch / m.epochs,
          loss: m.loss,
          after: m.valAccuracy === undefined ? this.live.after : { modelVersion: run.version, metrics: { accuracy: m.valAccuracy, loss: m.loss } },
        };
        break;
      case 'evaluating':
        this.live = { ...this.live, state: 'evaluating', progress: 1 };
        break;
      case 'cancelled':
        this.finish(run, { state: 'cancelled', message: 'cancelled' });
        return;
      case 'failed':
        this.finish(run, { state: 'failed', message: m.message });
        return;
      case 'done': {
        this.registry.add({
          version: run.version,
          accuracyBefore: m.accuracyBefore,
          accuracyAfter: m.accuracyAfter,
          baseVersion: run.base.version,
          heldOut: run.heldOut,
          references: run.references,
          epochs: m.epochsRun,
          modelVersion: `retrain-${run.version}@${m.weightsSha256.slice(0, 12)}`,
        });
        this.siteHooks?.candidateSaved?.(run.version);
        // Before anyone promotes it (auto-promotion below waits for it rather than loading it a second time).
        this.prepare(run.version);
        const before = { modelVersion: run.base.version, metrics: { accuracy: m.accuracyBefore } };
        const after = { modelVersion: run.version, metrics: { accuracy: m.accuracyAfter } };
        const decision = this.registry.decide(run.version);
        this.finish(run, { state: 'kept', before, after, message: `candidate ${run.version} saved (held-out kNN ${fmt(m.accuracyBefore)} -> ${fmt(m.accuracyAfter)})` });
        if (this.settings.autoPromote && decision.promote) {
          try {
            await this.promote(run.version);
            this.live = { ...this.live, state: 'promoted', message: `${run.version} promoted (held-out kNN ${fmt(m.accuracyBefore)} -> ${fmt(m.accuracyAfter)})` };
          } catch (err) {
            this.live = { ...this.live, state: 'failed', message: `promotion failed: ${err instanceof Error ? err.message : String(err)}` };
          }
          this.publish();
        } else if (!decision.promote) {
          this.live = { ...this.live, message: `${run.version} kept but not promoted: worse on the held-out spectra (${fmt(m.accuracyAfter)} < ${fmt(m.accuracyBefore)})` };
          this.publish();
        }
        return;
      }
    }
    this.publish();
  }

  private finish(run: Run, patch: Partial<RetrainStatus> & { state: RetrainState }): void {
    if (this.run !== run) return;
    this.run = undefined;
    if (this.claimed) {
      this.claimed = false;
      this.siteHooks?.releaseRun?.();
    }
    this.live = { ...this.live, ...patch, finishedAt: new Date().toISOString() };
    void run.worker.terminate();
    this.log[patch.state === 'failed' ? 'warn' : 'info']({ version: run.version, state: patch.state, message: patch.message }, 'retraining finished');
    this.publish();
  }

  private publish(): void {
    try {
      this.emit(this.status());
    } catch (err) {
      this.log.warn({ err }, 'could not publish the retraining status');
    }
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.switching.then(task, task);
    this.switching = next.catch(() => undefined);
    return next;
  }
}

function fmt(a: number | null): string {
  return a === null ? 'none' : `${(a * 100).toFixed(1)} %`;
}
