import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io as connectClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketIoOutput } from '../../adapters/socketio-output.ts';
import { waitFor } from '../../support/servers.ts';

/**
 * socket.io limits of the output itself: events it has no handler for are ignored, a message over the size limit
 * disconnects its sender before it is buffered, and a connection middleware can refuse clients. The daemon's
 * state-changing actions (alert:ack) are audited in socket-actions-access.test.ts.
 */
let http: Server;
let out: SocketIoOutput;
let url: string;
const clients: Socket[] = [];

beforeAll(async () => {
  http = createServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  out = new SocketIoOutput({
    name: 'sio',
    server: http,
    maxClientMessageBytes: 8 * 1024,
    middleware: (socket, next) => (socket.handshake.auth.token === 'letmein' ? next() : next(new Error('unauthorized'))),
  });
  await out.start();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await out.stop();
  await new Promise<void>((r) => http.close(() => r()));
});

function client(token = 'letmein'): Socket {
  const c = connectClient(url, { transports: ['websocket'], reconnection: false, auth: { token } });
  clients.push(c);
  return c;
}

describe('socket.io limits', () => {
  it('a client the middleware refuses never connects', async () => {
    const c = client('wrong');
    const err = await new Promise<Error>((r) => c.once('connect_error', r));
    expect(err.message).toBe('unauthorized');
    expect(c.connected).toBe(false);
  });

  it('a message over the limit disconnects its sender; small messages and unknown events are ignored, not fatal', async () => {
    // A handler of the test's own (as the daemon adds its actions): its answer, to a message sent after the unknown
    // ones on the same connection, shows the server read them and kept the connection, without a fixed wait.
    out.server!.on('connection', (socket) => socket.on('probe', (answer: (reply: string) => void) => answer('still here')));
    const c = client();
    await waitFor('connected', () => c.connected, 10_000);
    c.emit('enroll', { name: 'x' }); // no such action: ignored
    c.emit('whatever', 'small');
    expect(await c.timeout(10_000).emitWithAck('probe')).toBe('still here');
    expect(c.connected).toBe(true);
    const reason = new Promise<string>((r) => c.once('disconnect', r));
    c.emit('enroll', { blob: 'x'.repeat(64 * 1024) });
    expect(await reason).toMatch(/transport close|transport error/);
    // The server goes on serving others.
    const d = client();
    await waitFor('another client connected', () => d.connected, 10_000);
    const got = new Promise<unknown>((r) => d.once('result', r));
    await out.publishResult({ id: 'r1' } as never);
    expect(await got).toEqual({ id: 'r1' });
  });

  it('the default limit is 16 KiB (socket.io would take 1 MB)', async () => {
    const own = createServer();
    await new Promise<void>((r) => own.listen(0, '127.0.0.1', () => r()));
    const o = new SocketIoOutput({ name: 'sio-default', server: own });
    await o.start();
    expect((o.server as unknown as { opts: { maxHttpBufferSize: number } }).opts.maxHttpBufferSize).toBe(16 * 1024);
    await o.stop();
    await new Promise<void>((r) => own.close(() => r()));
  });
});
