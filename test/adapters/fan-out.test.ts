/**
 * The adapters composed as the daemon composes them, with a stand-in for the pipeline (real parser, no model):
 * a JCAMP-DX file dropped into a watched folder comes out on MQTT, socket.io and in the time-series database as the
 * same ResultMessage, valid against docs/RESULT-SCHEMA.json; a broken file ends in failed/ with a 'rejected' result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { io as connectClient } from 'socket.io-client';
import { FolderInput } from '../../adapters/folder.ts';
import { InfluxOutput } from '../../adapters/influx-output.ts';
import { MqttOutput } from '../../adapters/mqtt-output.ts';
import { SocketIoOutput } from '../../adapters/socketio-output.ts';
import type { OutputAdapter, RawInput } from '../../adapters/types.ts';
import { parseSpectra, toJcamp } from '../../core/formats/index.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import { validatorsFromDoc } from '../support/schema.ts';
import { makeTempDir, startMosquitto, startVictoriaMetrics, stopAllServers, waitFor, type Mosquitto, type VictoriaMetrics } from '../../support/servers.ts';

let broker: Mosquitto;
let vm: VictoriaMetrics;

beforeAll(async () => {
  [broker, vm] = await Promise.all([startMosquitto(), startVictoriaMetrics()]);
});

afterAll(stopAllServers);

/** The pipeline's part, minimally: parse, decide, publish everywhere, then acknowledge (or reject) the input. */
async function standInPipeline(raw: RawInput, outputs: OutputAdapter[], seq: number): Promise<ResultMessage> {
  const started = performance.now();
  const base = { id: `01TEST${String(seq).padStart(4, '0')}`, instrument: raw.instrument ?? 'bench', source: raw.source, receivedAt: raw.receivedAt, modelVersion: 'stand-in' };
  let result: ResultMessage;
  try {
    const [spectrum] = parseSpectra(raw.payload, { fileName: raw.formatHint });
    const cls = spectrum.meta.title ?? 'unknown';
    result = { ...base, status: 'identified', class: cls, score: 0.97, candidates: [{ class: cls, score: 0.97 }], latencyMs: performance.now() - started };
  } catch (err) {
    if (!(err instanceof SpectrumInputError)) throw err;
    result = { ...base, status: 'rejected', score: 0, candidates: [], error: { code: err.code, message: err.message }, latencyMs: performance.now() - started };
  }
  await Promise.all(outputs.map((o) => o.publishResult(result)));
  if (result.status === 'rejected') await raw.reject(result.error!.message);
  else await raw.ack();
  return result;
}

describe('adapters composed: folder in, MQTT + socket.io + InfluxDB out', () => {
  it('a dropped JCAMP-DX file comes out everywhere as the same valid result; a broken one ends in failed/', async () => {
    const schema = validatorsFromDoc();
    const inbox = makeTempDir('fanout-inbox');
    const staging = makeTempDir('fanout-staging');
    const http = createServer();
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const port = (http.address() as { port: number }).port;

    const mqttOut = new MqttOutput({ name: 'mqtt-out', node: 'lab-a', url: broker.url });
    const influx = new InfluxOutput({ name: 'influx', node: 'lab-a', url: vm.url, org: 'lab', bucket: 'spectra', throughputIntervalMs: 0 });
    const socket = new SocketIoOutput({ name: 'socketio', server: http });
    const outputs = [mqttOut, influx, socket];
    const folder = new FolderInput({ name: 'inbox', paths: [inbox], instrument: 'uv-7', stabilityMs: 150, pollMs: 50 });
    await Promise.all(outputs.map((o) => o.start()));

    const onMqtt: ResultMessage[] = [];
    const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    sub.on('message', (_t, body) => onMqtt.push(JSON.parse(body.toString()) as ResultMessage));
    await sub.subscribeAsync('spectrad/uv-7/result', { qos: 1 });
    const onSocket: ResultMessage[] = [];
    const dashboard = connectClient(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
    dashboard.on('result', (r: ResultMessage) => onSocket.push(r));
    await new Promise<void>((r) => dashboard.once('connect', () => r()));

    const done: Promise<ResultMessage>[] = [];
    let seq = 0;
    folder.inputs$.subscribe((raw) => done.push(standInPipeline(raw, outputs, ++seq)));
    await folder.start();
    try {
      const y = Array.from({ length: 200 }, (_, i) => Math.exp(-(((i - 80) / 6) ** 2)));
      writeFileSync(join(staging, 'good.jdx'), toJcamp(createSpectrum({ y, meta: { title: 'caffeine' } })));
      renameSync(join(staging, 'good.jdx'), join(inbox, 'good.jdx'));
      writeFileSync(join(inbox, 'broken.jdx'), '##TITLE=broken\n##XYDATA=(X++(Y..Y))\n1 2 x y z\n##END=\n');

      await waitFor('two results on MQTT and socket.io', () => onMqtt.length === 2 && onSocket.length === 2);
      const results = await Promise.all(done);
      const good = results.find((r) => r.status === 'identified')!;
      const bad = results.find((r) => r.status === 'rejected')!;
      expect(good).toMatchObject({ class: 'caffeine', instrument: 'uv-7', source: join(inbox, 'good.jdx') });
      expect(bad.error?.code).toBeTruthy();
      for (const r of [...onMqtt, ...onSocket]) expect(schema.result.safeParse(r).error).toBeUndefined();
      const byId = (list: ResultMessage[]) => Object.fromEntries(list.map((r) => [r.id, r]));
      expect(byId(onMqtt)).toEqual(byId(onSocket));
      expect(byId(onMqtt)[good.id].class).toBe('caffeine');

      await vm.forceFlush();
      const series = await waitFor('points in the TSDB', async () => {
        const s = await vm.exportSeries('spectrad_result_score{instrument="uv-7"}');
        return s.length === 2 ? s : undefined;
      });
      expect(series.map((s) => `${s.metric.status}:${s.metric.class}`).sort()).toEqual(['identified:caffeine', 'rejected:none']);

      expect(existsSync(join(inbox, 'processed', 'good.jdx'))).toBe(true);
      expect(readFileSync(join(inbox, 'failed', 'broken.jdx.error.txt'), 'utf8')).toContain(bad.error!.message);
    } finally {
      dashboard.close();
      await sub.endAsync();
      await folder.stop();
      await Promise.all(outputs.map((o) => o.stop()));
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});
