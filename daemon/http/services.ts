import type { AdapterState, ResultMessage } from '../../core/messages.ts';
import type { InstrumentHealth } from '../health/instrument-health.ts';
import type { ModelManager } from '../models/model-manager.ts';
import type { AlertCounts, AlertFilter, InstrumentTrend, LabelledResult, ResultFilter, Store, StoredAlert, StoredSpectrum } from '../store/store.ts';

/**
 * The history and alerts the API shows: the local store's (a single node), or the site's from PostgreSQL when the
 * daemon is part of a site (daemon/site), so every node serves every node's results, spectra and alerts.
 */
export interface HistoryReads {
  listResults(filter: ResultFilter): ResultsPage | Promise<ResultsPage>;
  getSpectrum(id: string): StoredSpectrum | undefined | Promise<StoredSpectrum | undefined>;
  queryAlerts(filter: AlertFilter & { before?: string; limit?: number }): { items: StoredAlert[]; nextCursor?: string } | Promise<{ items: StoredAlert[]; nextCursor?: string }>;
  alertCounts(): AlertCounts | Promise<AlertCounts>;
  acknowledgeAlerts(filter: AlertFilter & { ids?: readonly string[]; upTo?: string }): { ids: string[]; acknowledgedAt: string } | Promise<{ ids: string[]; acknowledgedAt: string }>;
  acknowledgeAlert(id: string): string | undefined | Promise<string | undefined>;
  /** Every result a filter matches, in its order (the bulk export reads it row by row). */
  iterateResults(filter: ResultFilter): Iterable<LabelledResult> | AsyncIterable<LabelledResult>;
  instrumentTrends(since: number, bucketMs: number, until: number): InstrumentTrend[] | Promise<InstrumentTrend[]>;
}
/** A page of results and the total the filter matches (all pages). */
export interface ResultsPage {
  readonly items: ResultMessage[];
  readonly nextCursor?: string;
  readonly total: number;
}

/** What the HTTP API asks of the running daemon; daemon/parts/services.ts provides it, tests provide small versions. */
export interface ApiServices {
  readonly store: Store;
  /** Where history and alerts are read and acknowledged; absent: the local store. */
  history?(): HistoryReads | undefined;
  health(): HealthReport;
  /** Prometheus text exposition of the daemon's metrics (GET /metrics); absent: the route answers 404. */
  metrics?(): Promise<{ readonly contentType: string; readonly body: string }>;
  /** Identifies every spectrum in an uploaded file without recording it. */
  identifyUpload(payload: Buffer, fileName?: string): Promise<UploadAnswer[]>;
  enroll(request: EnrollRequest): Promise<EnrollAnswer>;
  undoEnrollment(enrollmentId: string): Promise<{ removed: number }>;
  /** The raw payload read back as a curve, for display; undefined when it cannot be read. */
  rawCurve(payload: Buffer, formatHint?: string): Curve | undefined;
  /** x of the model grid (preprocessed spectra lie on it). */
  gridX(): number[] | undefined;
  /** The model grid's x unit (index, cm-1, ...): the dashboard labels its axis with it. */
  gridXUnit?(): string | undefined;
  /** An alert was acknowledged (live listeners are told). */
  alertAcknowledged?(id: string, at: string, note?: string): void;
  /** Many alerts were acknowledged at once (one live event for all). */
  alertsAcknowledged?(ids: readonly string[], at: string): void;
  /** Model versions and background retraining; undefined until the model is loaded (routes answer 503). */
  models?(): ModelManager | undefined;
  /** Per-instrument health: last spectrum, rate, counts, adapter states. */
  instruments?(): InstrumentHealth[] | Promise<InstrumentHealth[]>;
}

export interface HealthReport {
  /** The daemon's node id (node.id, --node-id, SPECTRAD_NODE_ID; default the host name). */
  readonly node?: string;
  /** ok: ready; starting; stopping; degraded: some adapter is down. */
  readonly status: 'ok' | 'starting' | 'stopping' | 'degraded';
  readonly ready: boolean;
  readonly modelVersion?: string;
  /** The inference engine the current model runs on (onnx or tfjs); a promotion or rollback chooses again. */
  readonly inference?: 'onnx' | 'tfjs';
  readonly uptimeS: number;
  readonly adapters: readonly AdapterState[];
  readonly queueDepth: number;
  readonly queueBound: number;
  readonly queues: Readonly<Record<string, number>>;
  readonly outbox: Readonly<Record<string, number>>;
  readonly counts: Readonly<Record<string, number>>;
  readonly library?: { readonly classes: number; readonly references: number };
  /** Part of a site (site.postgres.url): the last site revision applied, whether it listens, changes not yet published. */
  readonly site?: { readonly revision: number; readonly listening: boolean; readonly unpublished: number };
}

export interface Curve {
  readonly x?: number[];
  readonly y: number[];
  readonly xUnit?: string;
  readonly yUnit?: string;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** The answer for one block of an uploaded file: a result message without the fields of a stored spectrum. */
export type UploadAnswer = { readonly block: number } & Pick<
  ResultMessage,
  | 'status'
  | 'class'
  | 'score'
  | 'candidates'
  | 'components'
  | 'unknownComponent'
  | 'fitQuality'
  | 'decidedBy'
  | 'predictionSet'
  | 'coverage'
  | 'error'
  | 'modelVersion'
>;

export interface EnrollRequest {
  readonly name: string;
  readonly spectrumIds?: readonly string[];
  /** Uploaded files as text (JCAMP-DX, CSV, JSON). */
  readonly files?: ReadonlyArray<{ readonly name?: string; readonly content: string }>;
  /** Who labelled the spectra (the operator's name as typed on the dashboard): shown in History. */
  readonly by?: string;
  /** The client's Idempotency-Key header: a retry with the same key enrolls nothing and answers the first enrollment. */
  readonly idempotencyKey?: string;
  /** true: one unreadable file refuses the whole request (nothing enrolled); default: the good files are enrolled. */
  readonly allOrNothing?: boolean;
}

/** An uploaded file that was not enrolled, and why. */
export interface RefusedUpload {
  readonly file: string;
  readonly block?: number;
  readonly code: string;
  readonly message: string;
}

export interface EnrollAnswer {
  readonly class: string;
  readonly created: boolean;
  readonly added: number;
  readonly enrollmentId: string;
  /** The answer of an earlier request with the same idempotency key: nothing was added now. */
  readonly replayed?: boolean;
  /** Uploaded files that were not enrolled (HTTP 207: the others were). */
  readonly refused?: readonly RefusedUpload[];
}
