import { describe, expect, it } from 'vitest';
import type { AdapterState } from '../../core/messages.ts';
import { DaemonMetrics, type MetricsProbes } from '../../daemon/metrics.ts';
import { alertFor, identifiedResult, rejectedResult } from '../support/messages.ts';

function probes(over: Partial<MetricsProbes> = {}): MetricsProbes {
  return {
    queues: () => ({ ingesting: 0, inMemory: 2, pending: 5 }),
    queueBound: 512,
    outbox: () => ({ influx: 7 }),
    outputNames: () => ['mqtt-out', 'influx'],
    adapters: () => [],
    model: () => ({ version: 'v1', inference: 'onnx' }),
    library: () => ({ classes: 3, references: 9 }),
    ready: () => true,
    ...over,
  };
}

/** Sample lines of the exposition (no comments). */
async function samples(m: DaemonMetrics): Promise<string[]> {
  return (await m.text()).split('\n').filter((l) => l && !l.startsWith('#'));
}

/** The value of the one sample with this name and exactly these labels (in any order); undefined when none. */
function valueOf(lines: readonly string[], name: string, labels: Record<string, string>): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const line of lines) {
    const m = /^([a-z_:][a-z0-9_:]*)\{(.*)\} (\S+)$/i.exec(line);
    if (!m || m[1] !== name) continue;
    const got = [...m[2].matchAll(/([a-z_]+)="([^"]*)"/gi)].map((x) => [x[1], x[2]]);
    if (JSON.stringify(got.sort()) === want) return Number(m[3]);
  }
  return undefined;
}

describe('DaemonMetrics (the registry behind GET /metrics)', () => {
  it('counts results by instrument and status, observes latency in seconds and labels everything with the node', async () => {
    const m = new DaemonMetrics('lab-a', probes(), { version: '1.2.3', defaultMetrics: false });
    const ok = identifiedResult({ instrument: 'raman-1', latencyMs: 40 });
    const bad = rejectedResult({ instrument: 'raman-1', latencyMs: 3 });
    m.spectraReceived([{ instrument: 'raman-1' }, { instrument: 'raman-1' }]);
    m.committed([ok, bad], [alertFor(bad, { kind: 'rejected' })]);
    const lines = await samples(m);
    expect(valueOf(lines, 'spectrad_spectra_received_total', { instrument: 'raman-1', node: 'lab-a' })).toBe(2);
    expect(valueOf(lines, 'spectrad_spectra_processed_total', { instrument: 'raman-1', status: 'identified', node: 'lab-a' })).toBe(1);
    expect(valueOf(lines, 'spectrad_spectra_processed_total', { instrument: 'raman-1', status: 'rejected', node: 'lab-a' })).toBe(1);
    expect(valueOf(lines, 'spectrad_result_latency_seconds_bucket', { le: '0.005', instrument: 'raman-1', node: 'lab-a' })).toBe(1);
    expect(valueOf(lines, 'spectrad_result_latency_seconds_bucket', { le: '0.05', instrument: 'raman-1', node: 'lab-a' })).toBe(2);
    expect(valueOf(lines, 'spectrad_result_latency_seconds_sum', { instrument: 'raman-1', node: 'lab-a' })).toBeCloseTo(0.043, 9);
    expect(valueOf(lines, 'spectrad_alerts_total', { instrument: 'raman-1', kind: 'rejected', node: 'lab-a' })).toBe(1);
    expect(valueOf(lines, 'spectrad_info', { version: '1.2.3', node: 'lab-a' })).toBe(1);
    for (const l of lines) expect(l).toContain('node="lab-a"');
  });

  it('reports every output, with 0 for those with nothing waiting', async () => {
    const lines = await samples(new DaemonMetrics('n', probes(), { version: '0', defaultMetrics: false }));
    expect(valueOf(lines, 'spectrad_outbox_depth', { output: 'mqtt-out', node: 'n' })).toBe(0);
    expect(valueOf(lines, 'spectrad_outbox_depth', { output: 'influx', node: 'n' })).toBe(7);
    expect(valueOf(lines, 'spectrad_queue_depth', { queue: 'pending', node: 'n' })).toBe(5);
    expect(valueOf(lines, 'spectrad_library_classes', { node: 'n' })).toBe(3);
  });

  it('reads gauges when scraped: a model switch or an adapter going down shows at once, with no stale series', async () => {
    let version = 'v1';
    let adapters: AdapterState[] = [{ name: 'inbox', kind: 'folder', state: 'up', since: '' }];
    const m = new DaemonMetrics('n', probes({ model: () => ({ version, inference: 'onnx' }), adapters: () => adapters }), { version: '0', defaultMetrics: false });
    expect(valueOf(await samples(m), 'spectrad_model_info', { version: 'v1', inference: 'onnx', node: 'n' })).toBe(1);
    version = 'v2';
    adapters = [{ name: 'inbox', kind: 'folder', state: 'down', since: '', detail: 'gone' }];
    const lines = await samples(m);
    expect(valueOf(lines, 'spectrad_model_info', { version: 'v2', inference: 'onnx', node: 'n' })).toBe(1);
    expect(lines.some((l) => l.includes('version="v1"'))).toBe(false);
    expect(valueOf(lines, 'spectrad_adapter_up', { adapter: 'inbox', kind: 'folder', node: 'n' })).toBe(0);
  });

  it('times pipeline stages per call and counts their items', async () => {
    const m = new DaemonMetrics('n', probes(), { version: '0', defaultMetrics: false });
    m.stage('encode', 12, 32);
    m.stage('encode', 30, 8);
    const lines = await samples(m);
    expect(valueOf(lines, 'spectrad_stage_duration_seconds_count', { stage: 'encode', node: 'n' })).toBe(2);
    expect(valueOf(lines, 'spectrad_stage_duration_seconds_bucket', { le: '0.025', stage: 'encode', node: 'n' })).toBe(1);
    expect(valueOf(lines, 'spectrad_stage_items_total', { stage: 'encode', node: 'n' })).toBe(40);
  });
});
