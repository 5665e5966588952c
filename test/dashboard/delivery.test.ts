import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../daemon/http/server.ts';
import type { ApiServices } from '../../daemon/http/services.ts';
import { buildDashboard } from './support/build.ts';

/**
 * How the daemon delivers the built dashboard: compressed (the build's .br/.gz, chosen by Accept-Encoding), hashed
 * assets cached for a year as immutable, index.html revalidated, and no source map served.
 */
let built: Awaited<ReturnType<typeof buildDashboard>>;
let app: FastifyInstance;
let js: string;
let css: string;

beforeAll(async () => {
  built = await buildDashboard();
  // A source map someone built with maps on must still not be served.
  const assets = readdirSync(join(built.dir, 'assets'));
  js = assets.find((f) => f.endsWith('.js'))!;
  css = assets.find((f) => f.endsWith('.css'))!;
  writeFileSync(join(built.dir, 'assets', `${js}.map`), '{"version":3,"sources":["secret.ts"]}');
  // Only the static files are asked for: the API services are never called.
  app = await buildHttpServer({} as ApiServices, { uploadLimitBytes: 1000, dashboardDir: built.dir, version: 'test' });
}, 120_000);

afterAll(async () => {
  await app?.close();
  built?.remove();
});

describe('dashboard delivery', () => {
  it('sends the script brotli- or gzip-compressed, long-cached as immutable', async () => {
    const raw = readFileSync(join(built.dir, 'assets', js));
    const br = await app.inject({ url: `/assets/${js}`, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(br.headers['content-type']).toMatch(/javascript/);
    expect(br.rawPayload.length).toBeLessThan(raw.length * 0.4);
    expect(brotliDecompressSync(br.rawPayload).equals(raw)).toBe(true);

    const gz = await app.inject({ url: `/assets/${css}`, headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['cache-control']).toContain('immutable');
    expect(gunzipSync(gz.rawPayload).equals(readFileSync(join(built.dir, 'assets', css)))).toBe(true);

    const plain = await app.inject({ url: `/assets/${js}` });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.rawPayload.equals(raw)).toBe(true);
  });

  it('revalidates index.html, which names the hashed files', async () => {
    for (const url of ['/', '/index.html']) {
      const res = await app.inject({ url, headers: { 'accept-encoding': 'br' } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves no source map, and the bundle points to none', async () => {
    expect((await app.inject(`/assets/${js}.map`)).statusCode).toBeGreaterThanOrEqual(403);
    expect(readFileSync(join(built.dir, 'assets', js), 'utf8')).not.toContain('sourceMappingURL');
  });
});
