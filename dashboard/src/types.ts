/**
 * The shapes the dashboard reads. Messages come from core/messages.ts (type-only: nothing server-side is bundled);
 * the HTTP shapes are the ones docs/DASHBOARD.md asks the daemon for.
 */
export type { AdapterState, AlertKind, AlertMessage, ResultStatus } from '../../core/messages.ts';
export type { Candidate, MixtureComponent } from '../../core/identify/types.ts';
import type { AdapterState, AlertMessage, ResultMessage as PublishedResult } from '../../core/messages.ts';

/** An operator's label on a spectrum (from the API; never in the published message): the model's answer stays. */
export interface ResultLabel {
  readonly class: string;
  readonly at: string;
  readonly by?: string;
  /** DELETE /api/enrollments/:id removes the label again. */
  readonly enrollmentId: string;
}

/** A result as the page shows it: what the model said, and the operator's label when the spectrum was labelled. */
export type ResultMessage = PublishedResult & { readonly label?: ResultLabel };

/** An alert as the dashboard keeps it: acknowledged once the operator (or another dashboard) said so. */
export interface AlertView extends AlertMessage {
  readonly acknowledgedAt?: string;
  /** Why it was closed when not by hand, e.g. 'labelled as caffeine'. */
  readonly note?: string;
}

/** The daemon's alert totals (GET /api/alerts counts): the badge and the filters show these, not what the page holds. */
export interface AlertCounts {
  readonly total: number;
  readonly open: number;
  readonly openByInstrument: Readonly<Record<string, number>>;
  readonly openByKind: Readonly<Record<string, number>>;
}

export interface AlertsPage {
  readonly items: AlertView[];
  readonly nextCursor?: string;
  /** Undefined from a daemon that does not count (older API): the page counts what it holds. */
  readonly counts?: AlertCounts;
}

export interface AlertQuery {
  readonly state?: 'open' | 'all';
  readonly instrument?: string;
  readonly kind?: string;
  readonly cursor?: string;
  readonly limit?: number;
}

/** socket.io 'labels': spectra labelled (or unlabelled by an undo) and the alerts that closed (or opened again). */
export interface LabelChange {
  readonly kind: 'labelled' | 'unlabelled';
  readonly enrollmentId: string;
  readonly class: string;
  readonly spectrumIds: readonly string[];
  readonly alerts: readonly AlertView[];
  readonly at: string;
  readonly by?: string;
}

export interface InstrumentHealth {
  readonly name: string;
  readonly queueDepth?: number;
  readonly ratePerMin?: number;
  readonly lastResultAt?: string;
}

/** GET /api/instruments: one row per instrument (counts since the daemon started). */
export interface InstrumentReport {
  readonly name: string;
  readonly state: string;
  readonly lastSpectrumAt?: string;
  readonly ratePerMin: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly adapters: readonly AdapterState[];
}

export interface Health {
  /** The daemon's node id (several daemons on one site). */
  readonly node?: string;
  readonly status: string;
  readonly modelVersion?: string;
  readonly uptimeS?: number;
  readonly adapters: readonly AdapterState[];
  /** Spectra waiting for the encoder, all instruments together. */
  readonly queueDepth?: number;
  readonly queueBound?: number;
  readonly instruments: readonly InstrumentHealth[];
}

export interface ResultsPage {
  readonly items: readonly ResultMessage[];
  readonly nextCursor?: string;
  readonly total?: number;
}

/** x and y of one curve; x absent means the point index. */
export interface Curve {
  readonly x?: readonly number[];
  readonly y: readonly number[];
  readonly xUnit?: string;
  readonly yUnit?: string;
}

/** A hit's library spectrum: the class's reference nearest to the query, on the model grid (max |y| = 1). */
export interface HitReference {
  readonly rank: number;
  readonly class: string;
  readonly score?: number;
  /** Pearson correlation of the query with this reference. */
  readonly correlation?: number;
  readonly references?: number;
  readonly y: readonly number[];
}

export interface SpectrumRecord {
  readonly id: string;
  /** Where it came from (file path, topic) and the file's own title: the dialog is titled by them. */
  readonly source?: string;
  readonly title?: string;
  /** The first candidates' library spectra (GET /api/spectra/:id hits). */
  readonly hits?: readonly HitReference[];
  readonly raw?: Curve & { readonly meta?: Readonly<Record<string, unknown>> };
  readonly preprocessed?: Curve;
  readonly result?: ResultMessage;
  readonly reference?: Curve & { readonly class: string };
  /** The bytes as received (text when it is text), to show what a rejected file held. */
  readonly payload?: { readonly encoding: 'utf8' | 'base64'; readonly data: string; readonly bytes: number };
}

export interface ClassInfo {
  readonly name: string;
  readonly references?: number;
  readonly source?: string;
  readonly enrolledAt?: string;
}

export interface EnrollRequest {
  readonly name: string;
  readonly spectrumIds: readonly string[];
  /** Who labels: shown with the label in History. */
  readonly by?: string;
  /**
   * One key per enrollment the operator asked for (sent as Idempotency-Key): a retry of the same request, after a
   * lost answer or a daemon restart, answers the first enrollment instead of adding the spectra twice.
   */
  readonly idempotencyKey?: string;
}

export interface EnrollResponse {
  readonly class: string;
  readonly created: boolean;
  readonly added: number;
  readonly enrollmentId?: string;
}

export interface ModelMetrics {
  readonly modelVersion?: string;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface ModelVersionInfo {
  readonly version: string;
  readonly createdAt?: string;
  readonly active: boolean;
  readonly metrics?: Readonly<Record<string, number>>;
  /** What result messages carry while this version is active. */
  readonly modelVersion?: string;
  readonly baseVersion?: string;
}

export type RetrainState = 'idle' | 'queued' | 'training' | 'evaluating' | 'promoted' | 'kept' | 'failed' | (string & {});

export interface RetrainStatus {
  readonly state: RetrainState;
  readonly progress?: number;
  readonly epoch?: number;
  readonly epochs?: number;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly labelsSinceLast?: number;
  readonly threshold?: number;
  readonly before?: ModelMetrics;
  readonly after?: ModelMetrics;
  readonly activeVersion?: string;
  /** The version a rollback returns to; absent when there is none. */
  readonly rollbackTo?: string;
  readonly versions: readonly ModelVersionInfo[];
}
