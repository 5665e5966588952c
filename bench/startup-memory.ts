/**
 * Where the daemon's resident memory goes while it starts (issue 5: <= 600 MB "from the first second").
 *
 * Starts the real `spectrad run` (bench:daemon's config: folder + MQTT input, MQTT output, demo library of 500
 * classes, the model of --model) twice on one data dir: a first start (the demo library is generated and embedded)
 * and a restart (the library comes from the store). The daemon logs a `phase memory` line after each start-up phase
 * (process.memoryUsage and the tfjs-wasm heap, daemon/startup-memory.ts); this script samples the daemon's RSS from
 * /proc every 50 ms besides, so each phase gets the peak reached while it ran, not only its value at the end. After
 * the library's background preparation (calibration, mixture templates, unknown-component calibration) has finished,
 * it feeds 600 spectra (MQTT at 100/s, every 4th a file) as the first batches and then idles 5 s for the steady value.
 * The kernel's own high-water mark (VmHWM) is the check on the sampled peak.
 *
 * With --baseline DIR (another checkout, e.g. `git archive <commit> | tar -x -C DIR` with node_modules linked), the
 * same starts of that checkout's daemon run interleaved with this one's (baseline first start, this first start,
 * baseline restart, this restart), so before and after see the same machine load; a checkout without the phase lines
 * gets its peak, high-water mark and steady value only.
 *
 * Prints a table per start and writes bench/results/startup-memory.json.
 * Usage: npm run bench:startup-memory [-- --model DIR] [-- --baseline DIR] [-- --out FILE] [-- --feed N] [-- --label TEXT]
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import type { ResultMessage } from '../core/messages.ts';
import { freePort, makeTempDir, sleep, startMosquitto, stopAllServers, waitFor, type Mosquitto } from '../support/servers.ts';
import { BenchDaemon, BUNDLED_MODEL, loadAverage, makePayloads, procStatusMb, readModelCard, writeBenchConfig, type Payloads } from './support/daemon-bench.ts';
import { portableCommand } from './support/portable-path.ts';

const { values: opts } = parseArgs({
  options: {
    model: { type: 'string', default: BUNDLED_MODEL },
    out: { type: 'string', default: new URL('./results/startup-memory.json', import.meta.url).pathname },
    feed: { type: 'string', default: '600' },
    label: { type: 'string' },
    baseline: { type: 'string' },
    restart: { type: 'boolean', default: true },
  },
  strict: true,
});
const modelDir = resolve(opts.model);
const feedCount = Number(opts.feed);
if (!Number.isInteger(feedCount) || feedCount < 0) throw new Error('--feed must be a non-negative integer');

interface Memory {
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  wasmHeapMb?: number;
}

interface PhaseRow {
  phase: string;
  /** Seconds since the daemon was spawned. */
  atS: number;
  /** The daemon's own reading at the end of the phase. */
  memory?: Memory;
  /** Highest RSS sampled from /proc since the previous row. */
  peakRssMb: number;
}

interface StartProfile {
  start: 'first start' | 'restart';
  /** The checkout whose daemon ran (absent: this one). */
  baseline?: string;
  rows: PhaseRow[];
  /** Highest RSS sampled, and the kernel's high-water mark (VmHWM) at the end. */
  peakRssMb: number;
  vmHwmMb: number;
  /** RSS after the first batches and 5 s idle. */
  steadyRssMb: number;
  readyS: number;
  preparedS: number;
  fed: number;
  results: number;
  loadBefore: number;
  loadAfter: number;
}

const r1 = (v: number) => Math.round(v * 10) / 10;

async function profileStart(kind: StartProfile['start'], broker: Mosquitto, dir: string, payloads: Payloads, root?: string): Promise<StartProfile> {
  const inbox = join(dir, 'inbox');
  const staging = join(dir, 'staging');
  mkdirSync(inbox, { recursive: true });
  mkdirSync(staging, { recursive: true });
  const httpPort = await freePort();
  const configFile = writeBenchConfig({ dir, instrument: 'bench', inbox, brokerUrl: broker.url, clientId: 'bench-startup', httpPort, modelDir, statsIntervalS: 5 });
  const loadBefore = loadAverage()[0];
  const rows: PhaseRow[] = [];
  let spawnedAt = 0;
  let pid = 0;
  let peakSinceRow = 0;
  let peak = 0;
  let prepared = false;
  let thresholds = false;
  let unexplained = false;
  const sampler = setInterval(() => {
    if (!pid) return;
    const rss = procStatusMb(pid, 'VmRSS');
    if (Number.isFinite(rss)) {
      peakSinceRow = Math.max(peakSinceRow, rss);
      peak = Math.max(peak, rss);
    }
  }, 50);
  const mark = (phase: string, memory?: Memory, at = Date.now()) => {
    const rss = pid ? procStatusMb(pid, 'VmRSS') : NaN;
    const peakRssMb = r1(Math.max(peakSinceRow, Number.isFinite(rss) ? rss : 0, memory?.rssMb ?? 0));
    rows.push({ phase, atS: r1((at - spawnedAt) / 1000), ...(memory ? { memory } : {}), peakRssMb });
    peakSinceRow = 0;
  };
  const daemon = await BenchDaemon.start({
    configFile,
    httpPort,
    root,
    onSpawn: (p) => {
      pid = p;
      spawnedAt = Date.now();
    },
    onLogLine: (entry) => {
      if (entry.msg === 'phase memory') {
        mark(String(entry.phase), entry.memory as Memory, typeof entry.time === 'number' ? entry.time : Date.now());
        if (entry.phase === 'calibration: thresholds') thresholds = true;
        if (entry.phase === 'calibration: unexplained') unexplained = true;
        prepared ||= thresholds && unexplained;
      }
      // A checkout without phase lines: its calibration's own line ('library calibrated in a worker thread' before).
      if (entry.msg === 'library calibrated in a worker thread') prepared = true;
    },
  });
  const readyS = (Date.now() - spawnedAt) / 1000;
  let fed = 0;
  let results = 0;
  let preparedS = NaN;
  try {
    await waitFor('the library preparation (thresholds and unknown-component calibration)', () => prepared, 600_000, 200);
    preparedS = (Date.now() - spawnedAt) / 1000;
    // The first batches: MQTT at 100/s with every 4th spectrum a file, as bench:daemon's mixed row.
    const seen = new Set<string>();
    const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    sub.on('message', (_t, body) => seen.add((JSON.parse(body.toString()) as ResultMessage).source.split('/').pop() ?? ''));
    await sub.subscribeAsync('spectrad/+/result', { qos: 1 });
    const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const tag = kind === 'first start' ? 'a' : 'b';
    for (let i = 0; i < feedCount; i++) {
      if (i % 4 === 3) {
        const name = `${tag}${i}.jdx`;
        writeFileSync(join(staging, name), payloads.jcamp[i % payloads.jcamp.length]);
        renameSync(join(staging, name), join(inbox, name));
      } else {
        pub.publish(`spectrad/inst${i % 4}/spectrum/${tag}${i}`, payloads.json[i % payloads.json.length], { qos: 1 });
      }
      fed++;
      if (i % 10 === 9) await sleep(100);
    }
    await waitFor('results of the first batches', () => seen.size >= fed, 120_000, 100).catch(() => undefined);
    results = seen.size;
    mark('first batches (bench)');
    await Promise.all([sub.endAsync(), pub.endAsync()]);
    await sleep(5000);
    mark('idle 5 s (bench)');
  } finally {
    clearInterval(sampler);
  }
  const vmHwmMb = procStatusMb(daemon.pid, 'VmHWM');
  const steadyRssMb = procStatusMb(daemon.pid, 'VmRSS');
  await daemon.stop();
  return { start: kind, ...(root ? { baseline: root } : {}), rows, peakRssMb: r1(peak), vmHwmMb: r1(vmHwmMb), steadyRssMb: r1(steadyRssMb), readyS: r1(readyS), preparedS: r1(preparedS), fed, results, loadBefore, loadAfter: loadAverage()[0] };
}

function printProfile(p: StartProfile): void {
  console.log(`\n${p.baseline ? `BASELINE ${p.baseline} ` : ''}${p.start}: ready after ${p.readyS} s, library prepared after ${p.preparedS} s; fed ${p.fed}, results ${p.results}; load ${p.loadBefore} -> ${p.loadAfter}`);
  const head = ['phase (ends at)', 's', 'RSS', 'peak', 'heap', 'external', 'arrayBuf', 'wasm'];
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|`);
  const f = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : String(Math.round(v)));
  for (const r of p.rows) {
    const m = r.memory;
    console.log(`| ${r.phase} | ${r.atS} | ${f(m?.rssMb)} | ${f(r.peakRssMb)} | ${f(m?.heapUsedMb)} | ${f(m?.externalMb)} | ${f(m?.arrayBuffersMb)} | ${f(m?.wasmHeapMb)} |`);
  }
  console.log(`peak RSS sampled ${p.peakRssMb} MB, kernel high-water mark (VmHWM) ${p.vmHwmMb} MB, steady ${p.steadyRssMb} MB`);
}

async function main(): Promise<void> {
  const payloads = makePayloads();
  const broker = await startMosquitto({ maxInflight: 256 });
  const dir = makeTempDir('bench-startup-memory');
  const baseline = opts.baseline ? resolve(opts.baseline) : undefined;
  const baselineDir = baseline ? makeTempDir('bench-startup-memory-baseline') : undefined;
  const profiles: StartProfile[] = [];
  const loadAtStart = loadAverage();
  console.log(`model ${modelDir}; load average ${loadAtStart.join(' ')}${baseline ? `; baseline ${baseline}` : ''}`);
  const profile = async (kind: StartProfile['start']) => {
    if (baseline) {
      profiles.push(await profileStart(kind, broker, baselineDir!, payloads, baseline));
      printProfile(profiles.at(-1)!);
    }
    profiles.push(await profileStart(kind, broker, dir, payloads));
    printProfile(profiles.at(-1)!);
  };
  try {
    await profile('first start');
    if (opts.restart) await profile('restart');
  } finally {
    await stopAllServers();
  }
  const out = resolve(opts.out);
  mkdirSync(resolve(out, '..'), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        when: new Date().toISOString(),
        command: portableCommand('npm run bench:startup-memory --', process.argv.slice(2)),
        ...(opts.label ? { label: opts.label } : {}),
        model: readModelCard(modelDir),
        machine: { loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAverage() },
        targetRssMb: 600,
        profiles,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${out}`);
}

await main();
