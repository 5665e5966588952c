import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { AdapterStateTracker } from '../../adapters/adapter-state.ts';
import type { InputAdapter, RawInput } from '../../adapters/types.ts';
import type { ResolvedConfig } from '../../config/load.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import type { FormatName } from '../../core/formats/types.ts';
import type { PipelineDomain } from '../../pipelines/domain.ts';
import type { ResultArbiter } from '../../pipelines/ports.ts';
import { SpectrumPipeline } from '../../pipelines/spectrum-pipeline.ts';
import type { StageTimes } from '../../pipelines/stage-times.ts';
import type { DaemonMetrics } from '../metrics.ts';
import type { InstrumentHealthTracker } from '../health/instrument-health.ts';
import type { SiteStore } from '../site/site-store.ts';
import { abandonPendingOf } from '../store/abandon-pending.ts';
import { ulid } from '../store/ids.ts';
import type { LibraryPart } from './library-part.ts';
import type { ModelPart } from './model.ts';
import type { DaemonPart } from './part.ts';
import type { StorePart } from './store-part.ts';

/** The pipeline's domain steps bound to the daemon's model and library (the same parse and preprocess as uploads). */
export function daemonDomain(config: ResolvedConfig, model: ModelPart, library: LibraryPart): PipelineDomain {
  // Each input's `format` option (default auto): the adapter's name finds it, so adapters need not carry it.
  const formatOfInput = new Map<string, FormatName>(config.inputs.map((i) => [i.name, i.format]));
  return {
    get modelVersion() {
      return library.modelVersion;
    },
    // An input its adapter refused unread (too large, a link out of the folder) is recorded with the adapter's reason.
    parse: (raw: RawInput) =>
      raw.refused
        ? [{ block: 0, error: new SpectrumInputError(raw.refused.code, raw.refused.message, { file: raw.source }) }]
        : model.parse(raw.payload, raw.formatHint ?? raw.source, formatOfInput.get(raw.adapter)),
    preprocess: (s) => model.preprocess(s),
    identify: (vectors) => library.identify(vectors),
  };
}

export interface PipelinePartDeps {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly store: StorePart;
  readonly domain: PipelineDomain;
  readonly metrics: DaemonMetrics;
  readonly stageTimes: StageTimes;
  readonly instruments: InstrumentHealthTracker;
  /** The store's health entry: down while it refuses commits. */
  readonly storeState: AdapterStateTracker;
  /** Committed results and alerts wait in the outbox: the outputs' dispatchers are woken. */
  readonly wakeOutputs: () => void;
  /** The inputs to pause under pressure (started after the pipeline). */
  readonly inputs: () => readonly InputAdapter[];
  /** The site (started before the pipeline): it decides whose result counts for each work-queue spectrum. */
  readonly site?: () => SiteStore | undefined;
}

/**
 * The spectrum pipeline (pipelines/spectrum-pipeline.ts): ledger -> parse -> preprocess -> micro-batch identify ->
 * commit, bound to the store, metrics and instrument health. Built with the daemon (health reads its stats at any
 * time); started after the outputs, so every commit finds a dispatcher, and drained before them at stop.
 */
export class PipelinePart implements DaemonPart {
  readonly name = 'pipeline';
  readonly pipeline: SpectrumPipeline;
  private statsTimer?: NodeJS.Timeout;
  private arbiter?: ResultArbiter;

  constructor(private readonly deps: PipelinePartDeps) {
    const { config, log, store, metrics } = deps;
    this.pipeline = new SpectrumPipeline({
      store: {
        ledgerOutcome: (k) => store.store.ledgerOutcome(k),
        commitIngest: (c) => {
          store.store.commitIngest(c);
          metrics.spectraReceived(c.spectra);
        },
        commitIngestMany: (c) => {
          store.store.commitIngestMany(c);
          for (const one of c) metrics.spectraReceived(one.spectra);
        },
        commitResults: (r, a, d) => store.store.commitResults(r, a, d),
        pending: (n, ex) => store.store.pending(n, ex),
      },
      arbiter: () => this.arbiter,
      domain: deps.domain,
      batchSize: config.pipeline.batchSize,
      windowMs: config.pipeline.windowMs,
      queueBound: config.pipeline.queueBound,
      ingestConcurrency: config.pipeline.ingestConcurrency,
      defaultInstrument: config.instrument,
      node: config.node.id,
      newId: () => ulid(),
      log,
      stageTimes: deps.stageTimes,
      onCommitted: (results, alerts) => {
        for (const r of results) deps.instruments.record(r);
        metrics.committed(results, alerts);
        deps.wakeOutputs();
      },
      onStoreOutcome: (ok, err) => deps.storeState.set(ok ? 'up' : 'down', ok ? undefined : `cannot commit: ${err instanceof Error ? err.message : String(err)}`),
      onPressure: (high) => {
        // Inputs that can pause (folder, MQTT) do; the rest keep arriving and wait in the store.
        for (const input of deps.inputs()) {
          if (high) input.pause?.();
          else input.resume?.();
        }
      },
    });
  }

  async start(): Promise<void> {
    const { config, log } = this.deps;
    const pipeline = this.pipeline;
    const queueInputs = config.inputs.filter((i) => i.type === 'queue').map((i) => i.name);
    const site = queueInputs.length > 0 ? this.deps.site?.() : undefined;
    if (site) {
      // On a site the spectra this node had taken and not finished are identified again and decided on the site like
      // any other (daemon/site/result-arbiter.ts): discarded where another node has the result, committed where this
      // node had won it before it stopped.
      this.arbiter = site.resultArbiter(queueInputs);
    } else {
      // Before the pending set is read back: work-queue jobs this node had not finished belong to the queue again.
      const abandoned = abandonPendingOf(this.deps.store.store.db, queueInputs);
      if (abandoned > 0) log.info({ abandoned, inputs: queueInputs }, 'left unfinished work-queue spectra to the queue (other nodes take them)');
    }
    pipeline.start();
    if (config.pipeline.statsIntervalS > 0) {
      // Event-loop delay over each interval: a blocked loop delays acks, publishes and the API alike.
      const loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
      const ms = (ns: number) => Math.round(ns / 1e4) / 100;
      this.statsTimer = setInterval(() => {
        const eventLoopDelayMs = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
        loopDelay.reset();
        log.info({ ...pipeline.stats(), rssMb: Math.round(process.memoryUsage.rss() / 1048576), heapMb: Math.round(process.memoryUsage().heapUsed / 1048576), eventLoopDelayMs }, 'pipeline stats');
      }, config.pipeline.statsIntervalS * 1000);
      this.statsTimer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.statsTimer);
    await this.pipeline.drain();
    this.deps.log.info(this.pipeline.stats(), 'pipeline drained');
  }
}
