import type { Candidate, IdentificationStatus, MixtureComponent } from './identify/types.ts';
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
  /** Why the input was rejected (status 'rejected'): what, where, why. */
  readonly error?: { readonly code: string; readonly message: string };
  /** What the format reader tolerated in a file that bends its format's rules (absent for clean files). */
  readonly warnings?: readonly SpectrumWarning[];
  readonly latencyMs: number;
  readonly modelVersion: string;
}

export type AlertKind = 'unknown' | 'low-confidence' | 'rejected' | 'adapter-down' | 'adapter-up';

export interface AlertMessage {
  readonly id: string;
  readonly kind: AlertKind;
  readonly instrument: string;
  readonly at: string;
  readonly message: string;
  /** The result the alert is about, when there is one. */
  readonly resultId?: string;
}

export interface AdapterState {
  readonly name: string;
  /** 'store': the daemon's own SQLite store (down while it cannot commit, e.g. disk full). */
  readonly kind: 'folder' | 'serial' | 'mqtt-in' | 'mqtt-out' | 'influx' | 'socketio' | 'store';
  readonly state: 'starting' | 'up' | 'down' | 'stopped';
  readonly detail?: string;
  readonly since: string;
}

/** Topic suffixes under `spectrad/<instrument>/`. */
export interface TopicMap {
  result: ResultMessage;
  alert: AlertMessage;
}
