/**
 * One named part of the running daemon (the zigbee2mqtt way: state -> adapters -> MQTT -> extensions). Its
 * dependencies come in through its constructor; run.ts starts the parts in order and stops them in reverse
 * (daemon/lifecycle.ts), so a part may use what an earlier part started, and never what a later one does.
 */
export interface DaemonPart {
  readonly name: string;
  start(): Promise<void>;
  stop?(): Promise<void>;
}

/** The daemon's phase, read by health, metrics and adapter alerts (alerts are raised only while running). */
export class DaemonPhase {
  value: 'starting' | 'running' | 'stopping' = 'starting';
  get running(): boolean {
    return this.value === 'running';
  }
}

/** A value a part makes in its start(): reading it earlier is a wiring fault, named by what was asked for. */
export function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not started yet`);
  return value;
}
