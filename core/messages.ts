import type { Candidate, DecidedBy, IdentificationStatus, MixtureComponent } from './identify/types.ts';
import type { SpectrumWarning } from './spectrum.ts';

/**
 * The one typed topic -> payload map shared by MQTT, socket.io, the HTTP API and the dashboard
 * (as zigbee2mqtt does): outputs publish these shapes and nothing else.
 */
export type ResultStatus = IdentificationStatus | 'rejected';

export interface ResultMessage {
  /** Stable id of the received spectrum (ULID-like, time-sortable); consumers de-duplicate by it. */
  readonly id: string;
  readonly instrument: string;
  /** Where it came from: file path, MQTT topic, serial port. */
  readonly source: string;
  /** ISO 8601 time the daemon accepted it. */
  readonly receivedAt: string;
  readonly status: ResultStatus;
  readonly class?: string;
  readonly score: number;
  readonly candidates: readonly Candidate[];
  readonly components?: readonly MixtureComponent[];
  readonly unknownComponent?: boolean;
  /** Share of the spectrum's signal the named class (or a mixture's components) explains, in [0, 1]. */
  readonly fitQuality?: number;
  /** What decided the answer: the embedding scores, or the peaks between a confusable pair (core/identify/types.ts). */
  readonly decidedBy?: DecidedBy;
  /** Conformal prediction set: the classes that hold the true one with probability `coverage`, best score first. */
  readonly predictionSet?: readonly string[];
  readonly coverage?: number;
  /** Why the input was rejected (status 'rejected'): what, where, why. */
  readonly error?: { readonly code: string; readonly message: string };
  /** What the format reader tolerated in a file that bends its format's rules (absent for clean files). */
  readonly warnings?: readonly SpectrumWarning[];
  readonly latencyMs: number;
  readonly modelVersion: string;
  /** The daemon (node id) that identified it; results recorded before node ids existed have none. */
  readonly node?: string;
}

/**
 * An instrument name: letters, digits, `_ . -`, starting with a letter or digit, at most 64 characters (what the pipeline keeps). It becomes an
 * MQTT topic segment and an InfluxDB tag, so `..`, `/`, wildcards and long names are refused wherever one arrives.
 */
const INSTRUMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isInstrumentName(name: string): boolean {
  return INSTRUMENT_NAME.test(name);
}

/** library-quarantine: a start could not load a library class and set it aside (instrument 'library'). */
export type AlertKind = 'unknown' | 'low-confidence' | 'rejected' | 'adapter-down' | 'adapter-up' | 'library-quarantine';

export interface AlertMessage {
  readonly id: string;
  readonly kind: AlertKind;
  readonly instrument: string;
  readonly at: string;
  readonly message: string;
  /** The result the alert is about, when there is one. */
  readonly resultId?: string;
  /** The daemon (node id) that raised it. */
  readonly node?: string;
}

export interface AdapterState {
  readonly name: string;
  /** 'store': the daemon's own SQLite store (down while it cannot commit, e.g. disk full). */
  readonly kind: 'folder' | 'serial' | 'mqtt-in' | 'queue-in' | 'mqtt-out' | 'influx' | 'socketio' | 'store';
  readonly state: 'starting' | 'up' | 'down' | 'stopped';
  readonly detail?: string;
  readonly since: string;
}

