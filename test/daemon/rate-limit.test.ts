import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import type { RateLimitOptions } from '../../daemon/http/rate-limit.ts';
import { FailureWindow } from '../../daemon/http/rate-limit.ts';
import { buildHttpServer } from '../../daemon/http/server.ts';
import type { ApiServices } from '../../daemon/http/services.ts';
import { Store } from '../../daemon/store/store.ts';
import { waitFor } from '../../support/servers.ts';
import { recordingServices } from '../support/recording-services.ts';

/**
 * Per-client HTTP rate limits on a real socket: the server as the daemon builds it (buildHttpServer with the
 * config's rateLimit), requests from two client addresses (127.0.0.1 and 127.0.0.2, both loopback on Linux).
 * No timing assertions: a window's end is awaited, never measured.
 */
const TOKEN = 'rate-limit-test-token-0123456789';
const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-ratelimit-'));
const store = new Store(path.join(dir, 'db'));
const calls: string[] = [];
const services: ApiServices = recordingServices(store, calls);

const LIMITS: RateLimitOptions = { windowMs: 60_000, requests: 20, writes: 3, uploads: 2, authFailures: 4, allowList: [] };
const servers: FastifyInstance[] = [];

async function serve(rateLimit: RateLimitOptions | undefined): Promise<string> {
  const app = await buildHttpServer(services, { token: TOKEN, uploadLimitBytes: 4096, version: 'test', rateLimit });
  servers.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request from the given local address (node:http, so the client address can be chosen). */
function call(base: string, method: string, url: string, opts: { token?: string; body?: string; type?: string; from?: string } = {}): Promise<Answer> {
  const u = new URL(url, base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        localAddress: opts.from ?? '127.0.0.1',
        headers: {
          ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body !== undefined ? { 'content-type': opts.type ?? 'application/json' } : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer`)));
    req.end(opts.body);
  });
}

const enrollBody = JSON.stringify({ name: 'c1', spectrumIds: ['s1'] });

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  calls.length = 0;
});

afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTP rate limits (real socket)', () => {
  it('slows token guessing: after authFailures wrong tokens the client gets 429 with Retry-After, even for the right token', async () => {
    const base = await serve(LIMITS);
    for (let i = 0; i < LIMITS.authFailures; i++) {
      const a = await call(base, 'POST', '/api/classes', { token: `guess-${i}`, body: enrollBody });
      expect(a.status).toBe(401);
    }
    const blocked = await call(base, 'POST', '/api/classes', { token: 'guess-next', body: enrollBody });
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(LIMITS.windowMs / 1000);
    expect(JSON.parse(blocked.body)).toMatchObject({ error: { code: 'rate-limited' } });
    // The right token learns nothing either while the window lasts, and nothing behind the route ran.
    expect((await call(base, 'POST', '/api/classes', { token: TOKEN, body: enrollBody })).status).toBe(429);
    // Every writing route, not just the one guessed on.
    expect((await call(base, 'POST', '/api/alerts/a1/ack', { token: 'x' })).status).toBe(429);
    expect(calls).toEqual([]);
    // Another client is not affected; reads stay open for the blocked one.
    expect((await call(base, 'POST', '/api/classes', { token: TOKEN, body: enrollBody, from: '127.0.0.2' })).status).toBe(201);
    expect((await call(base, 'GET', '/api/classes')).status).toBe(200);
    expect(calls).toEqual(['enroll']);
  });

  it('lets the client try again once the window is over', async () => {
    const base = await serve({ ...LIMITS, windowMs: 1500 });
    for (let i = 0; i < LIMITS.authFailures; i++) expect((await call(base, 'POST', '/api/classes', { token: 'wrong', body: enrollBody })).status).toBe(401);
    expect((await call(base, 'POST', '/api/classes', { token: TOKEN, body: enrollBody })).status).toBe(429);
    // Polled with the right token: a blocked request does not count as a failure, so the block ends with its window.
    await waitFor('the block to end', async () => (await call(base, 'POST', '/api/classes', { token: TOKEN, body: enrollBody })).status === 201, 60_000, 200);
    expect(calls).toEqual(['enroll']);
  });

  it('bounds authenticated writes per route and client', async () => {
    const base = await serve(LIMITS);
    for (let i = 0; i < LIMITS.writes; i++) expect((await call(base, 'POST', '/api/classes', { token: TOKEN, body: enrollBody })).status).toBe(201);
    const over = await call(base, 'POST', '/api/classes', { token: TOKEN, body: enrollBody });
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(over.body)).toMatchObject({ error: { code: 'rate-limited' } });
    expect(calls).toEqual(Array(LIMITS.writes).fill('enroll'));
    expect((await call(base, 'POST', '/api/classes', { token: TOKEN, body: enrollBody, from: '127.0.0.2' })).status).toBe(201);
  });

  it('bounds uploads to /api/identify', async () => {
    const base = await serve(LIMITS);
    for (let i = 0; i < LIMITS.uploads; i++) expect((await call(base, 'POST', '/api/identify', { body: '1,2\n3,4\n', type: 'text/csv' })).status).toBe(200);
    const over = await call(base, 'POST', '/api/identify', { body: '1,2\n3,4\n', type: 'text/csv' });
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(calls).toEqual(Array(LIMITS.uploads).fill('identify'));
  });

  it('bounds reads per client over all read routes together, never /api/health', async () => {
    const base = await serve(LIMITS);
    const answers: number[] = [];
    for (let i = 0; i < LIMITS.requests; i++) answers.push((await call(base, 'GET', i % 2 ? '/api/classes' : '/api/alerts')).status);
    expect(answers.every((s) => s === 200)).toBe(true);
    const over = await call(base, 'GET', '/api/results');
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    for (let i = 0; i < 30; i++) expect((await call(base, 'GET', '/api/health')).status).toBe(200);
    expect((await call(base, 'GET', '/api/results', { from: '127.0.0.2' })).status).toBe(200);
  });

  it('exempts allow-listed addresses', async () => {
    const base = await serve({ ...LIMITS, allowList: ['127.0.0.1'] });
    for (let i = 0; i < LIMITS.authFailures + 3; i++) expect((await call(base, 'POST', '/api/classes', { token: 'wrong', body: enrollBody })).status).toBe(401);
    for (let i = 0; i < LIMITS.requests + 5; i++) expect((await call(base, 'GET', '/api/classes')).status).toBe(200);
  });

  it('without rate limits configured nothing is limited (servers built by tests and tools)', async () => {
    const base = await serve(undefined);
    for (let i = 0; i < LIMITS.authFailures * 3; i++) expect((await call(base, 'POST', '/api/classes', { token: 'wrong', body: enrollBody })).status).toBe(401);
  });
});

describe('rate limit defaults', () => {
  it('are on, and leave the dashboard far below them', () => {
    const rl = configSchema.parse({}).http.rateLimit;
    expect(rl).toEqual({ enabled: true, windowMs: 60_000, requests: 3000, writes: 60, uploads: 60, authFailures: 10, allowList: [] });
    // The dashboard polls health (never limited) every 5 s and a few views every few seconds: under 100 reads a minute.
    expect(rl.requests).toBeGreaterThanOrEqual(100 * 10);
  });

  it('refuse nonsense with the key named', () => {
    const r = configSchema.safeParse({ http: { rateLimit: { authFailures: 0 } } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues[0].path)).toBe(JSON.stringify(['http', 'rateLimit', 'authFailures']));
  });
});

describe('FailureWindow', () => {
  it('counts per key in fixed windows and stays bounded in keys', () => {
    const w = new FailureWindow(3, 1000, 100);
    for (let i = 0; i < 3; i++) w.add('a', 10_000);
    expect(w.blockedForMs('a', 10_500)).toBe(500);
    expect(w.blockedForMs('b', 10_500)).toBe(0);
    expect(w.blockedForMs('a', 11_000)).toBe(0);
    w.add('a', 11_000);
    expect(w.blockedForMs('a', 11_001)).toBe(0);
    for (let i = 0; i < 1000; i++) w.add(`k${i}`, 12_000);
    expect(w.size).toBeLessThanOrEqual(100);
  });
});
