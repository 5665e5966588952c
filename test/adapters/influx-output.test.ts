import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InfluxOutput, classTag, type InfluxOutputOptions } from '../../adapters/influx-output.ts';
import { OutputUnavailableError } from '../../adapters/errors.ts';
import type { AdapterState } from '../../core/messages.ts';
import { identifiedResult, mixtureResult, rejectedResult } from '../support/messages.ts';
import { startVictoriaMetrics, stopAllServers, waitFor, type VictoriaMetrics } from '../../support/servers.ts';

let vm: VictoriaMetrics;
const outputs: InfluxOutput[] = [];
let run = 0;

beforeAll(async () => {
  vm = await startVictoriaMetrics();
});

afterEach(async () => {
  await Promise.all(outputs.splice(0).map((o) => o.stop()));
});

afterAll(stopAllServers);

async function startOutput(options: Partial<InfluxOutputOptions> = {}) {
  const states: AdapterState[] = [];
  const output = new InfluxOutput({ name: 'influx', node: 'lab-a', url: vm.url, org: 'lab', bucket: 'spectra', token: 'unused-by-vm', throughputIntervalMs: 0, timeoutMs: 2000, ...options });
  outputs.push(output);
  output.state$.subscribe((s) => states.push(s));
  await output.start();
  return { output, states };
}

/** A unique instrument per test keeps series apart in the shared database. */
const instrument = () => `inst-${++run}`;

describe('InfluxDB output against a real victoria-metrics (line protocol on /api/v2/write)', () => {
  it('writes one point per result with instrument/status/class tags and score, latency and queue depth fields', async () => {
    const inst = instrument();
    let depth = 7;
    const { output, states } = await startOutput({ queueDepth: () => depth++ });
    const t = Date.now() - 5000;
    await output.publishResult(identifiedResult({ instrument: inst, score: 0.93, latencyMs: 41.5, receivedAt: new Date(t).toISOString() }));
    await output.publishResult(mixtureResult({ instrument: inst, score: 0.8, latencyMs: 12, receivedAt: new Date(t + 1000).toISOString() }));
    await output.publishResult(rejectedResult({ instrument: inst, latencyMs: 3, receivedAt: new Date(t + 2000).toISOString() }));
    expect(states.at(-1)?.state).toBe('up');
    await vm.forceFlush();
    const series = await waitFor('three series', async () => {
      const s = await vm.exportSeries(`{__name__=~"spectrad_result_.*",instrument="${inst}"}`);
      return s.length === 9 ? s : undefined; // 3 results x (score, latency_ms, queue_depth)
    });
    const pick = (name: string, cls: string) => series.find((s) => s.metric.__name__ === name && s.metric.class === cls);
    expect(pick('spectrad_result_score', 'caffeine')?.metric.status).toBe('identified');
    // Every point names the daemon that wrote it: two daemons with the same instruments do not overwrite each other.
    for (const s of series) expect(s.metric.node).toBe('lab-a');
    expect(pick('spectrad_result_score', 'caffeine')?.values).toEqual([0.93]);
    expect(pick('spectrad_result_score', 'caffeine')?.timestamps).toEqual([t]);
    expect(pick('spectrad_result_latency_ms', 'caffeine')?.values).toEqual([41.5]);
    expect(pick('spectrad_result_queue_depth', 'caffeine')?.values).toEqual([7]);
    expect(pick('spectrad_result_score', 'acetone+ethanol')?.metric.status).toBe('mixture');
    expect(pick('spectrad_result_latency_ms', 'none')?.metric.status).toBe('rejected');
  });

  it('writes a batch published together in one go and resolves each promise', async () => {
    const inst = instrument();
    const { output } = await startOutput({ batchWindowMs: 20 });
    const base = Date.now() - 60_000;
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => output.publishResult(identifiedResult({ instrument: inst, receivedAt: new Date(base + i).toISOString() }))),
    );
    await vm.forceFlush();
    const series = await waitFor('50 points', async () => {
      const s = await vm.exportSeries(`spectrad_result_score{instrument="${inst}"}`);
      return s[0]?.values.length === 50 ? s : undefined;
    });
    expect(series[0].timestamps).toHaveLength(50);
  });

  it('throws OutputUnavailableError while the database is down, and the failed points are not written later behind the outbox', async () => {
    const inst = instrument();
    const { output, states } = await startOutput();
    const base = Date.now() - 30_000;
    await output.publishResult(identifiedResult({ instrument: inst, receivedAt: new Date(base).toISOString() }));
    await vm.stop();
    await expect(output.publishResult(identifiedResult({ instrument: inst, receivedAt: new Date(base + 1).toISOString() }))).rejects.toBeInstanceOf(
      OutputUnavailableError,
    );
    expect(states.at(-1)?.state).toBe('down');
    await vm.start();
    await output.publishResult(identifiedResult({ instrument: inst, receivedAt: new Date(base + 2).toISOString() }));
    expect(states.at(-1)?.state).toBe('up');
    await vm.forceFlush();
    const s = await waitFor('points', async () => {
      const got = await vm.exportSeries(`spectrad_result_score{instrument="${inst}"}`);
      return got[0]?.values.length === 2 ? got : undefined;
    });
    // The failed point is the outbox's to replay; the client did not keep and resend it on its own.
    expect(s[0].timestamps).toEqual([base, base + 2]);
  });

  it('writes throughput points per instrument', async () => {
    const inst = instrument();
    const { output } = await startOutput({ throughputIntervalMs: 300 });
    for (let i = 0; i < 6; i++) await output.publishResult(identifiedResult({ instrument: inst }));
    const series = await waitFor('throughput point', async () => {
      await vm.forceFlush();
      const s = await vm.exportSeries(`{__name__=~"spectrad_throughput_.*",instrument="${inst}"}`);
      return s.length === 2 ? s : undefined;
    }, 10_000, 200);
    const results = series.find((s) => s.metric.__name__ === 'spectrad_throughput_results');
    const rate = series.find((s) => s.metric.__name__ === 'spectrad_throughput_per_second');
    expect(results?.values.reduce((a, b) => a + b, 0)).toBe(6);
    expect(rate?.values[0]).toBeGreaterThan(0);
  });

  it('tags mixtures by their sorted components and unknowns as none', () => {
    expect(classTag(mixtureResult())).toBe('acetone+ethanol');
    expect(classTag(identifiedResult({ status: 'unknown', class: undefined }))).toBe('none');
  });
});
