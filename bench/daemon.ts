/**
 * Daemon throughput, latency, memory and exactly-once counts against real servers (mosquitto from test/support).
 *
 * Stage "adapters" (always): the edges alone, without identification, so their share of the budget is known.
 *  - MQTT: a publisher sends JSON spectra (5000 points, benchmark class data) at a fixed rate; MqttInput receives
 *    them, a fake pipeline acknowledges each and MqttOutput publishes a result; a subscriber measures publish ->
 *    result latency and counts lost and duplicated spectra.
 *  - folder: JCAMP-DX files are renamed into a watched folder at a fixed rate (rename-on-close, as instruments do);
 *    FolderInput emits each once, the ack moves it to processed/. Latency counts from the rename and includes the
 *    file-complete wait (stableMs).
 * Stage "daemon" (when `spectrad run` exists): the real daemon with a folder and an MQTT input and an MQTT output,
 * fed the same way; resident memory of the daemon process sampled from /proc.
 *
 * Each stage runs sustained at --rate (default 100/s) for --duration seconds (default 60; --quick: 10), then at 20/s
 * for the latency figure. Prints a table, writes bench/results/daemon.json.
 * Usage: npm run bench:daemon [-- --quick] [-- --duration S] [-- --rate R] [-- --only adapters|daemon]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { FolderInput } from '../adapters/folder.ts';
import { MqttInput } from '../adapters/mqtt-input.ts';
import { MqttOutput } from '../adapters/mqtt-output.ts';
import type { RawInput } from '../adapters/types.ts';
import { generateTestSplit, loadDefinition } from '../core/benchmark/index.ts';
import { toJcamp } from '../core/formats/index.ts';
import type { ResultMessage } from '../core/messages.ts';
import { createSpectrum } from '../core/spectrum.ts';
import { freePort, makeTempDir, sleep, startMosquitto, stopAllServers, waitFor, type Mosquitto } from '../test/support/servers.ts';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const duration = Number(arg('duration') ?? (quick ? 10 : 60));
const rate = Number(arg('rate') ?? 100);
const latencyRate = 20;
const latencySeconds = quick ? 5 : 15;
const only = arg('only');
const FILE_STABLE_MS = 200;

interface Run {
  stage: string;
  input: 'mqtt' | 'folder';
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
  note?: string;
}

interface StageTotal {
  items: number;
  ms: number;
  cpuMs: number;
}
type StageSnapshot = Record<string, StageTotal>;

/** CPU time (ms) a process used so far, user + system, from /proc/PID/stat (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
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

/** Benchmark spectra as JCAMP-DX text and as MQTT JSON, cycling through 20 classes. */
function makePayloads(): { jcamp: string[]; json: string[] } {
  const def = loadDefinition('benchmark');
  const ds = generateTestSplit(def, { classes: Array.from({ length: 20 }, (_, i) => i * 25) });
  const jcamp: string[] = [];
  const json: string[] = [];
  for (let i = 0; i < ds.n; i += 9) {
    const y = Array.from(ds.x.subarray(i * ds.points, (i + 1) * ds.points), (v) => Math.round(v * 1e5) / 1e5);
    jcamp.push(toJcamp(createSpectrum({ y, meta: { title: `class ${ds.y[i]}` } })));
    json.push(JSON.stringify({ y, meta: { title: `class ${ds.y[i]}` } }));
  }
  return { jcamp, json };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Calls send(i) at a steady rate for the given time; returns how many were sent. */
async function paced(perSecond: number, seconds: number, send: (i: number) => void | Promise<void>): Promise<number> {
  const total = Math.round(perSecond * seconds);
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    await send(i);
  }
  return total;
}

function rssMb(pid = process.pid): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
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
  const output = new MqttOutput({ name: 'mqtt-out', url: broker.url, topicPrefix: `out-${tag}` });
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
  const input = new FolderInput({ name: 'inbox', folders: [inbox], patterns: ['*.jdx'], stableMs: FILE_STABLE_MS });
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
  return tally.summary('adapters', 'folder', perSecond, seconds, Math.max(seconds, elapsed), `FolderInput, stableMs ${FILE_STABLE_MS}, ${processed} moved to processed/`);
}

/** The real daemon, when its run command exists. */
async function daemonStage(broker: Mosquitto, payloads: { jcamp: string[]; json: string[] }, runs: Run[]): Promise<void> {
  if (!existsSync(new URL('../daemon/commands/run.ts', import.meta.url))) {
    console.log('stage daemon: skipped, `spectrad run` does not exist yet (daemon/commands/run.ts)');
    return;
  }
  const dir = makeTempDir('bench-daemon');
  const inbox = join(dir, 'inbox');
  const staging = join(dir, 'staging');
  mkdirSync(inbox);
  mkdirSync(staging);
  const httpPort = await freePort();
  const config = [
    'instrument: bench',
    `dataDir: ${join(dir, 'data')}`,
    'logLevel: info',
    'pipeline:',
    '  statsIntervalS: 1',
    'inputs:',
    '  - type: folder',
    '    name: inbox',
    `    paths: [${inbox}]`,
    `    stabilityMs: ${FILE_STABLE_MS}`,
    '  - type: mqtt',
    '    name: mqtt',
    `    url: ${broker.url}`,
    '    topics: [spectrad/+/spectrum]',
    '    clientId: bench-daemon',
    'outputs:',
    '  - type: mqtt',
    `    url: ${broker.url}`,
    'http:',
    '  host: 127.0.0.1',
    `  port: ${httpPort}`,
    'library:',
    '  demo: true',
  ].join('\n');
  writeFileSync(join(dir, 'spectrad.yaml'), config + '\n');
  const bin = new URL('../bin/spectrad.js', import.meta.url).pathname;
  // --profile DIR: a V8 CPU profile of the daemon process (open it in Chrome DevTools or read it with bench/cpu-profile-top.ts).
  const profile = arg('profile');
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, bin, 'run', '--config', join(dir, 'spectrad.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  // The daemon logs its summed stage times every second; the latest is kept to difference around each run.
  let stages: { at: number; snapshot: StageSnapshot } = { at: 0, snapshot: {} };
  let partial = '';
  child.stdout?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"pipeline stats"')) continue;
      try {
        const entry = JSON.parse(line) as { stages?: StageSnapshot };
        stages = { at: Date.now(), snapshot: entry.stages ?? {} };
      } catch {
        // a log line that is not ours
      }
    }
  });
  const freshStages = async (): Promise<StageSnapshot> => {
    const asked = Date.now();
    await waitFor('a fresh pipeline stats line', () => stages.at > asked, 5000, 100).catch(() => undefined);
    return stages.snapshot;
  };
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  try {
    await waitFor('daemon health', async () => (await fetch(`http://127.0.0.1:${httpPort}/api/health`).catch(() => undefined))?.ok, 180_000, 500).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${stderr}`);
    });
    const health = async () => {
      const h = (await (await fetch(`http://127.0.0.1:${httpPort}/api/health`)).json()) as { queues?: unknown; outbox?: unknown; counts?: unknown };
      return JSON.stringify({ queues: h.queues, outbox: h.outbox, counts: h.counts });
    };
    // Warm-up: the first batches compile the model's kernels; they are not what a running daemon costs.
    {
      const warm = new Tally();
      const sub = await subscriber(broker.url, 'spectrad/+/result', (_t, body) => warm.got((JSON.parse(body.toString()) as ResultMessage).source.split('/').pop() ?? ''));
      for (let i = 0; i < 40; i++) {
        const name = `warm-${i}.jdx`;
        writeFileSync(join(staging, name), payloads.jcamp[i % payloads.jcamp.length]);
        warm.sent(name);
        renameSync(join(staging, name), join(inbox, name));
      }
      await drain(warm, 60_000);
      await sub.endAsync();
      console.log(`warm-up: ${warm.seen.size}/40 results; health ${await health()}`);
    }
    for (const [input, perSecond, seconds] of [
      ['mqtt', rate, duration],
      ['folder', rate, duration],
      ['mqtt', latencyRate, latencySeconds],
      ['folder', latencyRate, latencySeconds],
    ] as const) {
      const tally = new Tally();
      const tag = `${input}${perSecond}`;
      const sub = await subscriber(broker.url, 'spectrad/+/result', (_t, body) => {
        const r = JSON.parse(body.toString()) as ResultMessage;
        const key = input === 'folder' ? r.source.split('/').pop() ?? r.source : r.source;
        if (key.includes(tag)) tally.got(key);
      });
      const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
      const timer = setInterval(() => (tally.maxRss = Math.max(tally.maxRss, rssMb(child.pid))), 250);
      const stagesBefore = await freshStages();
      const cpuBefore = processCpuMs(child.pid!);
      const t0 = performance.now();
      await paced(perSecond, seconds, (i) => {
        if (input === 'mqtt') {
          const topic = `spectrad/${tag}-${i}/spectrum`;
          tally.sent(topic);
          publisher.publish(topic, payloads.json[i % payloads.json.length], { qos: 1 });
        } else {
          const name = `${tag}-${i}.jdx`;
          writeFileSync(join(staging, name), payloads.jcamp[i % payloads.jcamp.length]);
          tally.sent(name);
          renameSync(join(staging, name), join(inbox, name));
        }
      });
      await drain(tally, 30_000);
      const elapsed = (performance.now() - t0) / 1000;
      clearInterval(timer);
      await Promise.all([sub.endAsync(), publisher.endAsync()]);
      const cpuMs = processCpuMs(child.pid!) - cpuBefore;
      const stagesMsPerItem = stageDelta(stagesBefore, await freshStages());
      const after = await health();
      const run = tally.summary('daemon', input, perSecond, seconds, Math.max(seconds, elapsed), `spectrad run, bundled model (models/default, tiny architecture, not the paper's seed), demo library; after: ${after}`);
      runs.push({ ...run, cpuMsPerSpectrum: Math.round((cpuMs / Math.max(1, run.received)) * 100) / 100, stagesMsPerItem });
      console.log(formatRow(runs.at(-1)!));
      console.log(`  daemon CPU ${runs.at(-1)!.cpuMsPerSpectrum} ms/spectrum; stages ms/spectrum wall (CPU): ${Object.entries(stagesMsPerItem).map(([k, v]) => `${k} ${v.ms} (${v.cpuMs})`).join(', ')}`);
      console.log(`  health after: ${after}`);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

function formatRow(r: Run): string {
  return [r.stage.padEnd(9), r.input.padEnd(7), String(r.targetRate).padStart(5), String(r.seconds).padStart(4), String(r.sent).padStart(6), String(r.lost).padStart(5), String(r.duplicated).padStart(5), String(r.throughput).padStart(8), String(r.p50Ms).padStart(8), String(r.p99Ms).padStart(8), String(r.maxRssMb).padStart(7)].join(' ');
}

async function main(): Promise<void> {
  const payloads = makePayloads();
  const broker = await startMosquitto({ maxInflight: 256 });
  const runs: Run[] = [];
  console.log(`spectra: ${payloads.json.length} distinct, JSON ~${Math.round(payloads.json[0].length / 1024)} KiB, JCAMP ~${Math.round(payloads.jcamp[0].length / 1024)} KiB`);
  console.log(['stage'.padEnd(9), 'input'.padEnd(7), 'rate/s'.padStart(5), 'sec'.padStart(4), 'sent'.padStart(6), 'lost'.padStart(5), 'dup'.padStart(5), 'got/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'RSS MB'.padStart(7)].join(' '));
  try {
    if (only !== 'daemon') {
      for (const run of [
        () => adaptersMqtt(broker, payloads.json, rate, duration),
        () => adaptersFolder(payloads.jcamp, rate, duration),
        () => adaptersMqtt(broker, payloads.json, latencyRate, latencySeconds),
        () => adaptersFolder(payloads.jcamp, latencyRate, latencySeconds),
      ]) {
        runs.push(await run());
        console.log(formatRow(runs.at(-1)!));
      }
    }
    if (only !== 'adapters') await daemonStage(broker, payloads, runs);
  } finally {
    await stopAllServers();
  }
  const out = new URL('./results/daemon.json', import.meta.url);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
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
        machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
        targets: { throughputPerS: 100, p99MsAt20PerS: 500, rssMb: 600, lost: 0, duplicated: 0 },
        runs,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${out.pathname}`);
}

await main();
