import { filterToQuery, type ResultFilter } from './filter.ts';
import { readTrends, type Trends } from './trends.ts';
import {
  readAlertCounts, readAlerts, readAlertsPage, readClasses, readEnrollResponse, readErrorBody, readHealth, readReference, readResultsPage,
  readInstrumentReports, readRetrainStatus, readSpectrum,
} from './shapes.ts';
import type {
  AlertCounts, AlertQuery, AlertsPage, AlertView, ClassInfo, Curve, EnrollRequest, EnrollResponse, Health, InstrumentReport, ResultsPage, RetrainStatus, SpectrumRecord,
} from './types.ts';

/**
 * The daemon's HTTP API as the dashboard uses it (docs/DASHBOARD.md lists every request and the shapes expected).
 * Failures become ApiError with the HTTP status, so views can tell "refused" (401/403) from "this daemon does not
 * offer it" (404/405/501) from "unreachable" (status 0).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
  /** The token was missing or wrong: asking the operator again can help. */
  get refused(): boolean {
    return this.status === 401;
  }
  /** The daemon does not allow this at all (e.g. 403 writes-disabled: no token configured); asking again cannot help. */
  get forbidden(): boolean {
    return this.status === 403;
  }
  get notOffered(): boolean {
    return this.status === 404 || this.status === 405 || this.status === 501;
  }
}

type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export interface Api {
  health(): Promise<Health>;
  results(filter: ResultFilter, page?: { limit?: number; cursor?: string; offset?: number }): Promise<ResultsPage>;
  spectrum(id: string): Promise<SpectrumRecord>;
  /** The class's reference on the model grid, for the overlay; undefined when the daemon has none to show. */
  reference(className: string): Promise<(Curve & { class: string }) | undefined>;
  classes(): Promise<ClassInfo[]>;
  enroll(request: EnrollRequest, token: string): Promise<EnrollResponse>;
  undoEnrollment(enrollmentId: string, token: string): Promise<void>;
  alerts(): Promise<AlertView[]>;
  acknowledgeAlert(id: string, token: string): Promise<void>;
  /** A page of alerts with the daemon's counts (GET /api/alerts). */
  alertsPage(query: AlertQuery): Promise<AlertsPage>;
  /**
   * One request for many alerts (POST /api/alerts/ack): ids, or a filter up to the newest alert the operator saw.
   * Returns the ids the daemon closed.
   */
  acknowledgeAlerts(which: { ids?: readonly string[]; instrument?: string; kind?: string; upTo?: string; all?: boolean }, token: string): Promise<{ ids: string[]; acknowledgedAt: string; counts?: AlertCounts }>;
  retrainStatus(): Promise<RetrainStatus>;
  startRetrain(token: string): Promise<void>;
  cancelRetrain(token: string): Promise<void>;
  /** Promotes a model version; without force the daemon refuses (409 model-worse) a version worse on the held-out spectra. */
  activateModel(version: string, token: string, force?: boolean): Promise<void>;
  rollbackModel(token: string): Promise<void>;
  /** Per-instrument trends from the daemon's store (GET /api/instruments/trends). */
  trends(minutes: number, bucketS: number): Promise<Trends>;
  /** Per-instrument health (GET /api/instruments). */
  instrumentHealth(): Promise<InstrumentReport[]>;
}

export function createApi(base = '', fetchFn: FetchFn = (input, init) => fetch(input, init)): Api {
  async function call(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; acceptStatus?: number[]; headers?: Record<string, string> } = {},
  ): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetchFn(base + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    } catch (e) {
      throw new ApiError(0, 'unreachable', `the daemon did not answer (${e instanceof Error ? e.message : String(e)})`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok && !(opts.acceptStatus?.includes(res.status) && json !== undefined)) {
      const { code, message } = readErrorBody(json, `${method} ${path} answered ${res.status} ${res.statusText}`.trim());
      throw new ApiError(res.status, code, message);
    }
    return json;
  }

  const enc = encodeURIComponent;

  return {
    // 503 carries the same report while the daemon starts or stops: show it rather than "unreachable".
    health: async () => readHealth(await call('GET', '/api/health', { acceptStatus: [503] })),
    results: async (filter, page = {}) => readResultsPage(await call('GET', `/api/results?${filterToQuery(filter, page)}`)),
    spectrum: async (id) => readSpectrum(await call('GET', `/api/spectra/${enc(id)}`)),
    reference: async (className) => {
      try {
        return readReference(await call('GET', `/api/classes/${enc(className)}/reference`), className);
      } catch (e) {
        if (e instanceof ApiError && e.notOffered) return undefined;
        throw e;
      }
    },
    classes: async () => readClasses(await call('GET', '/api/classes')),
    enroll: async (request, token) =>
      readEnrollResponse(
        await call('POST', '/api/classes', {
          token,
          body: { name: request.name, spectrumIds: request.spectrumIds, ...(request.by ? { by: request.by } : {}) },
          ...(request.idempotencyKey ? { headers: { 'idempotency-key': request.idempotencyKey } } : {}),
        }),
        request,
      ),
    undoEnrollment: async (enrollmentId, token) => {
      await call('DELETE', `/api/enrollments/${enc(enrollmentId)}`, { token });
    },
    alerts: async () => readAlerts(await call('GET', '/api/alerts?limit=200')),
    acknowledgeAlert: async (id, token) => {
      await call('POST', `/api/alerts/${enc(id)}/ack`, { token });
    },
    alertsPage: async (query) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
      return readAlertsPage(await call('GET', `/api/alerts?${params.toString()}`));
    },
    acknowledgeAlerts: async (which, token) => {
      const body = (await call('POST', '/api/alerts/ack', { token, body: which })) as { ids?: unknown; acknowledgedAt?: unknown; counts?: unknown } | undefined;
      const ids = Array.isArray(body?.ids) ? body.ids.filter((x): x is string => typeof x === 'string') : [];
      const counts = readAlertCounts(body?.counts);
      return { ids, acknowledgedAt: typeof body?.acknowledgedAt === 'string' ? body.acknowledgedAt : new Date().toISOString(), ...(counts ? { counts } : {}) };
    },
    retrainStatus: async () => readRetrainStatus(await call('GET', '/api/retrain')),
    startRetrain: async (token) => {
      await call('POST', '/api/retrain', { token });
    },
    cancelRetrain: async (token) => {
      await call('DELETE', '/api/retrain', { token });
    },
    activateModel: async (version, token, force = false) => {
      await call('POST', `/api/models/${enc(version)}/promote${force ? '?force=true' : ''}`, { token });
    },
    rollbackModel: async (token) => {
      await call('POST', '/api/models/rollback', { token });
    },
    trends: async (minutes, bucketS) => readTrends(await call('GET', `/api/instruments/trends?minutes=${minutes}&bucketS=${bucketS}`)),
    instrumentHealth: async () => readInstrumentReports(await call('GET', '/api/instruments')),
  };
}

/**
 * A fresh Idempotency-Key: 128 random bits as hex. getRandomValues, unlike randomUUID, also works on a page served
 * over plain HTTP from another host (not a secure context).
 */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
