import { request } from 'node:http';
import { statSync } from 'node:fs';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, stopAllServers } from '../../support/servers.ts';

/**
 * What a web page in the operator's browser can get from a daemon bound to 127.0.0.1 (real `spectrad run`): a page on
 * another origin opening the socket.io endpoint (WebSocket or polling) is refused, and so is any request whose Host is
 * not one of the daemon's names (a DNS-rebinding page); the daemon's own origin, clients without an Origin (curl,
 * Node) and an origin listed in http.allowedOrigins still get through. Also: the data folder and the store are the
 * daemon user's only.
 */
let daemon: DaemonProcess;
let port: number;
let root: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  root = makeTempDir('exposure');
  port = await freePort();
  const configFile = writeDaemonConfig(root, [
    `dataDir: ${path.join(root, 'data')}`,
    'instrument: exp',
    'inputs: []',
    'outputs:',
    '  - { type: socketio, name: live }',
    `http: { host: 127.0.0.1, port: ${port}, autoToken: true, allowedOrigins: ['https://lab.example.org'] }`,
    'library: { demo: true, demoClasses: [17, 250], demoPerClass: 2 }',
  ]);
  daemon = new DaemonProcess(configFile, `http://127.0.0.1:${port}`, path.join(root, 'daemon.log'));
  daemon.start();
  await daemon.waitReady(150_000);
}, 180_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await daemon?.kill('SIGTERM');
  await stopAllServers();
});

function get(pathname: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathname, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket connection as a browser page would open it: resolves 'connected' or the refusal. */
function connect(origin: string | undefined, transport: 'websocket' | 'polling'): Promise<string> {
  return new Promise((resolve) => {
    const socket = io(`http://127.0.0.1:${port}`, {
      transports: [transport],
      reconnection: false,
      timeout: 5000,
      ...(origin ? { extraHeaders: { origin } } : {}),
    });
    sockets.push(socket);
    socket.on('connect', () => resolve('connected'));
    socket.on('connect_error', (err) => resolve(`refused: ${err.message}`));
  });
}

describe('a daemon on 127.0.0.1 and web pages in the operator browser', () => {
  it('socket.io refuses a page on another origin (WebSocket and polling)', async () => {
    expect(await connect('http://evil.example', 'websocket')).toMatch(/^refused/);
    expect(await connect('http://evil.example', 'polling')).toMatch(/^refused/);
    expect(await connect('null', 'websocket')).toMatch(/^refused/);
    const handshake = await get('/socket.io/?EIO=4&transport=polling', { host: `127.0.0.1:${port}`, origin: 'http://evil.example' });
    expect(handshake.status).toBe(403);
    expect(handshake.body).not.toMatch(/"sid"/);
  });

  it("socket.io answers the daemon's own origin, an allowed origin and clients without an Origin", async () => {
    expect(await connect(`http://127.0.0.1:${port}`, 'websocket')).toBe('connected');
    expect(await connect(`http://localhost:${port}`, 'polling')).toMatch(/^refused/); // Host is 127.0.0.1: another origin
    expect(await connect('https://lab.example.org', 'websocket')).toBe('connected');
    expect(await connect(undefined, 'websocket')).toBe('connected');
  });

  it('a Host that is not one of the daemon names is refused on every route (DNS rebinding)', async () => {
    for (const p of ['/api/health', '/api/results', '/api/alerts', '/api/classes', '/api/openapi.json', '/socket.io/?EIO=4&transport=polling']) {
      const bad = await get(p, { host: `evil.example:${port}` });
      expect(bad.status, p).toBe(403);
      expect(bad.body, p).toMatch(/forbidden-host|not one of this daemon/);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      expect((await get('/api/health', { host })).status, host).toBe(200);
    }
    expect((await get('/api/results', { host: `127.0.0.1:${port}`, origin: 'http://evil.example' })).status).toBe(403);
  });

  it('the data folder is 0700 and the store and token files 0600', () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(path.join(root, 'data'))).toBe(0o700);
    expect(mode(path.join(root, 'data', 'spectrad.db'))).toBe(0o600);
    expect(mode(path.join(root, 'data', 'spectrad.db-wal'))).toBe(0o600);
    expect(mode(path.join(root, 'data', 'http-token'))).toBe(0o600);
  });
});
