import type { FastifyInstance } from 'fastify';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino, type Logger } from 'pino';
import type { Subscription } from 'rxjs';
import { AdapterStateTracker } from '../adapters/adapter-state.ts';
import type { InputAdapter, OutputAdapter, RawInput } from '../adapters/types.ts';
import type { ResolvedConfig } from '../config/load.ts';
import { packageRoot } from '../config/load.ts';
import type { Encoder } from '../core/encoder/types.ts';
import type { EngineChoice, InferenceEncoderOptions } from '../core/engine/onnx.ts';
import { SpectrumInputError } from '../core/errors.ts';
import type { AdapterState, AlertMessage, ResultMessage } from '../core/messages.ts';
import type { Spectrum } from '../core/spectrum.ts';
import type { FormatName } from '../core/formats/types.ts';
import type { PipelineDomain } from '../pipelines/domain.ts';
import { createIdentifyStage } from '../pipelines/identify-stage.ts';
import { SpectrumPipeline } from '../pipelines/spectrum-pipeline.ts';
import { StageTimes } from '../pipelines/stage-times.ts';
import { createInputs, createOutputs, rescuedFiles } from './adapters.ts';
import { createRequestGuard } from './http/request-guard.ts';
import { buildHttpServer, DASHBOARD_BUILD_HINT, dashboardBuilt } from './http/server.ts';
import type { ApiServices, Curve, EnrollRequest, HealthReport, RefusedUpload, UploadAnswer } from './http/services.ts';
import { benchmarkSpectrum, LibraryService } from './library.ts';
import { Lifecycle } from './lifecycle.ts';
import { OutboxDispatcher } from './outbox.ts';
import { ulid } from './store/ids.ts';
import { Store } from './store/store.ts';
import { readOrCreateTokenFile } from './http/token-file.ts';
import { modelDirAtStart, startDaemonModels, type DaemonModels } from './retrain/daemon-models.ts';
import { exportInWorkerThread } from './retrain/off-thread-export.ts';
import { InstrumentHealthTracker } from './retrain/instrument-health.ts';
import { logPhaseMemory, setWasmHeapProbe } from './startup-memory.ts';
import { DaemonMetrics } from './metrics.ts';
import { attachSocketActions } from './http/socket-actions.ts';

export interface Daemon {
  readonly config: ResolvedConfig;
  readonly store: Store;
  readonly pipeline: SpectrumPipeline;
  readonly http?: FastifyInstance;
  /** http://host:port the API listens on. */
  readonly url?: string;
  readonly log: Logger;
  health(): HealthReport;
  /** Stops inputs, drains the pipeline, flushes outputs, closes the store. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** A logger to use instead of pino on stdout (tests). */
  readonly logger?: Logger;
  /** Longest the outputs get at stop to deliver what is queued (the rest stays in the outbox for next time). */
  readonly flushTimeoutMs?: number;
}

const pkgVersion = (JSON.parse(readFileSync(`${packageRoot}/package.json`, 'utf8')) as { version: string }).version;

/**
 * The composition root: builds every part from the config and starts them in order
 * store -> model -> library -> outputs -> pipeline -> inputs -> http; stop runs in reverse.
 */
export async function startDaemon(config: ResolvedConfig, options: StartOptions = {}): Promise<Daemon> {
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'spectrad' } });
  const lifecycle = new Lifecycle(log);
  const startedAt = Date.now();
  let phase: 'starting' | 'running' | 'stopping' = 'starting';

  let store!: Store;
  let encoder!: Encoder;
  /** The inference engine of the model loaded at start; a model switch chooses again (models.engine()). */
  let engineAtStart: EngineChoice | undefined;
  let library!: LibraryService;
  let http: FastifyInstance | undefined;
  let url: string | undefined;
  let inputs: InputAdapter[] = [];
  let outputs: OutputAdapter[] = [];
  const dispatchers: OutboxDispatcher[] = [];
  const states = new Map<string, AdapterState>();
  const stateSubs: Subscription[] = [];
  let preprocessSpectrum!: (s: Spectrum) => Float32Array;
  let parseFile!: (payload: Buffer, fileName?: string, format?: FormatName) => ReturnType<PipelineDomain['parse']>;
  // Each input's `format` option (default auto): the adapter's name finds it, so adapters need not carry it.
  const formatOfInput = new Map<string, FormatName>(config.inputs.map((i) => [i.name, i.format]));
  let gridX: number[] | undefined;

  let socketActions: ReturnType<typeof attachSocketActions> | undefined;
  let httpToken: string | undefined;
  const wakeOutputs = () => dispatchers.forEach((d) => d.wake());
  const node = config.node.id;
  /** Prometheus metrics (GET /metrics); gauges read the daemon's state when scraped. */
  const metrics = new DaemonMetrics(
    node,
    {
      // Not health(): its counts scan whole tables, too slow for every scrape of a large store.
      queues: () => {
        const stats = pipeline.stats();
        return { ingesting: stats.ingesting, inMemory: stats.inMemory, pending: store?.db.open ? store.pendingCount() : 0 };
      },
      queueBound: config.pipeline.queueBound,
      outbox: () => (store?.db.open ? store.outboxDepths() : {}),
      outputNames: () => outputs.map((o) => o.name),
      adapters: () => [...states.values()],
      model: () => ({ version: models?.gate.version ?? encoder?.version, inference: (models?.engine() ?? engineAtStart)?.engine }),
      library: () => (library ? { classes: library.library.classCount, references: library.library.referenceCount } : undefined),
      ready: () => phase === 'running',
    },
    { version: pkgVersion },
  );
  /** Time per stage (parse .. publish), shared by the pipeline, the encoder wrapper and the outbox dispatchers. */
  const stageTimes = new StageTimes((stage, ms, items) => metrics.stage(stage, ms, items));
  let statsTimer: NodeJS.Timeout | undefined;
  /** The store itself as a health entry: down while it refuses commits (disk full, I/O error), with an alert. */
  const storeState = new AdapterStateTracker('store', 'store');
  /** Alerts the store could not take (it was what failed): sent to the outputs directly, recorded once it can. */
  const unrecorded: AlertMessage[] = [];

  /** Adapter alerts belong to the instrument the adapter feeds (outputs and the store: the daemon's instrument). */
  const instrumentOfAdapter = (name: string): string => {
    const input = config.inputs.find((i) => i.name === name);
    return (input && 'instrument' in input && input.instrument) || config.instrument;
  };

  const watchState = (adapter: { name: string; state$: InputAdapter['state$'] }) => {
    stateSubs.push(
      adapter.state$.subscribe({
        next: (s) => {
          const before = states.get(adapter.name);
          states.set(adapter.name, s);
          // Outputs that show adapter health (MQTT bridge/<node>/adapters/<name>, socket.io) get every change.
          for (const o of outputs) void o.publishAdapterState?.(s).catch(() => undefined);
          if (before?.state === s.state) return;
          const level = s.state === 'down' ? 'warn' : 'info';
          log[level]({ adapter: s.name, kind: s.kind, state: s.state, detail: s.detail }, `adapter ${s.name} ${s.state}`);
          const kind = s.state === 'down' ? 'adapter-down' : s.state === 'up' && before?.state === 'down' ? 'adapter-up' : undefined;
          if (kind && phase === 'running') {
            const alert: AlertMessage = { id: ulid(), kind, instrument: instrumentOfAdapter(s.name), at: new Date().toISOString(), message: adapterAlertMessage(s), node };
            metrics.alert(alert);
            try {
              while (unrecorded.length > 0) {
                store.addAlert(unrecorded[0], { queue: false });
                unrecorded.shift();
              }
              store.addAlert(alert, { adapter: s.name });
              if (kind === 'adapter-up') {
                // The input is back: its down alert closes itself, for every dashboard.
                const closed = store.resolveAdapterAlerts(s.name, `closed: ${s.name} came back at ${alert.at}`);
                for (const c of closed) services.alertAcknowledged?.(c.id, c.acknowledgedAt ?? alert.at, c.note);
              }
              wakeOutputs();
            } catch (err) {
              // Most likely the store is what is down (disk full): the outbox cannot carry this alert, so the live
              // outputs get it now (best effort) and the store records it once it takes writes again.
              log.error({ err }, 'could not record adapter alert; sent to the outputs directly');
              unrecorded.push(alert);
              for (const o of outputs) void o.publishAlert(alert).catch(() => undefined);
            }
          }
        },
        error: (err: unknown) => log.error({ err, adapter: adapter.name }, 'adapter state stream failed'),
      }),
    );
  };

  /** Model versions, retraining and switches between micro-batches (daemon/retrain). */
  let models: DaemonModels | undefined;
  const instruments = new InstrumentHealthTracker(
    // Only instruments an input feeds: the default name is listed when an input uses it, not as a phantom tile.
    [...new Set(config.inputs.map((i) => ('instrument' in i && i.instrument) || config.instrument))],
    (adapter) => {
      const input = config.inputs.find((i) => i.name === adapter);
      return input ? ('instrument' in input && input.instrument) || config.instrument : undefined;
    },
  );

  const domain: PipelineDomain = {
    get modelVersion() {
      return models?.gate.version ?? encoder.version;
    },
    // An input its adapter refused unread (too large, a link out of the folder) is recorded with the adapter's reason.
    parse: (raw: RawInput) =>
      raw.refused ? [{ block: 0, error: new SpectrumInputError(raw.refused.code, raw.refused.message, { file: raw.source }) }] : parseFile(raw.payload, raw.formatHint ?? raw.source, formatOfInput.get(raw.adapter)),
    preprocess: (s) => preprocessSpectrum(s),
    identify: (vectors) => (models ? models.gate.run(() => identifyStage(vectors)) : identifyStage(vectors)),
  };
  let identifyStage!: (vectors: readonly Float32Array[]) => ReturnType<PipelineDomain['identify']>;

  const pipeline = new SpectrumPipeline({
    store: {
      // Late-bound: the store opens in the first lifecycle step.
      ledgerOutcome: (k) => store.ledgerOutcome(k),
      commitIngest: (c) => {
        store.commitIngest(c);
        metrics.spectraReceived(c.spectra);
      },
      commitIngestMany: (c) => {
        store.commitIngestMany(c);
        for (const one of c) metrics.spectraReceived(one.spectra);
      },
      commitResults: (r, a) => store.commitResults(r, a),
      pending: (n, ex) => store.pending(n, ex),
    },
    domain,
    batchSize: config.pipeline.batchSize,
    windowMs: config.pipeline.windowMs,
    queueBound: config.pipeline.queueBound,
    ingestConcurrency: config.pipeline.ingestConcurrency,
    defaultInstrument: config.instrument,
    node,
    newId: () => ulid(),
    log,
    stageTimes,
    onCommitted: (results, alerts) => {
      for (const r of results) instruments.record(r);
      metrics.committed(results, alerts);
      wakeOutputs();
    },
    onStoreOutcome: (ok, err) => storeState.set(ok ? 'up' : 'down', ok ? undefined : `cannot commit: ${err instanceof Error ? err.message : String(err)}`),
    onPressure: (high) => {
      // Inputs that can pause (folder, MQTT) do; the rest keep arriving and wait in the store.
      for (const input of inputs) {
        if (high) input.pause?.();
        else input.resume?.();
      }
    },
  });

  const health = (): HealthReport => {
    const counts = store?.db.open ? store.counts() : { spectra: 0, pending: 0, results: 0, rejected: 0 };
    const stats = pipeline.stats();
    const adapters = [...states.values()];
    const ready = phase === 'running';
    return {
      node,
      status: phase === 'running' ? (adapters.some((a) => a.state === 'down') ? 'degraded' : 'ok') : phase,
      ready,
      modelVersion: encoder?.version,
      inference: (models?.engine() ?? engineAtStart)?.engine,
      uptimeS: Math.round((Date.now() - startedAt) / 1000),
      adapters,
      queueDepth: counts.pending,
      queueBound: config.pipeline.queueBound,
      queues: { ingesting: stats.ingesting, inMemory: stats.inMemory, pending: counts.pending },
      outbox: store?.db.open ? store.outboxDepths() : {},
      counts: { ...counts, identified: stats.identified, duplicates: stats.duplicates, rescuedFiles: rescuedFiles(inputs) },
      library: library ? { classes: library.library.classCount, references: library.library.referenceCount } : undefined,
    };
  };

  const services: ApiServices = {
    get store() {
      return store;
    },
    health,
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
    identifyUpload: async (payload, fileName) => {
      const parts = parseFile(payload, fileName);
      const answers: UploadAnswer[] = [];
      const vectors: Array<{ block: number; v: Float32Array }> = [];
      for (const p of parts) {
        try {
          if (!p.spectrum) throw p.error ?? new SpectrumInputError('unreadable', 'block could not be read');
          vectors.push({ block: p.block, v: preprocessSpectrum(p.spectrum) });
        } catch (err) {
          const e = err instanceof SpectrumInputError ? err : new SpectrumInputError('unreadable', String(err));
          answers.push({ block: p.block, status: 'rejected', score: 0, candidates: [], error: { code: e.code, message: e.message }, modelVersion: encoder.version });
        }
      }
      if (vectors.length > 0) {
        const ids = await domain.identify(vectors.map((x) => x.v));
        vectors.forEach((x, i) => answers.push({ block: x.block, ...ids[i], modelVersion: encoder.version }));
      }
      return answers.sort((a, b) => a.block - b.block);
    },
    enroll: async (req: EnrollRequest) => {
      const vectors: Float32Array[] = [];
      const sources: Array<string | undefined> = [];
      for (const id of req.spectrumIds ?? []) {
        const v = store.spectrumVector(id);
        if (!v) throw new SpectrumInputError('unknown-spectrum', `no usable spectrum ${id} (unknown or rejected)`, { field: 'spectrumIds' });
        vectors.push(v);
        sources.push(id);
      }
      // Each file on its own: a file with any unreadable block is refused whole and reported, the others enrolled.
      const refused: RefusedUpload[] = [];
      (req.files ?? []).forEach((f, i) => {
        const file = f.name ?? `files[${i}]`;
        try {
          const rows = parseFile(Buffer.from(f.content), f.name).map((p) => {
            if (!p.spectrum) throw p.error ?? new SpectrumInputError('unreadable', 'block could not be read', { file });
            return preprocessSpectrum(p.spectrum);
          });
          for (const v of rows) {
            vectors.push(v);
            sources.push(undefined);
          }
        } catch (err) {
          if (!(err instanceof SpectrumInputError) || req.allOrNothing) throw err;
          refused.push({ file, ...(err.where.block !== undefined ? { block: err.where.block } : {}), code: err.code, message: err.message });
        }
      });
      if (vectors.length === 0 && refused.length > 0) {
        throw new SpectrumInputError(refused.length === 1 ? refused[0].code : 'nothing-enrolled', refused.map((r) => r.message).join('; '), { field: 'files' });
      }
      const answer = await library.enroll(req.name, vectors, 'api', sources, req.by, req.idempotencyKey);
      if (answer.replayed) {
        log.info({ class: req.name, enrollmentId: answer.enrollmentId }, 'enrollment retried with the same Idempotency-Key: nothing added');
        return answer;
      }
      log.info({ class: req.name, added: answer.added, created: answer.created, refused: refused.length }, 'class enrolled');
      return refused.length ? { ...answer, refused } : answer;
    },
    undoEnrollment: (id) => library.undo(id),
    rawCurve: (payload, hint): Curve | undefined => {
      try {
        const s = parseFile(payload, hint).find((p) => p.spectrum)?.spectrum;
        return s ? { x: Array.from(s.x), y: Array.from(s.y), xUnit: s.xUnit, yUnit: s.yUnit, meta: { ...s.meta } } : undefined;
      } catch {
        return undefined;
      }
    },
    gridX: () => gridX,
  };

  // Enrollment and undo wait for a model switch to finish (both rewrite the library's embeddings).
  const enrollDirect = services.enroll;
  const undoDirect = services.undoEnrollment;
  services.enroll = async (req) => {
    const answer = await (models ? models.serial.run(() => enrollDirect(req)) : enrollDirect(req));
    // Labels accumulate towards a background retraining run (retrain.afterLabels; off by default).
    if (!answer.replayed) models?.manager.noteLabelled(answer.added);
    return answer;
  };
  services.undoEnrollment = (id) => (models ? models.serial.run(() => undoDirect(id)) : undoDirect(id));
  services.models = () => models?.manager;
  services.instruments = () => instruments.list([...states.values()]);

  if (config.http.enabled) {
    const { assertAddressFree } = await import('./http/port-check.ts');
    await assertAddressFree(config.http.host, config.http.port);
  }

  /**
   * How models are loaded for inference, at start and at a switch: the ONNX export and the self-check's tfjs side run
   * in a worker thread, so this thread imports tfjs only when tfjs serves (forced, or onnx failed). tfjs here costs
   * ~120 MB of resident memory that never comes back (its modules, a wasm heap that only grows, the weights).
   */
  const inferenceLoading: Pick<InferenceEncoderOptions, 'exporter' | 'initTfjs'> = {
    exporter: exportInWorkerThread(config.model.engine),
    initTfjs: async () => {
      const { initEngine, tf } = await import('../core/engine/index.ts');
      await initEngine({ backend: config.model.engine, logger: (msg) => log.info(msg) });
      setWasmHeapProbe(() => {
        // The wasm heap is a WebAssembly.Memory: it grows and never shrinks, so its size is part of the steady RSS.
        const backend = tf.getBackend() === 'wasm' ? (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }) : undefined;
        return backend?.wasm?.HEAPU8?.buffer.byteLength;
      });
      logPhaseMemory(log, 'engine (tfjs on this thread)');
    },
  };

  lifecycle.add(
    'store',
    async () => {
      // The data folder holds the store, the token and the models: the daemon's user only (it was 0755 under the
      // usual umask); the systemd unit also sets UMask=0077.
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      try {
        chmodSync(config.dataDir, 0o700);
      } catch (err) {
        log.warn({ dir: config.dataDir, err: String(err) }, 'could not make the data folder private (0700); other local users may read the store');
      }
      store = new Store(config.store.path, { synchronous: config.store.synchronous });
      log.info({ path: config.store.path, synchronous: config.store.synchronous }, 'store open');
      watchState({ name: 'store', state$: storeState.state$ });
      storeState.set('up');
      if (config.store.retentionDays > 0) {
        const cutoff = new Date(Date.now() - config.store.retentionDays * 86_400_000).toISOString();
        log.info({ removed: store.prune(cutoff), cutoff }, 'old spectra pruned');
      }
    },
    async () => store.close(),
  );

  lifecycle.add(
    'model',
    async () => {
      logPhaseMemory(log, 'store');
      const [{ loadInferenceEncoder }, formats, pre] = await Promise.all([
        import('../core/engine/onnx.ts'),
        import('../core/formats/index.ts'),
        import('../core/preprocess/index.ts'),
      ]);
      const loaded = await loadInferenceEncoder(modelDirAtStart(config, log), {
        engine: config.model.inference,
        threads: config.model.inferenceThreads,
        // The micro-batch is what identification embeds at once; larger calls (library builds) are split to it.
        batchSize: config.pipeline.batchSize,
        logger: (msg) => log.info(msg),
        onPhase: (p) => logPhaseMemory(log, `model: ${p}`),
        ...inferenceLoading,
      });
      encoder = loaded.encoder;
      engineAtStart = loaded.choice;
      log.info({ dir: config.model.dir, version: encoder.version, points: encoder.grid.points, dim: encoder.dim, inference: loaded.choice.engine }, 'model loaded');
      const chain = config.preprocessing;
      preprocessSpectrum = (s) => pre.preprocess(s, encoder.grid, chain);
      gridX = Array.from(pre.gridX(encoder.grid));
      parseFile = (payload, fileName, format) =>
        formats
          .parseSpectrumFile(payload, { fileName, format, strict: config.formats.strict })
          .map((b) => ({ block: b.block, spectrum: b.spectrum, error: b.error }));
    },
    async () => encoder?.dispose(),
  );

  lifecycle.add('library', async () => {
    library = new LibraryService(store, encoder, (y) => preprocessSpectrum(benchmarkSpectrum(y)), log);
    await library.load();
    logPhaseMemory(log, 'library: loaded from the store');
    // The demo library is generated benchmark spectra on the index grid: meaningless for a model on a physical grid
    // (Raman, IR in cm-1), whose library a lab enrolls from its own files.
    if (config.library.demo && encoder.grid.xUnit !== 'index') {
      log.info({ xUnit: encoder.grid.xUnit }, 'no demo library: the model takes a physical grid; enroll references from files');
    } else if (config.library.demo) {
      await library.ensureDemo({ classes: config.library.demoClasses, perClass: config.library.demoPerClass, seed: config.library.demoSeed });
    }
    const lib = library.library;
    log.info({ classes: lib.classCount, references: lib.referenceCount }, 'library ready');
    // The encoder's share of identify is timed on its own, so kNN/mixture search and the model can be told apart.
    const timedEncoder: Encoder = {
      grid: encoder.grid,
      dim: encoder.dim,
      version: encoder.version,
      embed: (batch, n) => stageTimes.timeAsync('encode', n, () => encoder.embed(batch, n)),
      dispose: () => encoder.dispose(),
    };
    identifyStage = createIdentifyStage(timedEncoder, () => library.library, config.identification, undefined, (lib) => library.calibrationFor(lib));
    if (lib.classCount > 0) {
      // The start's library state is calibrated before the inputs start, on this thread (see calibrateNow).
      await library.calibrateNow({
        targetFalseUnknownRate: config.identification.targetFalseUnknownRate,
        maxComponents: config.identification.maxComponents,
        mixture: config.identification.mixture,
      });
      // Warm-up: the first call sets up the model's session and the identify path (seconds on a loaded machine);
      // done here, the first real spectrum does not pay for it. The probe is the store's first reference, taken from
      // the library's kept spectra: store.references() would read every reference (30 MB for the demo) for one.
      const t0 = Date.now();
      const first = lib.classNames()[0];
      const kept = first === undefined ? null : lib.spectraOf(first);
      const probe = kept ? kept.slice(0, encoder.grid.points) : store.references()[0]?.vector;
      if (probe) await identifyStage([probe]);
      log.info({ ms: Date.now() - t0 }, 'encoder and calibration warmed up');
      logPhaseMemory(log, 'warm-up');
    }
    models = await startDaemonModels({
      config,
      store,
      log,
      current: () => ({ encoder, library }),
      install: (e, l) => {
        encoder = e as typeof encoder;
        library = l;
      },
      preprocessVector: (y) => preprocessSpectrum(benchmarkSpectrum(y)),
      emitStatus: (status) => socketActions?.emit('retrain', status),
      engineAtStart,
      inferenceLoading,
    });
    logPhaseMemory(log, 'models');
  }, async () => {
    await models?.manager.stop();
  });

  lifecycle.add(
    'outputs',
    async () => {
      // One guard for the API, the dashboard's files and socket.io: Host against the configured names (DNS
      // rebinding), Origin against the daemon's own and http.allowedOrigins (pages on other origins).
      const requestGuard = createRequestGuard({ bindHost: config.http.host, allowedHosts: config.http.allowedHosts, allowedOrigins: config.http.allowedOrigins });
      if (config.http.enabled) {
        let token = config.http.token;
        httpToken = token;
        if (token === undefined && config.http.autoToken) {
          const made = readOrCreateTokenFile(config.dataDir);
          token = made.token;
          httpToken = token;
          log.info({ file: made.file, created: made.created }, 'write access (labelling, enrollment) needs the token in this file');
        }
        if (!dashboardBuilt(config.http.dashboardDir)) log.warn({ dir: config.http.dashboardDir }, DASHBOARD_BUILD_HINT);
        http = await buildHttpServer(services, {
          token,
          uploadLimitBytes: config.http.uploadLimitBytes,
          dashboardDir: config.http.dashboardDir,
          rateLimit: config.http.rateLimit.enabled ? config.http.rateLimit : undefined,
          version: pkgVersion,
          logger: false,
          requestGuard,
        });
      }
      const allowSocketRequest = (req: IncomingMessage) => {
        const refused = requestGuard(req.headers);
        if (refused) log.warn({ code: refused.code, host: req.headers.host, origin: req.headers.origin }, 'socket.io request refused');
        return refused?.message;
      };
      outputs = await createOutputs(config.outputs, http?.server, () => health().queueDepth, log, node, allowSocketRequest);
      store.setOutputs(outputs.map((o) => o.name));
      for (const output of outputs) {
        // States seen before the outputs existed (the store's): outputs that show adapter health hold them.
        for (const s of states.values()) void output.publishAdapterState?.(s).catch(() => undefined);
        watchState(output);
        try {
          await output.start();
        } catch (err) {
          // A broker that is down at start is an outage like any other: messages wait in the outbox.
          log.error({ err, output: output.name }, 'output failed to start; its messages wait in the store');
        }
        const d = new OutboxDispatcher(store, output, { log, stageTimes });
        dispatchers.push(d);
        d.wake();
      }
      socketActions = attachSocketActions(outputs, {
        token: httpToken,
        store,
        log,
        ...(config.http.rateLimit.enabled
          ? { authFailures: { max: config.http.rateLimit.authFailures, windowMs: config.http.rateLimit.windowMs, allowList: config.http.rateLimit.allowList } }
          : {}),
      });
      services.alertAcknowledged = (id, at, note) => socketActions?.emit('alert-ack', { id, acknowledgedAt: at, ...(note ? { note } : {}) });
      services.alertsAcknowledged = (ids, at) => socketActions?.emit('alerts-ack', { ids, acknowledgedAt: at });
    },
    async () => {
      const flushMs = options.flushTimeoutMs ?? 5000;
      await Promise.all(
        dispatchers.map(async (d) => {
          if (!(await d.flush(flushMs))) log.warn({ output: d.output.name }, 'output not flushed in time; the rest stays in the outbox');
          d.stop();
          await d.idle();
        }),
      );
      for (const output of outputs) {
        try {
          await output.stop();
        } catch (err) {
          log.error({ err, output: output.name }, 'output stop failed');
        }
      }
    },
  );

  lifecycle.add(
    'pipeline',
    async () => {
      pipeline.start();
      if (config.pipeline.statsIntervalS > 0) {
        // Event-loop delay over each interval: a blocked loop delays acks, publishes and the API alike.
        const loopDelay = monitorEventLoopDelay({ resolution: 10 });
        loopDelay.enable();
        const ms = (ns: number) => Math.round(ns / 1e4) / 100;
        statsTimer = setInterval(() => {
          const eventLoopDelayMs = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
          loopDelay.reset();
          log.info({ ...pipeline.stats(), rssMb: Math.round(process.memoryUsage.rss() / 1048576), heapMb: Math.round(process.memoryUsage().heapUsed / 1048576), eventLoopDelayMs }, 'pipeline stats');
        }, config.pipeline.statsIntervalS * 1000);
        statsTimer.unref();
      }
    },
    async () => {
      clearInterval(statsTimer);
      await pipeline.drain();
      log.info(pipeline.stats(), 'pipeline drained');
    },
  );

  lifecycle.add(
    'inputs',
    async () => {
      inputs = await createInputs(config.inputs, store, config.instrument, log);
      for (const input of inputs) {
        watchState(input);
        pipeline.attach(input.inputs$, input.name);
        try {
          await input.start();
        } catch (err) {
          log.error({ err, input: input.name }, 'input failed to start; the daemon goes on without it');
        }
      }
    },
    async () => {
      await Promise.all(
        inputs.map(async (i) => {
          try {
            await i.stop();
          } catch (err) {
            log.error({ err, input: i.name }, 'input stop failed');
          }
        }),
      );
    },
  );

  lifecycle.add(
    'http',
    async () => {
      if (!http) return;
      const address = await http.listen({ host: config.http.host, port: config.http.port });
      url = address;
      log.info({ url: address }, 'HTTP API listening');
    },
    async () => {
      phase = 'stopping';
      // Dashboards first: their websockets and long-polls are never idle, so they would hold the close for its timeout.
      socketActions?.closeClients();
      await http?.close();
    },
  );

  await lifecycle.start();
  phase = 'running';
  logPhaseMemory(log, 'running');
  log.info({ node, inputs: inputs.map((i) => i.name), outputs: outputs.map((o) => o.name), url }, 'spectrad running');

  return {
    config,
    get store() {
      return store;
    },
    pipeline,
    get http() {
      return http;
    },
    get url() {
      return url;
    },
    log,
    health,
    stop: async () => {
      phase = 'stopping';
      await lifecycle.stop();
      stateSubs.forEach((s) => s.unsubscribe());
      log.info('spectrad stopped');
    },
  };
}

export type { ResultMessage };

const ADAPTER_KIND_WORDS: Record<AdapterState['kind'], string> = {
  folder: 'Folder input',
  serial: 'Serial input',
  'mqtt-in': 'MQTT input',
  'queue-in': 'Work queue input',
  'mqtt-out': 'MQTT output',
  influx: 'InfluxDB output',
  socketio: 'Dashboard feed',
  store: 'Result store',
};

/** An adapter alert as an operator reads it: what, which, and why in words, with server paths cut to their last part. */
export function adapterAlertMessage(s: Pick<AdapterState, 'kind' | 'name' | 'state' | 'detail'>): string {
  const what = `${ADAPTER_KIND_WORDS[s.kind] ?? s.kind} ${s.name}`;
  const detail = s.detail ? shortenPaths(s.detail) : '';
  return s.state === 'down' ? `${what} is down${detail ? `: ${detail}` : ''}` : `${what} is back`;
}

export function shortenPaths(text: string): string {
  return text.replace(/(?:[A-Za-z]:)?(?:[\\/][^\s\\/:'"]+){2,}/g, (p) => `…/${p.split(/[\\/]/).pop()}`);
}
