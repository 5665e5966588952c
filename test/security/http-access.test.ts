import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../daemon/http/server.ts';
import type { ApiServices } from '../../daemon/http/services.ts';
import { Store } from '../../daemon/store/store.ts';
import { recordingServices } from '../support/recording-services.ts';

/**
 * Access audit of the HTTP API on a real socket: every route that changes state (found from the server's own route
 * table, so a route added later is audited too) refuses a request without the bearer token or with a wrong one (401)
 * before its body is even parsed, and refuses all writes when no token is configured (403); uploads over the limit
 * answer 413. Read routes and POST /api/identify (computes, records nothing) are open by design (docs/SECURITY.md).
 */
const TOKEN = 'access-audit-token-1234567890';
const LIMIT = 4096;
/** Routes that may be called without a token, and why. */
const OPEN_WRITES: Record<string, string> = { 'POST /api/identify': 'identifies an upload without recording anything' };

const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-access-'));
const store = new Store(path.join(dir, 'db'));
const calls: string[] = [];
const services: ApiServices = recordingServices(store, calls);

let app: FastifyInstance;
let open: FastifyInstance;
let base: string;
let openBase: string;

/** Every method + URL the server routes, from fastify's own table (not the documentation). */
function routeTable(server: FastifyInstance): Array<{ method: string; url: string }> {
  // Printed as a tree: a child's path continues its parent's, one level per 4 columns of indentation.
  const out: Array<{ method: string; url: string }> = [];
  const stack: string[] = [];
  for (const line of server.printRoutes({ commonPrefix: false }).split('\n')) {
    const at = line.search(/[├└]/);
    const m = /── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line);
    if (at < 0 || !m) continue;
    const depth = at / 4;
    const url = (depth > 0 ? stack[depth - 1] : '') + m[1];
    stack[depth] = url;
    for (const method of m[2]?.split(/,\s*/) ?? []) out.push({ method, url });
  }
  return out;
}

function writeRoutes(server: FastifyInstance): Array<{ method: string; url: string }> {
  return routeTable(server).filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && !OPEN_WRITES[`${r.method} ${r.url}`]);
}

const concrete = (url: string) => url.replace(/:([A-Za-z]+)/g, 'x01').replace(/\*$/, 'file');
const validBody = (url: string) => (url === '/api/classes' ? JSON.stringify({ name: 'c1', spectrumIds: ['a'] }) : '{}');

beforeAll(async () => {
  app = await buildHttpServer(services, { token: TOKEN, uploadLimitBytes: LIMIT, version: 'test' });
  open = await buildHttpServer(services, { uploadLimitBytes: LIMIT, version: 'test' });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  openBase = await open.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await open?.close();
  store.close();
});

describe('HTTP access: every state-changing route needs the token', () => {
  it('the route table has the known writing routes (the audit below is not vacuous)', () => {
    const writes = writeRoutes(app).map((r) => `${r.method} ${r.url}`);
    for (const known of ['POST /api/classes', 'DELETE /api/enrollments/:id', 'POST /api/alerts/:id/ack', 'POST /api/alerts/ack']) expect(writes).toContain(known);
  });

  it('without a token, with a wrong one, or with another scheme: 401, and nothing is called', async () => {
    const tried: string[] = [];
    for (const r of writeRoutes(app)) {
      for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, TOKEN, 'Bearer ']) {
        const res = await fetch(base + concrete(r.url), {
          method: r.method,
          headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
          body: r.method === 'DELETE' ? undefined : validBody(r.url),
        });
        expect(res.status, `${r.method} ${r.url} with ${authorization ?? 'no authorization'}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
        tried.push(`${r.method} ${r.url}`);
      }
    }
    expect(tried.length).toBeGreaterThanOrEqual(18);
    expect(calls.filter((c) => c !== 'identify')).toEqual([]);
  });

  it('the token is checked before the body is parsed: junk or an oversize body without a token is 401, not 400/413', async () => {
    for (const r of writeRoutes(app)) {
      if (r.method === 'DELETE') continue;
      const junk = await fetch(base + concrete(r.url), { method: r.method, headers: { 'content-type': 'application/json' }, body: '{not json' });
      expect(junk.status, `${r.method} ${r.url} junk`).toBe(401);
      const big = await fetch(base + concrete(r.url), { method: r.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(LIMIT * 4) }) });
      expect(big.status, `${r.method} ${r.url} oversize`).toBe(401);
    }
  });

  it('with no token configured every write is refused (403 writes-disabled), whatever is sent', async () => {
    for (const r of writeRoutes(open)) {
      for (const authorization of [undefined, 'Bearer anything']) {
        const res = await fetch(openBase + concrete(r.url), {
          method: r.method,
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: r.method === 'DELETE' ? undefined : validBody(r.url),
        });
        expect(res.status, `${r.method} ${r.url}`).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('writes-disabled');
      }
    }
    expect(calls.filter((c) => c !== 'identify')).toEqual([]);
  });

  it('the right token passes (scheme name in any case)', async () => {
    const res = await fetch(`${base}/api/classes`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `bearer ${TOKEN}` }, body: validBody('/api/classes') });
    expect(res.status).toBe(201);
    expect(calls).toContain('enroll');
  });

  it('every writing route is documented as needing the token in /api/openapi.json', async () => {
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    for (const r of writeRoutes(app)) {
      const op = doc.paths[r.url.replace(/:([A-Za-z]+)/g, '{$1}')]?.[r.method.toLowerCase()];
      expect(op?.security, `${r.method} ${r.url}`).toEqual([{ bearer: [] }]);
    }
  });
});

describe('HTTP upload limits', () => {
  it('an upload over http.uploadLimitBytes is refused with 413 (identify and, with the token, enroll)', async () => {
    const big = Buffer.alloc(LIMIT + 1, 0x31);
    const identify = await fetch(`${base}/api/identify?filename=a.csv`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: big });
    expect(identify.status).toBe(413);
    expect(((await identify.json()) as { error: { code: string } }).error.code).toBe('too-large');
    const enroll = await fetch(`${base}/api/classes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: 'c', files: [{ name: 'a.csv', content: 'x'.repeat(LIMIT) }] }),
    });
    expect(enroll.status).toBe(413);
  });

  it('a body that lies about its length (chunked, no content-length) is cut off at the limit too', async () => {
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 8; i++) c.enqueue(new Uint8Array(LIMIT).fill(0x31));
        c.close();
      },
    });
    const res = await fetch(`${base}/api/identify`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });
});
