import type { Observable } from 'rxjs';
import type { AdapterState, AlertMessage, ResultMessage } from '../core/messages.ts';

/**
 * One unit of input as an adapter received it: raw bytes or text plus where it came from. The pipeline parses it.
 * The adapter acknowledges to its source (moves/marks the file, PUBACKs the MQTT message) only when ack() is called,
 * which the pipeline does after the spectrum is committed to the store.
 */
export interface RawInput {
  /** Adapter name from the config, e.g. 'inbox' or 'mqtt'. */
  readonly adapter: string;
  /** File path, MQTT topic, serial port path. */
  readonly source: string;
  readonly instrument?: string;
  readonly receivedAt: string;
  /** File name or content type that tells the parser what format to expect (e.g. 'a.jdx', 'application/json'). */
  readonly formatHint?: string;
  readonly payload: Buffer;
  /** Idempotency key from the source (file path + size + mtime, MQTT message id); the store's ledger uses it. */
  readonly dedupKey?: string;
  /**
   * The adapter refused the input unread (larger than allowed, a link out of the watched folder, not a regular file):
   * the pipeline records it as rejected with this error instead of parsing the (empty) payload.
   */
  readonly refused?: { readonly code: string; readonly message: string };
  /**
   * Acknowledge only once every spectrum of this input has its result committed, not at the ingest commit: for a
   * shared work queue, where a job left unacknowledged by a dead node is taken over by another node (a spectrum
   * acknowledged at ingest would wait in the dead node's own store until it came back).
   */
  readonly ackAfterResult?: boolean;
  ack(): Promise<void>;
  /** The input was recorded as rejected: acknowledge to the source but mark it failed (e.g. move to failed/). */
  reject(reason: string): Promise<void>;
}

export interface InputAdapter {
  readonly name: string;
  readonly inputs$: Observable<RawInput>;
  readonly state$: Observable<AdapterState>;
  start(): Promise<void>;
  /** Stops receiving; resolves once nothing more will be emitted. */
  stop(): Promise<void>;
  /**
   * Backpressure (optional): the pipeline is behind, so take no new inputs until resume(); they wait at their source
   * (files stay in the folder, the broker queues MQTT messages) and nothing is lost. Inputs that would lose data by
   * waiting (a serial line without flow control) do not implement it: their spectra wait in the store instead.
   */
  pause?(): void;
  resume?(): void;
  /** True while paused by pause(). */
  readonly paused?: boolean;
}

export interface OutputAdapter {
  readonly name: string;
  readonly state$: Observable<AdapterState>;
  start(): Promise<void>;
  /** Resolves once the output has the result durably (broker PUBACK, TSDB 204) or throws; the outbox retries. */
  publishResult(result: ResultMessage): Promise<void>;
  publishAlert(alert: AlertMessage): Promise<void>;
  /**
   * Optional: outputs that show adapter health (MQTT retained on <prefix>/bridge/adapters/<name>, socket.io
   * 'adapter-state') take every adapter's state changes; best effort, not through the outbox.
   */
  publishAdapterState?(state: AdapterState): Promise<void>;
  stop(): Promise<void>;
}
