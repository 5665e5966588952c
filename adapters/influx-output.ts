/**
 * InfluxDB output: line protocol over HTTP, either the v2 write API (POST /api/v2/write?org=&bucket=: InfluxDB 2.x,
 * VictoriaMetrics) or the v1 one (POST /write?db=&rp=: InfluxDB 1.x, which has no /api/v2; VictoriaMetrics too).
 * Points are formatted by @influxdata/influxdb-client's Point (its escaping); the HTTP write is done here, because
 * that client only speaks v2.
 *
 * One point per result: measurement spectrad_result, tags node/instrument/status/class, fields score, latency_ms and
 * queue_depth (when the daemon gives a queue-depth probe). Every throughputIntervalMs one spectrad_throughput point per
 * instrument: results and results per second in that interval. The node tag (the daemon's node id) keeps the points
 * of several daemons with the same instruments apart.
 *
 * publishResult resolves only once the write succeeded (the HTTP write answered 2xx) and throws OutputUnavailableError
 * when it did not: nothing is retried here, the daemon's outbox replays. Results published together (the pipeline
 * fans out a micro-batch) share one HTTP write.
 */
import { Point } from '@influxdata/influxdb-client';
import type { Observable } from 'rxjs';
import type { AdapterState, AlertMessage, ResultMessage } from '../core/messages.ts';
import { AdapterStateTracker } from './adapter-state.ts';
import type { z } from 'zod';
import type { influxOutputSchema } from '../config/schema.ts';
import { OutputUnavailableError } from './errors.ts';
import { describeError } from './mqtt-common.ts';
import type { OutputAdapter } from './types.ts';

/**
 * The InfluxDB output's options: the config's keys (config/schema.ts `influxOutputSchema`: url, api, token, org,
 * bucket, database, retentionPolicy, username, password, measurement; the secrets already read from their files or
 * the environment by config/load.ts), as the YAML names them, plus what only code passes. The token is sent as
 * `Authorization: Token ...` (v2; v1 1.8+ accepts it too); username/password log in to v1 with HTTP basic auth.
 */
export interface InfluxOutputOptions extends Readonly<Omit<z.input<typeof influxOutputSchema>, 'type' | 'name' | 'tokenFile' | 'passwordFile' | 'org' | 'bucket'>> {
  readonly name: string;
  /** This daemon's node id: the node tag of every point. */
  readonly node: string;
  readonly org: string;
  readonly bucket: string;
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
  readonly line: string;
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
  private started = false;
  private readonly writeUrl: string;
  private readonly headers: Record<string, string>;
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
    if (!options.node) throw new RangeError(`influx output ${options.name}: a node id is required`);
    this.writeUrl = writeUrl(options);
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (options.username !== undefined) {
      this.headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
    } else if (options.token) {
      this.headers.authorization = `Token ${options.token}`;
    }
  }

  get state$(): Observable<AdapterState> {
    return this.state.state$;
  }

  async start(): Promise<void> {
    if (this.started) return;
    const o = this.options;
    this.started = true;
    this.state.set('starting');
    const every = o.throughputIntervalMs ?? 10_000;
    if (every > 0) {
      this.lastThroughputAt = Date.now();
      this.throughputTimer = setInterval(() => void this.writeThroughput(), every);
    }
  }

  publishResult(result: ResultMessage): Promise<void> {
    const point = new Point(this.measurement)
      .tag('node', this.options.node)
      .tag('instrument', result.instrument)
      .tag('status', result.status)
      .tag('class', classTag(result))
      .floatField('score', result.score)
      .floatField('latency_ms', result.latencyMs)
      .timestamp(timeOf(result.receivedAt));
    if (this.options.queueDepth) point.intField('queue_depth', this.options.queueDepth());
    this.counts.set(result.instrument, (this.counts.get(result.instrument) ?? 0) + 1);
    return this.enqueue(lineOf(point));
  }

  /** Alerts are not time series: the result points already carry their status. */
  publishAlert(_alert: AlertMessage): Promise<void> {
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    clearInterval(this.throughputTimer);
    if (this.pending.length) this.scheduleFlush(0);
    // The flush timer may still be pending: wait for it to hand its batch to the chain, then for the chain.
    while (this.flushTimer || this.pending.length) await new Promise((r) => setTimeout(r, 5));
    await this.chain;
    this.started = false;
    this.state.set('stopped');
  }

  private enqueue(line: string): Promise<void> {
    if (!this.started) return Promise.reject(new OutputUnavailableError(this.name, 'not started'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
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
    for (let i = 0; i < batch.length; i += this.batchSize) {
      const chunk = batch.slice(i, i + this.batchSize);
      try {
        await this.post(chunk.map((p) => p.line).join('\n'));
        this.state.set('up');
        for (const p of chunk) p.resolve();
      } catch (cause) {
        const err = new OutputUnavailableError(this.name, `write to ${redact(this.writeUrl)} failed: ${describeError(cause)}`, { cause });
        this.state.set('down', err.message);
        for (const p of chunk) p.reject(err);
      }
    }
  }

  private async post(body: string): Promise<void> {
    const res = await fetch(this.writeUrl, {
      method: 'POST',
      headers: this.headers,
      body,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
    });
    const text = await res.text().catch(() => '');
    // 204 from InfluxDB 1.x/2.x and VictoriaMetrics; a 404 here usually means the wrong api for the server.
    if (!res.ok) throw new Error(`HTTP ${res.status}${text ? `: ${text.slice(0, 300).trim()}` : ''}${res.status === 404 ? ` (is outputs.influx.api right? this server has no ${new URL(this.writeUrl).pathname})` : ''}`);
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
        lineOf(
          new Point('spectrad_throughput')
            .tag('node', this.options.node)
            .tag('instrument', instrument)
            .intField('results', n)
            .floatField('per_second', n / seconds)
            .timestamp(new Date(now)),
        ),
      ),
    );
    await Promise.allSettled(writes);
  }
}

function timeOf(iso: string): Date {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? new Date() : d;
}

/** The write endpoint with its query: precision ms (timestamps are the results' receivedAt). */
export function writeUrl(o: Pick<InfluxOutputOptions, 'url' | 'api' | 'org' | 'bucket' | 'database' | 'retentionPolicy'>): string {
  const base = o.url.replace(/\/+$/, '');
  const q = new URLSearchParams();
  if ((o.api ?? 'v2') === 'v1') {
    q.set('db', o.database ?? o.bucket);
    if (o.retentionPolicy) q.set('rp', o.retentionPolicy);
    q.set('precision', 'ms');
    return `${base}/write?${q}`;
  }
  q.set('org', o.org);
  q.set('bucket', o.bucket);
  q.set('precision', 'ms');
  return `${base}/api/v2/write?${q}`;
}

/** A point as one line of line protocol with a millisecond timestamp. */
function lineOf(point: Point): string {
  const line = point.toLineProtocol({ convertTime: (t) => (t instanceof Date ? String(t.getTime()) : t === undefined ? String(Date.now()) : String(t)) });
  if (!line) throw new RangeError('point without fields');
  return line;
}

function redact(url: string): string {
  return url.replace(/\/\/[^/@\s]*@/, '//***@');
}
