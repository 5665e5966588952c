import type { Subscription } from 'rxjs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsQueue } from '../../adapters/nats-queue.ts';
import { QueueInput, type QueueInputEvent } from '../../adapters/queue-input.ts';
import type { RawInput } from '../../adapters/types.ts';
import type { FinishedWorkLedger, QueueJob, WorkQueue } from '../../adapters/work-queue.ts';
import { migrateSite } from '../../daemon/site/migrations.ts';
import { SiteWorkLedger } from '../../daemon/site/work-ledger.ts';
import { startNatsServer, startPostgres, stopAllServers, waitFor, type NatsServer, type Postgres } from '../../support/servers.ts';
import { countingClaims } from '../support/counting-claims.ts';

/**
 * Cross-node exactly once for the queue input: node A finishes a job (result committed, recorded in the site's
 * ledger) and dies before its queue ack reaches nats-server; JetStream hands the job to node B once the lease runs
 * out. With the site ledger B acknowledges it without identifying it; without it B identifies it a second time (the
 * control, so the test can fail). Real nats-server and PostgreSQL.
 */
let nats: NatsServer;
let postgres: Postgres;
const pools: pg.Pool[] = [];
const LEASE_MS = 1500;
let streams = 0;

beforeAll(async () => {
  [nats, postgres] = await Promise.all([startNatsServer(), startPostgres()]);
}, 60_000);
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  await stopAllServers();
});

async function siteLedgers(): Promise<{ a: SiteWorkLedger; b: SiteWorkLedger; pool: pg.Pool }> {
  const url = await postgres.createDatabase(`ledger_${++streams}`);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pools.push(pool);
  await migrateSite(pool);
  return { a: new SiteWorkLedger(pool, 'node-a'), b: new SiteWorkLedger(pool, 'node-b'), pool };
}

/** A queue whose acks never reach the server: the node dies between recording the job and the ack. */
function acksLost(q: WorkQueue): WorkQueue {
  return new Proxy(q, { get: (t, p) => (p === 'ack' ? async (_job: QueueJob) => undefined : Reflect.get(t, p, t)) });
}

interface Node {
  readonly input: QueueInput;
  readonly taken: RawInput[];
  readonly events: QueueInputEvent[];
  readonly sub: Subscription;
}

async function node(name: string, queue: WorkQueue, ledger: FinishedWorkLedger | undefined): Promise<Node> {
  const events: QueueInputEvent[] = [];
  const input = new QueueInput({ name, queue, extendEveryMs: 400, claimWaitMs: 300, ...(ledger ? { ledger } : {}), onEvent: (e) => events.push(e), stopGraceMs: 0 });
  const taken: RawInput[] = [];
  const sub = input.inputs$.subscribe((raw) => taken.push(raw));
  await input.start();
  return { input, taken, events, sub };
}

interface Scenario {
  readonly a: Node;
  readonly b: Node;
  readonly bQueue: WorkQueue & { readonly claiming: number };
  /** Another client of the same stream, and the scenario's topic. */
  readonly make: (client: string) => NatsQueue;
  readonly topic: string;
}

async function scenario(withLedger: boolean): Promise<Scenario> {
  const { a: ledgerA, b: ledgerB } = await siteLedgers();
  const n = ++streams;
  const stream = `LEDGER${n}`;
  // A subject space of its own: two streams of one server cannot share subjects.
  const make = (client: string) => new NatsQueue({ url: nats.url, leaseMs: LEASE_MS, clientName: client, stream, subjects: [`ledger${n}.*.spectrum`] });
  const topic = `ledger${n}/raman-1/spectrum`;
  const producer = make('instrument');
  await producer.connect();
  await producer.enqueue({ topic, payload: '{"y":[1,2,3]}', contentType: 'application/json' });
  await producer.close();

  const a = await node('queue-a', acksLost(make('node-a')), withLedger ? ledgerA : undefined);
  await waitFor('node A takes the job', () => a.taken.length === 1, 10_000);
  // A's pipeline commits the result and acknowledges: the ledger records it, the ack is lost with A.
  await a.taken[0].ack();
  if (withLedger) expect(await ledgerA.finishedBy(a.taken[0].dedupKey!)).toBe('node-a');
  await a.input.stop();
  a.sub.unsubscribe();

  const bQueue = countingClaims(make('node-b'));
  const b = await node('queue-b', bQueue, withLedger ? ledgerB : undefined);
  return { a, b, bQueue, make, topic };
}

describe('site ledger of finished queue jobs', () => {
  it('a job finished on a node that died before its ack is acknowledged by the next node, not identified again', async () => {
    const { a, b, bQueue, make, topic } = await scenario(true);
    await waitFor('node B finds the job finished', () => b.events.some((e) => e.kind === 'already-finished'), 20_000);
    expect(b.events.find((e) => e.kind === 'already-finished')).toMatchObject({ by: 'node-a', attempts: 2 });
    expect(b.taken).toHaveLength(0);
    expect(a.taken).toHaveLength(1);
    // B acknowledged it: the queue is empty, and stays so past another lease. Instead of a fixed wait, a sentinel job
    // leased by another client (B paused, with no claim open) after B's ack and left to run out comes to B once
    // resumed: a job whose ack had been lost was leased before it and would come back no later.
    await waitFor('the queue empties', async () => (await bQueue.depth()) === 0, 10_000);
    b.input.pause();
    await waitFor("B's open claim to end", () => bQueue.claiming === 0, 10_000);
    const other = make('node-s');
    await other.connect();
    await other.enqueue({ topic, payload: 'sentinel' });
    const held = await waitFor('the sentinel leased to the other client', async () => {
      const jobs = await other.claim(10, 300);
      return jobs.length ? jobs : undefined;
    }, 10_000);
    expect(held.map((j) => j.payload.toString())).toEqual(['sentinel']);
    b.input.resume();
    await waitFor('the sentinel at B once its lease ran out', () => b.taken.length >= 1, 20_000);
    expect(b.taken.map((r) => r.payload.toString())).toEqual(['sentinel']);
    await b.taken[0].ack();
    await other.close();
    await b.input.stop();
    b.sub.unsubscribe();
  }, 60_000);

  it('without the ledger the redelivered job is identified a second time (the control)', async () => {
    const { b } = await scenario(false);
    await waitFor('node B takes the job over', () => b.taken.length === 1, 20_000);
    expect(b.events.some((e) => e.kind === 'redelivered')).toBe(true);
    await b.taken[0].ack();
    await b.input.stop();
    b.sub.unsubscribe();
  }, 60_000);

  it('records a key once, with the node that finished it first', async () => {
    const { a, b } = await siteLedgers();
    expect(await a.finishedBy('queue:spectrad/x/spectrum:abc')).toBeUndefined();
    await a.record('queue:spectrad/x/spectrum:abc');
    await b.record('queue:spectrad/x/spectrum:abc');
    expect(await b.finishedBy('queue:spectrad/x/spectrum:abc')).toBe('node-a');
  }, 30_000);
});
