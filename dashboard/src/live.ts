import { io, type Socket } from 'socket.io-client';
import type { Api } from './api.ts';
import { readAdapterState, readAlert, readLabelChange, readResult, readRetrainStatus } from './shapes.ts';
import type { Store } from './store.ts';

/**
 * The live feed: socket.io events from the daemon's socketio output ('result', 'alert', 'adapter-state', and
 * 'retrain' / 'alert-ack' / 'labels' when the daemon sends them) into the store. After a reconnect it fetches the newest results
 * so a network blip leaves no gap in the feed.
 */
export function connectLive(store: Store, api: Api, path = '/socket.io'): Socket {
  const socket = io({ path, transports: ['websocket', 'polling'], reconnectionDelayMax: 5000 });
  let everConnected = false;

  socket.on('connect', () => {
    store.setConnection('live');
    if (everConnected) void backfill(store, api);
    everConnected = true;
  });
  socket.on('disconnect', () => store.setConnection('offline'));
  socket.io.on('reconnect_attempt', () => store.setConnection('connecting'));
  socket.on('connect_error', () => store.setConnection('offline'));

  socket.on('result', (payload: unknown) => {
    const r = readResult(payload);
    if (r) store.addResults([r]);
  });
  socket.on('alert', (payload: unknown) => {
    const a = readAlert(payload);
    if (a) store.addAlerts([a]);
  });
  socket.on('adapter-state', (payload: unknown) => {
    const s = readAdapterState(payload);
    if (s) store.setAdapter(s);
  });
  socket.on('alert-ack', (payload: unknown) => {
    const p = payload as { id?: unknown; acknowledgedAt?: unknown } | null;
    if (p && typeof p.id === 'string') store.acknowledge(p.id, typeof p.acknowledgedAt === 'string' ? p.acknowledgedAt : new Date().toISOString(), false);
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

export async function backfill(store: Store, api: Api): Promise<void> {
  try {
    const page = await api.results({}, { limit: 100 });
    store.addResults(page.items);
  } catch {
    // The feed still fills from live events; history shows the API problem.
  }
}
