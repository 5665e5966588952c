import { readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../core/messages.ts';
import { DaemonProcess, jsonPayload, parseResult, until, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, startMosquitto, startVictoriaMetrics, stopAllServers, type Mosquitto, type VictoriaMetrics } from '../../support/servers.ts';

/**
 * One site, two daemons: two real `spectrad run` processes on one host with the same configuration apart from their
 * data folder and port, told apart only by SPECTRAD_NODE_ID, share one topic on a real mosquitto
 * (`$share/spectrad/spectrad/+/spectrum`) with their default client ids, publish to it, and are scraped by one real
 * VictoriaMetrics. Neither takes the other's broker session, each spectrum is identified once by one of them, each
 * result names its node, and the retained bridge state and the metrics are kept per node.
 */
const NODES = ['hall-1', 'hall-2'] as const;
const SPECTRA = 40;
const classes = [17, 250, 499];
let broker: Mosquitto;
let vm: VictoriaMetrics;
const daemons: DaemonProcess[] = [];
let watcher: MqttClient;
const results: ResultMessage[] = [];
const bridge: Record<string, { state: string; node?: string }> = {};

beforeAll(async () => {
  const ports = [await freePort(), await freePort()];
  [broker, vm] = await Promise.all([
    startMosquitto(),
    startVictoriaMetrics({
      promscrapeConfig: [
        'scrape_configs:',
        '  - job_name: spectrad',
        '    scrape_interval: 1s',
        '    static_configs:',
        `      - targets: [${ports.map((p) => `'127.0.0.1:${p}'`).join(', ')}]`,
      ].join('\n') + '\n',
    }),
  ]);
  watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  watcher.on('message', (topic, body) => {
    if (topic.endsWith('/result')) results.push(parseResult(body));
    else if (topic.startsWith('spectrad/bridge/') && topic.endsWith('/state')) bridge[topic] = JSON.parse(body.toString()) as { state: string };
  });
  await watcher.subscribeAsync(['spectrad/+/result', 'spectrad/bridge/+/state'], { qos: 1 });
  NODES.forEach((node, i) => {
    const root = makeTempDir(`two-nodes-${node}`);
    const config = writeDaemonConfig(root, [
      `dataDir: ${root}/data`,
      'inputs:',
      `  - { type: mqtt, name: mqtt, url: '${broker.url}', topics: ['$share/spectrad/spectrad/+/spectrum'] }`,
      'outputs:',
      `  - { type: mqtt, name: mqtt-out, url: '${broker.url}' }`,
      `http: { host: 127.0.0.1, port: ${ports[i]}, token: two-nodes }`,
      `library: { demo: true, demoClasses: [${classes.join(', ')}], demoPerClass: 3 }`,
      'pipeline: { batchSize: 8, windowMs: 10, statsIntervalS: 0 }',
    ]);
    const d = new DaemonProcess(config, `http://127.0.0.1:${ports[i]}`, path.join(root, 'daemon.log'), ['/usr/bin/env', `SPECTRAD_NODE_ID=${node}`]);
    daemons.push(d);
    d.start();
  });
  await Promise.all(daemons.map((d) => d.waitReady(200_000)));
}, 260_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.kill('SIGTERM')));
  await watcher?.endAsync();
  await stopAllServers();
});

describe('two daemons on one host and one broker', () => {
  it('split a shared topic without taking each other’s session; every result names its node', async () => {
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    for (let i = 0; i < SPECTRA; i++) {
      await publisher.publishAsync(`spectrad/lab-${i % 4}/spectrum`, jsonPayload(`site ${i}`, classes[i % classes.length], i % 9), { qos: 1 });
    }
    await until('every result', () => results.length >= SPECTRA, 120_000);
    // Instead of a fixed wait for a late duplicate: markers on the shared topic, published after every spectrum,
    // until each node has answered one. A duplicate (a redelivery after a session was taken over, or a message both
    // nodes got) reaches a node before a marker published later, so by then it would be here.
    const isMarker = (r: ResultMessage) => r.source === 'spectrad/marker/spectrum';
    for (let k = 0; !NODES.every((n) => results.some((r) => isMarker(r) && r.node === n)); k++) {
      if (k >= 40) throw new Error('40 markers and a node answered none');
      await publisher.publishAsync('spectrad/marker/spectrum', jsonPayload(`marker ${k}`, classes[0], k % 9), { qos: 1 });
      await until(`the answer to marker ${k}`, () => results.filter(isMarker).length === k + 1, 60_000, 50);
    }
    await publisher.endAsync();
    const spectra = results.filter((r) => !isMarker(r));
    expect(spectra).toHaveLength(SPECTRA);
    expect(new Set(spectra.map((r) => r.source + (r.id ?? ''))).size).toBe(SPECTRA);
    const byNode = new Map<string, number>();
    for (const r of spectra) byNode.set(String(r.node), (byNode.get(String(r.node)) ?? 0) + 1);
    expect([...byNode.keys()].sort()).toEqual([...NODES]);
    for (const n of NODES) expect(byNode.get(n)).toBeGreaterThan(0);

    for (const d of daemons) {
      const health = (await d.health()) as unknown as { node: string; adapters: Array<{ name: string; state: string }> };
      expect(health.adapters.find((a) => a.name === 'mqtt')?.state).toBe('up');
      // Never pushed off the broker: no MQTT input went down during the run.
      const log = readFileSync(d.logFile, 'utf8');
      expect(log).not.toMatch(/"adapter":"mqtt".*"state":"down"/);
    }
    expect(bridge).toEqual({
      'spectrad/bridge/hall-1/state': expect.objectContaining({ state: 'online', node: 'hall-1' }),
      'spectrad/bridge/hall-2/state': expect.objectContaining({ state: 'online', node: 'hall-2' }),
    });
  }, 150_000);

  it('are scraped into one VictoriaMetrics and told apart by the node label', async () => {
    const perNode = async () => {
      await vm.forceFlush();
      const res = await fetch(`${vm.url}/api/v1/query?query=${encodeURIComponent('sum by (node) (spectrad_spectra_processed_total)')}`);
      const body = (await res.json()) as { data: { result: Array<{ metric: { node: string }; value: [number, string] }> } };
      return Object.fromEntries(body.data.result.map((s) => [s.metric.node, Number(s.value[1])]));
    };
    await until('both nodes scraped with every result', async () => Object.values(await perNode()).reduce((a, b) => a + b, 0) === results.length, 30_000, 500);
    const counts = await perNode();
    const fromResults = Object.fromEntries(NODES.map((n) => [n, results.filter((r) => r.node === n).length]));
    expect(counts).toEqual(fromResults);
  });
});
