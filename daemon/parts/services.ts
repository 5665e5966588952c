import type { Logger } from 'pino';
import { SpectrumInputError } from '../../core/errors.ts';
import type { ApiServices, Curve, EnrollAnswer, EnrollRequest, HealthReport, RefusedUpload, UploadAnswer } from '../http/services.ts';
import type { DaemonMetrics } from '../metrics.ts';
import type { InstrumentHealthTracker } from '../health/instrument-health.ts';
import type { attachSocketActions } from '../http/socket-actions.ts';
import type { AdapterHealth } from './adapter-health.ts';
import type { LibraryPart } from './library-part.ts';
import type { ModelPart } from './model.ts';
import type { SitePart } from './site-part.ts';
import type { StorePart } from './store-part.ts';

export interface ApiServicesDeps {
  readonly log: Logger;
  readonly store: StorePart;
  readonly model: ModelPart;
  readonly library: LibraryPart;
  readonly metrics: DaemonMetrics;
  readonly instruments: InstrumentHealthTracker;
  readonly adapterHealth: AdapterHealth;
  readonly health: () => HealthReport;
  /** The dashboards' live feed, once the outputs started (acknowledgements are announced on it). */
  readonly socketActions: () => ReturnType<typeof attachSocketActions> | undefined;
  /** The site (several daemons on PostgreSQL), when configured: enrollments are shared, history is site-wide. */
  readonly site?: SitePart;
}

/** What the HTTP API asks of the running daemon (daemon/http/services.ts), built whole from the daemon's parts. */
export function createApiServices(deps: ApiServicesDeps): ApiServices {
  const { log, model, library } = deps;
  const models = () => library.models;

  const identifyUpload = async (payload: Buffer, fileName?: string): Promise<UploadAnswer[]> => {
    const parts = model.parse(payload, fileName);
    const answers: UploadAnswer[] = [];
    const vectors: Array<{ block: number; v: Float32Array }> = [];
    for (const p of parts) {
      try {
        if (!p.spectrum) throw p.error ?? new SpectrumInputError('unreadable', 'block could not be read');
        vectors.push({ block: p.block, v: model.preprocess(p.spectrum) });
      } catch (err) {
        const e = err instanceof SpectrumInputError ? err : new SpectrumInputError('unreadable', String(err));
        answers.push({ block: p.block, status: 'rejected', score: 0, candidates: [], error: { code: e.code, message: e.message }, modelVersion: model.encoder.version });
      }
    }
    if (vectors.length > 0) {
      const ids = await library.identify(vectors.map((x) => x.v));
      vectors.forEach((x, i) => answers.push({ block: x.block, ...ids[i], modelVersion: model.encoder.version }));
    }
    return answers.sort((a, b) => a.block - b.block);
  };

  const enrollNow = async (req: EnrollRequest): Promise<EnrollAnswer> => {
    const store = deps.store.store;
    const vectors: Float32Array[] = [];
    const sources: Array<string | undefined> = [];
    for (const id of req.spectrumIds ?? []) {
      // A spectrum another node of the site received is enrolled from the site's copy.
      const v = store.spectrumVector(id) ?? (await deps.site?.spectrumVector(id));
      if (!v) throw new SpectrumInputError('unknown-spectrum', `no usable spectrum ${id} (unknown or rejected)`, { field: 'spectrumIds' });
      vectors.push(v);
      sources.push(id);
    }
    // Each file on its own: a file with any unreadable block is refused whole and reported, the others enrolled.
    const refused: RefusedUpload[] = [];
    (req.files ?? []).forEach((f, i) => {
      const file = f.name ?? `files[${i}]`;
      try {
        for (const { values } of model.prepareFile(Buffer.from(f.content), f.name)) {
          vectors.push(values);
          sources.push(undefined);
        }
      } catch (err) {
        if (!(err instanceof SpectrumInputError) || req.allOrNothing) throw err;
        refused.push({ file, ...(err.where.block !== undefined ? { block: err.where.block } : {}), code: err.code, message: err.message });
      }
    });
    if (vectors.length === 0 && refused.length > 0) {
      throw new SpectrumInputError(refused.length === 1 ? refused[0].code : 'nothing-enrolled', refused.map((r) => r.message).join('; '), { field: 'files' });
    }
    const answer = await library.library.enroll(req.name, vectors, 'api', sources, req.by, req.idempotencyKey);
    if (answer.replayed) {
      log.info({ class: req.name, enrollmentId: answer.enrollmentId }, 'enrollment retried with the same Idempotency-Key: nothing added');
      return answer;
    }
    deps.site?.enrolled(answer.enrollmentId, req.by);
    log.info({ class: req.name, added: answer.added, created: answer.created, refused: refused.length }, 'class enrolled');
    return refused.length ? { ...answer, refused } : answer;
  };

  // An Idempotency-Key holds site-wide: a retry that reaches another node answers the first enrollment.
  const enrollOnce = async (req: EnrollRequest): Promise<EnrollAnswer> => {
    const key = req.idempotencyKey;
    const claim = key && deps.site ? await deps.site.claimEnrollmentKey(key, req.name) : undefined;
    if (claim?.kind === 'done') {
      const r = claim.record;
      if (r.class !== req.name) throw new SpectrumInputError('idempotency-key-reused', `Idempotency-Key ${JSON.stringify(key)} was used for class "${r.class}", not "${req.name}"`);
      log.info({ class: r.class, enrollmentId: r.enrollmentId }, 'enrollment retried with the same Idempotency-Key (first made on the site): nothing added');
      return { class: r.class, created: r.created, added: r.added, enrollmentId: r.enrollmentId, replayed: true };
    }
    if (claim?.kind === 'in-progress') {
      throw new SpectrumInputError('idempotency-key-in-progress', `Idempotency-Key ${JSON.stringify(key)}: node ${claim.node} is enrolling under it since ${claim.since}; retry in a moment`);
    }
    if (claim?.kind !== 'claimed') return enrollNow(req);
    let answer: EnrollAnswer | undefined;
    try {
      answer = await enrollNow(req);
      return answer;
    } finally {
      await deps.site!.settleEnrollmentKey(key!, answer);
    }
  };

  const undoNow = async (id: string) => {
    const answer = await library.library.undo(id);
    if (answer.removed > 0) deps.site?.undone(id);
    return answer;
  };

  return {
    get store() {
      return deps.store.store;
    },
    history: () => deps.site?.history(),
    health: deps.health,
    metrics: async () => ({ contentType: deps.metrics.contentType, body: await deps.metrics.text() }),
    identifyUpload,
    // Enrollment and undo wait for a model switch to finish (both rewrite the library's embeddings).
    enroll: async (req) => {
      const m = models();
      const answer = await (m ? m.serial.run(() => enrollOnce(req)) : enrollOnce(req));
      // Labels accumulate towards a background retraining run (retrain.afterLabels; off by default).
      if (!answer.replayed) models()?.manager.noteLabelled(answer.added);
      return answer;
    },
    undoEnrollment: (id) => {
      const m = models();
      return m ? m.serial.run(() => undoNow(id)) : undoNow(id);
    },
    rawCurve: (payload, hint): Curve | undefined => {
      try {
        const s = model.parse(payload, hint).find((p) => p.spectrum)?.spectrum;
        return s ? { x: Array.from(s.x), y: Array.from(s.y), xUnit: s.xUnit, yUnit: s.yUnit, meta: { ...s.meta } } : undefined;
      } catch {
        return undefined;
      }
    },
    gridX: () => model.gridX,
    gridXUnit: () => model.gridXUnit,
    alertAcknowledged: (id, at, note) => deps.socketActions()?.emit('alert-ack', { id, acknowledgedAt: at, ...(note ? { note } : {}) }),
    alertsAcknowledged: (ids, at) => deps.socketActions()?.emit('alerts-ack', { ids, acknowledgedAt: at }),
    models: () => models()?.manager,
    instruments: async () => {
      const local = deps.instruments.list(deps.adapterHealth.list());
      return (await deps.site?.instruments(local)) ?? local;
    },
  };
}
