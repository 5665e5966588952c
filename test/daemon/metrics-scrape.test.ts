import { readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import { DaemonProcess, REPO_ROOT, dropFile, jcampText, until, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, startMosquitto, startVictoriaMetrics, stopAllServers, type Mosquitto, type VictoriaMetrics } from '../../support/servers.ts';

/**
 * Node identity and metrics through the product: the real `spectrad run` (child process, bundled model, small demo
 * library) with its node id from SPECTRAD_NODE_ID, a folder input, an MQTT output on a real mosquitto, and a real
 * VictoriaMetrics scraping its GET /metrics (-promscrape.config). Results, alerts, health and the bridge topics carry
 * the node id; VictoriaMetrics' Prometheus API answers the expected series with the node label; every query of the
 * Grafana dashboard in docs/grafana/spectrad.json runs against that data.
 */
const NODE = 'site-b';
const INSTRUMENT = 'raman-site';
const classes = [17, 250, 499];
const GOOD = 5;
let broker: Mosquitto;
let vm: VictoriaMetrics;
let daemon: DaemonProcess;
let watcher: MqttClient;
const messages: Array<{ topic: string; body: unknown; retain: boolean }> = [];
const root = makeTempDir('metrics-scrape');
const inbox = path.join(root, 'inbox');

beforeAll(async () => {
  const port = await freePort();
  [broker, vm] = await Promise.all([
    startMosquitto(),
    startVictoriaMetrics({
      promscrapeConfig: [
        'scrape_configs:',
        '  - job_name: spectrad',
        '    scrape_interval: 1s',
        '    metrics_path: /metrics',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${port}']`,
      ].join('\n') + '\n',
    }),
  ]);
  const config = writeDaemonConfig(root, [
    `dataDir: ${root}/data`,
    `instrument: ${INSTRUMENT}`,
    'logLevel: info',
    'inputs:',
    `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 100 }`,
    'outputs:',
    `  - { type: mqtt, name: mqtt-out, url: '${broker.url}' }`,
    `http: { host: 127.0.0.1, port: ${port}, token: metrics-token }`,
    `library: { demo: true, demoClasses: [${classes.join(', ')}], demoPerClass: 3 }`,
    'pipeline: { batchSize: 4, windowMs: 10, statsIntervalS: 0 }',
  ]);
  watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  watcher.on('message', (topic, body, packet) => messages.push({ topic, body: JSON.parse(body.toString()), retain: packet.retain }));
  await watcher.subscribeAsync('spectrad/#', { qos: 1 });
  // The node id comes from the environment, as a unit file or container would set it.
  daemon = new DaemonProcess(config, `http://127.0.0.1:${port}`, path.join(root, 'daemon.log'), ['/usr/bin/env', `SPECTRAD_NODE_ID=${NODE}`]);
  daemon.start();
  await daemon.waitReady(150_000);
  for (let i = 0; i < GOOD; i++) dropFile(inbox, `s-${i}.jdx`, jcampText(`spectrum ${i}`, classes[i % classes.length], i));
  dropFile(inbox, 'broken.jdx', '##TITLE=broken\n##JCAMP-DX=4.24\n##XYDATA=(X++(Y..Y))\nnot numbers\n##END=\n');
  await until('every result on MQTT', () => messages.filter((m) => m.topic.endsWith('/result')).length >= GOOD + 1, 120_000);
}, 240_000);

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  await watcher?.endAsync();
  await stopAllServers();
});

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<{ status: string; data?: { resultType: string; result: VectorSample[] }; error?: string }> {
  const res = await fetch(`${vm.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${Date.now() / 1000}`);
  return (await res.json()) as { status: string; data?: { resultType: string; result: VectorSample[] }; error?: string };
}

async function vector(expr: string): Promise<VectorSample[]> {
  const answer = await query(expr);
  if (answer.status !== 'success') throw new Error(`${expr}: ${answer.error}`);
  return answer.data!.result;
}

const value = (s: VectorSample | undefined) => (s ? Number(s.value[1]) : undefined);

describe('node identity through the real daemon', () => {
  it('puts the node id in every result, alert, the health answer and the per-node bridge topics', async () => {
    const results = messages.filter((m) => m.topic.endsWith('/result')).map((m) => m.body as ResultMessage);
    expect(results).toHaveLength(GOOD + 1);
    expect(results.every((r) => r.node === NODE)).toBe(true);
    const alerts = messages.filter((m) => m.topic.endsWith('/alert')).map((m) => m.body as AlertMessage);
    expect(alerts.some((a) => a.kind === 'rejected')).toBe(true);
    expect(alerts.every((a) => a.node === NODE)).toBe(true);
    expect((await daemon.health()) as unknown).toMatchObject({ node: NODE, ready: true });

    // Retained state under the node's own topic, seen by a subscriber that arrives later.
    const late = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const retained: Record<string, unknown> = {};
    late.on('message', (topic, body, packet) => {
      if (packet.retain) retained[topic] = JSON.parse(body.toString());
    });
    await late.subscribeAsync(`spectrad/bridge/${NODE}/#`, { qos: 1 });
    await until('retained bridge state and adapter states', () => Object.keys(retained).length >= 4, 10_000);
    await late.endAsync();
    expect(retained[`spectrad/bridge/${NODE}/state`]).toMatchObject({ state: 'online', node: NODE });
    expect(retained[`spectrad/bridge/${NODE}/adapters/inbox`]).toMatchObject({ name: 'inbox', kind: 'folder', state: 'up' });
    expect(retained[`spectrad/bridge/${NODE}/adapters/store`]).toMatchObject({ name: 'store', kind: 'store', state: 'up' });
    expect(retained[`spectrad/bridge/${NODE}/adapters/mqtt-out`]).toMatchObject({ name: 'mqtt-out', state: 'up' });
    expect(Object.keys(retained).some((t) => t === 'spectrad/bridge/state')).toBe(false);
  });
});

describe('Prometheus /metrics scraped by a real VictoriaMetrics', () => {
  it('serves the text format with the node label on every sample', async () => {
    const res = await fetch(`${daemon.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = (await res.text()).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(samples.length).toBeGreaterThan(50);
    for (const line of samples) expect(line).toContain(`node="${NODE}"`);
  });

  it('answers the expected series through the Prometheus query API', async () => {
    await until(
      'every result scraped',
      async () => {
        await vm.forceFlush();
        return value((await vector(`sum(spectrad_spectra_processed_total{node="${NODE}"})`))[0]) === GOOD + 1;
      },
      30_000,
      500,
    );
    const byStatus = await vector(`sum by (status) (spectrad_spectra_processed_total{node="${NODE}", instrument="${INSTRUMENT}"})`);
    expect(value(byStatus.find((s) => s.metric.status === 'rejected'))).toBe(1);
    expect(byStatus.filter((s) => s.metric.status !== 'rejected').reduce((n, s) => n + value(s)!, 0)).toBe(GOOD);
    expect(value((await vector(`sum(spectrad_spectra_received_total{node="${NODE}", instrument="${INSTRUMENT}"})`))[0])).toBe(GOOD + 1);
    expect(value((await vector(`sum(spectrad_result_latency_seconds_count{node="${NODE}"})`))[0])).toBe(GOOD + 1);
    const p99 = value((await vector(`histogram_quantile(0.99, sum by (le) (spectrad_result_latency_seconds_bucket{node="${NODE}"}))`))[0]);
    expect(p99).toBeGreaterThan(0);
    expect(value((await vector(`sum(spectrad_alerts_total{node="${NODE}", kind="rejected"})`))[0])).toBe(1);

    const health = (await daemon.health()) as unknown as { modelVersion: string; inference: string };
    const model = await vector(`spectrad_model_info{node="${NODE}"}`);
    expect(model).toHaveLength(1);
    expect(model[0].metric).toMatchObject({ version: health.modelVersion, inference: health.inference, job: 'spectrad' });
    expect(value((await vector(`spectrad_library_classes{node="${NODE}"}`))[0])).toBe(classes.length);
    const adapters = await vector(`spectrad_adapter_up{node="${NODE}"}`);
    expect(Object.fromEntries(adapters.map((s) => [s.metric.adapter, value(s)]))).toEqual({ inbox: 1, store: 1, 'mqtt-out': 1 });
    // A scrape may fall between a result's commit and its publish: the outbox drains, and a later scrape shows it.
    await until(
      'the mqtt-out outbox scraped empty',
      async () => {
        await vm.forceFlush();
        return value((await vector(`spectrad_outbox_depth{node="${NODE}", output="mqtt-out"}`))[0]) === 0;
      },
      30_000,
      500,
    );
    const queues = await vector(`spectrad_queue_depth{node="${NODE}"}`);
    expect(queues.map((s) => s.metric.queue).sort()).toEqual(['inMemory', 'ingesting', 'pending']);
    const stages = await vector(`spectrad_stage_items_total{node="${NODE}"}`);
    expect(stages.map((s) => s.metric.stage)).toEqual(expect.arrayContaining(['parse', 'encode', 'identify', 'commitResults', 'publish']));
    // The encoder embedded every good spectrum, and once more the reference the start-up warm-up probes with.
    expect(value((await vector(`sum(spectrad_stage_items_total{node="${NODE}", stage="encode"})`))[0])).toBe(GOOD + 1);
    expect(value((await vector(`process_resident_memory_bytes{node="${NODE}"}`))[0])).toBeGreaterThan(10e6);
  });

  it('runs every query of the Grafana dashboard (docs/grafana/spectrad.json) on that data', async () => {
    const dashboard = JSON.parse(readFileSync(path.join(REPO_ROOT, 'docs/grafana/spectrad.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
      templating: { list: Array<{ name: string; definition?: string }> };
    };
    // Grafana's variables as a user viewing this node would have them.
    const concrete = (expr: string) =>
      expr
        .replaceAll('$node', NODE)
        .replaceAll('$instrument', '.*')
        .replaceAll('$__rate_interval', '5m')
        .replaceAll('$__range', '5m')
        .replaceAll('$__interval', '15s');
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThanOrEqual(13);
    // A live site: more spectra arrive after the first scrapes, so rate() and increase() see the counters grow.
    const MORE = 3;
    for (let i = 0; i < MORE; i++) dropFile(inbox, `more-${i}.jdx`, jcampText(`more ${i}`, classes[i % classes.length], i + 3));
    await until(
      'the later spectra scraped',
      async () => {
        await vm.forceFlush();
        return value((await vector(`sum(spectrad_spectra_processed_total{node="${NODE}"})`))[0]) === GOOD + 1 + MORE;
      },
      60_000,
      500,
    );
    await vm.forceFlush();
    const known = new Set(((await (await fetch(`${vm.url}/api/v1/label/__name__/values`)).json()) as { data: string[] }).data);
    for (const { panel, expr } of exprs) {
      const q = concrete(expr);
      expect(q, `${panel}: unreplaced variable`).not.toMatch(/\$/);
      const names = [...q.matchAll(/\b([a-z_][a-z0-9_]*)\{/g)].map((m) => m[1]);
      expect(names.length, `${panel}: ${q}`).toBeGreaterThan(0);
      for (const n of names) expect(known.has(n), `${panel}: metric ${n} is not scraped`).toBe(true);
      const answer = await query(q);
      expect(answer.status, `${panel}: ${q}: ${answer.error}`).toBe('success');
      expect(answer.data!.result.length, `${panel}: ${q} returned no data`).toBeGreaterThan(0);
      for (const s of answer.data!.result) expect(Number.isFinite(Number(s.value[1])), `${panel}: ${q} gave ${s.value[1]}`).toBe(true);
    }
    // The variables' label_values() queries list this node and its instrument.
    const nodes = (await (await fetch(`${vm.url}/api/v1/label/node/values?match[]=spectrad_info`)).json()) as { data: string[] };
    expect(nodes.data).toContain(NODE);
    const instruments = (await (await fetch(`${vm.url}/api/v1/label/instrument/values?match[]=${encodeURIComponent(`spectrad_spectra_processed_total{node=~"${NODE}"}`)}`)).json()) as { data: string[] };
    expect(instruments.data).toContain(INSTRUMENT);
    const definitions = dashboard.templating.list.map((v) => v.definition).filter(Boolean);
    expect(definitions).toEqual(['label_values(spectrad_info, node)', 'label_values(spectrad_spectra_processed_total{node=~"$node"}, instrument)']);
  });
});
