import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { Server as SocketServer } from 'socket.io';
import type { AdapterState, AlertMessage, ResultMessage } from '../../../core/messages.ts';

/**
 * A stand-in for the daemon's HTTP API and socket.io output, speaking the shapes docs/DASHBOARD.md asks for, so the
 * dashboard can be tested in a real browser before (and independently of) the daemon. It serves the built dashboard,
 * answers the API from memory, emits real ResultMessage / AlertMessage / AdapterState events, and records every
 * request so tests can check what the page sent.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization?: string;
  body?: unknown;
}

export interface FakeSpectrum {
  id: string;
  y: number[];
  result: ResultMessage;
  /** The file's text, sent as the payload; a rejected file has text but no curve. */
  payload?: string;
}

export interface FakeDaemon {
  url: string;
  token: string;
  requests: RecordedRequest[];
  io: SocketServer;
  classes: Map<string, number[]>;
  /** Stores the spectrum and result, and emits 'result' to every dashboard. */
  publish(spectrum: FakeSpectrum): void;
  alert(alert: AlertMessage): void;
  adapterState(state: AdapterState): void;
  setRetrain(status: Record<string, unknown> | undefined): void;
  /** Makes GET /api/results fail with this HTTP status (0: answer normally). */
  failResults(status: number): void;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.map': 'application/json',
};

export async function startFakeDaemon(opts: { distDir: string; token: string; references: Map<string, number[]> }): Promise<FakeDaemon> {
  const requests: RecordedRequest[] = [];
  const spectra = new Map<string, FakeSpectrum>();
  const alerts = new Map<string, AlertMessage & { acknowledgedAt?: string }>();
  const adapters = new Map<string, AdapterState>();
  const classes = new Map(opts.references);
  const enrollments = new Map<string, { name: string; ids: string[]; created: boolean }>();
  let retrain: Record<string, unknown> | undefined;
  let resultsFailure = 0;
  let enrollSeq = 0;

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const refuse = (res: ServerResponse): void => json(res, 401, { error: { code: 'unauthorized', message: 'a valid bearer token is required' } });
  const authorized = (req: IncomingMessage): boolean => req.headers.authorization === `Bearer ${opts.token}`;

  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : undefined;
  };

  const resultsQuery = (q: URLSearchParams): ResultMessage[] => {
    const statuses = (q.get('status') ?? '').split(',').filter(Boolean);
    const cls = q.get('class')?.toLowerCase();
    const from = q.get('from') ? Date.parse(q.get('from') as string) : -Infinity;
    const to = q.get('to') ? Date.parse(q.get('to') as string) : Infinity;
    const text = q.get('q')?.toLowerCase();
    return [...spectra.values()].map((s) => s.result)
      .filter((r) => !q.get('instrument') || r.instrument === q.get('instrument'))
      .filter((r) => !statuses.length || statuses.includes(r.status))
      .filter((r) => !cls || r.class?.toLowerCase() === cls || (r.components ?? []).some((c) => c.class.toLowerCase() === cls))
      .filter((r) => Date.parse(r.receivedAt) >= from && Date.parse(r.receivedAt) <= to)
      .filter((r) => !text || `${r.id} ${r.source} ${r.error?.message ?? ''}`.toLowerCase().includes(text))
      .sort((a, b) => (a.id < b.id ? 1 : -1));
  };

  async function api(req: IncomingMessage, res: ServerResponse, url: URL, record: RecordedRequest): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent); // ['api', ...]
    const [, a, b, c] = parts;
    if (req.method === 'GET' && a === 'health') {
      return json(res, 200, {
        status: 'ok', modelVersion: 'seed-1.0.0+abc123', uptimeS: 12,
        adapters: [...adapters.values()], queue: { depth: 3, bound: 512 },
        instruments: [{ name: 'raman-1', queueDepth: 2 }, { name: 'ir-2', queueDepth: 1 }],
      });
    }
    if (req.method === 'GET' && a === 'results') {
      if (resultsFailure) return json(res, resultsFailure, { error: { code: 'failed', message: 'results unavailable' } });
      const all = resultsQuery(url.searchParams);
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const start = url.searchParams.get('cursor') ? all.findIndex((r) => r.id < (url.searchParams.get('cursor') as string)) : Number(url.searchParams.get('offset') ?? 0);
      const items = start < 0 ? [] : all.slice(start, start + limit);
      const next = start >= 0 && start + limit < all.length ? items[items.length - 1].id : null;
      return json(res, 200, { items, nextCursor: next, total: all.length });
    }
    if (req.method === 'GET' && a === 'spectra' && b) {
      const s = spectra.get(b);
      if (!s) return json(res, 404, { error: { code: 'not-found', message: `no spectrum ${b}` } });
      const max = Math.max(...s.y.map(Math.abs)) || 1;
      const x = s.y.map((_, i) => i);
      const payload = s.payload === undefined ? undefined : { encoding: 'utf8', data: s.payload, bytes: Buffer.byteLength(s.payload) };
      if (!s.y.length) return json(res, 200, { id: s.id, payload, result: s.result });
      return json(res, 200, {
        id: s.id,
        payload,
        raw: { x, y: s.y, xUnit: 'index', yUnit: 'arbitrary', meta: { instrument: s.result.instrument, source: s.result.source } },
        preprocessed: { x, y: s.y.map((v) => v / max), xUnit: 'index' },
        result: s.result,
      });
    }
    if (a === 'classes' && !b) {
      if (req.method === 'GET') return json(res, 200, { items: [...classes.keys()].map((name) => ({ name, references: 1 })) });
      if (req.method === 'POST') {
        if (!authorized(req)) return refuse(res);
        const body = record.body as { name?: unknown; spectrumIds?: unknown };
        if (typeof body?.name !== 'string' || !Array.isArray(body.spectrumIds) || !body.spectrumIds.length) {
          return json(res, 400, { error: { code: 'bad-request', message: 'expected {name, spectrumIds}' } });
        }
        const ids = body.spectrumIds as string[];
        const missing = ids.find((id) => !spectra.has(id));
        if (missing) return json(res, 400, { error: { code: 'unknown-spectrum', message: `no spectrum ${missing}` } });
        const created = !classes.has(body.name);
        if (created) classes.set(body.name, spectra.get(ids[0])?.y ?? []);
        const enrollmentId = `en-${++enrollSeq}`;
        enrollments.set(enrollmentId, { name: body.name, ids, created });
        return json(res, 201, { class: body.name, created, added: ids.length, enrollmentId });
      }
    }
    if (req.method === 'GET' && a === 'classes' && b && c === 'reference') {
      const y = classes.get(b);
      if (!y) return json(res, 404, { error: { code: 'not-found', message: `no class ${b}` } });
      return json(res, 200, { class: b, x: y.map((_, i) => i), y });
    }
    if (req.method === 'DELETE' && a === 'enrollments' && b) {
      if (!authorized(req)) return refuse(res);
      const en = enrollments.get(b);
      if (!en) return json(res, 404, { error: { code: 'not-found', message: `no enrollment ${b}` } });
      enrollments.delete(b);
      if (en.created) classes.delete(en.name);
      return json(res, 200, { class: en.name, removed: en.ids.length, classDeleted: en.created });
    }
    if (req.method === 'GET' && a === 'alerts') return json(res, 200, { items: [...alerts.values()] });
    if (req.method === 'POST' && a === 'alerts' && b && c === 'ack') {
      if (!authorized(req)) return refuse(res);
      const al = alerts.get(b);
      if (!al) return json(res, 404, { error: { code: 'not-found', message: `no alert ${b}` } });
      al.acknowledgedAt = new Date().toISOString();
      io.emit('alert-ack', { id: b, acknowledgedAt: al.acknowledgedAt });
      return json(res, 200, { id: b, acknowledgedAt: al.acknowledgedAt });
    }
    if (a === 'retrain') {
      if (!retrain) return json(res, 404, { error: { code: 'not-found', message: 'no retraining here' } });
      if (req.method === 'GET') return json(res, 200, retrain);
      if (req.method === 'POST') {
        if (!authorized(req)) return refuse(res);
        retrain = { ...retrain, state: 'queued', progress: 0 };
        return json(res, 202, retrain);
      }
    }
    return json(res, 404, { error: { code: 'not-found', message: `${req.method} ${url.pathname}` } });
  }

  async function serveStatic(res: ServerResponse, pathname: string): Promise<void> {
    const rel = normalize(pathname === '/' ? '/index.html' : pathname).replace(/^([/\\])+/, '');
    if (rel.startsWith('..')) return json(res, 400, { error: { code: 'bad-path', message: 'no' } });
    try {
      const data = await readFile(join(opts.distDir, rel));
      res.writeHead(200, { 'content-type': TYPES[extname(rel)] ?? 'application/octet-stream' });
      res.end(data);
    } catch {
      json(res, 404, { error: { code: 'not-found', message: pathname } });
    }
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/api/')) {
      void serveStatic(res, url.pathname);
      return;
    }
    void (async () => {
      const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, authorization: req.headers.authorization };
      try {
        if (req.method === 'POST' || req.method === 'DELETE') record.body = await readBody(req);
      } catch {
        return json(res, 400, { error: { code: 'bad-json', message: 'body is not JSON' } });
      }
      requests.push(record);
      await api(req, res, url, record);
    })().catch((e: unknown) => json(res, 500, { error: { code: 'internal', message: String(e) } }));
  });
  const io = new SocketServer(server, { path: '/socket.io' });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    token: opts.token,
    requests,
    io,
    classes,
    publish(s) {
      spectra.set(s.id, s);
      io.emit('result', s.result);
    },
    alert(al) {
      alerts.set(al.id, al);
      io.emit('alert', al);
    },
    adapterState(st) {
      adapters.set(st.name, st);
      io.emit('adapter-state', st);
    },
    setRetrain(status) {
      retrain = status;
      if (status) io.emit('retrain', status);
    },
    failResults(status) {
      resultsFailure = status;
    },
    close: async () => {
      io.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
