import { io, type Socket } from 'socket.io-client';
import type { Api } from './api.ts';
import { readAdapterState, readAlert, readLabelChange, readResult, readRetrainStatus } from './shapes.ts';
import type { Store } from './store.ts';
import { notifyAlert } from './notify.ts';

const RECONNECT_AFTER_SERVER_DISCONNECT_MS = 500;
/** Retries at most 2 s apart: a restarted daemon is found within about 2 s of answering (target: results within 5 s). */
const RECONNECT_DELAY_MAX_MS = 2000;

/**
 * The live feed: socket.io events from the daemon's socketio output ('result', 'alert', 'adapter-state', and
 * 'retrain' / 'alert-ack' / 'alerts-ack' / 'labels' when the daemon sends them) into the store. It connects again
 * after the daemon's own disconnect at shutdown, and after a reconnect fetches the newest results, alerts and alert
 * counts, so a restart or a network blip leaves no gap.
 */
export function connectLive(store: Store, api: Api, path = '/socket.io'): Socket {
  const socket = io({ path, transports: ['websocket', 'polling'], reconnectionDelayMax: RECONNECT_DELAY_MAX_MS });
  let everConnected = false;

  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  socket.on('connect', () => {
    clearTimeout(retryTimer);
    store.setConnection('live');
    if (everConnected) void backfill(store, api);
    everConnected = true;
  });
  socket.on('disconnect', (reason) => {
    store.setConnection('offline');
    // A daemon that stops disconnects every client itself ('io server disconnect'), and socket.io does not retry
    // those: connect again by hand; a failed attempt falls back to socket.io's own retries with back-off.
    if (reason === 'io server disconnect') {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => socket.connect(), RECONNECT_AFTER_SERVER_DISCONNECT_MS);
    }
  });
  socket.io.on('reconnect_attempt', () => store.setConnection('connecting'));
  socket.on('connect_error', () => store.setConnection('offline'));
  // The health poll reaching the daemon while the socket gave up (e.g. the page slept) also brings the feed back.
  store.on('health', () => {
    if (!store.healthError && !socket.connected && !socket.active) socket.connect();
  });

  socket.on('result', (payload: unknown) => {
    const r = readResult(payload);
    if (r) store.addResults([r]);
  });
  socket.on('alert', (payload: unknown) => {
    const a = readAlert(payload);
    if (a) {
      store.addAlerts([a]);
      store.countNewAlert(a);
      notifyAlert(a);
      refreshAlertCounts(store, api);
    }
  });
  socket.on('adapter-state', (payload: unknown) => {
    const s = readAdapterState(payload);
    if (s) store.setAdapter(s);
  });
  socket.on('alert-ack', (payload: unknown) => {
    const p = payload as { id?: unknown; acknowledgedAt?: unknown; note?: unknown } | null;
    if (p && typeof p.id === 'string') {
      store.acknowledge(p.id, typeof p.acknowledgedAt === 'string' ? p.acknowledgedAt : new Date().toISOString(), false, typeof p.note === 'string' ? p.note : undefined);
      refreshAlertCounts(store, api);
    }
  });
  socket.on('alerts-ack', (payload: unknown) => {
    const p = payload as { ids?: unknown; acknowledgedAt?: unknown } | null;
    if (p && Array.isArray(p.ids)) {
      store.acknowledgeMany(p.ids.filter((x): x is string => typeof x === 'string'), typeof p.acknowledgedAt === 'string' ? p.acknowledgedAt : new Date().toISOString());
      refreshAlertCounts(store, api);
    }
  });
  socket.on('labels', (payload: unknown) => {
    const change = readLabelChange(payload);
    if (change) store.applyLabelChange(change);
  });
  socket.on('retrain', (payload: unknown) => {
    try {
      store.setRetrain(readRetrainStatus(payload));
    } catch {
      // A malformed progress event is skipped; the next poll brings the state.
    }
  });
  return socket;
}

/** After a (re)connect: the newest results and alerts, and the alert counts, so the page has no gap. */
export async function backfill(store: Store, api: Api): Promise<void> {
  await Promise.all([
    api.results({}, { limit: 100 }).then((page) => store.addResults(page.items)).catch(() => undefined),
    // The feed still fills from live events; History and Alerts show an API problem themselves.
    api.alertsPage({ limit: 200 }).then((page) => {
      store.addAlerts(page.items);
      store.setAlertCounts(page.counts);
    }).catch(() => undefined),
  ]);
}

const COUNTS_EVERY_MS = 2000;
let countsTimer: ReturnType<typeof setTimeout> | undefined;
let countsLastAt = 0;

/**
 * The daemon's open-alert counts (the badge), fetched at most every 2 s however fast alerts arrive: at 25 unknown
 * spectra a second a request per alert would spend the read rate limit; in between, new alerts count locally.
 */
export function refreshAlertCounts(store: Store, api: Api): void {
  if (countsTimer) return;
  countsTimer = setTimeout(() => {
    countsLastAt = Date.now();
    void api.alertsPage({ limit: 1 })
      .then((page) => store.setAlertCounts(page.counts))
      .catch(() => undefined)
      .finally(() => {
        countsTimer = undefined;
      });
  }, Math.max(0, countsLastAt + COUNTS_EVERY_MS - Date.now()));
}
