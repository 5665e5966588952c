import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io as connectClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketIoOutput } from '../../adapters/socketio-output.ts';
import { attachSocketActions } from '../../daemon/http/socket-actions.ts';
import { waitFor } from '../../support/servers.ts';

/**
 * Access audit of the state-changing socket.io actions (today `alert:ack`): refused without the token, with a wrong
 * one and when the daemon has none; only the right token reaches the store; an oversize action payload disconnects
 * its sender before it is parsed.
 */
const TOKEN = 'socket-audit-token-0123456789';
const acked: string[] = [];
const store = {
  acknowledgeAlert: (id: string) => {
    acked.push(id);
    return '2026-11-29T00:00:00.000Z';
  },
};
const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never;
const servers: Array<{ http: Server; out: SocketIoOutput; url: string }> = [];
const clients: Socket[] = [];

async function daemonSide(token: string | undefined, authFailures?: { max: number; windowMs: number }) {
  const http = createServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const out = new SocketIoOutput({ name: 'sio', server: http });
  await out.start();
  attachSocketActions([out], { token, store, log, ...(authFailures ? { authFailures } : {}) });
  const s = { http, out, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
  servers.push(s);
  return s;
}

async function client(url: string): Promise<Socket> {
  const c = connectClient(url, { transports: ['websocket'], reconnection: false });
  clients.push(c);
  await waitFor('connected', () => c.connected, 10_000);
  return c;
}

const ack = (c: Socket, payload: unknown) =>
  new Promise<{ ok: boolean; error?: { code: string } }>((resolve) => c.emit('alert:ack', payload, resolve));

let withToken: { url: string };
let withoutToken: { url: string };

beforeAll(async () => {
  withToken = await daemonSide(TOKEN);
  withoutToken = await daemonSide(undefined);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) {
    await s.out.stop();
    await new Promise<void>((r) => s.http.close(() => r()));
  }
});

describe('socket.io actions need the token', () => {
  it('alert:ack without a token, with a wrong one or a non-string one is refused and never reaches the store', async () => {
    const c = await client(withToken.url);
    for (const payload of [{ id: 'a1' }, { id: 'a1', token: 'wrong' }, { id: 'a1', token: `${TOKEN}x` }, { id: 'a1', token: 42 }, 'a1', null]) {
      expect((await ack(c, payload)).error?.code, JSON.stringify(payload)).toBe('unauthorized');
    }
    expect(acked).toEqual([]);
  });

  it('a daemon without a token refuses every action (writes-disabled)', async () => {
    const c = await client(withoutToken.url);
    expect((await ack(c, { id: 'a1', token: 'anything' })).error?.code).toBe('writes-disabled');
    expect(acked).toEqual([]);
  });

  it('the right token acknowledges', async () => {
    const c = await client(withToken.url);
    expect(await ack(c, { id: 'a2', token: TOKEN })).toMatchObject({ ok: true, id: 'a2' });
    expect(acked).toEqual(['a2']);
  });

  it('guessing the token is limited per client: after the allowed failures even the right token waits out the window', async () => {
    const limited = await daemonSide(TOKEN, { max: 3, windowMs: 60_000 });
    const c = await client(limited.url);
    for (let i = 0; i < 3; i++) expect((await ack(c, { id: 'g', token: `guess-${i}` })).error?.code).toBe('unauthorized');
    const refused = (await ack(c, { id: 'g', token: TOKEN })) as { ok: boolean; error?: { code: string; retryAfterMs?: number } };
    expect(refused.error?.code).toBe('rate-limited');
    expect(refused.error?.retryAfterMs).toBeGreaterThan(0);
    // a new connection from the same address is the same client
    const again = await client(limited.url);
    expect((await ack(again, { id: 'g', token: TOKEN })).error?.code).toBe('rate-limited');
    expect(acked).not.toContain('g');
  });

  it('an oversize action payload disconnects its sender (16 KiB limit)', async () => {
    const c = await client(withToken.url);
    const gone = new Promise<string>((r) => c.once('disconnect', r));
    c.emit('alert:ack', { id: 'x'.repeat(64 * 1024), token: TOKEN });
    expect(await gone).toMatch(/transport/);
    expect(acked).toEqual(['a2']);
  });
});
