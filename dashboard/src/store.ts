import { withLabelChange } from './labels.ts';
import { RateMeter } from './rates.ts';
import type { Trends } from './trends.ts';
import type { AdapterState, AlertCounts, AlertView, Health, InstrumentReport, LabelChange, ResultMessage, RetrainStatus } from './types.ts';

/**
 * Everything the page knows, fed by socket.io events and API polls; views subscribe to the parts they show.
 * Bounded: the page runs all day, so only the newest results and alerts are kept in memory.
 */
export type Topic = 'results' | 'alerts' | 'adapters' | 'health' | 'connection' | 'retrain' | 'labels';
export type Connection = 'connecting' | 'live' | 'offline';

const MAX_RESULTS = 1000;
const MAX_ALERTS = 500;
const ACK_KEY = 'spectrad.localAcks';

export class Store {
  /** Newest first. */
  results: ResultMessage[] = [];
  private readonly resultIds = new Set<string>();
  /** Newest first. */
  alerts: AlertView[] = [];
  /** The daemon's totals; undefined until known (or from a daemon that does not count). */
  alertCounts?: AlertCounts;
  readonly adapters = new Map<string, AdapterState>();
  health?: Health;
  /** GET /api/instruments, polled with health: each instrument's input state and counts. */
  instrumentReports?: InstrumentReport[];
  /** The last hour per instrument (GET /api/instruments/trends), polled every 15 s. */
  trends?: Trends;
  healthError?: string;
  connection: Connection = 'connecting';
  retrain?: RetrainStatus;
  /** The latest labelling or undo seen ('labels' listeners read it). */
  lastLabelChange?: LabelChange;
  readonly rates = new RateMeter();
  /** Acknowledged on this browser only, when the daemon has no acknowledge endpoint. */
  private readonly localAcks = new Set<string>(loadLocalAcks());
  private readonly listeners = new Map<Topic, Set<() => void>>();

  on(topic: Topic, fn: () => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  private emit(topic: Topic): void {
    this.listeners.get(topic)?.forEach((fn) => fn());
  }

  /** Adds results (de-duplicated by id), keeping newest first. Returns those that were new. */
  addResults(incoming: readonly ResultMessage[]): ResultMessage[] {
    const fresh = incoming.filter((r) => !this.resultIds.has(r.id));
    if (!fresh.length) return [];
    for (const r of fresh) {
      this.resultIds.add(r.id);
      this.rates.record(r.instrument, Date.parse(r.receivedAt) || Date.now());
    }
    this.results = [...fresh, ...this.results].sort((a, b) => compareNewestFirst(a.receivedAt, b.receivedAt, a.id, b.id));
    if (this.results.length > MAX_RESULTS) {
      for (const r of this.results.splice(MAX_RESULTS)) this.resultIds.delete(r.id);
    }
    this.emit('results');
    return fresh;
  }

  result(id: string): ResultMessage | undefined {
    return this.results.find((r) => r.id === id);
  }

  addAlerts(incoming: readonly AlertView[]): void {
    const byId = new Map(this.alerts.map((a) => [a.id, a]));
    for (const a of incoming) {
      const ack = a.acknowledgedAt ?? byId.get(a.id)?.acknowledgedAt ?? (this.localAcks.has(a.id) ? 'local' : undefined);
      byId.set(a.id, { ...a, acknowledgedAt: ack });
    }
    this.alerts = [...byId.values()].sort((a, b) => compareNewestFirst(a.at, b.at, a.id, b.id)).slice(0, MAX_ALERTS);
    this.emit('alerts');
  }

  acknowledge(id: string, at: string, localOnly: boolean, note?: string): void {
    if (localOnly) {
      this.localAcks.add(id);
      saveLocalAcks(this.localAcks);
    }
    this.alerts = this.alerts.map((a) => (a.id === id ? { ...a, acknowledgedAt: at, ...(note ? { note } : {}) } : a));
    this.emit('alerts');
  }

  acknowledgeMany(ids: readonly string[], at: string): void {
    const set = new Set(ids);
    this.alerts = this.alerts.map((a) => (set.has(a.id) && !a.acknowledgedAt ? { ...a, acknowledgedAt: at } : a));
    this.emit('alerts');
  }

  /** A live alert counted at once, until the daemon's next counts replace the estimate. */
  countNewAlert(a: AlertView): void {
    const c = this.alertCounts;
    if (!c) return;
    const open = !a.acknowledgedAt && a.kind !== 'adapter-up';
    this.alertCounts = {
      total: c.total + 1,
      open: c.open + (open ? 1 : 0),
      openByInstrument: open ? { ...c.openByInstrument, [a.instrument]: (c.openByInstrument[a.instrument] ?? 0) + 1 } : c.openByInstrument,
      openByKind: open ? { ...c.openByKind, [a.kind]: (c.openByKind[a.kind] ?? 0) + 1 } : c.openByKind,
    };
    this.emit('alerts');
  }

  setAlertCounts(counts: AlertCounts | undefined): void {
    this.alertCounts = counts;
    this.emit('alerts');
  }

  /**
   * A labelling (or its undo) on any dashboard: the spectra gain (or lose) their label, and the alerts it resolved
   * close with its note (or open again). Results not held here are left to the next fetch.
   */
  applyLabelChange(change: LabelChange): void {
    this.lastLabelChange = change;
    const touched = this.results.some((r) => change.spectrumIds.includes(r.id));
    this.results = this.results.map((r) => withLabelChange(r, change));
    const byId = new Map(change.alerts.map((a) => [a.id, a]));
    this.alerts = this.alerts.map((a) => {
      const next = byId.get(a.id);
      if (!next) return a;
      byId.delete(a.id);
      // Reopened: the daemon sends it without acknowledgedAt and note.
      return { ...a, acknowledgedAt: next.acknowledgedAt, note: next.note };
    });
    if (byId.size > 0) this.alerts = [...this.alerts, ...byId.values()].sort((a, b) => compareNewestFirst(a.at, b.at, a.id, b.id)).slice(0, MAX_ALERTS);
    if (touched) this.emit('results');
    this.emit('alerts');
    this.emit('labels');
  }

  /** Open alerts: the daemon's count when it gives one, else those this page holds. */
  unacknowledgedCount(): number {
    return this.alertCounts?.open ?? this.alerts.filter((a) => !a.acknowledgedAt && a.kind !== 'adapter-up').length;
  }

  setAdapter(state: AdapterState): void {
    this.adapters.set(state.name, state);
    this.emit('adapters');
  }

  setHealth(health: Health | undefined, error?: string): void {
    this.health = health ?? this.health;
    this.healthError = error;
    if (health) {
      // Health is a full snapshot; socket events in between are fresher only until the next poll.
      for (const a of health.adapters) this.adapters.set(a.name, a);
      this.emit('adapters');
    }
    this.emit('health');
  }

  setTrends(trends: Trends | undefined): void {
    this.trends = trends;
    this.emit('health');
  }

  setInstrumentReports(reports: InstrumentReport[] | undefined): void {
    this.instrumentReports = reports;
    this.emit('health');
  }

  setConnection(c: Connection): void {
    if (c === this.connection) return;
    this.connection = c;
    this.emit('connection');
  }

  setRetrain(status: RetrainStatus | undefined): void {
    this.retrain = status;
    this.emit('retrain');
  }

  /** Instruments seen in health or in results, sorted by name. */
  instruments(): string[] {
    const names = new Set<string>(this.health?.instruments.map((i) => i.name) ?? []);
    for (const i of this.instrumentReports ?? []) names.add(i.name);
    for (const r of this.results) names.add(r.instrument);
    return [...names].sort();
  }
}

function compareNewestFirst(aTime: string, bTime: string, aId: string, bId: string): number {
  const d = (Date.parse(bTime) || 0) - (Date.parse(aTime) || 0);
  return d !== 0 ? d : bId < aId ? -1 : bId > aId ? 1 : 0;
}

function loadLocalAcks(): string[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(ACK_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((s): s is string => typeof s === 'string') : [];
  } catch {
    return [];
  }
}

function saveLocalAcks(ids: Set<string>): void {
  try {
    localStorage.setItem(ACK_KEY, JSON.stringify([...ids].slice(-MAX_ALERTS)));
  } catch {
    // Storage full or disabled: the acknowledgement still holds for this page.
  }
}
