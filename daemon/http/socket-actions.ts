import { createHash, timingSafeEqual } from 'node:crypto';
import type { OutputAdapter } from '../../adapters/types.ts';
import { SocketIoOutput } from '../../adapters/socketio-output.ts';
import type { PipelineLogger } from '../../pipelines/ports.ts';
import type { Store } from '../store/store.ts';
import { FailureWindow } from './rate-limit.ts';

export interface SocketActionsOptions {
  /** The daemon's http token; without one the actions answer writes-disabled. */
  readonly token?: string;
  readonly store: Pick<Store, 'acknowledgeAlert'> & Partial<Pick<Store, 'onLabelChange'>>;
  readonly log: PipelineLogger;
  /**
   * Wrong or missing tokens per client address per window before its actions are refused until the window ends (as
   * the HTTP API's http.rateLimit.authFailures does): without it the socket would be an unlimited way to guess the
   * token. Omitted: not limited (http.rateLimit.enabled false).
   */
  readonly authFailures?: { readonly max: number; readonly windowMs: number; readonly allowList?: readonly string[] };
}

export interface SocketActions {
  /** Sends an event to every connected dashboard (e.g. 'retrain', 'alert-ack'). */
  emit(event: string, payload: unknown): void;
  /** Closes every dashboard's connection and refuses new ones (the daemon is stopping). */
  closeClients(): void;
}

type Answer = { ok: true; id: string; acknowledgedAt: string } | { ok: false; error: { code: string; message: string; retryAfterMs?: number } };

/**
 * State-changing socket.io actions of the dashboard, authenticated with the same bearer token as the HTTP API:
 * `alert:ack` with `{id, token}` (and an acknowledgement callback) acknowledges an alert, stores it and tells every
 * dashboard ('alert-ack'). Labelling and its undo reach every dashboard as 'labels' (the spectra labelled or
 * unlabelled and the alerts resolved or opened again, store.ts LabelChange). Returns undefined when the daemon has no
 * socket.io output.
 */
export function attachSocketActions(outputs: readonly OutputAdapter[], o: SocketActionsOptions): SocketActions | undefined {
  const sockets = outputs.filter((x): x is SocketIoOutput => x instanceof SocketIoOutput);
  if (sockets.length === 0) return undefined;
  const expected = o.token ? digest(o.token) : undefined;
  const failures = o.authFailures ? new FailureWindow(o.authFailures.max, o.authFailures.windowMs) : undefined;
  const trusted = new Set(o.authFailures?.allowList ?? []);
  const emit = (event: string, payload: unknown) => {
    for (const s of sockets) s.server?.emit(event, payload);
  };
  o.store.onLabelChange?.((change) => emit('labels', change));
  for (const s of sockets) {
    s.server?.on('connection', (socket) => {
      const client = socket.handshake.address;
      socket.on('alert:ack', (payload: unknown, reply?: unknown) => {
        const answer = acknowledge(payload, trusted.has(client) ? undefined : client);
        if (answer.ok) emit('alert-ack', { id: answer.id, acknowledgedAt: answer.acknowledgedAt });
        else o.log.warn({ code: answer.error.code }, 'socket alert:ack refused');
        if (typeof reply === 'function') (reply as (a: Answer) => void)(answer);
      });
    });
  }

  function acknowledge(payload: unknown, client: string | undefined): Answer {
    const p = (typeof payload === 'object' && payload !== null ? payload : {}) as { id?: unknown; token?: unknown };
    if (!expected) return { ok: false, error: { code: 'writes-disabled', message: 'acknowledging needs a token: set http.token in the daemon config' } };
    const blockedMs = client !== undefined ? (failures?.blockedForMs(client) ?? 0) : 0;
    if (blockedMs > 0) {
      return { ok: false, error: { code: 'rate-limited', message: `too many wrong tokens from this client; retry in ${Math.ceil(blockedMs / 1000)} s`, retryAfterMs: blockedMs } };
    }
    if (typeof p.token !== 'string' || !timingSafeEqual(digest(p.token), expected)) {
      if (client !== undefined) failures?.add(client);
      return { ok: false, error: { code: 'unauthorized', message: 'missing or wrong token' } };
    }
    if (typeof p.id !== 'string' || p.id.length === 0 || p.id.length > 100) return { ok: false, error: { code: 'bad-request', message: 'give the alert id as {id, token}' } };
    const at = o.store.acknowledgeAlert(p.id);
    if (!at) return { ok: false, error: { code: 'not-found', message: `no alert ${p.id}` } };
    return { ok: true, id: p.id, acknowledgedAt: at };
  }

  return { emit, closeClients: () => sockets.forEach((s) => s.closeClients()) };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
