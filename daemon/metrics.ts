/**
 * Prometheus metrics of one daemon (prom-client), served on GET /metrics: counts, durations and depths only, never a
 * spectrum, a result body or a secret. Every series carries the daemon's node id as the `node` label (a registry
 * default label), so the daemons of one site can be scraped into one Prometheus or VictoriaMetrics and told apart.
 *
 * Counters and histograms are fed as things happen (spectra committed, results committed, stage timings); gauges
 * (queues, outbox, adapters, model, library) are read from the daemon when scraped, so they are never stale.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AdapterState, AlertMessage, ResultMessage } from '../core/messages.ts';
import type { StageName } from '../pipelines/stage-times.ts';

/** What the daemon reports when scraped. */
export interface MetricsProbes {
  readonly queues: () => Readonly<Record<string, number>>;
  readonly queueBound: number;
  /** Messages waiting per output; outputs with none may be left out (they are reported as 0). */
  readonly outbox: () => Readonly<Record<string, number>>;
  readonly outputNames: () => readonly string[];
  readonly adapters: () => readonly AdapterState[];
  readonly model: () => { readonly version?: string; readonly inference?: string };
  readonly library: () => { readonly classes: number; readonly references: number } | undefined;
  readonly ready: () => boolean;
}

/** Seconds from arrival to result: from a few ms (idle) to minutes (a backlog after an outage). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Seconds per stage call (a commit group, a micro-batch, one publish). */
const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly received: Counter<'instrument'>;
  private readonly processed: Counter<'instrument' | 'status'>;
  private readonly alerts: Counter<'instrument' | 'kind'>;
  private readonly latency: Histogram<'instrument'>;
  private readonly stageSeconds: Histogram<'stage'>;
  private readonly stageItems: Counter<'stage'>;

  constructor(
    readonly node: string,
    probes: MetricsProbes,
    options: { readonly version: string; readonly defaultMetrics?: boolean } = { version: '0' },
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    this.received = new Counter({ name: 'spectrad_spectra_received_total', help: 'Spectra received and recorded in the store', labelNames: ['instrument'], registers });
    this.processed = new Counter({
      name: 'spectrad_spectra_processed_total',
      help: 'Results committed, by status (identified, low-confidence, unknown, mixture, rejected)',
      labelNames: ['instrument', 'status'],
      registers,
    });
    this.alerts = new Counter({ name: 'spectrad_alerts_total', help: 'Alerts raised, by kind', labelNames: ['instrument', 'kind'], registers });
    this.latency = new Histogram({
      name: 'spectrad_result_latency_seconds',
      help: 'End-to-end latency: from the spectrum arriving to its result being committed',
      labelNames: ['instrument'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'spectrad_stage_duration_seconds',
      help: 'Time per pipeline stage call (parse, preprocess, commitIngest, encode, identify, commitResults, publish)',
      labelNames: ['stage'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.stageItems = new Counter({ name: 'spectrad_stage_items_total', help: 'Spectra (or messages, for publish) handled per stage', labelNames: ['stage'], registers });

    new Gauge({
      name: 'spectrad_queue_depth',
      help: 'Spectra waiting per pipeline queue: ingesting, inMemory (awaiting the encoder), pending (in the store)',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const [queue, n] of Object.entries(probes.queues())) this.set({ queue }, n);
      },
    });
    new Gauge({
      name: 'spectrad_queue_bound',
      help: 'Spectra held in memory before pausable inputs are paused (pipeline.queueBound)',
      registers,
      collect() {
        this.set(probes.queueBound);
      },
    });
    new Gauge({
      name: 'spectrad_outbox_depth',
      help: 'Results and alerts waiting in the store for each output (grows while an output is down)',
      labelNames: ['output'],
      registers,
      collect() {
        this.reset();
        const depths = probes.outbox();
        for (const output of new Set([...probes.outputNames(), ...Object.keys(depths)])) this.set({ output }, depths[output] ?? 0);
      },
    });
    new Gauge({
      name: 'spectrad_adapter_up',
      help: 'Adapter state: 1 up, 0 starting, down or stopped',
      labelNames: ['adapter', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const a of probes.adapters()) this.set({ adapter: a.name, kind: a.kind }, a.state === 'up' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'spectrad_model_info',
      help: 'The active model version and inference engine (value 1)',
      labelNames: ['version', 'inference'],
      registers,
      collect() {
        this.reset();
        const m = probes.model();
        if (m.version) this.set({ version: m.version, inference: m.inference ?? 'unknown' }, 1);
      },
    });
    new Gauge({
      name: 'spectrad_library_classes',
      help: 'Classes in the reference library',
      registers,
      collect() {
        this.reset();
        const lib = probes.library();
        if (lib) this.set(lib.classes);
      },
    });
    new Gauge({
      name: 'spectrad_library_references',
      help: 'Reference spectra in the library',
      registers,
      collect() {
        this.reset();
        const lib = probes.library();
        if (lib) this.set(lib.references);
      },
    });
    new Gauge({
      name: 'spectrad_ready',
      help: '1 while the daemon is running (GET /api/health ready)',
      registers,
      collect() {
        this.set(probes.ready() ? 1 : 0);
      },
    });
    new Gauge({ name: 'spectrad_info', help: 'spectrad package version (value 1)', labelNames: ['version'], registers }).set({ version: options.version }, 1);
  }

  /** Spectra just committed at ingest (before identification). */
  spectraReceived(spectra: ReadonlyArray<{ readonly instrument: string }>): void {
    for (const s of spectra) this.received.inc({ instrument: s.instrument });
  }

  /** Results and alerts just committed. */
  committed(results: readonly ResultMessage[], alerts: readonly AlertMessage[]): void {
    for (const r of results) {
      this.processed.inc({ instrument: r.instrument, status: r.status });
      this.latency.observe({ instrument: r.instrument }, r.latencyMs / 1000);
    }
    for (const a of alerts) this.alert(a);
  }

  alert(a: AlertMessage): void {
    this.alerts.inc({ instrument: a.instrument, kind: a.kind });
  }

  stage(stage: StageName, ms: number, items: number): void {
    this.stageSeconds.observe({ stage }, ms / 1000);
    this.stageItems.inc({ stage }, items);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
