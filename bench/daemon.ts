/**
 * Daemon throughput, latency, memory and exactly-once counts against real servers (mosquitto from test/support).
 *
 * Stage "adapters": the edges alone, without identification, so their share of the budget is known.
 *  - MQTT: a publisher sends JSON spectra (5000 points, benchmark class data) at a fixed rate; MqttInput receives
 *    them, a fake pipeline acknowledges each and MqttOutput publishes a result; a subscriber measures publish ->
 *    result latency and counts lost and duplicated spectra.
 *  - folder: JCAMP-DX files are renamed into a watched folder at a fixed rate (rename-on-close, as instruments do);
 *    FolderInput emits each once, the ack moves it to processed/. Latency counts from the rename and includes the
 *    file-complete wait (stabilityMs).
 * Stage "daemon": the real `spectrad run` with a folder and an MQTT input and an MQTT output, the demo library of 500
 * classes and the model of --model (default the bundled models/default), fed the same way: MQTT alone, files alone,
 * and both at once (half each), sustained at --rate; then each input at 20/s for the latency figure. Resident memory
 * of the daemon process is sampled from /proc, its CPU time from /proc/PID/stat, its time per stage from its
 * `pipeline stats` log line.
 *
 * Every daemon row records the model (architecture, version, directory), the inference engine the daemon chose
 * (onnx or tfjs) and the load average before and after it. Prints a table, writes bench/results/daemon.json.
 * Usage: npm run bench:daemon [-- --quick] [-- --duration S] [-- --rate R] [-- --only adapters|daemon]
 *        [-- --model DIR] [-- --profile DIR] [-- --out FILE]
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { FolderInput } from '../adapters/folder.ts';
import { MqttInput } from '../adapters/mqtt-input.ts';
import { MqttOutput } from '../adapters/mqtt-output.ts';
import type { RawInput } from '../adapters/types.ts';
import type { ResultMessage } from '../core/messages.ts';
import { portableCommand } from './support/portable-path.ts';
import { freePort, makeTempDir, sleep, startMosquitto, stopAllServers, type Mosquitto } from '../support/servers.ts';
import {
  BenchDaemon,
  BUNDLED_MODEL,
  FILE_STABLE_MS,
  loadAverage,
  makePayloads,
  paced,
  percentile,
  processCpuMs,
  readModelCard,
  rssMb,
  writeBenchConfig,
  type ModelInfo,
  type Payloads,
  type StageSnapshot,
} from './support/daemon-bench.ts';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    rate: { type: 'string', default: '100' },
    only: { type: 'string' },
    model: { type: 'string', default: BUNDLED_MODEL },
    profile: { type: 'string' },
    out: { type: 'string', default: new URL('./results/daemon.json', import.meta.url).pathname },
  },
  strict: true,
});
const quick = opts.quick;
const duration = Number(opts.duration ?? (quick ? 10 : 60));
const rate = Number(opts.rate);
const latencyRate = 20;
const latencySeconds = quick ? 5 : 15;
const only = opts.only;
if (only !== undefined && only !== 'adapters' && only !== 'daemon') throw new Error('--only is adapters or daemon');
for (const [k, v] of Object.entries({ duration, rate })) if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`);
const modelDir = resolve(opts.model);
if (!existsSync(join(modelDir, 'model-card.json'))) throw new Error(`--model ${modelDir}: no model-card.json there`);

type InputKind = 'mqtt' | 'folder' | 'mqtt+folder';

interface Run {
  stage: string;
  input: InputKind;
  targetRate: number;
  seconds: number;
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  maxRssMb: number;
  /** Daemon process CPU (user + system, all threads) per spectrum received in this run. */
  cpuMsPerSpectrum?: number;
  /** Time per spectrum in each pipeline stage during this run (from the daemon's 'pipeline stats' log). */
  stagesMsPerItem?: Record<string, { ms: number; cpuMs: number }>;
  /** The model and engine the daemon ran with (daemon rows). */
  model?: ModelInfo;
  /** 1-minute load average of the machine before and after the run. */
  loadBefore?: number;
  loadAfter?: number;
  note?: string;
}

/** Per-item wall and CPU ms of each stage between two snapshots of the daemon's summed stage times. */
function stageDelta(before: StageSnapshot, after: StageSnapshot): Record<string, { ms: number; cpuMs: number }> {
  const out: Record<string, { ms: number; cpuMs: number }> = {};
  const r = (v: number) => Math.round(v * 1000) / 1000;
  for (const [stage, t] of Object.entries(after)) {
    const b = before[stage] ?? { items: 0, ms: 0, cpuMs: 0 };
    const items = t.items - b.items;
    if (items > 0) out[stage] = { ms: r((t.ms - b.ms) / items), cpuMs: r((t.cpuMs - b.cpuMs) / items) };
  }
  return out;
}

class Tally {
  readonly sentAt = new Map<string, number>();
  readonly seen = new Map<string, number>();
  readonly latencies: number[] = [];
  maxRss = 0;

  sent(id: string): void {
    this.sentAt.set(id, performance.now());
  }

  got(id: string): void {
    const n = (this.seen.get(id) ?? 0) + 1;
    this.seen.set(id, n);
    const t = this.sentAt.get(id);
    if (n === 1 && t !== undefined) this.latencies.push(performance.now() - t);
  }

  summary(stage: string, input: Run['input'], targetRate: number, seconds: number, elapsedS: number, note?: string): Run {
    const lat = [...this.latencies].sort((a, b) => a - b);
    let lost = 0;
    for (const id of this.sentAt.keys()) if (!this.seen.has(id)) lost++;
    let duplicated = 0;
    for (const n of this.seen.values()) duplicated += n - 1;
    return {
      stage,
      input,
      targetRate,
      seconds,
      sent: this.sentAt.size,
      received: this.seen.size,
      lost,
      duplicated,
      throughput: Math.round((this.seen.size / elapsedS) * 10) / 10,
      p50Ms: Math.round(percentile(lat, 50) * 10) / 10,
      p99Ms: Math.round(percentile(lat, 99) * 10) / 10,
      maxRssMb: Math.round(this.maxRss),
      ...(note ? { note } : {}),
    };
  }
}

/** Waits until everything sent was seen once, or nothing new arrived for a while. */
async function drain(tally: Tally, idleMs = 3000): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  while (tally.seen.size < tally.sentAt.size && Date.now() - lastChange < idleMs) {
    if (tally.seen.size !== last) {
      last = tally.seen.size;
      lastChange = Date.now();
    }
    await sleep(50);
  }
}

function fakeResult(input: RawInput, id: string): ResultMessage {
  return {
    id,
    instrument: input.instrument ?? 'bench',
    source: input.source,
    receivedAt: input.receivedAt,
    status: 'identified',
    class: 'bench',
    score: 1,
    candidates: [{ class: 'bench', score: 1 }],
    latencyMs: 0,
    modelVersion: 'bench',
  };
}

async function subscriber(url: string, filter: string, onMessage: (topic: string, body: Buffer) => void): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5 });
  client.on('message', (topic, body) => onMessage(topic, body));
  await client.subscribeAsync(filter, { qos: 1 });
  return client;
}

async function adaptersMqtt(broker: Mosquitto, payloads: string[], perSecond: number, seconds: number): Promise<Run> {
  const tally = new Tally();
  const tag = `m${perSecond}`;
  const input = new MqttInput({ name: 'mqtt', url: broker.url, clientId: `bench-in-${tag}`, topics: [`bench/${tag}/+/spectrum`], instrumentTopicLevel: 2 });
  const output = new MqttOutput({ name: 'mqtt-out', node: 'bench', url: broker.url, topicPrefix: `out-${tag}` });
  const results = await subscriber(broker.url, `out-${tag}/+/result`, (_t, body) => tally.got((JSON.parse(body.toString()) as ResultMessage).id));
  input.inputs$.subscribe((raw) => {
    // The real pipeline commits, then acks, then publishes; here: ack, then publish.
    const id = (JSON.parse(raw.payload.toString()) as { meta: { id: string } }).meta.id;
    // A publish the broker did not confirm in time (a very loaded machine) counts as lost, not as a crash.
    void raw
      .ack()
      .then(() => output.publishResult(fakeResult(raw, id)))
      .catch(() => undefined);
  });
  await output.start();
  await input.start();
  const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  const timer = setInterval(() => (tally.maxRss = Math.max(tally.maxRss, rssMb())), 250);
  const t0 = performance.now();
  await paced(perSecond, seconds, (i) => {
    const id = `${tag}-${i}`;
    const body = payloads[i % payloads.length].replace('"meta":{', `"meta":{"id":"${id}",`);
    tally.sent(id);
    publisher.publish(`bench/${tag}/inst${i % 4}/spectrum`, body, { qos: 1 });
  });
  await drain(tally);
  const elapsed = (performance.now() - t0) / 1000;
  clearInterval(timer);
  await Promise.all([publisher.endAsync(), results.endAsync(), input.stop(), output.stop()]);
  return tally.summary('adapters', 'mqtt', perSecond, seconds, Math.max(seconds, elapsed), 'MqttInput -> ack -> MqttOutput -> subscriber');
}

async function adaptersFolder(payloads: string[], perSecond: number, seconds: number): Promise<Run> {
  const tally = new Tally();
  const inbox = makeTempDir('bench-inbox');
  const staging = makeTempDir('bench-staging');
  const input = new FolderInput({ name: 'inbox', paths: [inbox], patterns: ['*.jdx'], stabilityMs: FILE_STABLE_MS });
  input.inputs$.subscribe((raw) => {
    tally.got(raw.formatHint ?? raw.source);
    void raw.ack();
  });
  await input.start();
  const timer = setInterval(() => (tally.maxRss = Math.max(tally.maxRss, rssMb())), 250);
  const t0 = performance.now();
  await paced(perSecond, seconds, (i) => {
    const name = `s${i}.jdx`;
    writeFileSync(join(staging, name), payloads[i % payloads.length]);
    tally.sent(name);
    renameSync(join(staging, name), join(inbox, name));
  });
  await drain(tally);
  const elapsed = (performance.now() - t0) / 1000;
  clearInterval(timer);
  await input.stop();
  const processed = existsSync(join(inbox, 'processed')) ? readdirSync(join(inbox, 'processed')).length : 0;
  return tally.summary('adapters', 'folder', perSecond, seconds, Math.max(seconds, elapsed), `FolderInput, stabilityMs ${FILE_STABLE_MS}, ${processed} moved to processed/`);
}

/** The real daemon (`spectrad run`) with the model of --model. */
async function daemonStage(broker: Mosquitto, payloads: Payloads, runs: Run[]): Promise<ModelInfo> {
  const dir = makeTempDir('bench-daemon');
  const inbox = join(dir, 'inbox');
  const staging = join(dir, 'staging');
  mkdirSync(inbox);
  mkdirSync(staging);
  const httpPort = await freePort();
  const configFile = writeBenchConfig({ dir, instrument: 'bench', inbox, brokerUrl: broker.url, clientId: 'bench-daemon', httpPort, modelDir });
  // --profile DIR: a V8 CPU profile of the daemon process (open it in Chrome DevTools or read it with bench/cpu-profile-top.ts).
  const daemon = await BenchDaemon.start({ configFile, httpPort, cpuProfileDir: opts.profile });
  const card = readModelCard(modelDir);
  const model: ModelInfo = { ...card, engine: daemon.engine };
  console.log(`daemon model: ${model.architecture} ${model.version} (${model.dir}), inference engine ${model.engine ?? 'unknown'}`);
  try {
    const health = async () => {
      const h = await daemon.health();
      return JSON.stringify({ queues: h.queues, outbox: h.outbox, counts: h.counts });
    };
    const dropFile = (name: string, i: number) => {
      writeFileSync(join(staging, name), payloads.jcamp[i % payloads.jcamp.length]);
      renameSync(join(staging, name), join(inbox, name));
    };
    // Warm-up: the first batches compile the model's kernels; they are not what a running daemon costs.
    {
      const warm = new Tally();
      const sub = await subscriber(broker.url, 'spectrad/+/result', (_t, body) => warm.got((JSON.parse(body.toString()) as ResultMessage).source.split('/').pop() ?? ''));
      for (let i = 0; i < 40; i++) {
        warm.sent(`warm-${i}.jdx`);
        dropFile(`warm-${i}.jdx`, i);
      }
      await drain(warm, 60_000);
      await sub.endAsync();
      console.log(`warm-up: ${warm.seen.size}/40 results; health ${await health()}`);
    }
    for (const [input, perSecond, seconds] of [
      ['mqtt', rate, duration],
      ['folder', rate, duration],
      ['mqtt+folder', rate, duration],
      ['mqtt', latencyRate, latencySeconds],
      ['folder', latencyRate, latencySeconds],
    ] as const) {
      const tally = new Tally();
      const tag = `${input.replace('+', '')}${perSecond}`;
      const sub = await subscriber(broker.url, 'spectrad/+/result', (_t, body) => {
        const r = JSON.parse(body.toString()) as ResultMessage;
        // MQTT: the source is the topic; folder: the file path.
        const key = r.source.startsWith('spectrad/') ? r.source : (r.source.split('/').pop() ?? r.source);
        if (key.includes(`${tag}-`)) tally.got(key);
      });
      const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
      const timer = setInterval(() => (tally.maxRss = Math.max(tally.maxRss, rssMb(daemon.pid))), 250);
      const stagesBefore = (await daemon.freshStats())?.stages ?? {};
      const cpuBefore = processCpuMs(daemon.pid);
      const loadBefore = loadAverage()[0];
      const t0 = performance.now();
      await paced(perSecond, seconds, (i) => {
        const viaMqtt = input === 'mqtt' || (input === 'mqtt+folder' && i % 2 === 0);
        if (viaMqtt) {
          const topic = `spectrad/inst${(i >> 1) % 4}/spectrum/${tag}-${i}`;
          tally.sent(topic);
          publisher.publish(topic, payloads.json[i % payloads.json.length], { qos: 1 });
        } else {
          const name = `${tag}-${i}.jdx`;
          tally.sent(name);
          dropFile(name, i);
        }
      });
      await drain(tally, 30_000);
      const elapsed = (performance.now() - t0) / 1000;
      clearInterval(timer);
      await Promise.all([sub.endAsync(), publisher.endAsync()]);
      const cpuMs = processCpuMs(daemon.pid) - cpuBefore;
      const stagesMsPerItem = stageDelta(stagesBefore, (await daemon.freshStats())?.stages ?? {});
      const after = await health();
      const run = tally.summary('daemon', input, perSecond, seconds, Math.max(seconds, elapsed), `spectrad run, demo library (500 classes); after: ${after}`);
      runs.push({ ...run, cpuMsPerSpectrum: Math.round((cpuMs / Math.max(1, run.received)) * 100) / 100, stagesMsPerItem, model, loadBefore, loadAfter: loadAverage()[0] });
      console.log(formatRow(runs.at(-1)!));
      console.log(`  daemon CPU ${runs.at(-1)!.cpuMsPerSpectrum} ms/spectrum; stages ms/spectrum wall (CPU): ${Object.entries(stagesMsPerItem).map(([k, v]) => `${k} ${v.ms} (${v.cpuMs})`).join(', ')}`);
      console.log(`  health after: ${after}`);
    }
  } finally {
    await daemon.stop();
  }
  return model;
}

function formatRow(r: Run): string {
  return [r.stage.padEnd(9), r.input.padEnd(11), String(r.targetRate).padStart(6), String(r.seconds).padStart(4), String(r.sent).padStart(6), String(r.lost).padStart(5), String(r.duplicated).padStart(5), String(r.throughput).padStart(8), String(r.p50Ms).padStart(8), String(r.p99Ms).padStart(8), String(r.maxRssMb).padStart(7), String(r.loadBefore ?? '').padStart(6)].join(' ');
}

async function main(): Promise<void> {
  const payloads = makePayloads();
  const broker = await startMosquitto({ maxInflight: 256 });
  const runs: Run[] = [];
  const loadAtStart = loadAverage();
  let model: ModelInfo | undefined;
  console.log(`spectra: ${payloads.json.length} distinct, JSON ~${Math.round(payloads.json[0].length / 1024)} KiB, JCAMP ~${Math.round(payloads.jcamp[0].length / 1024)} KiB; load average ${loadAtStart.join(' ')}`);
  console.log(['stage'.padEnd(9), 'input'.padEnd(11), 'rate/s'.padStart(6), 'sec'.padStart(4), 'sent'.padStart(6), 'lost'.padStart(5), 'dup'.padStart(5), 'got/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'RSS MB'.padStart(7), 'load'.padStart(6)].join(' '));
  try {
    if (only !== 'daemon') {
      for (const run of [
        () => adaptersMqtt(broker, payloads.json, rate, duration),
        () => adaptersFolder(payloads.jcamp, rate, duration),
        () => adaptersMqtt(broker, payloads.json, latencyRate, latencySeconds),
        () => adaptersFolder(payloads.jcamp, latencyRate, latencySeconds),
      ]) {
        const loadBefore = loadAverage()[0];
        const r = await run();
        runs.push({ ...r, loadBefore, loadAfter: loadAverage()[0] });
        console.log(formatRow(runs.at(-1)!));
      }
    }
    if (only !== 'adapters') model = await daemonStage(broker, payloads, runs);
  } finally {
    await stopAllServers();
  }
  const out = opts.out;
  mkdirSync(resolve(out, '..'), { recursive: true });
  if (only && existsSync(out)) {
    // --only one stage: the other stage's rows of the previous run are kept, marked with when they were measured.
    const previous = JSON.parse(readFileSync(out, 'utf8')) as { when: string; runs: Array<Run & { measuredAt?: string }> };
    const kept = previous.runs.filter((r) => r.stage !== only).map((r) => ({ ...r, measuredAt: r.measuredAt ?? previous.when }));
    runs.unshift(...kept);
  }
  writeFileSync(
    out,
    JSON.stringify(
      {
        when: new Date().toISOString(),
        command: portableCommand('npm run bench:daemon --', process.argv.slice(2)),
        machine: { cpus: cpus().length, node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAverage() },
        model,
        targets: { throughputPerS: 100, p99MsAt20PerS: 500, rssMb: 600, lost: 0, duplicated: 0 },
        runs,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${out}`);
}

await main();
