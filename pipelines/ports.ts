import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import type { SpectrumWarning } from '../core/spectrum.ts';

/**
 * What the pipeline needs from durable storage. The daemon's SQLite store implements it; the pipeline never sees
 * SQL. Every method is synchronous and transactional: when it returns, the data is on disk.
 */

/** A spectrum as received, ready to be committed before its input is acknowledged. */
export interface ReceivedSpectrum {
  readonly id: string;
  readonly adapter: string;
  readonly source: string;
  readonly instrument: string;
  readonly receivedAt: string;
  readonly formatHint?: string;
  /** Position of the spectrum in a multi-block input (0 for single spectra). */
  readonly block: number;
  readonly raw: Buffer;
  /** On the model's grid, max |y| = 1; absent when the input was rejected. */
  readonly preprocessed?: Float32Array;
  /** Source idempotency key (+ `#block`); a second arrival with the same key is not processed again. */
  readonly dedupKey?: string;
  readonly title?: string;
}

export type LedgerOutcome = 'processed' | 'failed';

export interface IngestCommit {
  readonly spectra: readonly ReceivedSpectrum[];
  /** Results decided at ingest: the 'rejected' ones. */
  readonly results: readonly ResultMessage[];
  readonly alerts: readonly AlertMessage[];
  /** The input's idempotency key and what became of it. */
  readonly ledger?: { readonly key: string; readonly outcome: LedgerOutcome; readonly source: string };
}

/** A committed spectrum that still waits for its result. */
export interface PendingSpectrum {
  readonly id: string;
  readonly instrument: string;
  readonly source: string;
  readonly receivedAt: string;
  readonly vector: Float32Array;
  /** The reader's warnings about the file (meta.warnings), carried into the result. */
  readonly warnings?: readonly SpectrumWarning[];
}

export interface PipelineStore {
  /** What became of an input with this idempotency key, if it was seen before. */
  ledgerOutcome(key: string): LedgerOutcome | undefined;
  commitIngest(commit: IngestCommit): void;
  /** Several ingests in one transaction (one fsync): group commit under load. All or nothing. */
  commitIngestMany?(commits: readonly IngestCommit[]): void;
  /**
   * Stores results and alerts and queues them for every output, in one transaction; `discarded` names pending spectra
   * whose result another node of the site holds (ResultArbiter): removed in the same transaction, unpublished.
   */
  commitResults(results: readonly ResultMessage[], alerts: readonly AlertMessage[], discarded?: readonly string[]): void;
  /** Oldest pending spectra not in `exclude` (those already in memory): crash recovery and spilled backlog. */
  pending(limit: number, exclude: ReadonlySet<string>): PendingSpectrum[];
}

/**
 * On a site whose nodes share a work queue, a job can reach a second node while the first still lives (its lease ran
 * out) or after it died between committing its result and acknowledging the job. The arbiter says, site-wide and
 * durably, whose result counts for each spectrum, before any node commits or publishes one: the first node to ask
 * for a spectrum's key wins it, and its result is on the site when the answer returns.
 */
export interface ResultArbiter {
  /** Never rejects: what cannot be decided now (the site unreachable) is `held`. */
  decide(results: readonly ResultMessage[]): Promise<ArbiterVerdict>;
}

export interface ArbiterVerdict {
  /**
   * This node had won the spectrum before (it died after the decision, before its local commit, and identified it
   * again after its restart): the result the site holds, committed instead of the new one.
   */
  readonly replaced: ReadonlyMap<string, ResultMessage>;
  /** Spectrum id -> the node whose result counts: this node's copy is discarded and its input acknowledged. */
  readonly elsewhere: ReadonlyMap<string, string>;
  /** Not decided now: left pending in the store and read back later (nothing acknowledged). */
  readonly held: ReadonlySet<string>;
}

/** The part of a pino logger the pipeline uses (structured object first, message second). */
export interface PipelineLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
