import { readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../core/messages.ts';
import { DaemonProcess, dropFile, jcampText, jsonPayload, parseResult, storedResults, until, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, startMosquitto, startVictoriaMetrics, stopAllServers, type Mosquitto, type VictoriaMetrics } from '../../support/servers.ts';

/**
 * The real `spectrad run` (child process, bundled model, small demo library) with MQTT in and out and InfluxDB out
 * (real mosquitto, real victoria-metrics) next to a watched folder. A burst of files and messages larger than the
 * in-memory queue (queueBound 8) engages backpressure; every spectrum must still give exactly one result on MQTT,
 * in the store and in the time-series database, the MQTT ones under the instrument their topic names.
 */
const classes = [17, 250, 499];
const BURST = 24;
let broker: Mosquitto;
let vm: VictoriaMetrics;
let daemon: DaemonProcess;
let results: MqttClient;
const got: ResultMessage[] = [];
const root = makeTempDir('e2e-mqtt-influx');
const inbox = path.join(root, 'inbox');
const dbFile = path.join(root, 'data', 'spectrad.db');

beforeAll(async () => {
  [broker, vm] = await Promise.all([startMosquitto(), startVictoriaMetrics()]);
  const port = await freePort();
  const config = writeDaemonConfig(root, [
    `dataDir: ${root}/data`,
    'instrument: ftir-e2e',
    'logLevel: info',
    'inputs:',
    `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 100 }`,
    `  - { type: mqtt, name: mqtt, url: '${broker.url}', clientId: e2e-in }`,
    'outputs:',
    `  - { type: mqtt, url: '${broker.url}', clientId: e2e-out }`,
    `  - { type: influx, url: '${vm.url}', token: unused, org: lab, bucket: spectra }`,
    `http: { host: 127.0.0.1, port: ${port}, token: e2e-token }`,
    `library: { demo: true, demoClasses: [${classes.join(', ')}], demoPerClass: 3 }`,
    'pipeline: { batchSize: 4, windowMs: 10, queueBound: 8, statsIntervalS: 1 }',
  ]);
  results = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  results.on('message', (_topic, body) => got.push(parseResult(body)));
  await results.subscribeAsync('spectrad/+/result', { qos: 1 });
  daemon = new DaemonProcess(config, `http://127.0.0.1:${port}`, path.join(root, 'daemon.log'));
  daemon.start();
  await daemon.waitReady(150_000);
}, 200_000);

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  await results?.endAsync();
  await stopAllServers();
});

describe('end to end: folder and MQTT in, MQTT and InfluxDB out, under backpressure', () => {
  it('gives every spectrum of a burst exactly one result on MQTT, in the store and in the TSDB', async () => {
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < BURST; i++) {
      const cls = classes[i % classes.length];
      // One instrument per message: the instrument comes from topic level 1, and each TSDB series gets one point.
      sends.push(publisher.publishAsync(`spectrad/lab-${i}/spectrum`, jsonPayload(`mqtt ${i}`, cls, i % 9), { qos: 1 }));
      dropFile(inbox, `f-${cls}-${i}.jdx`, jcampText(`file ${i}`, cls, i % 9));
    }
    await Promise.all(sends);
    await publisher.endAsync();
    await until('every result on MQTT', () => got.length >= 2 * BURST, 120_000);

    const fromMqtt = got.filter((r) => r.source.startsWith('spectrad/'));
    const fromFiles = got.filter((r) => r.source.endsWith('.jdx'));
    expect(fromMqtt).toHaveLength(BURST);
    expect(fromFiles).toHaveLength(BURST);
    expect(new Set(got.map((r) => r.source)).size).toBe(2 * BURST);
    expect(new Set(got.map((r) => r.id)).size).toBe(2 * BURST);
    // Instrument from the topic for MQTT, the configured one for files; the right class for (nearly) all.
    expect(fromMqtt.every((r) => r.instrument === r.source.split('/')[1])).toBe(true);
    expect(fromFiles.every((r) => r.instrument === 'ftir-e2e')).toBe(true);
    const expected = (r: ResultMessage) => (r.source.startsWith('spectrad/') ? classes[Number(r.source.split('/')[1].slice(4)) % 3] : Number(/f-(\d+)-/.exec(r.source)![1]));
    const right = got.filter((r) => r.class === String(expected(r))).length;
    expect(right / got.length).toBeGreaterThanOrEqual(0.9);

    // Stored once each.
    const stored = storedResults(dbFile);
    expect(new Set(stored.map((s) => s.id))).toEqual(new Set(got.map((r) => r.id)));

    // The queue bound was reached: the daemon paused its inputs and resumed them.
    const log = readFileSync(daemon.logFile, 'utf8');
    expect(log).toContain('queue full: backpressure on inputs');
    expect(log).toContain('queue has room again');

    // One point per MQTT spectrum in the TSDB, under its instrument.
    await until(
      'points for every MQTT instrument',
      async () => {
        await vm.forceFlush();
        const series = await vm.exportSeries('{__name__="spectrad_result_score",instrument=~"lab-.*"}');
        return series.length === BURST && series.every((s) => s.values.length === 1);
      },
      30_000,
      500,
    );
    // The folder's points too (written by the same output, possibly in a later batch than the MQTT ones).
    await until(
      'points for the folder instrument',
      async () => {
        await vm.forceFlush();
        const fileSeries = await vm.exportSeries('{__name__="spectrad_result_score",instrument="ftir-e2e"}');
        return fileSeries.reduce((n, s) => n + s.values.length, 0) > 0;
      },
      30_000,
      500,
    );
  }, 180_000);
});
