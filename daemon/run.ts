import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { ResolvedConfig } from '../config/load.ts';
import { packageRoot } from '../config/load.ts';
import type { SpectrumPipeline } from '../pipelines/spectrum-pipeline.ts';
import { StageTimes } from '../pipelines/stage-times.ts';
import type { ApiServices, HealthReport } from './http/services.ts';
import { Lifecycle } from './lifecycle.ts';
import { DaemonMetrics } from './metrics.ts';
import { AdapterHealth } from './parts/adapter-health.ts';
import { healthReporter } from './parts/health.ts';
import { HttpListenPart } from './parts/http-listen.ts';
import { InputsPart } from './parts/inputs.ts';
import { LibraryPart } from './parts/library-part.ts';
import { ModelPart } from './parts/model.ts';
import { OutputsPart } from './parts/outputs.ts';
import { DaemonPhase } from './parts/part.ts';
import { daemonDomain, PipelinePart } from './parts/pipeline.ts';
import { createApiServices } from './parts/services.ts';
import { SitePart } from './parts/site-part.ts';
import { StorePart } from './parts/store-part.ts';
import { InstrumentHealthTracker } from './health/instrument-health.ts';
import type { Store } from './store/store.ts';
import { logPhaseMemory } from './startup-memory.ts';

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
 * The composition root: builds the daemon's parts (daemon/parts/) from the config and starts them in order
 * store -> adapter health -> model -> library -> site -> outputs -> pipeline -> inputs -> http; stop runs in reverse.
 * A spectrum goes input (InputsPart) -> pipeline (PipelinePart, with the model and library as its domain) ->
 * store -> outbox -> outputs (OutputsPart).
 */
export async function startDaemon(config: ResolvedConfig, options: StartOptions = {}): Promise<Daemon> {
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'spectrad' } });
  const phase = new DaemonPhase();
  const startedAt = Date.now();

  // Parts are built first and started later, in order: a part reaches a later one only through an arrow function
  // (outputs.wake(), inputs.inputs), which runs once that part is started.
  const store = new StorePart(config, log);
  const model = new ModelPart(config, log);
  /** Prometheus metrics (GET /metrics); gauges read the parts when scraped (not health(): its counts scan tables). */
  const metrics: DaemonMetrics = new DaemonMetrics(
    config.node.id,
    {
      queues: () => {
        const stats = pipeline.pipeline.stats();
        return { ingesting: stats.ingesting, inMemory: stats.inMemory, pending: store.isOpen ? store.store.pendingCount() : 0 };
      },
      queueBound: config.pipeline.queueBound,
      outbox: () => (store.isOpen ? store.store.outboxDepths() : {}),
      outputNames: () => outputs.outputs.map((o) => o.name),
      adapters: () => adapterHealth.list(),
      model: () => ({ version: library.models?.gate.version ?? model.loaded?.version, inference: (library.models?.engine() ?? model.engineAtStart)?.engine }),
      library: () => (library.loaded ? { classes: library.loaded.library.classCount, references: library.loaded.library.referenceCount } : undefined),
      ready: () => phase.running,
    },
    { version: pkgVersion },
  );
  /** Time per stage (parse .. publish), shared by the pipeline, the encoder wrapper and the outbox dispatchers. */
  const stageTimes = new StageTimes((stage, ms, items) => metrics.stage(stage, ms, items));
  const instrumentOf = (adapter: string) => {
    const input = config.inputs.find((i) => i.name === adapter);
    return input ? ('instrument' in input && input.instrument) || config.instrument : undefined;
  };
  // Only instruments an input feeds: the default name is listed when an input uses it, not as a phantom tile.
  const instruments = new InstrumentHealthTracker([...new Set(config.inputs.map((i) => ('instrument' in i && i.instrument) || config.instrument))], instrumentOf);

  const adapterHealth: AdapterHealth = new AdapterHealth({
    config,
    log,
    metrics,
    phase,
    store: () => store.store,
    outputs: () => outputs.outputs,
    alertAcknowledged: (id, at, note) => services.alertAcknowledged?.(id, at, note),
    wakeOutputs: () => outputs.wake(),
  });
  const library: LibraryPart = new LibraryPart({ config, log, store, model, stageTimes, emitRetrainStatus: (status) => outputs.socketActions?.emit('retrain', status) });
  const pipeline: PipelinePart = new PipelinePart({
    config,
    log,
    store,
    domain: daemonDomain(config, model, library),
    metrics,
    stageTimes,
    instruments,
    storeState: adapterHealth.storeState,
    wakeOutputs: () => outputs.wake(),
    inputs: () => inputs.inputs,
    site: () => site.site,
  });
  // Several daemons as one site (site.postgres.url): shared library, models, results, alerts and token.
  const site = new SitePart({
    config,
    log,
    store,
    model,
    library,
    // Only a node with dashboards (socket.io outputs) reads the other nodes' results as they come.
    ...(config.outputs.some((o) => o.type === 'socketio') ? { live: { result: (r: ResultMessage) => outputs.showLive('result', r), alert: (a: AlertMessage) => outputs.showLive('alert', a) } } : {}),
  });
  const inputs: InputsPart = new InputsPart({ config, log, store, pipeline: pipeline.pipeline, adapterHealth, site });
  const health = healthReporter({ config, phase, startedAt, store, model, library, pipeline: pipeline.pipeline, adapterHealth, inputs: () => inputs.inputs, site });
  const services: ApiServices = createApiServices({ log, store, model, library, metrics, instruments, adapterHealth, health, socketActions: () => outputs.socketActions, site });
  const outputs: OutputsPart = new OutputsPart({ config, log, version: pkgVersion, store, services, adapterHealth, stageTimes, flushTimeoutMs: options.flushTimeoutMs ?? 5000, site });
  const http = new HttpListenPart(config, log, outputs, phase);

  if (config.http.enabled) {
    const { assertAddressFree } = await import('./http/port-check.ts');
    await assertAddressFree(config.http.host, config.http.port);
  }

  const lifecycle = new Lifecycle(log);
  for (const part of [store, adapterHealth, model, library, site, outputs, pipeline, inputs, http]) lifecycle.addPart(part);
  await lifecycle.start();
  phase.value = 'running';
  logPhaseMemory(log, 'running');
  log.info({ node: config.node.id, inputs: inputs.inputs.map((i) => i.name), outputs: outputs.outputs.map((o) => o.name), url: http.url }, 'spectrad running');

  return {
    config,
    get store() {
      return store.store;
    },
    pipeline: pipeline.pipeline,
    get http() {
      return outputs.http;
    },
    get url() {
      return http.url;
    },
    log,
    health,
    stop: async () => {
      phase.value = 'stopping';
      await lifecycle.stop();
      log.info('spectrad stopped');
    },
  };
}

/** Kept here for callers that import them from the composition root. */
export { adapterAlertMessage, shortenPaths } from './parts/adapter-health.ts';
