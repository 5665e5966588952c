import type {
  AdapterState, AlertCounts, AlertsPage, AlertView, ClassInfo, Curve, EnrollResponse, Health, HitReference, InstrumentHealth, InstrumentReport, LabelChange, ModelMetrics, ModelVersionInfo,
  ResultLabel, ResultMessage, ResultsPage, RetrainStatus, SpectrumRecord,
} from './types.ts';

/**
 * Reads the daemon's JSON into the dashboard's types. The API is young and written by another team, so each reader
 * accepts the documented shape plus the obvious variants (a bare array or `{items}` / `{results}`, a record keyed by
 * name instead of a list) and drops entries it cannot use rather than breaking the page. Pure: tested in Node.
 */

type Json = unknown;
type Obj = Record<string, Json>;

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: Json): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: Json): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function listOf(json: Json, ...keys: string[]): Json[] {
  if (Array.isArray(json)) return json;
  if (isObj(json)) {
    for (const k of keys) if (Array.isArray(json[k])) return json[k] as Json[];
  }
  return [];
}

const numberArray = (v: Json): number[] | undefined =>
  Array.isArray(v) && v.every((n) => typeof n === 'number') ? (v as number[]) : undefined;

export function isResultMessage(v: Json): v is ResultMessage {
  return isObj(v) && typeof v.id === 'string' && typeof v.status === 'string' && typeof v.instrument === 'string'
    && typeof v.receivedAt === 'string' && Array.isArray(v.candidates ?? []);
}

/** A result with defaults for the fields older daemons may leave out; a malformed label is dropped. */
export function readResult(v: Json): ResultMessage | undefined {
  if (!isResultMessage(v)) return undefined;
  const o = v as unknown as Obj;
  const { label: _label, warnings: _warnings, ...rest } = v;
  const label = readLabel(o.label);
  // Only well-formed warnings are shown: a code and a message, as the reader writes them.
  const warnings = Array.isArray(o.warnings)
    ? o.warnings.filter((w): w is Obj => isObj(w) && typeof w.code === 'string' && typeof w.message === 'string').map((w) => ({ code: w.code as string, message: w.message as string }))
    : [];
  return {
    ...rest,
    ...(warnings.length ? { warnings } : {}),
    source: str(o.source) ?? '',
    score: num(o.score) ?? 0,
    candidates: Array.isArray(o.candidates) ? v.candidates : [],
    latencyMs: num(o.latencyMs) ?? 0,
    modelVersion: str(o.modelVersion) ?? '',
    ...(label ? { label } : {}),
  };
}

export function readLabel(v: Json): ResultLabel | undefined {
  if (!isObj(v)) return undefined;
  const cls = str(v.class);
  const at = str(v.at);
  const enrollmentId = str(v.enrollmentId);
  if (!cls || !at || !enrollmentId) return undefined;
  const by = str(v.by);
  return { class: cls, at, enrollmentId, ...(by ? { by } : {}) };
}

/** socket.io 'labels' (store.ts LabelChange on the daemon); undefined when it is not one. */
export function readLabelChange(v: Json): LabelChange | undefined {
  if (!isObj(v)) return undefined;
  const kind = str(v.kind);
  const enrollmentId = str(v.enrollmentId);
  if ((kind !== 'labelled' && kind !== 'unlabelled') || !enrollmentId || !Array.isArray(v.spectrumIds)) return undefined;
  const by = str(v.by);
  return {
    kind,
    enrollmentId,
    class: str(v.class) ?? '',
    spectrumIds: v.spectrumIds.filter((id): id is string => typeof id === 'string'),
    alerts: readAlerts(v.alerts),
    at: str(v.at) ?? new Date().toISOString(),
    ...(by ? { by } : {}),
  };
}

export function readResultsPage(json: Json): ResultsPage {
  const items = listOf(json, 'items', 'results').map(readResult).filter((r): r is ResultMessage => r !== undefined);
  const o = isObj(json) ? json : {};
  const next = str(o.nextCursor) ?? str(o.next) ?? str(o.cursor);
  return { items, nextCursor: next || undefined, total: num(o.total) };
}

const ADAPTER_STATES = new Set(['starting', 'up', 'down', 'stopped']);

export function readAdapterState(v: Json, nameFromKey?: string): AdapterState | undefined {
  if (!isObj(v)) return undefined;
  const name = str(v.name) ?? nameFromKey;
  const state = str(v.state) ?? (v.connected === true ? 'up' : v.connected === false ? 'down' : undefined);
  if (!name || !state || !ADAPTER_STATES.has(state)) return undefined;
  return {
    name,
    kind: (str(v.kind) ?? str(v.type) ?? 'folder') as AdapterState['kind'],
    state: state as AdapterState['state'],
    detail: str(v.detail),
    since: str(v.since) ?? '',
  };
}

function readAdapters(v: Json): AdapterState[] {
  const entries: Array<[Json, string | undefined]> = Array.isArray(v)
    ? v.map((a) => [a, undefined])
    : isObj(v) ? Object.entries(v).map(([k, a]) => [a, k]) : [];
  return entries.map(([a, k]) => readAdapterState(a, k)).filter((a): a is AdapterState => a !== undefined);
}

function readInstruments(v: Json): InstrumentHealth[] {
  const entries: Array<[Json, string | undefined]> = Array.isArray(v)
    ? v.map((a) => [a, undefined])
    : isObj(v) ? Object.entries(v).map(([k, a]) => [a, k]) : [];
  return entries.flatMap(([i, key]) => {
    if (!isObj(i)) return [];
    const name = str(i.name) ?? key;
    if (!name) return [];
    return [{ name, queueDepth: num(i.queueDepth), ratePerMin: num(i.ratePerMin), lastResultAt: str(i.lastResultAt) }];
  });
}

export function readHealth(json: Json): Health {
  if (!isObj(json)) throw new ShapeError('health is not a JSON object');
  const queue = json.queue;
  let queueDepth = num(json.queueDepth);
  let queueBound = num(json.queueBound);
  if (isObj(queue)) {
    queueDepth ??= num(queue.depth);
    queueBound ??= num(queue.bound);
  }
  if (queueDepth === undefined && isObj(json.queues)) {
    // A record of per-stage or per-instrument depths: what operators care about is the total waiting.
    queueDepth = Object.values(json.queues).reduce<number>((sum, d) => sum + (num(d) ?? (isObj(d) ? num(d.depth) ?? 0 : 0)), 0);
  }
  const model = json.model;
  return {
    node: str(json.node),
    status: str(json.status) ?? (json.ok === true ? 'ok' : 'unknown'),
    modelVersion: str(json.modelVersion) ?? (isObj(model) ? str(model.version) : undefined),
    uptimeS: num(json.uptimeS),
    adapters: readAdapters(json.adapters),
    queueDepth,
    queueBound,
    instruments: readInstruments(json.instruments),
  };
}

function readCurve(v: Json): Curve | undefined {
  if (Array.isArray(v)) {
    const y = numberArray(v);
    return y ? { y } : undefined;
  }
  if (!isObj(v)) return undefined;
  const y = numberArray(v.y);
  if (!y) return undefined;
  const x = numberArray(v.x);
  return { x: x && x.length === y.length ? x : undefined, y, xUnit: str(v.xUnit), yUnit: str(v.yUnit) };
}

export function readSpectrum(json: Json): SpectrumRecord {
  if (!isObj(json)) throw new ShapeError('spectrum is not a JSON object');
  const id = str(json.id) ?? (isObj(json.result) ? str(json.result.id) : undefined);
  if (!id) throw new ShapeError('spectrum has no id');
  const raw = readCurve(json.raw);
  const rawMeta = isObj(json.raw) && isObj(json.raw.meta) ? json.raw.meta : undefined;
  const ref = readCurve(json.reference);
  const refClass = isObj(json.reference) ? str(json.reference.class) : undefined;
  const p = json.payload;
  const payload = isObj(p) && (p.encoding === 'utf8' || p.encoding === 'base64') && typeof p.data === 'string'
    ? { encoding: p.encoding, data: p.data, bytes: num(p.bytes) ?? p.data.length } as const
    : undefined;
  const hits = (Array.isArray(json.hits) ? json.hits : []).flatMap((hv, i): HitReference[] => {
    if (!isObj(hv)) return [];
    const y = numberArray(hv.y);
    const cls = str(hv.class);
    if (!y || !cls) return [];
    return [{ rank: num(hv.rank) ?? i + 1, class: cls, score: num(hv.score), correlation: num(hv.correlation), references: num(hv.references), y }];
  });
  return {
    id,
    source: str(json.source) ?? (isObj(json.result) ? str(json.result.source) : undefined),
    title: str(json.title),
    payload,
    raw: raw ? { ...raw, meta: rawMeta } : undefined,
    preprocessed: readCurve(json.preprocessed),
    result: readResult(json.result),
    reference: ref && refClass ? { ...ref, class: refClass } : undefined,
    ...(hits.length ? { hits } : {}),
  };
}

export function readReference(json: Json, className: string): (Curve & { class: string }) | undefined {
  const curve = readCurve(isObj(json) && json.reference !== undefined ? json.reference : json);
  return curve ? { ...curve, class: (isObj(json) && str(json.class)) || className } : undefined;
}

export function readClasses(json: Json): ClassInfo[] {
  return listOf(json, 'items', 'classes').flatMap((c) => {
    if (typeof c === 'string') return [{ name: c }];
    if (!isObj(c)) return [];
    const name = str(c.name) ?? str(c.class);
    if (!name) return [];
    const refs = num(c.references) ?? (Array.isArray(c.references) ? c.references.length : undefined);
    return [{ name, references: refs, source: str(c.source), enrolledAt: str(c.enrolledAt) }];
  });
}

export function readEnrollResponse(json: Json, request: { name: string; spectrumIds: readonly string[] }): EnrollResponse {
  const o = isObj(json) ? json : {};
  return {
    class: str(o.class) ?? str(o.name) ?? request.name,
    created: o.created === true,
    added: num(o.added) ?? request.spectrumIds.length,
    enrollmentId: str(o.enrollmentId) ?? str(o.id),
  };
}

export function readAlert(v: Json): AlertView | undefined {
  if (!isObj(v)) return undefined;
  const id = str(v.id);
  const kind = str(v.kind);
  if (!id || !kind) return undefined;
  return {
    id,
    kind: kind as AlertView['kind'],
    instrument: str(v.instrument) ?? '',
    at: str(v.at) ?? '',
    message: str(v.message) ?? '',
    resultId: str(v.resultId),
    acknowledgedAt: str(v.acknowledgedAt),
    note: str(v.note),
  };
}

export function readAlerts(json: Json): AlertView[] {
  return listOf(json, 'items', 'alerts').map(readAlert).filter((a): a is AlertView => a !== undefined);
}

function readCountMap(v: Json): Record<string, number> {
  const out: Record<string, number> = {};
  if (isObj(v)) for (const [k, n] of Object.entries(v)) if (typeof n === 'number' && Number.isFinite(n)) out[k] = n;
  return out;
}

export function readAlertCounts(v: Json): AlertCounts | undefined {
  if (!isObj(v)) return undefined;
  const total = num(v.total);
  const open = num(v.open);
  if (total === undefined || open === undefined) return undefined;
  return { total, open, openByInstrument: readCountMap(v.openByInstrument), openByKind: readCountMap(v.openByKind) };
}

export function readAlertsPage(json: Json): AlertsPage {
  const o = isObj(json) ? json : {};
  const counts = readAlertCounts(o.counts);
  return { items: readAlerts(json), nextCursor: str(o.nextCursor) || undefined, ...(counts ? { counts } : {}) };
}

function readMetrics(v: Json): ModelMetrics | undefined {
  if (!isObj(v)) return undefined;
  const source = isObj(v.metrics) ? v.metrics : v;
  const metrics: Record<string, number> = {};
  for (const [k, m] of Object.entries(source)) if (num(m) !== undefined) metrics[k] = m as number;
  return { modelVersion: str(v.modelVersion) ?? str(v.version), metrics };
}

export function readRetrainStatus(json: Json): RetrainStatus {
  if (!isObj(json)) throw new ShapeError('retraining status is not a JSON object');
  const versions: ModelVersionInfo[] = listOf(json.versions).flatMap((v) => {
    if (!isObj(v) || !str(v.version)) return [];
    return [{ version: str(v.version) as string, createdAt: str(v.createdAt), active: v.active === true, metrics: readMetrics(v.metrics)?.metrics, modelVersion: str(v.modelVersion), baseVersion: str(v.baseVersion) }];
  });
  const progress = num(json.progress);
  return {
    state: str(json.state) ?? 'idle',
    progress: progress === undefined ? undefined : Math.min(1, Math.max(0, progress)),
    epoch: num(json.epoch),
    epochs: num(json.epochs),
    message: str(json.message),
    startedAt: str(json.startedAt),
    finishedAt: str(json.finishedAt),
    labelsSinceLast: num(json.labelsSinceLast),
    threshold: num(json.threshold),
    before: readMetrics(json.before),
    after: readMetrics(json.after),
    activeVersion: str(json.activeVersion) ?? versions.find((v) => v.active)?.version,
    rollbackTo: str(json.rollbackTo),
    versions,
  };
}

/** GET /api/instruments: `{items: [{name, state, lastSpectrumAt?, ratePerMin, counts, adapters}]}`. */
export function readInstrumentReports(json: Json): InstrumentReport[] {
  return listOf(json, 'items').flatMap((v) => {
    if (!isObj(v) || !str(v.name)) return [];
    const counts: Record<string, number> = {};
    if (isObj(v.counts)) for (const [k, x] of Object.entries(v.counts)) if (num(x) !== undefined) counts[k] = x as number;
    return [{
      name: v.name as string,
      state: str(v.state) ?? 'idle',
      lastSpectrumAt: str(v.lastSpectrumAt),
      ratePerMin: num(v.ratePerMin) ?? 0,
      counts,
      adapters: listOf(v.adapters).map((a) => readAdapterState(a)).filter((a): a is AdapterState => a !== undefined),
    }];
  });
}

/** The `{error: {code, message}}` body the daemon answers failures with, or the status text. */
export function readErrorBody(json: Json, fallback: string): { code: string; message: string } {
  if (isObj(json)) {
    const e = json.error;
    if (isObj(e)) return { code: str(e.code) ?? 'error', message: str(e.message) ?? fallback };
    if (typeof e === 'string') return { code: str(json.code) ?? 'error', message: str(json.message) ?? e };
    if (str(json.message)) return { code: str(json.code) ?? 'error', message: json.message as string };
  }
  return { code: 'error', message: fallback };
}
