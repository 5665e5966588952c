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
    // The first failure waits 10 minutes, far beyond this test: only the reconnect can deliver within it.
    const d = new OutboxDispatcher(store, out, { log: silent, minBackoffMs: 600_000, maxBackoffMs: 1_200_000 });
    const id = ulid();
    store.commitIngest({ spectra: [{ id, adapter: 'a', source: 's', instrument: 'i', receivedAt: new Date().toISOString(), block: 0, raw: Buffer.from('x'), preprocessed: new Float32Array(1) }], results: [], alerts: [] });
    store.commitResults([{ id, instrument: 'i', source: 's', receivedAt: '', status: 'identified', score: 1, candidates: [], latencyMs: 1, modelVersion: 'm' }], []);
    d.wake();
    await waitFor('the first refusal', () => d.stats().failing, 10_000, 5);
    expect(d.stats()).toMatchObject({ failing: true, delivered: 0 });
    down = false;
    state.next({ name: 'out', kind: 'mqtt-out', state: 'up', since: new Date().toISOString() });
    // Without the cut the replay would come only when the 10-minute backoff ends: the deadline fails it, and no
    // wall-clock bound is needed that a loaded machine could miss.
    await waitFor('the replay', () => got.length > 0, 20_000, 10);
    expect(got).toEqual([id]);
    await d.idle();
    expect(store.outboxDepths()).toEqual({ out: 0 });
    d.stop();
    store.close();
  });
});
