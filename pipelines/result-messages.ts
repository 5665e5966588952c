import type { Identification } from '../core/identify/types.ts';
import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import type { SpectrumWarning } from '../core/spectrum.ts';
import type { PipelineDomain } from './domain.ts';

/** What a result is about: a spectrum as received (pending, or rejected at ingest). */
export interface ResultSubject {
  readonly id: string;
  readonly instrument: string;
  readonly source: string;
  readonly receivedAt: string;
  readonly warnings?: readonly SpectrumWarning[];
}

export interface ResultMessagesOptions {
  /** Its modelVersion is read when each result is made (a model switch changes it). */
  readonly domain: Pick<PipelineDomain, 'modelVersion'>;
  readonly newId: () => string;
  /** This daemon's node id, carried by every result and alert (left out when not given). */
  readonly node?: string;
  readonly now: () => number;
}

const ALERT_STATUSES = new Set(['unknown', 'low-confidence', 'rejected']);

/** The messages the pipeline commits and publishes: a result per spectrum and, for answers an operator must see, an alert. */
export class ResultMessages {
  constructor(private readonly o: ResultMessagesOptions) {}

  /** The result of an answer, or (error, or no answer) a rejection. arrived: when the input arrived (ms), for latencyMs. */
  result(p: ResultSubject, arrived: number, error?: { code: string; message: string }, answer?: Identification): ResultMessage {
    const latencyMs = Number.isFinite(arrived) ? Math.max(0, this.o.now() - arrived) : 0;
    const base = {
      id: p.id,
      instrument: p.instrument,
      source: p.source,
      receivedAt: p.receivedAt,
      ...(p.warnings?.length ? { warnings: p.warnings } : {}),
      latencyMs,
      modelVersion: this.o.domain.modelVersion,
      ...(this.o.node !== undefined ? { node: this.o.node } : {}),
    };
    if (error || !answer) return { ...base, status: 'rejected', score: 0, candidates: [], error: error ?? { code: 'no-answer', message: 'no identification' } };
    return {
      ...base,
      status: answer.status,
      ...(answer.class !== undefined ? { class: answer.class } : {}),
      score: answer.score,
      candidates: answer.candidates,
      ...(answer.components ? { components: answer.components } : {}),
      ...(answer.unknownComponent !== undefined ? { unknownComponent: answer.unknownComponent } : {}),
      ...(answer.fitQuality !== undefined ? { fitQuality: answer.fitQuality } : {}),
      ...(answer.decidedBy ? { decidedBy: answer.decidedBy } : {}),
      ...(answer.predictionSet ? { predictionSet: answer.predictionSet, coverage: answer.coverage } : {}),
    };
  }

  /** The alert a result raises (rejected, low-confidence, unknown, a mixture with an unknown part), else undefined. */
  alert(r: ResultMessage): AlertMessage | undefined {
    const unknownPart = r.status === 'mixture' && r.unknownComponent;
    if (!ALERT_STATUSES.has(r.status) && !unknownPart) return undefined;
    const kind = r.status === 'rejected' ? 'rejected' : r.status === 'low-confidence' ? 'low-confidence' : 'unknown';
    // Read by operators (dashboard, MQTT, chat bridges): the file's name rather than a server path, words not scores.
    const file = sourceName(r.source);
    const message =
      r.status === 'rejected'
        ? `Could not read ${file}: ${r.error?.message ?? 'unreadable'}`
        : r.status === 'low-confidence'
          ? `${file}: probably ${r.class ?? 'unknown'}, but the match is weak`
          : unknownPart
            ? `${file}: a mixture with a component the library does not hold`
            : `${file}: not in the library${r.candidates[0]?.class ? ` (closest: ${r.candidates[0].class})` : ''}`;
    return {
      id: this.o.newId(), kind, instrument: r.instrument, at: new Date(this.o.now()).toISOString(), message, resultId: r.id,
      ...(this.o.node !== undefined ? { node: this.o.node } : {}),
    };
  }
}

/** Instrument names become MQTT topic segments: keep them to safe characters. */
export function instrumentName(raw: string): string {
  const safe = raw.trim().replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 64);
  return safe || 'default';
}

/** A folder input's source is a server path: its last part names the file; other sources (topics, ports) stay whole. */
function sourceName(source: string): string {
  return /^(?:[A-Za-z]:)?[\\/]/.test(source) ? (source.split(/[\\/]/).pop() || source) : source;
}
