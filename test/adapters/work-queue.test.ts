import { firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsQueue, subjectOf, topicOf } from '../../adapters/nats-queue.ts';
import { PgQueue } from '../../bench/site/pg-queue.ts';
import { QueueInput, type QueueInputEvent } from '../../adapters/queue-input.ts';
import type { WorkQueue } from '../../adapters/work-queue.ts';
import { sleep, startNatsServer, startPostgres, stopAllServers, waitFor, type NatsServer, type Postgres } from '../../support/servers.ts';
import { countingClaims } from '../support/counting-claims.ts';

/**
 * The work-queue contract, on both engines against real servers: what one node leases another cannot take until
 * the lease runs out or is handed back; an extended lease holds; an ack removes the job for good; a dead letter
 * leaves the queue. Then the queue input on top: a job is acknowledged only when the pipeline says so.
 */
let nats: NatsServer;
let postgres: Postgres;
let pgUrl: string;
const LEASE_MS = 3000;
let natsStream = 0;

beforeAll(async () => {
  [nats, postgres] = await Promise.all([startNatsServer(), startPostgres()]);
  pgUrl = await postgres.createDatabase('queue_contract');
}, 60_000);
afterAll(stopAllServers);

const engines: Record<string, (node: string) => WorkQueue> = {
  nats: (node) => new NatsQueue({ url: nats.url, leaseMs: LEASE_MS, clientName: node, stream: `CONTRACT${natsStream}` }),
  postgres: (node) => new PgQueue({ url: pgUrl, leaseMs: LEASE_MS, node, queue: `contract${natsStream}` }),
};

describe.each(Object.keys(engines))('%s work queue', (engine) => {
  let a: WorkQueue;
  let b: WorkQueue;
  beforeAll(async () => {
    natsStream++;
    a = engines[engine]('node-a');
    b = engines[engine]('node-b');
    await a.connect();
    await b.connect();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('leases a job to one node; it comes back to another only when the lease runs out, and an ack removes it', async () => {
    await a.enqueue({ topic: 'spectrad/raman-1/spectrum', payload: '{"y":[1,2,3]}', contentType: 'application/json' });
    const [job] = await claimWithin(a, 2000);
    expect(job).toMatchObject({ topic: 'spectrad/raman-1/spectrum', attempts: 1, contentType: 'application/json' });
    expect(job.payload.toString()).toBe('{"y":[1,2,3]}');
    await a.extend([job]); // the claim's pull stayed open up to 1 s after the job came
    expect(await b.claim(10, 200)).toEqual([]);
    // a keeps extending (as the queue input does, every quarter lease) past its first lease: b still gets nothing
    // but a sentinel of its own, leased after a's job and so run out after it.
    let extending = true;
    const extender = (async () => {
      while (extending) {
        await sleep(LEASE_MS / 4);
        if (extending) await a.extend([job]);
      }
    })();
    await onlyTheSentinelComesBack(b, b);
    extending = false;
    await extender;
    // a "dies" (never acks): b gets it after the lease, as a second attempt.
    const again = await claimWithin(b, LEASE_MS * 3);
    expect(again).toHaveLength(1);
    expect(again[0].attempts).toBe(2);
    await b.ack(again[0]);
    await onlyTheSentinelComesBack(b, a);
    expect(await a.depth()).toBe(0);
  }, 60_000);

  it('hands a nacked job back at once and moves a dead letter out of the queue', async () => {
    await a.enqueue({ topic: 'spectrad/ir-2/spectrum', payload: 'one', key: 'm-1' });
    await a.enqueue({ topic: 'spectrad/ir-2/spectrum', payload: 'one again', key: 'm-1' }); // same key: stored once
    const [job] = await claimWithin(a, 2000);
    expect(job.key).toBe('m-1');
    await a.nack(job);
    const [back] = await claimWithin(b, 2000);
    expect(back.payload.toString()).toBe('one');
    await b.deadLetter(back, 'poison');
    await onlyTheSentinelComesBack(b, a);
    expect(await a.depth()).toBe(0);
  }, 60_000);

  it('queue input: emits each job once, acknowledges it only when the pipeline does, dead-letters after maxAttempts', async () => {
    const events: QueueInputEvent[] = [];
    // Claims under way counted, so the test knows when the paused input has no pull open that could take a job.
    const queue = countingClaims(engines[engine]('node-c'));
    const input = new QueueInput({ name: 'site', queue, instrumentTopicLevel: 1, maxAttempts: 1, extendEveryMs: 300, onEvent: (e) => events.push(e) });
    const got = firstValueFrom(input.inputs$.pipe(take(2), toArray()));
    await input.start();
    await a.enqueue({ topic: 'spectrad/raman-1/spectrum', payload: 'first' });
    await a.enqueue({ topic: 'spectrad/raman-1/spectrum', payload: 'second', key: 'k-2' });
    const raws = await got;
    expect(raws.map((r) => [r.instrument, r.payload.toString(), r.ackAfterResult])).toEqual([
      ['raman-1', 'first', true],
      ['raman-1', 'second', true],
    ]);
    expect(raws[1].dedupKey).toBe('queue-key:k-2');
    expect(raws[0].dedupKey).toMatch(/^queue:spectrad\/raman-1\/spectrum:[0-9a-f]{32}$/);
    // Paused, with no claim under way (it is not taken in a pull that was open), so the sentinel goes to b only.
    input.pause();
    await waitFor('the paused input to have no claim under way', () => queue.claiming === 0, 10_000);
    // Unacknowledged and held by extends well past the lease: nobody else gets them.
    await onlyTheSentinelComesBack(b, b);
    await raws[0].ack();
    await raws[1].reject('unreadable');
    expect(input.unacked).toBe(0);
    await waitFor('empty queue', async () => (await a.depth()) === 0, 5000);
    // A job already delivered once (its node died) is over maxAttempts 1 for this input: a dead letter. (The input is
    // still paused, with no claim under way: the job goes to b first.)
    await a.enqueue({ topic: 'spectrad/raman-1/spectrum', payload: 'poison' });
    const [p] = await claimWithin(b, 2000);
    expect(p.attempts).toBe(1);
    input.resume();
    await waitFor('dead letter', () => events.some((e) => e.kind === 'dead-letter'), LEASE_MS * 4);
    await waitFor('empty queue', async () => (await a.depth()) === 0, 5000);
    await input.stop();
  }, 60_000);
});

/**
 * The "nothing comes back" check, closed by a positive event instead of a fixed sleep: a sentinel job, leased by
 * `holder` after the jobs under test were finished (or while they are held), is never acknowledged and comes back to
 * `taker` once its lease runs out by the server's own clock, however loaded the machine. A job wrongly left in the
 * queue (or whose lease was not held) was leased before the sentinel, so it comes back no later: what comes back must
 * be the sentinel alone.
 */
let sentinelNo = 0;
async function onlyTheSentinelComesBack(holder: WorkQueue, taker: WorkQueue): Promise<void> {
  const payload = `sentinel ${++sentinelNo}`;
  await holder.enqueue({ topic: 'spectrad/sentinel/spectrum', payload });
  const leased = await claimWithin(holder, 5000);
  expect(leased.map((j) => j.payload.toString())).toEqual([payload]);
  let back = await claimWithin(taker, LEASE_MS * 4);
  // Seen twice in about 25 runs on a loaded machine (NATS): the sentinel handed out again at once as a first delivery
  // (attempts 1), as if the server had not counted the holder's pull. Then that copy's lease is the one to run out:
  // claim on until the sentinel comes back as a redelivery. Anything else that comes meanwhile still fails the check.
  for (let copies = 0; copies < 3 && back.length === 1 && back[0].payload.toString() === payload && back[0].attempts === 1; copies++) {
    console.warn(`work-queue (${taker.engine}): ${payload} handed out again as a first delivery (stream id ${back[0].id}, the holder had ${leased[0].id})`);
    back = await claimWithin(taker, LEASE_MS * 4);
  }
  expect(back.map((j) => j.payload.toString())).toEqual([payload]);
  expect(back[0].attempts).toBeGreaterThanOrEqual(2);
  await taker.ack(back[0]);
}

/** Claims in pulls of 1 s (shorter than the lease: a claim's jobs are not renewed while it waits) until one comes. */
async function claimWithin(q: WorkQueue, totalMs: number) {
  const deadline = Date.now() + totalMs;
  for (;;) {
    const jobs = await q.claim(10, 1000);
    if (jobs.length > 0 || Date.now() > deadline) return jobs;
  }
}

describe('MQTT topic <-> NATS subject', () => {
  it('maps as nats-server does, both ways', () => {
    expect(subjectOf('spectrad/raman.2/spectrum')).toBe('spectrad.raman//2.spectrum');
    expect(topicOf('spectrad.raman//2.spectrum')).toBe('spectrad/raman.2/spectrum');
    expect(topicOf(subjectOf('a/b/c'))).toBe('a/b/c');
  });
});
