import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutputUnavailableError } from '../../adapters/errors.ts';
import { InfluxOutput, writeUrl, type InfluxOutputOptions } from '../../adapters/influx-output.ts';
import type { AdapterState } from '../../core/messages.ts';
import { identifiedResult, mixtureResult, rejectedResult } from '../support/messages.ts';
import { startInfluxd, startVictoriaMetrics, stopAllServers, waitFor, type Influxd, type VictoriaMetrics } from '../../support/servers.ts';

let influxd: Influxd;
let vm: VictoriaMetrics;
const outputs: InfluxOutput[] = [];

beforeAll(async () => {
  [influxd, vm] = await Promise.all([startInfluxd(), startVictoriaMetrics()]);
  await influxd.query('CREATE DATABASE lab');
}, 60_000);

afterEach(async () => {
  await Promise.all(outputs.splice(0).map((o) => o.stop()));
});

afterAll(stopAllServers);

async function startOutput(options: Partial<InfluxOutputOptions> & Pick<InfluxOutputOptions, 'url'>) {
  const states: AdapterState[] = [];
  const output = new InfluxOutput({ name: 'influx', node: 'lab-b', org: 'unused', bucket: 'lab', api: 'v1', throughputIntervalMs: 0, timeoutMs: 3000, ...options });
  outputs.push(output);
  output.state$.subscribe((s) => states.push(s));
  await output.start();
  return { output, states };
}

describe('InfluxDB output, api v1 (/write) against a real influxd 1.x', () => {
  it('writes one point per result with node/instrument/status/class tags, readable by InfluxQL', async () => {
    const { output, states } = await startOutput({ url: influxd.url });
    const t = Date.now() - 10_000;
    await output.publishResult(identifiedResult({ instrument: 'raman-v1', score: 0.91, latencyMs: 20, receivedAt: new Date(t).toISOString() }));
    await output.publishResult(mixtureResult({ instrument: 'raman-v1', receivedAt: new Date(t + 1).toISOString() }));
    await output.publishResult(rejectedResult({ instrument: 'raman-v1', receivedAt: new Date(t + 2).toISOString() }));
    expect(states.at(-1)?.state).toBe('up');
    const answer = await influxd.query(`SELECT score, latency_ms, node, status, "class" FROM spectrad_result WHERE instrument = 'raman-v1' ORDER BY time`, 'lab');
    const series = answer.results[0].series?.[0];
    expect(series?.columns).toEqual(['time', 'score', 'latency_ms', 'node', 'status', 'class']);
    expect(series?.values).toEqual([
      [t, 0.91, 20, 'lab-b', 'identified', 'caffeine'],
      [t + 1, expect.any(Number), expect.any(Number), 'lab-b', 'mixture', 'acetone+ethanol'],
      [t + 2, 0, expect.any(Number), 'lab-b', 'rejected', 'none'],
    ]);
  });

  it('writes into a retention policy when one is named', async () => {
    await influxd.query('CREATE RETENTION POLICY short ON lab DURATION 2d REPLICATION 1', 'lab');
    const { output } = await startOutput({ url: influxd.url, retentionPolicy: 'short' });
    const t = Date.now() - 5_000;
    await output.publishResult(identifiedResult({ instrument: 'raman-rp', receivedAt: new Date(t).toISOString() }));
    const inRp = await influxd.query(`SELECT score FROM lab.short.spectrad_result WHERE instrument = 'raman-rp'`, 'lab');
    expect(inRp.results[0].series?.[0].values).toEqual([[t, 0.93]]);
    const inDefault = await influxd.query(`SELECT score FROM lab.autogen.spectrad_result WHERE instrument = 'raman-rp'`, 'lab');
    expect(inDefault.results[0].series).toBeUndefined();
  });

  it('says clearly what is wrong when the database does not exist, and when v2 is used against InfluxDB 1.x', async () => {
    const { output: missing, states } = await startOutput({ url: influxd.url, database: 'no_such_db' });
    const err = await missing.publishResult(identifiedResult()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputUnavailableError);
    expect(String((err as Error).message)).toMatch(/database not found/);
    expect(states.at(-1)?.state).toBe('down');
    const { output: v2 } = await startOutput({ url: influxd.url, api: 'v2', token: 't' });
    const err2 = await v2.publishResult(identifiedResult()).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(OutputUnavailableError);
    expect(String((err2 as Error).message)).toMatch(/HTTP 404.*outputs\.influx\.api.*\/api\/v2\/write/);
  });

  it('throws OutputUnavailableError while influxd is down and writes again once it is back', async () => {
    const { output, states } = await startOutput({ url: influxd.url });
    const t = Date.now() - 3_000;
    await influxd.stop();
    await expect(output.publishResult(identifiedResult({ instrument: 'raman-outage', receivedAt: new Date(t).toISOString() }))).rejects.toBeInstanceOf(OutputUnavailableError);
    expect(states.at(-1)?.state).toBe('down');
    await influxd.start();
    await output.publishResult(identifiedResult({ instrument: 'raman-outage', receivedAt: new Date(t + 1).toISOString() }));
    expect(states.at(-1)?.state).toBe('up');
    const answer = await influxd.query(`SELECT score FROM spectrad_result WHERE instrument = 'raman-outage'`, 'lab');
    // Only the write that succeeded: the failed one is the outbox's to replay.
    expect(answer.results[0].series?.[0].values).toEqual([[t + 1, 0.93]]);
  });

  it('also writes v1 line protocol to VictoriaMetrics (/write), with the node tag', async () => {
    const { output } = await startOutput({ url: vm.url, database: 'ignored-by-vm' });
    await output.publishResult(identifiedResult({ instrument: 'raman-vm-v1' }));
    await vm.forceFlush();
    const series = await waitFor('series', async () => {
      const s = await vm.exportSeries(`spectrad_result_score{instrument="raman-vm-v1"}`);
      return s.length === 1 ? s : undefined;
    });
    expect(series[0].metric).toMatchObject({ node: 'lab-b', status: 'identified', class: 'caffeine' });
  });

  it('logs in with username and password when InfluxDB has auth enabled, and says so when the login is wrong', async () => {
    const secured = await startInfluxd({ auth: { username: 'admin', password: 's3cret-pw' } });
    await secured.query('CREATE DATABASE lab');
    const t = Date.now() - 2_000;
    const { output } = await startOutput({ url: secured.url, username: 'admin', password: 's3cret-pw' });
    await output.publishResult(identifiedResult({ instrument: 'raman-auth', receivedAt: new Date(t).toISOString() }));
    const answer = await secured.query(`SELECT score, node FROM spectrad_result WHERE instrument = 'raman-auth'`, 'lab');
    expect(answer.results[0].series?.[0].values).toEqual([[t, 0.93, 'lab-b']]);

    const { output: wrong, states } = await startOutput({ url: secured.url, username: 'admin', password: 'wrong' });
    const err = await wrong.publishResult(identifiedResult({ instrument: 'raman-auth' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputUnavailableError);
    expect(String((err as Error).message)).toMatch(/HTTP 401.*authorization failed/);
    expect(String((err as Error).message)).not.toContain('s3cret-pw');
    expect(states.at(-1)?.state).toBe('down');
    const { output: anonymous } = await startOutput({ url: secured.url });
    await expect(anonymous.publishResult(identifiedResult({ instrument: 'raman-auth' }))).rejects.toThrow(/HTTP 401/);
  });

  it('builds the write URL of each API', () => {
    expect(writeUrl({ url: 'http://h:8086/', api: 'v1', org: 'o', bucket: 'b', retentionPolicy: 'rp 1' })).toBe('http://h:8086/write?db=b&rp=rp+1&precision=ms');
    expect(writeUrl({ url: 'http://h:8086', api: 'v1', org: 'o', bucket: 'b', database: 'd' })).toBe('http://h:8086/write?db=d&precision=ms');
    expect(writeUrl({ url: 'http://h:8428', org: 'o', bucket: 'b' })).toBe('http://h:8428/api/v2/write?org=o&bucket=b&precision=ms');
  });
});
