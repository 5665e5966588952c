import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { Server as IoServer } from 'socket.io';
import { SocketIoOutput } from '../../adapters/socketio-output.ts';
import type { AdapterState, AlertMessage, ResultMessage } from '../../core/messages.ts';
import { alertFor, asJson, identifiedResult, mixtureResult } from '../support/messages.ts';
import { validatorsFromDoc } from '../support/schema.ts';
import { waitFor } from '../../support/servers.ts';

const schema = validatorsFromDoc();
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function httpServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => res.end('api'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const addr = server.address();
  return { server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
}

function dashboard(url: string, auth?: Record<string, string>) {
  const got = { results: [] as ResultMessage[], alerts: [] as AlertMessage[], states: [] as AdapterState[] };
  const socket: ClientSocket = connectClient(url, { transports: ['websocket'], reconnection: false, ...(auth ? { auth } : {}) });
  socket.on('result', (r: ResultMessage) => got.results.push(r));
  socket.on('alert', (a: AlertMessage) => got.alerts.push(a));
  socket.on('adapter-state', (s: AdapterState) => got.states.push(s));
  cleanups.push(() => void socket.close());
  return { socket, got };
}

const connected = (socket: ClientSocket) =>
  new Promise<void>((resolve, reject) => {
    if (socket.connected) return resolve();
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });

describe('socket.io output', () => {
  it('emits result, alert and adapter-state events to connected dashboards, valid against the schema', async () => {
    const { server, url } = await httpServer();
    const output = new SocketIoOutput({ name: 'dashboard', server });
    await output.start();
    cleanups.push(() => output.stop());
    const a = dashboard(url);
    const b = dashboard(url);
    await Promise.all([connected(a.socket), connected(b.socket)]);
    const r1 = identifiedResult();
    const r2 = mixtureResult();
    await output.publishResult(r1);
    await output.publishResult(r2);
    await output.publishAlert(alertFor(r1));
    const state: AdapterState = { name: 'mqtt', kind: 'mqtt-in', state: 'down', detail: 'disconnected from broker', since: new Date().toISOString() };
    await output.publishAdapterState(state);
    for (const d of [a, b]) {
      await waitFor('events', () => d.got.results.length === 2 && d.got.alerts.length === 1 && d.got.states.length === 1);
      expect(d.got.results).toEqual([asJson(r1), asJson(r2)]);
      expect(d.got.states).toEqual([state]);
      for (const r of d.got.results) expect(schema.result.safeParse(r).error).toBeUndefined();
      expect(schema.alert.safeParse(d.got.alerts[0]).success).toBe(true);
    }
    expect(output.clients).toBe(2);
    // The API on the same server keeps answering.
    expect(await (await fetch(url)).text()).toBe('api');
  });

  it('gives a dashboard that connects later the current state of every adapter', async () => {
    const { server, url } = await httpServer();
    const output = new SocketIoOutput({ name: 'dashboard', server });
    await output.start();
    cleanups.push(() => output.stop());
    const since = new Date().toISOString();
    await output.publishAdapterState({ name: 'inbox', kind: 'folder', state: 'starting', since });
    await output.publishAdapterState({ name: 'inbox', kind: 'folder', state: 'up', since });
    await output.publishAdapterState({ name: 'influx', kind: 'influx', state: 'down', since });
    const late = dashboard(url);
    await waitFor('replayed states', () => late.got.states.length === 2);
    expect(late.got.states.map((s) => `${s.name}:${s.state}`).sort()).toEqual(['inbox:up', 'influx:down']);
  });

  it('runs the daemon-provided middleware: an unauthorized dashboard is refused', async () => {
    const { server, url } = await httpServer();
    const output = new SocketIoOutput({
      name: 'dashboard',
      server,
      path: '/live',
      middleware: (socket, next) => (socket.handshake.auth.token === 'ok' ? next() : next(new Error('unauthorized'))),
    });
    await output.start();
    cleanups.push(() => output.stop());
    const intruder = connectClient(url, { path: '/live', transports: ['websocket'], reconnection: false, auth: { token: 'bad' } });
    cleanups.push(() => void intruder.close());
    await expect(connected(intruder)).rejects.toThrow(/unauthorized/);
    const friend = connectClient(url, { path: '/live', transports: ['websocket'], reconnection: false, auth: { token: 'ok' } });
    cleanups.push(() => void friend.close());
    await connected(friend);
    const got: ResultMessage[] = [];
    friend.on('result', (r: ResultMessage) => got.push(r));
    await output.publishResult(identifiedResult());
    await waitFor('result', () => got.length === 1);
  });

  it('uses a socket.io Server the daemon already made, and disconnects dashboards on stop', async () => {
    const { server, url } = await httpServer();
    const io = new IoServer(server);
    cleanups.push(() => void io.close());
    const output = new SocketIoOutput({ name: 'dashboard', server: io });
    await output.start();
    const d = dashboard(url);
    await connected(d.socket);
    await output.publishResult(identifiedResult());
    await waitFor('result', () => d.got.results.length === 1);
    const disconnected = new Promise<void>((r) => d.socket.once('disconnect', () => r()));
    await output.stop();
    await disconnected;
    await output.publishResult(identifiedResult()); // after stop: a no-op, not a crash
  });
});
