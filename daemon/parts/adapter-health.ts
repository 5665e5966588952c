import type { Logger } from 'pino';
import type { Subscription } from 'rxjs';
import { AdapterStateTracker } from '../../adapters/adapter-state.ts';
import type { InputAdapter, OutputAdapter } from '../../adapters/types.ts';
import type { ResolvedConfig } from '../../config/load.ts';
import type { AdapterState, AlertMessage } from '../../core/messages.ts';
import type { DaemonMetrics } from '../metrics.ts';
import { ulid } from '../store/ids.ts';
import type { Store } from '../store/store.ts';
import type { DaemonPart, DaemonPhase } from './part.ts';

export interface AdapterHealthDeps {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly metrics: DaemonMetrics;
  readonly phase: DaemonPhase;
  readonly store: () => Store;
  /** The outputs started so far (they show adapter health and carry the alerts the store could not take). */
  readonly outputs: () => readonly OutputAdapter[];
  /** An adapter's down alert closed itself (it came back): live listeners are told. */
  readonly alertAcknowledged: (id: string, at: string, note?: string) => void;
  /** New alerts wait in the outbox: the outputs' dispatchers are woken. */
  readonly wakeOutputs: () => void;
}

/**
 * Every adapter's state (inputs, outputs and the store itself) for health, the dashboard and MQTT, and the
 * adapter-down / adapter-up alerts raised while the daemon runs. Started right after the store, so it watches the
 * store's own state from the first commit, and stopped right before the store closes.
 */
export class AdapterHealth implements DaemonPart {
  readonly name = 'adapter-health';
  private readonly states = new Map<string, AdapterState>();
  private readonly subscriptions: Subscription[] = [];
  /** The store itself as a health entry: down while it refuses commits (disk full, I/O error), with an alert. */
  readonly storeState = new AdapterStateTracker('store', 'store');
  /** Alerts the store could not take (it was what failed): sent to the outputs directly, recorded once it can. */
  private readonly unrecorded: AlertMessage[] = [];

  constructor(private readonly deps: AdapterHealthDeps) {}

  /** The last state of every adapter watched. */
  list(): AdapterState[] {
    return [...this.states.values()];
  }

  async start(): Promise<void> {
    this.watch({ name: 'store', state$: this.storeState.state$ });
    this.storeState.set('up');
  }

  async stop(): Promise<void> {
    this.subscriptions.forEach((s) => s.unsubscribe());
  }

  /** States seen before this output existed (the store's), for an output that shows adapter health. */
  replayTo(output: OutputAdapter): void {
    for (const s of this.states.values()) void output.publishAdapterState?.(s).catch(() => undefined);
  }

  /** Adapter alerts belong to the instrument the adapter feeds (outputs and the store: the daemon's instrument). */
  instrumentOfAdapter(name: string): string {
    const { config } = this.deps;
    const input = config.inputs.find((i) => i.name === name);
    return (input && 'instrument' in input && input.instrument) || config.instrument;
  }

  watch(adapter: { name: string; state$: InputAdapter['state$'] }): void {
    const { log } = this.deps;
    this.subscriptions.push(
      adapter.state$.subscribe({
        next: (s) => this.changed(adapter.name, s),
        error: (err: unknown) => log.error({ err, adapter: adapter.name }, 'adapter state stream failed'),
      }),
    );
  }

  private changed(name: string, s: AdapterState): void {
    const { log, phase } = this.deps;
    const before = this.states.get(name);
    this.states.set(name, s);
    // Outputs that show adapter health (MQTT bridge/<node>/adapters/<name>, socket.io) get every change.
    for (const o of this.deps.outputs()) void o.publishAdapterState?.(s).catch(() => undefined);
    if (before?.state === s.state) return;
    const level = s.state === 'down' ? 'warn' : 'info';
    log[level]({ adapter: s.name, kind: s.kind, state: s.state, detail: s.detail }, `adapter ${s.name} ${s.state}`);
    const kind = s.state === 'down' ? 'adapter-down' : s.state === 'up' && before?.state === 'down' ? 'adapter-up' : undefined;
    if (kind && phase.running) this.raise(s, kind);
  }

  private raise(s: AdapterState, kind: 'adapter-down' | 'adapter-up'): void {
    const { log, metrics, config } = this.deps;
    const alert: AlertMessage = { id: ulid(), kind, instrument: this.instrumentOfAdapter(s.name), at: new Date().toISOString(), message: adapterAlertMessage(s), node: config.node.id };
    metrics.alert(alert);
    try {
      const store = this.deps.store();
      while (this.unrecorded.length > 0) {
        store.addAlert(this.unrecorded[0], { queue: false });
        this.unrecorded.shift();
      }
      store.addAlert(alert, { adapter: s.name });
      if (kind === 'adapter-up') {
        // The input is back: its down alert closes itself, for every dashboard.
        const closed = store.resolveAdapterAlerts(s.name, `closed: ${s.name} came back at ${alert.at}`);
        for (const c of closed) this.deps.alertAcknowledged(c.id, c.acknowledgedAt ?? alert.at, c.note);
      }
      this.deps.wakeOutputs();
    } catch (err) {
      // Most likely the store is what is down (disk full): the outbox cannot carry this alert, so the live
      // outputs get it now (best effort) and the store records it once it takes writes again.
      log.error({ err }, 'could not record adapter alert; sent to the outputs directly');
      this.unrecorded.push(alert);
      for (const o of this.deps.outputs()) void o.publishAlert(alert).catch(() => undefined);
    }
  }
}

const ADAPTER_KIND_WORDS: Record<AdapterState['kind'], string> = {
  folder: 'Folder input',
  serial: 'Serial input',
  'mqtt-in': 'MQTT input',
  'queue-in': 'Work queue input',
  'mqtt-out': 'MQTT output',
  influx: 'InfluxDB output',
  socketio: 'Dashboard feed',
  store: 'Result store',
};

/** An adapter alert as an operator reads it: what, which, and why in words, with server paths cut to their last part. */
export function adapterAlertMessage(s: Pick<AdapterState, 'kind' | 'name' | 'state' | 'detail'>): string {
  const what = `${ADAPTER_KIND_WORDS[s.kind] ?? s.kind} ${s.name}`;
  const detail = s.detail ? shortenPaths(s.detail) : '';
  return s.state === 'down' ? `${what} is down${detail ? `: ${detail}` : ''}` : `${what} is back`;
}

export function shortenPaths(text: string): string {
  return text.replace(/(?:[A-Za-z]:)?(?:[\\/][^\s\\/:'"]+){2,}/g, (p) => `…/${p.split(/[\\/]/).pop()}`);
}
