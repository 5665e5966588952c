/**
 * InfluxDB output (@influxdata/influxdb-client; VictoriaMetrics accepts the same line protocol on /api/v2/write).
 *
 * One point per result: measurement spectrad_result, tags instrument/status/class, fields score, latency_ms and
 * queue_depth (when the daemon gives a queue-depth probe). Every throughputIntervalMs one spectrad_throughput point per
 * instrument: results and results per second in that interval.
 *
 * publishResult resolves only once the write succeeded (the HTTP write answered 2xx) and throws OutputUnavailableError
 * when it did not: the client's own retry buffer is off, the daemon's outbox replays. Results published together
 * (the pipeline fans out a micro-batch) share one HTTP write.
 */
import { InfluxDB, Point, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import type { Observable } from 'rxjs';
import type { AdapterState, AlertMessage, ResultMessage } from '../core/messages.ts';
import { AdapterStateTracker } from './adapter-state.ts';
import { OutputUnavailableError } from './errors.ts';
import { describeError } from './mqtt-common.ts';
import type { OutputAdapter } from './types.ts';

// The client prints every failed write to the console; failures reach the caller as rejections and as adapter state.
setLogger({ error: () => undefined, warn: () => undefined });

export interface InfluxOutputOptions {
  readonly name: string;
  /** e.g. http://127.0.0.1:8086, or VictoriaMetrics' http://host:8428 */
  readonly url: string;
  /** From the environment in production. */
  readonly token?: string;
  readonly org: string;
  readonly bucket: string;
  /** Default 'spectrad_result'. */
  readonly measurement?: string;
  /** The pipeline's queue depth at the time of the result; omitted from points when absent. */
  readonly queueDepth?: () => number;
  /** Default 10 s; 0 turns throughput points off. */
  readonly throughputIntervalMs?: number;
  /** HTTP timeout per write (default 5 s). */
  readonly timeoutMs?: number;
  /** Results waiting this long are written together (default 0: those published in the same tick). */
  readonly batchWindowMs?: number;
  /** Most points per write (default 1000). */
  readonly batchSize?: number;
}

interface Pending {
  readonly point: Point;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** The class tag: the identified class, the sorted components of a mixture, or 'none'. */
export function classTag(result: ResultMessage): string {
  if (result.class) return result.class;
  if (result.components?.length) return result.components.map((c) => c.class).sort().join('+');
  return 'none';
}

export class InfluxOutput implements OutputAdapter {
  readonly name: string;
  private readonly state: AdapterStateTracker;
  private readonly measurement: string;
  private readonly batchSize: number;
  private writeApi: WriteApi | undefined;
  private pending: Pending[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private throughputTimer: NodeJS.Timeout | undefined;
  /** Writes run one after another so each write carries exactly its own batch. */
  private chain: Promise<void> = Promise.resolve();
  private counts = new Map<string, number>();
  private lastThroughputAt = Date.now();

  constructor(private readonly options: InfluxOutputOptions) {
    this.name = options.name;
    this.state = new AdapterStateTracker(options.name, 'influx');
    this.measurement = options.measurement ?? 'spectrad_result';
    this.batchSize = options.batchSize ?? 1000;
    if (!(Number.isInteger(this.batchSize) && this.batchSize > 0)) throw new RangeError(`influx output ${options.name}: bad batchSize ${this.batchSize}`);
  }

  get state$(): Observable<AdapterState> {
    return this.state.state$;
  }

  async start(): Promise<void> {
    if (this.writeApi) return;
    const o = this.options;
    this.writeApi = new InfluxDB({ url: o.url, token: o.token ?? '', timeout: o.timeoutMs ?? 5000 }).getWriteApi(o.org, o.bucket, 'ms', {
      // Flushes are driven from here, never by the client: its batch is one larger than any chunk written.
      batchSize: this.batchSize + 1,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: this.batchSize * 4,
      writeFailed: () => undefined,
    });
    this.state.set('starting');
    const every = o.throughputIntervalMs ?? 10_000;
    if (every > 0) {
      this.lastThroughputAt = Date.now();
      this.throughputTimer = setInterval(() => void this.writeThroughput(), every);
    }
  }

  publishResult(result: ResultMessage): Promise<void> {
    const point = new Point(this.measurement)
      .tag('instrument', result.instrument)
      .tag('status', result.status)
      .tag('class', classTag(result))
      .floatField('score', result.score)
      .floatField('latency_ms', result.latencyMs)
      .timestamp(timeOf(result.receivedAt));
    if (this.options.queueDepth) point.intField('queue_depth', this.options.queueDepth());
    this.counts.set(result.instrument, (this.counts.get(result.instrument) ?? 0) + 1);
    return this.enqueue(point);
  }

  /** Alerts are not time series: the result points already carry their status. */
  publishAlert(_alert: AlertMessage): Promise<void> {
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    const api = this.writeApi;
    if (!api) return;
    clearInterval(this.throughputTimer);
    if (this.pending.length) this.scheduleFlush(0);
    await this.chain;
    clearTimeout(this.flushTimer);
    this.writeApi = undefined;
    await api.close().catch(() => undefined);
    this.state.set('stopped');
  }

  private enqueue(point: Point): Promise<void> {
    if (!this.writeApi) return Promise.reject(new OutputUnavailableError(this.name, 'not started'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ point, resolve, reject });
      const full = this.pending.length >= this.batchSize;
      this.scheduleFlush(full ? 0 : (this.options.batchWindowMs ?? 0));
    });
  }

  private scheduleFlush(delayMs: number): void {
    if (this.flushTimer && delayMs > 0) return;
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const batch = this.pending;
      this.pending = [];
      if (batch.length) this.chain = this.chain.then(() => this.write(batch));
    }, delayMs);
  }

  private async write(batch: Pending[]): Promise<void> {
    const api = this.writeApi;
    if (!api) {
      const err = new OutputUnavailableError(this.name, 'stopped before the write');
      for (const p of batch) p.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i += this.batchSize) {
      const chunk = batch.slice(i, i + this.batchSize);
      try {
        api.writePoints(chunk.map((p) => p.point));
        await api.flush();
        this.state.set('up');
        for (const p of chunk) p.resolve();
      } catch (cause) {
        const err = new OutputUnavailableError(this.name, `write to ${this.options.url} failed: ${describeError(cause)}`, { cause });
        this.state.set('down', err.message);
        for (const p of chunk) p.reject(err);
      }
    }
  }

  /** Throughput points are best effort: a lost one is a gap in a chart, not a lost result. */
  private async writeThroughput(): Promise<void> {
    const now = Date.now();
    const seconds = Math.max(1e-3, (now - this.lastThroughputAt) / 1000);
    this.lastThroughputAt = now;
    const counts = this.counts;
    this.counts = new Map();
    const writes = [...counts].map(([instrument, n]) =>
      this.enqueue(
        new Point('spectrad_throughput')
          .tag('instrument', instrument)
          .intField('results', n)
          .floatField('per_second', n / seconds)
          .timestamp(new Date(now)),
      ),
    );
    await Promise.allSettled(writes);
  }
}

function timeOf(iso: string): Date {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? new Date() : d;
}
