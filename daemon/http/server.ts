import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SpectrumInputError } from '../../core/errors.ts';
import { validateClassName } from '../../core/identify/knn/library.ts';
import type { ResultStatus } from '../../core/messages.ts';
import type { LabelledResult, ResultFilter, ResultSort } from '../store/store.ts';
import { hitReferences } from './hits.ts';
import { resultJcampBlock, resultsCsvHeader, resultCsvRow, type ExportCurve } from './results-export.ts';
import {
  adapterStateSchema,
  alertMessageSchema,
  alertsAckAnswerSchema,
  alertsAckBodySchema,
  alertsPageSchema,
  alertsQuerySchema,
  classInfoSchema,
  enrollAnswerSchema,
  enrollBodySchema,
  errorBodySchema,
  healthSchema,
  instrumentHealthSchema,
  modelSwitchSchema,
  modelVersionSchema,
  retrainBodySchema,
  retrainStatusSchema,
  resultMessageSchema,
  resultsExportQuerySchema,
  resultsQuerySchema,
  spectrumRecordSchema,
  trendsQuerySchema,
  trendsSchema,
  uploadAnswerSchema,
} from './schemas.ts';
import type { ApiServices, EnrollRequest, HistoryReads } from './services.ts';
import { registerRateLimits, type RateLimitOptions, type RateLimits } from './rate-limit.ts';
import { createRequestGuard, type RequestGuard } from './request-guard.ts';

export interface HttpOptions {
  /** Bearer token the writing endpoints require; without one they answer 403. */
  readonly token?: string;
  readonly uploadLimitBytes: number;
  /** Built dashboard served at / when the folder exists. */
  readonly dashboardDir?: string;
  readonly version: string;
  /** pino options or false (tests). */
  readonly logger?: boolean | object;
  /** Per-client request limits (429 with Retry-After); none when left out. */
  readonly rateLimit?: RateLimitOptions;
  /** Which Host and Origin headers are answered (request-guard.ts); default: localhost names, same origin only. */
  readonly requestGuard?: RequestGuard;
}

interface RouteDoc {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  readonly tag: string;
  readonly auth?: boolean;
  readonly query?: object;
  readonly params?: object;
  readonly body?: object;
  /** The JSON body may be left out (documented, checked by the handler). */
  readonly optionalBody?: boolean;
  /** Request body is a file (any content type), not JSON. */
  readonly fileBody?: boolean;
  readonly responses: Record<number, { description: string; schema?: object }>;
  /** Request headers the route reads, with what they mean (documentation only). */
  readonly headers?: Record<string, string>;
}

/**
 * The HTTP API (fastify). Every route is declared with its documentation, so /api/openapi.json is generated from
 * the routes themselves; request schemas validate queries and bodies. Errors answer `{error: {code, message}}`.
 */
export async function buildHttpServer(services: ApiServices, options: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.uploadLimitBytes,
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, allErrors: false } },
  });
  const docs: RouteDoc[] = [];
  /** History and alerts: the site's when the daemon is part of one, else the local store's. */
  const history = (): HistoryReads => services.history?.() ?? services.store;
  // First of all hooks, for every route and the dashboard's files: a page on another origin, or reached through a
  // rebound DNS name, gets nothing (socket.io's own requests are checked by its allowRequest, see daemon/parts/outputs.ts).
  const guard = options.requestGuard ?? createRequestGuard({ bindHost: '127.0.0.1' });
  app.addHook('onRequest', async (req, reply) => {
    const refused = guard(req.headers);
    if (refused) return reply.code(403).send(errorBody(refused.code, refused.message));
  });
  // Registered before the routes: the plugin attaches its hook to each route as it is added.
  const limits: RateLimits | undefined = options.rateLimit ? await registerRateLimits(app, options.rateLimit) : undefined;
  const limitFor = (doc: Pick<RouteDoc, 'url' | 'auth'>) => limits?.route(doc.url === '/api/health' ? 'health' : doc.auth ? 'write' : 'read');

  const requireToken = tokenCheck(options.token, limits);

  const route = <Q = unknown, P = unknown, B = unknown>(
    doc: RouteDoc,
    handler: (req: FastifyRequest<{ Querystring: Q; Params: P; Body: B }>, reply: FastifyReply) => Promise<unknown>,
  ) => {
    docs.push(doc);
    app.route<{ Querystring: Q; Params: P; Body: B }>({
      method: doc.method,
      url: doc.url,
      schema: {
        ...(doc.query ? { querystring: doc.query } : {}),
        ...(doc.params ? { params: doc.params } : {}),
        ...(doc.body && !doc.fileBody && !doc.optionalBody ? { body: doc.body } : {}),
      },
      // Checked on arrival, before the body is read and validated: an unauthenticated client cannot make the daemon
      // parse an upload or learn anything from validation errors.
      onRequest: doc.auth ? requireToken : undefined,
      ...(limitFor(doc) !== undefined ? { config: { rateLimit: limitFor(doc) } } : {}),
      handler,
    });
  };

  handleErrors(app, options.uploadLimitBytes);

  // ---- routes ---------------------------------------------------------------------------------------------------

  registerDaemonRoutes(route, services);

  route<ResultsQuery & { cursor?: string; offset?: number; limit?: number }>(
    { method: 'GET', url: '/api/results', summary: 'Results, paged, sorted and filtered, with the total the filter matches', tag: 'results', query: resultsQuerySchema,
      responses: { 200: { description: 'a page', schema: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/ResultMessage' } }, nextCursor: { type: 'string' }, total: { type: 'integer', description: 'results the filter matches, all pages' } } } } } },
    async (req) => history().listResults({ ...resultFilter(req.query), before: req.query.cursor, offset: req.query.offset, limit: req.query.limit }),
  );

  registerResultExportRoute(route, services, history);

  route<unknown, { id: string }>(
    { method: 'GET', url: '/api/spectra/:id', summary: 'A received spectrum: payload, raw and preprocessed curves, result', tag: 'results',
      params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      responses: { 200: { description: 'the spectrum', schema: spectrumRecordSchema }, 404: { description: 'no such id', schema: errorBodySchema } } },
    async (req, reply) => {
      const s = await history().getSpectrum(req.params.id);
      if (!s) return reply.code(404).send(errorBody('not-found', `no spectrum ${req.params.id}`));
      const text = isText(s.raw);
      const referenceClass = s.result?.class;
      const reference = referenceClass ? services.store.classReference(referenceClass) : undefined;
      const x = services.gridX();
      return {
        id: s.id,
        receivedAt: s.receivedAt,
        instrument: s.instrument,
        adapter: s.adapter,
        source: s.source,
        formatHint: s.formatHint,
        block: s.block,
        title: s.title,
        state: s.state,
        payload: { encoding: text ? 'utf8' : 'base64', data: s.raw.toString(text ? 'utf8' : 'base64'), bytes: s.raw.length },
        raw: services.rawCurve(s.raw, s.formatHint ?? s.source),
        preprocessed: s.preprocessed ? { x, y: Array.from(s.preprocessed), ...(services.gridXUnit?.() ? { xUnit: services.gridXUnit() } : {}) } : undefined,
        result: s.result,
        reference: reference && referenceClass ? { class: referenceClass, x, y: Array.from(reference) } : undefined,
        hits: s.preprocessed ? hitReferences(s.preprocessed, s.result, (cls) => services.store.classReferenceVectors(cls)) : undefined,
      };
    },
  );

  await registerUploadRoute(app, docs, services, options.uploadLimitBytes, limits);

  registerLibraryRoutes(route, services);

  registerAlertRoutes(route, services, history);

  registerModelRoutes(route, services);

  docs.push({ method: 'GET', url: '/api/openapi.json', summary: 'This document', tag: 'daemon', responses: { 200: { description: 'OpenAPI 3.1' } } });
  app.get('/api/openapi.json', async () => openApiDocument(docs, options.version));

  await serveDashboard(app, options.dashboardDir);
  return app;
}

type ResultsQuery = { instrument?: string; class?: string; labelled?: 'yes' | 'no'; status?: string; q?: string; from?: string; to?: string; sort?: ResultSort };
/** The results filter of a query string (History's filter, its export too). */
const resultFilter = (q: ResultsQuery): ResultFilter => ({
  instrument: q.instrument,
  class: q.class,
  labelled: q.labelled === undefined ? undefined : q.labelled === 'yes',
  status: q.status ? (q.status.split(',') as ResultStatus[]) : undefined,
  q: q.q,
  from: q.from ? new Date(q.from).toISOString() : undefined,
  to: q.to ? new Date(q.to).toISOString() : undefined,
  sort: q.sort,
});


/** `GET /api/results/export`: a filter's results streamed as CSV, JSON or JCAMP-DX, the site's when in one. */
function registerResultExportRoute(route: RouteFn, services: ApiServices, history: () => HistoryReads): void {
  // Streamed row by row from the store: a filter matching 100 000 results costs no more memory than one.
  const exportTypes = { csv: 'text/csv; charset=utf-8', json: 'application/json; charset=utf-8', jcamp: 'chemical/x-jcamp-dx; charset=utf-8' } as const;
  const exportExtensions = { csv: 'csv', json: 'json', jcamp: 'jdx' } as const;
  route<ResultsQuery & { format?: 'csv' | 'json' | 'jcamp'; curve?: ExportCurve }>(
    { method: 'GET', url: '/api/results/export', summary: 'Every result a filter matches, in its order, as CSV, a JSON array or multi-block JCAMP-DX (streamed download)', tag: 'results', query: resultsExportQuerySchema,
      responses: { 200: { description: 'text/csv (one row per result, the columns History shows), application/json (an array of results) or chemical/x-jcamp-dx (one block per spectrum, titled by id, source and answer)' } } },
    async (req, reply) => {
      const format = req.query.format ?? 'csv';
      const curve = req.query.curve ?? 'preprocessed';
      // The site's results when the daemon is part of one (every node's), else this node's.
      const rows = history().iterateResults(resultFilter(req.query));
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const gridX = format === 'jcamp' && curve === 'preprocessed' ? services.gridX() : undefined;
      const gridXUnit = gridX ? services.gridXUnit?.() : undefined;
      const jcampOf = async (r: LabelledResult): Promise<string> => {
        const s = await history().getSpectrum(r.id);
        if (!s) return '';
        if (curve === 'raw') return resultJcampBlock(r, services.rawCurve(s.raw, s.formatHint ?? s.source));
        return resultJcampBlock(r, s.preprocessed ? { x: gridX, y: Array.from(s.preprocessed), xUnit: gridXUnit } : undefined);
      };
      // Spectra weigh more than rows: fewer of them a chunk.
      const perChunk = format === 'jcamp' ? 50 : 500;
      async function* body(): AsyncGenerator<string> {
        if (format === 'csv') yield resultsCsvHeader();
        else if (format === 'json') yield '[';
        let n = 0;
        let chunk = '';
        for await (const r of rows) {
          chunk += format === 'csv' ? resultCsvRow(r) : format === 'json' ? `${n === 0 ? '' : ','}\n${JSON.stringify(r)}` : await jcampOf(r);
          n++;
          // A chunk at a time, and a turn of the event loop between chunks: identification goes on.
          if (n % perChunk === 0) {
            yield chunk;
            chunk = '';
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
        yield chunk + (format === 'json' ? '\n]\n' : '');
      }
      return reply
        .header('content-type', exportTypes[format])
        .header('content-disposition', `attachment; filename="spectrad-results-${stamp}.${exportExtensions[format]}"`)
        .send(Readable.from(body()));
    },
  );
}

/** The bearer-token check of the writing routes, run on arrival; a client that failed too often is slowed down. */
function tokenCheck(token: string | undefined, limits: RateLimits | undefined): (req: FastifyRequest, reply: FastifyReply) => Promise<unknown> {
  const tokenDigest = token ? digest(token) : undefined;
  return async (req, reply) => {
    // A client that failed too often gets no answer about its token until the window ends: guessing is slowed.
    const blockedMs = limits?.authBlockedForMs(req) ?? 0;
    if (blockedMs > 0) {
      return reply
        .code(429)
        .header('retry-after', String(Math.ceil(blockedMs / 1000)))
        .send(errorBody('rate-limited', `too many failed authentications from this client; retry in ${Math.ceil(blockedMs / 1000)} s`));
    }
    if (!tokenDigest) {
      return reply.code(403).send(errorBody('writes-disabled', 'this endpoint needs a token: set http.token (or SPECTRAD_HTTP_TOKEN) in the daemon config'));
    }
    const header = req.headers.authorization ?? '';
    const given = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (!given || !timingSafeEqual(digest(given), tokenDigest)) {
      limits?.authFailed(req);
      return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody('unauthorized', 'missing or wrong bearer token'));
    }
  };
}

/** Errors answer `{error: {code, message}}`: bad input 422, validation 400, an upload over the limit 413, else 500. */
function handleErrors(app: FastifyInstance, uploadLimitBytes: number): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof SpectrumInputError) return reply.code(422).send(errorBody(err.code, err.message));
    if (err.validation) return reply.code(400).send(errorBody('bad-request', err.message));
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(errorBody('too-large', `the upload is larger than the limit of ${uploadLimitBytes} bytes (http.uploadLimitBytes)`));
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send(errorBody(status === 500 ? 'internal-error' : (err.code ?? 'bad-request'), status === 500 ? 'internal error (see the daemon log)' : err.message));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody('not-found', `no route ${req.method} ${req.url.split('?')[0]}`)));
}

/** Readiness and Prometheus metrics. */
function registerDaemonRoutes(route: RouteFn, services: ApiServices): void {
  route({ method: 'GET', url: '/api/health', summary: 'Readiness: adapters, queue depths, model version', tag: 'daemon',
    responses: { 200: { description: 'ready', schema: healthSchema }, 503: { description: 'starting or stopping', schema: healthSchema } } },
  async (_req, reply) => {
    const health = services.health();
    return reply.code(health.ready ? 200 : 503).send(health);
  });

  // Counts, durations and depths only (docs/SECURITY.md); a read route like the others, under the same rate limit.
  route({ method: 'GET', url: '/metrics', summary: 'Prometheus metrics: throughput, latency, queue and outbox depths, adapter states, model version (label node)', tag: 'daemon',
    responses: { 200: { description: 'Prometheus text exposition format 0.0.4' }, 404: { description: 'no metrics in this server', schema: errorBodySchema } } },
  async (_req, reply) => {
    if (!services.metrics) return reply.code(404).send(errorBody('not-found', 'this server has no metrics'));
    const m = await services.metrics();
    return reply.code(200).header('content-type', m.contentType).send(m.body);
  });
}

/** POST /api/identify: the uploaded file identified, nothing recorded; its own content-type parser keeps the bytes. */
async function registerUploadRoute(app: FastifyInstance, docs: RouteDoc[], services: ApiServices, uploadLimitBytes: number, limits: RateLimits | undefined): Promise<void> {
  await app.register(async (scope) => {
    // Uploads arrive as the file itself, whatever its type (JCAMP-DX, CSV, JSON): keep the bytes.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: uploadLimitBytes }, (_req, body, done) => done(null, body));
    docs.push({ method: 'POST', url: '/api/identify', summary: 'Identify the spectra of an uploaded file (not recorded)', tag: 'results', fileBody: true,
      query: { type: 'object', properties: { filename: { type: 'string', description: 'file name, a hint for the format (a.jdx, b.csv)' } } },
      responses: { 200: { description: 'one answer per spectrum in the file', schema: { type: 'object', properties: { items: { type: 'array', items: uploadAnswerSchema } } } },
        413: { description: 'larger than http.uploadLimitBytes', schema: errorBodySchema }, 422: { description: 'not a readable spectrum file', schema: errorBodySchema } } });
    const uploadLimit = limits?.route('upload');
    scope.post<{ Querystring: { filename?: string }; Body: Buffer }>('/api/identify', uploadLimit ? { config: { rateLimit: uploadLimit } } : {}, async (req, reply) => {
      const body = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0) return reply.code(400).send(errorBody('empty-upload', 'send the spectrum file as the request body'));
      const name = req.query.filename ?? (req.headers['x-filename'] as string | undefined);
      return { items: await services.identifyUpload(body, name) };
    });
  });
}

/** The reference library: classes, enrollment (token), a class's reference curve, undoing an enrollment (token). */
function registerLibraryRoutes(route: RouteFn, services: ApiServices): void {
  route({ method: 'GET', url: '/api/classes', summary: 'Library classes', tag: 'library',
    responses: { 200: { description: 'classes', schema: { type: 'object', properties: { items: { type: 'array', items: classInfoSchema } } } } } },
  async () => ({
    items: services.store.listClasses().map((c) => ({ name: c.name, references: c.references, source: c.origin, enrolledAt: c.createdAt })),
  }));

  route<unknown, unknown, EnrollRequest>(
    { method: 'POST', url: '/api/classes', summary: 'Enroll a class from received spectra or uploaded files (no retraining)', tag: 'library', auth: true, body: enrollBodySchema,
      headers: { 'idempotency-key': 'optional, 1-200 visible ASCII characters: a retry with the same key (after a timeout or a daemon crash) answers the first enrollment again (200, replayed: true) and adds nothing' },
      responses: { 201: { description: 'enrolled', schema: enrollAnswerSchema },
        207: { description: 'partial: the good files were enrolled, `refused` lists the others with their reasons', schema: enrollAnswerSchema },
        200: { description: 'already enrolled under this Idempotency-Key: the first answer, nothing added', schema: enrollAnswerSchema },
        400: { description: 'nothing to enroll, or a malformed Idempotency-Key', schema: errorBodySchema },
        401: { description: 'missing or wrong token', schema: errorBodySchema }, 403: { description: 'no token configured', schema: errorBodySchema },
        422: { description: 'a bad class name or a spectrum that could not be used (nothing is stored)', schema: errorBodySchema } } },
    async (req, reply) => {
      const body = req.body;
      if (!body.spectrumIds?.length && !body.files?.length) {
        return reply.code(400).send(errorBody('nothing-to-enroll', 'give spectrumIds or files'));
      }
      // The library's own rule, before anything is parsed, embedded or stored (the schema's minLength cannot see
      // a name of spaces).
      validateClassName(body.name);
      const key = req.headers['idempotency-key'];
      if (key !== undefined && (typeof key !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(key))) {
        return reply.code(400).send(errorBody('bad-idempotency-key', 'Idempotency-Key must be 1-200 visible ASCII characters'));
      }
      const answer = await services.enroll(key ? { ...body, idempotencyKey: key } : body);
      return reply.code(answer.replayed ? 200 : answer.refused?.length ? 207 : 201).send(answer);
    },
  );

  route<unknown, { name: string }>(
    { method: 'GET', url: '/api/classes/:name/reference', summary: "A class's mean reference on the model grid", tag: 'library',
      params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      responses: { 200: { description: 'the reference curve', schema: { type: 'object', properties: { class: { type: 'string' }, x: { type: 'array' }, y: { type: 'array' } } } }, 404: { description: 'no such class', schema: errorBodySchema } } },
    async (req, reply) => {
      const ref = services.store.classReference(req.params.name);
      if (!ref) return reply.code(404).send(errorBody('not-found', `no class ${req.params.name}`));
      return { class: req.params.name, x: services.gridX(), y: Array.from(ref) };
    },
  );

  route<unknown, { id: string }>(
    { method: 'DELETE', url: '/api/enrollments/:id', summary: 'Undo an enrollment', tag: 'library', auth: true,
      params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      responses: { 200: { description: 'removed', schema: { type: 'object', properties: { removed: { type: 'integer' } } } }, 404: { description: 'no such enrollment', schema: errorBodySchema } } },
    async (req, reply) => {
      const { removed } = await services.undoEnrollment(req.params.id);
      if (removed === 0) return reply.code(404).send(errorBody('not-found', `no enrollment ${req.params.id}`));
      return { removed };
    },
  );
}

/** Alerts: paged listing with counts, bulk and single acknowledgement (token); `history` is the site's or the store's. */
function registerAlertRoutes(route: RouteFn, services: ApiServices, history: () => HistoryReads): void {
  route<{ state?: 'open' | 'all'; instrument?: string; kind?: string; cursor?: string; limit?: number }>(
    { method: 'GET', url: '/api/alerts', summary: 'Alerts, newest first, paged and filtered, with the open counts', tag: 'alerts', query: alertsQuerySchema,
      responses: { 200: { description: 'a page and the counts over every stored alert', schema: alertsPageSchema } } },
    async (req) => {
      const q = req.query;
      const page = await history().queryAlerts({ state: q.state, instrument: q.instrument, kind: q.kind, before: q.cursor, limit: q.limit ?? 100 });
      return { ...page, counts: await history().alertCounts() };
    },
  );

  // Registered before /api/alerts/:id/ack; one request and one transaction for any number of alerts.
  route<unknown, unknown, { ids?: string[]; instrument?: string; kind?: string; upTo?: string; all?: boolean }>(
    { method: 'POST', url: '/api/alerts/ack', summary: 'Acknowledge many open alerts at once: by ids or by filter (instrument, kind, up to an id), or all', tag: 'alerts', auth: true, body: alertsAckBodySchema,
      responses: { 200: { description: 'acknowledged (ids: those this request closed)', schema: alertsAckAnswerSchema },
        400: { description: 'no ids and no filter', schema: errorBodySchema },
        401: { description: 'missing or wrong token', schema: errorBodySchema }, 403: { description: 'no token configured', schema: errorBodySchema } } },
    async (req, reply) => {
      const { ids, instrument, kind, upTo, all } = req.body;
      if (ids === undefined && instrument === undefined && kind === undefined && upTo === undefined && all !== true) {
        return reply.code(400).send(errorBody('bad-request', 'say which alerts: ids, a filter (instrument, kind, upTo), or all: true'));
      }
      const done = await history().acknowledgeAlerts({ ids, instrument, kind, upTo });
      if (done.ids.length > 0) services.alertsAcknowledged?.(done.ids, done.acknowledgedAt);
      return { acknowledged: done.ids.length, ids: done.ids, acknowledgedAt: done.acknowledgedAt, counts: await history().alertCounts() };
    },
  );

  route<unknown, { id: string }>(
    { method: 'POST', url: '/api/alerts/:id/ack', summary: 'Acknowledge an alert', tag: 'alerts', auth: true,
      params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      responses: { 200: { description: 'acknowledged', schema: { type: 'object', properties: { id: { type: 'string' }, acknowledgedAt: { type: 'string' } } } }, 404: { description: 'no such alert', schema: errorBodySchema } } },
    async (req, reply) => {
      const at = await history().acknowledgeAlert(req.params.id);
      if (!at) return reply.code(404).send(errorBody('not-found', `no alert ${req.params.id}`));
      services.alertAcknowledged?.(req.params.id, at);
      return { id: req.params.id, acknowledgedAt: at };
    },
  );
}

/** The built dashboard at / (pre-compressed, hashed assets cached for a year), or a page saying how to build it. */
async function serveDashboard(app: FastifyInstance, dashboardDir: string | undefined): Promise<void> {
  if (dashboardDir && dashboardBuilt(dashboardDir)) {
    await app.register(fastifyStatic, {
      root: dashboardDir,
      prefix: '/',
      index: ['index.html'],
      // The build writes .br/.gz beside each asset (dashboard/vite.config.ts): sent as they are, never compressed here.
      preCompressed: true,
      // Hashed file names change with their content: cached for a year; index.html (which names them) is revalidated.
      cacheControl: false,
      setHeaders: (reply, filePath) => {
        reply.header('cache-control', HASHED_ASSET.test(filePath) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
      // A source map left in the folder is never served: it would publish the dashboard's sources.
      allowedPath: (pathName) => !pathName.endsWith('.map'),
    });
  } else if (dashboardDir) {
    // Started without a built dashboard (`npm ci --ignore-scripts`, a copied checkout): the page says what to do.
    app.get('/', async (_req, reply) => reply.code(503).type('text/html; charset=utf-8').send(DASHBOARD_MISSING_PAGE));
  }
}

/** The dashboard is served when its build (index.html) is there. */
export function dashboardBuilt(dir: string): boolean {
  return existsSync(join(dir, 'index.html'));
}

export const DASHBOARD_BUILD_HINT = 'the dashboard is not built: run `npm run build:dashboard` in the spectrad folder (`npm ci` builds it too), then restart the daemon';

const DASHBOARD_MISSING_PAGE = `<!doctype html><meta charset="utf-8"><title>spectrad: dashboard not built</title>
<h1>spectrad is running, but its dashboard is not built</h1>
<p>Run <code>npm run build:dashboard</code> in the spectrad folder (<code>npm ci</code> builds it too, unless scripts are
ignored), then restart the daemon. The API works without it: <a href="/api/openapi.json">/api/openapi.json</a>.</p>
`;
/** vite's output names: assets/<name>-<content hash>.<ext>. */
const HASHED_ASSET = /[\\/]assets[\\/][^\\/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+(?:\.(?:br|gz))?$/;

type RouteFn = <Q = unknown, P = unknown, B = unknown>(
  doc: RouteDoc,
  handler: (req: FastifyRequest<{ Querystring: Q; Params: P; Body: B }>, reply: FastifyReply) => Promise<unknown>,
) => void;

/** Error codes of daemon/models and the HTTP status each answers with. */
const MODEL_ERROR_STATUS: Record<string, number> = {
  'retrain-running': 409,
  'model-worse': 409,
  'model-no-previous': 409,
  'model-version-unknown': 404,
  'model-grid': 422,
};

/** Retraining, model versions and instrument health (daemon/retrain). */
function registerModelRoutes(route: RouteFn, services: ApiServices): void {
  const models = () => services.models?.();
  const notReady = (reply: FastifyReply) => reply.code(503).send(errorBody('starting', 'the model is not loaded yet'));
  const modelCall = async (reply: FastifyReply, call: () => unknown | Promise<unknown>, ok = 200) => {
    try {
      return reply.code(ok).send(await call());
    } catch (err) {
      const status = err instanceof SpectrumInputError ? MODEL_ERROR_STATUS[err.code] : undefined;
      if (status && err instanceof SpectrumInputError) return reply.code(status).send(errorBody(err.code, err.message));
      throw err;
    }
  };
  const auth = { 401: { description: 'missing or wrong token', schema: errorBodySchema }, 403: { description: 'no token configured', schema: errorBodySchema } };
  const versionParam = { type: 'object', properties: { version: { type: 'string' } }, required: ['version'] };

  route({ method: 'GET', url: '/api/retrain', summary: 'Background retraining: state, progress, held-out accuracy before/after, model versions', tag: 'models',
    responses: { 200: { description: 'the state (also pushed as socket.io event `retrain`)', schema: retrainStatusSchema }, 503: { description: 'starting', schema: errorBodySchema } } },
  async (_req, reply) => {
    const m = models();
    return m ? m.status() : notReady(reply);
  });

  route<unknown, unknown, { epochs?: number; holdOut?: number } | undefined>(
    { method: 'POST', url: '/api/retrain', summary: "Start retraining in a worker thread from the current model's weights on the library's labelled spectra", tag: 'models', auth: true,
      body: retrainBodySchema, optionalBody: true,
      responses: { 202: { description: 'started', schema: retrainStatusSchema }, ...auth, 409: { description: 'a run is already going', schema: errorBodySchema },
        422: { description: 'too few labelled spectra (2 classes, a class with 2 spectra)', schema: errorBodySchema } } },
    async (req, reply) => {
      const m = models();
      if (!m) return notReady(reply);
      const body = req.body ?? {};
      if (typeof body !== 'object' || Array.isArray(body)) return reply.code(400).send(errorBody('bad-request', 'the body, when given, is {epochs?, holdOut?}'));
      const { epochs, holdOut, ...rest } = body;
      if (Object.keys(rest).length > 0) return reply.code(400).send(errorBody('bad-request', `unknown field ${Object.keys(rest)[0]}; the body is {epochs?, holdOut?}`));
      if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 1 && epochs <= 200)) return reply.code(400).send(errorBody('bad-request', 'epochs must be an integer from 1 to 200'));
      if (holdOut !== undefined && !(typeof holdOut === 'number' && holdOut > 0 && holdOut < 1)) return reply.code(400).send(errorBody('bad-request', 'holdOut must lie between 0 and 1'));
      return modelCall(reply, () => m.startExclusive({ epochs, holdOut }), 202);
    },
  );

  route({ method: 'DELETE', url: '/api/retrain', summary: 'Cancel the running retraining', tag: 'models', auth: true,
    responses: { 200: { description: 'cancelling (the state turns cancelled)', schema: retrainStatusSchema }, ...auth, 404: { description: 'no run going', schema: errorBodySchema } } },
  async (_req, reply) => {
    const m = models();
    if (!m) return notReady(reply);
    if (!m.cancel()) return reply.code(404).send(errorBody('not-running', 'no retraining run is going'));
    return m.status();
  });

  route({ method: 'GET', url: '/api/models', summary: 'Model versions with their held-out accuracy; the active one identifies', tag: 'models',
    responses: { 200: { description: 'versions', schema: { type: 'object', properties: { activeVersion: { type: 'string' }, items: { type: 'array', items: modelVersionSchema } } } } } },
  async (_req, reply) => {
    const m = models();
    if (!m) return notReady(reply);
    const status = m.status();
    return { activeVersion: status.activeVersion, items: status.versions };
  });

  route<{ force?: boolean }, { version: string }>(
    { method: 'POST', url: '/api/models/:version/promote', summary: 'Promote a version (only when at least as good on the held-out spectra, or forced); re-embeds the library and switches between micro-batches', tag: 'models', auth: true,
      params: versionParam, query: { type: 'object', properties: { force: { type: 'boolean', default: false, description: 'promote even when worse' } } },
      responses: { 200: { description: 'promoted', schema: modelSwitchSchema }, ...auth, 404: { description: 'no such version', schema: errorBodySchema }, 409: { description: 'worse than the current model (not forced)', schema: errorBodySchema } } },
    async (req, reply) => {
      const m = models();
      if (!m) return notReady(reply);
      return modelCall(reply, () => m.promote(req.params.version, req.query.force === true));
    },
  );

  route({ method: 'POST', url: '/api/models/rollback', summary: 'Back to the previously promoted version (re-embeds the library)', tag: 'models', auth: true,
    responses: { 200: { description: 'rolled back', schema: modelSwitchSchema }, ...auth, 409: { description: 'no earlier version', schema: errorBodySchema } } },
  async (_req, reply) => {
    const m = models();
    if (!m) return notReady(reply);
    return modelCall(reply, () => m.rollback());
  });

  route<{ minutes?: number; bucketS?: number }>(
    { method: 'GET', url: '/api/instruments/trends', summary: 'Per-instrument trends from the stored results: throughput, status mix, p50/p95 latency, mean score per bucket', tag: 'daemon',
      query: trendsQuerySchema, responses: { 200: { description: 'one series per instrument with results in the window', schema: trendsSchema } } },
    async (req) => {
      const bucketS = req.query.bucketS ?? 60;
      const until = Date.now();
      // Whole buckets aligned to the bucket size, the last one ending with the current one.
      const end = (Math.floor(until / (bucketS * 1000)) + 1) * bucketS * 1000;
      const from = end - Math.ceil(((req.query.minutes ?? 60) * 60) / bucketS) * bucketS * 1000;
      const history = services.history?.() ?? services.store;
      return { from: new Date(from).toISOString(), bucketS, items: await history.instrumentTrends(from, bucketS * 1000, end) };
    },
  );

  route({ method: 'GET', url: '/api/instruments', summary: 'Per-instrument health: last spectrum, rate, counts, input adapter states', tag: 'daemon',
    responses: { 200: { description: 'instruments', schema: { type: 'object', properties: { items: { type: 'array', items: instrumentHealthSchema } } } } } },
  async () => ({ items: (await services.instruments?.()) ?? [] }));
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function isText(b: Buffer): boolean {
  const n = Math.min(b.length, 4096);
  for (let i = 0; i < n; i++) if (b[i] === 0) return false;
  return !b.subarray(0, n).toString('utf8').includes('\uFFFD');
}

function openApiDocument(docs: readonly RouteDoc[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const d of docs) {
    const path = d.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: object[] = [];
    for (const [where, schema] of [['path', d.params], ['query', d.query]] as const) {
      const props = (schema as { properties?: Record<string, object>; required?: string[] } | undefined)?.properties ?? {};
      const required = (schema as { required?: string[] } | undefined)?.required ?? [];
      for (const [name, s] of Object.entries(props)) {
        const { description, ...rest } = s as { description?: string };
        parameters.push({ name, in: where, required: where === 'path' || required.includes(name), description, schema: rest });
      }
    }
    for (const [name, description] of Object.entries(d.headers ?? {})) parameters.push({ name, in: 'header', required: false, description, schema: { type: 'string' } });
    const op: Record<string, unknown> = {
      summary: d.summary,
      tags: [d.tag],
      operationId: `${d.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      parameters,
      responses: Object.fromEntries(
        Object.entries(d.responses).map(([code, r]) => [code, { description: r.description, ...(r.schema ? { content: { 'application/json': { schema: r.schema } } } : {}) }]),
      ),
    };
    if (d.body) op.requestBody = { required: !d.optionalBody, content: { 'application/json': { schema: d.body } } };
    if (d.fileBody) {
      op.requestBody = {
        required: true,
        content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } }, 'chemical/x-jcamp-dx': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } },
      };
    }
    if (d.auth) op.security = [{ bearer: [] }];
    (paths[path] ??= {})[d.method.toLowerCase()] = op;
  }
  const strip = ({ $id: _id, ...rest }: { $id?: string }) => rest;
  return {
    openapi: '3.1.0',
    info: { title: 'spectrad', version, description: 'Live identification of compounds and mixtures in lab spectra.' },
    paths,
    components: {
      schemas: { ResultMessage: strip(resultMessageSchema), AlertMessage: strip(alertMessageSchema), AdapterState: adapterStateSchema },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'http.token of the daemon config' } },
    },
  };
}
