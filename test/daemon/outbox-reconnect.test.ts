import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { OutputAdapter } from '../../adapters/types.ts';
import type { AdapterState, ResultMessage } from '../../core/messages.ts';
import { OutboxDispatcher } from '../../daemon/outbox.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import { waitFor } from '../../support/servers.ts';

/**
 * After a long outage the outbox's backoff has grown to tens of seconds; when the output reports 'up' again (the MQTT
 * client reconnected) the backlog must be replayed at once, not after the rest of the backoff.
 */
const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('OutboxDispatcher on reconnect', () => {
  it('replays as soon as the output says it is up, cutting a long backoff short', async () => {
    const store = new Store(':memory:', { outputs: ['out'] });
    const state = new BehaviorSubject<AdapterState>({ name: 'out', kind: 'mqtt-out', state: 'down', since: new Date().toISOString() });
    let down = true;
    const got: string[] = [];
    const out: OutputAdapter = {
      name: 'out',
      state$: state.asObservable(),
      async start() {},
      async stop() {},
      async publishResult(r: ResultMessage) {
        if (down) throw new Error('ECONNREFUSED');
        got.push(r.id);
      },
      async publishAlert() {},
    };
    // The first failure already waits 10 s: only the reconnect can deliver within this test.
    const d = new OutboxDispatcher(store, out, { log: silent, minBackoffMs: 10_000, maxBackoffMs: 60_000 });
    const id = ulid();
    store.commitIngest({ spectra: [{ id, adapter: 'a', source: 's', instrument: 'i', receivedAt: new Date().toISOString(), block: 0, raw: Buffer.from('x'), preprocessed: new Float32Array(1) }], results: [], alerts: [] });
    store.commitResults([{ id, instrument: 'i', source: 's', receivedAt: '', status: 'identified', score: 1, candidates: [], latencyMs: 1, modelVersion: 'm' }], []);
    d.wake();
    await waitFor('the first refusal', () => d.stats().failing, 10_000, 5);
    expect(d.stats()).toMatchObject({ failing: true, delivered: 0 });
    down = false;
    const t0 = Date.now();
    state.next({ name: 'out', kind: 'mqtt-out', state: 'up', since: new Date().toISOString() });
    await waitFor('the replay', () => got.length > 0, 9_000, 10);
    expect(got).toEqual([id]);
    // Without the cut the replay would come only when the 10 s backoff ends; half of it is a margin a loaded machine
    // does not use up, and the assertion still fails if the backoff is waited out.
    expect(Date.now() - t0).toBeLessThan(5_000);
    await d.idle();
    expect(store.outboxDepths()).toEqual({ out: 0 });
    d.stop();
    store.close();
  });
});
