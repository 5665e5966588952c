import { SpectrumInputError } from '../core/errors.ts';
import type { Identification } from '../core/identify/types.ts';
import type { AcksAfterResult } from './acks-after-result.ts';
import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import type { PipelineDomain } from './domain.ts';
import type { PendingBacklog } from './pending-backlog.ts';
import type { PipelineCounters } from './pipeline-counters.ts';
import type { ArbiterVerdict, PendingSpectrum, PipelineLogger, PipelineStore, ResultArbiter } from './ports.ts';
import type { ResultMessages } from './result-messages.ts';
import type { StageTimes } from './stage-times.ts';

export interface IdentifyAndCommitDeps {
  readonly domain: PipelineDomain;
  readonly store: PipelineStore;
  readonly messages: ResultMessages;
  readonly stageTimes: StageTimes;
  readonly log: PipelineLogger;
  readonly backlog: PendingBacklog;
  readonly counters: PipelineCounters;
  readonly acksAfterResult: AcksAfterResult;
  /** On a site with a shared work queue: whose result counts for each spectrum, asked before the commit. */
  readonly arbiter?: () => ResultArbiter | undefined;
  /** Where the site's decisions run behind identification (with an arbiter). */
  readonly decisions?: DecisionLane;
  /** How long spectra the arbiter could not decide wait before they are read back (default 2000 ms). */
  readonly heldRetryMs?: number;
  readonly onCommitted?: (results: readonly ResultMessage[], alerts: readonly AlertMessage[]) => void;
  readonly onStoreOutcome?: (ok: boolean, err?: unknown) => void;
}

/**
 * The identify stage for one micro-batch: encode and identify, one answer (or error) per spectrum; results and their
 * alerts committed in one transaction (which queues them for every output). When that commit fails nothing is
 * published: the spectra stay pending in the store and are read back later. On a site with a shared work queue the
 * arbiter decides first whose result counts for each spectrum: a spectrum another node won is discarded here (in the
 * same transaction) and its input acknowledged; one the site could not decide stays pending and is asked again.
 */
export async function identifyAndCommit(batch: readonly PendingSpectrum[], deps: IdentifyAndCommitDeps): Promise<ResultMessage[]> {
  const { messages } = deps;
  const answers = await answersFor(batch, deps);
  const identified = batch.map((p, i) => {
    const a = answers[i];
    const arrived = Date.parse(p.receivedAt);
    return a instanceof Error
      ? messages.result(p, arrived, { code: a instanceof SpectrumInputError ? a.code : 'identify-failed', message: a.message })
      : messages.result(p, arrived, undefined, a);
  });
  const lane = deps.decisions;
  if (!deps.arbiter?.() || !lane) return commitDecided(batch, identified, UNCONTESTED, deps);
  // On a site the decision is a PostgreSQL round trip (a durable commit there): it runs while the next micro-batch is
  // identified, one batch behind at most, and publishes its results once they are committed here.
  const previous = lane.tail;
  lane.tail = previous
    .then(async () => {
      const committed = commitDecided(batch, identified, await arbitrate(identified, deps), deps);
      for (const r of committed) lane.publish(r);
    })
    .catch((err: unknown) => deps.log.error({ err, batch: batch.length }, 'committing a decided micro-batch failed; its spectra stay pending'));
  await previous;
  return [];
}

/**
 * The results of a micro-batch whose site verdict is known (every one this node's without a site): those this node
 * won committed with their alerts, those another node won discarded in the same transaction; the inputs of both
 * acknowledged; the undecided left pending.
 */
function commitDecided(batch: readonly PendingSpectrum[], identified: readonly ResultMessage[], verdict: ArbiterVerdict, deps: IdentifyAndCommitDeps): ResultMessage[] {
  const { messages, backlog, counters, log } = deps;
  const results: ResultMessage[] = [];
  const alerts: AlertMessage[] = [];
  const discarded = [...verdict.elsewhere.keys()];
  for (const mine of identified) {
    if (verdict.elsewhere.has(mine.id) || verdict.held.has(mine.id)) continue;
    const result = verdict.replaced.get(mine.id) ?? mine;
    results.push(result);
    const alert = messages.alert(result);
    if (alert) alerts.push(alert);
  }
  if (verdict.held.size > 0) {
    // Still pending in the store: read back (and asked again) once the site may answer.
    for (const id of verdict.held) backlog.release(id);
    backlog.spill();
    backlog.scheduleRefill(deps.heldRetryMs ?? 2000);
  }
  if (discarded.length > 0) {
    log.info({ spectra: verdict.elsewhere.size, by: [...new Set(verdict.elsewhere.values())] }, 'spectra another node of the site had identified first: discarded here, their inputs acknowledged');
  }
  const decided = batch.filter((p) => !verdict.held.has(p.id));
  try {
    deps.stageTimes.time('commitResults', results.length, () => deps.store.commitResults(results, alerts, discarded.length > 0 ? discarded : undefined));
    deps.onStoreOutcome?.(true);
  } catch (err) {
    // Nothing published: the spectra stay pending in the store and are read back later.
    log.error({ err, batch: batch.length }, 'could not record results; they will be retried');
    deps.onStoreOutcome?.(false, err);
    for (const p of decided) backlog.release(p.id);
    backlog.spill();
    backlog.scheduleRefill(1000);
    return [];
  }
  for (const p of decided) backlog.release(p.id);
  deps.acksAfterResult.identified(decided.map((p) => p.id));
  for (const r of results) {
    if (r.status === 'rejected') counters.rejected++;
    else counters.identified++;
  }
  deps.onCommitted?.(results, alerts);
  return results;
}

/**
 * The site's decisions and commits of micro-batches, one after another in batch order, while identification goes on
 * with the next batch. `tail` settles once every batch handed over is committed (the pipeline's drain waits for it).
 */
export class DecisionLane {
  tail: Promise<void> = Promise.resolve();

  constructor(
    /** A batch's committed results, for the pipeline's live listeners. */
    readonly publish: (result: ResultMessage) => void,
  ) {}
}

const UNCONTESTED: ArbiterVerdict = { replaced: new Map(), elsewhere: new Map(), held: new Set() };

/** The site's verdict on these results (every one this node's when there is no arbiter). */
async function arbitrate(results: readonly ResultMessage[], deps: IdentifyAndCommitDeps): Promise<ArbiterVerdict> {
  const arbiter = deps.arbiter?.();
  if (!arbiter || results.length === 0) return UNCONTESTED;
  try {
    return await arbiter.decide(results);
  } catch (err) {
    // The contract is never to reject; should it, nothing is committed twice: every spectrum waits, pending.
    deps.log.error({ err, batch: results.length }, 'the site could not decide whose results these are; they wait, pending');
    return { ...UNCONTESTED, held: new Set(results.map((r) => r.id)) };
  }
}

/** One answer per spectrum; when the batch fails, one by one, so one spectrum never fails its neighbours. */
async function answersFor(batch: readonly PendingSpectrum[], deps: IdentifyAndCommitDeps): Promise<Array<Identification | Error>> {
  const { domain } = deps;
  try {
    const answers = await deps.stageTimes.timeAsync('identify', batch.length, () => domain.identify(batch.map((p) => p.vector)));
    if (answers.length !== batch.length) throw new Error(`identify returned ${answers.length} answers for ${batch.length} spectra`);
    return answers;
  } catch (err) {
    if (batch.length === 1) return [err instanceof Error ? err : new Error(String(err))];
    // One spectrum must not fail its neighbours: retry one by one so only the culprit is rejected.
    deps.log.warn({ err, batch: batch.length }, 'batch identification failed; retrying spectra one by one');
    const answers: Array<Identification | Error> = [];
    for (const p of batch) {
      try {
        answers.push((await domain.identify([p.vector]))[0]);
      } catch (one) {
        answers.push(one instanceof Error ? one : new Error(String(one)));
      }
    }
    return answers;
  }
}
