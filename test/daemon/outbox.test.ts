import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NEVER } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { OutputAdapter } from '../../adapters/types.ts';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import { OutboxDispatcher } from '../../daemon/outbox.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import { waitFor } from '../../support/servers.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function flakyOutput(name: string) {
  const got: string[] = [];
  const out: OutputAdapter & { down: boolean; got: string[]; attempts: number } = {
    name,
    state$: NEVER,
    down: true,
    got,
    attempts: 0,
    async start() {},
    async stop() {},
    async publishResult(r: ResultMessage) {
      out.attempts++;
      await new Promise((res) => setTimeout(res, 1));
      if (out.down) throw new Error('ECONNREFUSED');
      got.push(r.id);
    },
    async publishAlert(a: AlertMessage) {
      if (out.down) throw new Error('ECONNREFUSED');
      got.push(`alert:${a.id}`);
    },
  };
  return out;
}

function commit(store: Store, n: number): string[] {
  const ids = Array.from({ length: n }, () => ulid());
  store.commitIngest({
    spectra: ids.map((id) => ({ id, adapter: 'a', source: 's', instrument: 'i', receivedAt: new Date().toISOString(), block: 0, raw: Buffer.from('x'), preprocessed: new Float32Array(1) })),
    results: [],
    alerts: [],
  });
  store.commitResults(
    ids.map((id) => ({ id, instrument: 'i', source: 's', receivedAt: '', status: 'identified', score: 1, candidates: [], latencyMs: 1, modelVersion: 'm' })),
    [],
  );
  return ids;
}

describe('OutboxDispatcher', () => {
  it('buffers in the store while the output is down, backs off, then replays everything once, in order', async () => {
    const store = new Store(path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-outbox-')), 'db'), { outputs: ['mqtt-out', 'other'] });
    const out = flakyOutput('mqtt-out');
    const d = new OutboxDispatcher(store, out, { log: silent, window: 4, minBackoffMs: 20, maxBackoffMs: 40 });
    const ids = commit(store, 10);
    const t0 = performance.now();
    d.wake();
    await waitFor('eight refused attempts', () => out.attempts >= 8, 10_000, 5);
    const attempts = out.attempts;
    const elapsedMs = performance.now() - t0;
    expect(out.got).toEqual([]);
    expect(store.outboxDepths()).toEqual({ 'mqtt-out': 10, other: 10 });
    // Backoff, not a busy loop: at most one window (4) per try, and the tries at least minBackoffMs (20) apart,
    // however long the attempts took to come on this machine.
    expect(attempts).toBeLessThanOrEqual(4 * (1 + Math.floor(elapsedMs / 20)));
    expect(d.stats().failing).toBe(true);

    out.down = false;
    expect(await d.flush(2000)).toBe(true);
    expect(out.got).toEqual(ids);
    expect(store.outboxDepths()).toEqual({ 'mqtt-out': 0, other: 10 });
    expect(d.stats()).toEqual({ output: 'mqtt-out', delivered: 10, failing: false });

    // A restart (new dispatcher, same store) resumes a queue left behind.
    const later = commit(store, 3);
    d.stop();
    await d.idle();
    const resumed = new OutboxDispatcher(store, out, { log: silent });
    resumed.wake();
    await resumed.idle();
    expect(out.got.slice(10)).toEqual(later);
    store.close();
  });

  it('flush gives up after its timeout when the output stays down', async () => {
    const store = new Store(path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-outbox-')), 'db'), { outputs: ['x'] });
    const out = flakyOutput('x');
    // A clock the test moves (Date and timers): "gives up after its timeout" is checked on it, not on the wall clock,
    // so a loaded machine cannot fail it.
    vi.useFakeTimers();
    try {
      const d = new OutboxDispatcher(store, out, { log: silent, minBackoffMs: 10 });
      commit(store, 2);
      let answer: boolean | undefined;
      const flushed = d.flush(200).then((ok) => (answer = ok));
      await vi.advanceTimersByTimeAsync(199);
      expect(answer).toBeUndefined(); // still trying within its timeout
      await vi.advanceTimersByTimeAsync(1300);
      expect(answer).toBe(false); // given up well within 1.5 s
      await flushed;
      expect(out.attempts).toBeGreaterThan(0);
      d.stop();
      // A delivery attempt may still be in flight: let it settle before the store closes under it.
      const idle = d.idle();
      await vi.advanceTimersByTimeAsync(100);
      await idle;
    } finally {
      vi.useRealTimers();
    }
    store.close();
  });
});
