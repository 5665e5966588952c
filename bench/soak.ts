/**
 * Soak and burst against the real daemon (`spectrad run`, the model of --model, default the bundled one; demo
 * library of 500 classes) with real mosquitto.
 *
 * Soak: spectra at a steady --rate (default 20/s, half MQTT messages, half JCAMP-DX files renamed into the watched
 * folder) for --minutes (default 10). Every second: daemon RSS and heap, event-loop delay (p99, max) and queue state
 * from the daemon's `pipeline stats` log line, and p50/p99 of arrival -> published-result latency of the results
 * that came in that second. Growth is reported as the least-squares slope over the soak after its first minute
 * (MB/min, ms/min): a leak or a creeping queue shows as a clearly positive slope.
 *
 * Burst: --burst-factor (default 10) times the rate for --burst-seconds (default 30), then the soak rate again until
 * every burst spectrum has its result. Counted: backpressure engaged (the pipeline paused its inputs), the largest
 * in-memory queue (bounded by pipeline.queueBound), the most MQTT messages held and files left waiting, lost and
 * duplicated results, and the recovery time from the end of the burst until the last burst result and an empty queue.
 *
 * Heap: the daemon runs with --expose-gc and bench/support/heap-probe.mjs preloaded, which forces a full garbage
 * collection every --heap-probe-s seconds (default 10) and logs the heap that survived it. Heap used between
 * collections swings by tens of MB with allocation; the heap after a full collection is what the daemon holds, so its
 * slope is the leak test. RSS includes the allocator's and wasm's retained pages and settles more slowly.
 *
 * Prints a table, writes bench/results/soak.json.
 * Usage: npm run bench:soak [-- --minutes N] [-- --rate R] [-- --burst-factor F] [-- --burst-seconds S] [-- --queue-bound N]
 *        [-- --model DIR] [-- --heap-probe-s S] [-- --snapshots DIR] [-- --out FILE]
 */
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import type { ResultMessage } from '../core/messages.ts';
import { portablePath } from './support/portable-path.ts';
import { freePort, makeTempDir, sleep, startMosquitto, stopAllServers } from '../support/servers.ts';
import {
  BenchDaemon,
  BUNDLED_MODEL,
  loadAverage,
  makePayloads,
  paced,
  percentile,
  readModelCard,
  round2 as r2,
  slope,
  writeBenchConfig,
  type HeapProbeLine,
} from './support/daemon-bench.ts';

const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '20' },
    'burst-factor': { type: 'string', default: '10' },
    'burst-seconds': { type: 'string', default: '30' },
    'queue-bound': { type: 'string', default: '512' },
    'heap-probe-s': { type: 'string', default: '10' },
    /** Heap snapshots of the daemon after the first 2 minutes and at the soak's end, into this folder (for a leak hunt). */
    snapshots: { type: 'string' },
    model: { type: 'string', default: BUNDLED_MODEL },
    out: { type: 'string', default: new URL('./results/soak.json', import.meta.url).pathname },
  },
  strict: true,
});
const minutes = Number(opts.minutes);
const rate = Number(opts.rate);
const burstFactor = Number(opts['burst-factor']);
const burstSeconds = Number(opts['burst-seconds']);
const queueBound = Number(opts['queue-bound']);
const heapProbeS = Number(opts['heap-probe-s']);
for (const [k, v] of Object.entries({ minutes, rate, burstFactor, burstSeconds, queueBound, heapProbeS })) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`);
}
const modelDir = resolve(opts.model);

interface Sample {
  t: number;
  phase: 'soak' | 'burst' | 'recovery';
  sentTotal: number;
  resultsTotal: number;
  rssMb: number;
  heapMb: number;
  loopP99Ms: number;
  loopMaxMs: number;
  inMemory: number;
  ingesting: number;
  pressured: boolean;
  inboxFiles: number;
  latP50Ms: number;
  latP99Ms: number;
  load1: number;
}

async function main(): Promise<void> {
  const payloads = makePayloads();
  const broker = await startMosquitto({ maxInflight: 256 });
  const dir = makeTempDir('soak');
  const inbox = join(dir, 'inbox');
  const staging = join(dir, 'staging');
  mkdirSync(inbox);
  mkdirSync(staging);
  const httpPort = await freePort();
  const configFile = writeBenchConfig({ dir, instrument: 'soak', inbox, brokerUrl: broker.url, clientId: 'soak-daemon', httpPort, modelDir, queueBound });
  const loadAtStart = loadAverage();
  if (opts.snapshots) mkdirSync(opts.snapshots, { recursive: true });
  const daemon = await BenchDaemon.start({ configFile, httpPort, heapProbeS, snapshotDir: opts.snapshots ? resolve(opts.snapshots) : undefined });
  const model = { ...readModelCard(modelDir), engine: daemon.engine };
  console.log(`daemon model: ${model.architecture} ${model.version}, inference engine ${model.engine ?? 'unknown'}; load average ${loadAtStart.join(' ')}`);

  const sentAt = new Map<string, number>();
  const seen = new Map<string, number>();
  const burstKeys = new Set<string>();
  let lastBurstResultAt = 0;
  let secondLatencies: number[] = [];
  let sub: MqttClient | undefined;
  let publisher: MqttClient | undefined;
  const samples: Sample[] = [];
  let phase: Sample['phase'] = 'soak';
  const t0 = performance.now();
  const t0Epoch = Date.now();
  let sampler: NodeJS.Timeout | undefined;
  const inboxFiles = () => readdirSync(inbox).filter((f) => f.endsWith('.jdx')).length;
  try {
    sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    sub.on('message', (_topic, body) => {
      const r = JSON.parse(body.toString()) as ResultMessage;
      // MQTT: the source is the topic spectrad/<instrument>/spectrum/<key>; folder: the file path.
      const key = r.source.split('/').pop() ?? r.source;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      const at = sentAt.get(key);
      if (n === 1 && at !== undefined) secondLatencies.push(performance.now() - at);
      if (n === 1 && burstKeys.has(key)) lastBurstResultAt = performance.now();
    });
    await sub.subscribeAsync('spectrad/+/result', { qos: 1 });
    publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const pub = publisher;

    sampler = setInterval(() => {
      const lat = secondLatencies.sort((a, b) => a - b);
      secondLatencies = [];
      const s = daemon.stats.line;
      samples.push({
        t: Math.round((performance.now() - t0) / 100) / 10,
        phase,
        sentTotal: sentAt.size,
        resultsTotal: seen.size,
        rssMb: s?.rssMb ?? NaN,
        heapMb: s?.heapMb ?? NaN,
        loopP99Ms: s?.eventLoopDelayMs.p99 ?? NaN,
        loopMaxMs: s?.eventLoopDelayMs.max ?? NaN,
        inMemory: s?.inMemory ?? NaN,
        ingesting: s?.ingesting ?? NaN,
        pressured: s?.pressured ?? false,
        inboxFiles: inboxFiles(),
        latP50Ms: r2(percentile(lat, 50)),
        latP99Ms: r2(percentile(lat, 99)),
        load1: loadAverage()[0],
      });
    }, 1000);

    let n = 0;
    const send = (burst: boolean) => {
      const i = n++;
      if (i % 2 === 0) {
        const key = `soak-${i}`;
        sentAt.set(key, performance.now());
        if (burst) burstKeys.add(key);
        pub.publish(`spectrad/inst${(i >> 1) % 4}/spectrum/${key}`, payloads.json[i % payloads.json.length], { qos: 1 });
      } else {
        const key = `soak-${i}.jdx`;
        writeFileSync(join(staging, key), payloads.jcamp[i % payloads.jcamp.length]);
        sentAt.set(key, performance.now());
        if (burst) burstKeys.add(key);
        renameSync(join(staging, key), join(inbox, key));
      }
    };

    console.log(`soak: ${rate}/s for ${minutes} min (half MQTT, half folder), then a burst of ${rate * burstFactor}/s for ${burstSeconds} s`);
    const early = opts.snapshots && minutes > 2 ? setTimeout(() => daemon.heapSnapshot(), 120_000) : undefined;
    await paced(rate, minutes * 60, () => send(false));
    clearTimeout(early);
    if (opts.snapshots) daemon.heapSnapshot();
    const soakEnd = performance.now();
    const soakEndEpoch = Date.now();
    phase = 'burst';
    const pressureBefore = daemon.stats.line?.pressureEvents ?? 0;
    await paced(rate * burstFactor, burstSeconds, () => send(true));
    const burstEnd = performance.now();
    phase = 'recovery';
    // Back to the soak rate until every burst spectrum has its result and the queue is empty.
    let recoveredAt = 0;
    while (performance.now() - burstEnd < 300_000) {
      // Recovered: every burst spectrum has its result and no file is left waiting in the folder beyond the soak's own.
      const burstDone = [...burstKeys].every((k) => seen.has(k));
      if (burstDone && !recoveredAt && inboxFiles() <= rate) recoveredAt = performance.now();
      if (recoveredAt && performance.now() - recoveredAt > 5000) break;
      await paced(rate, 1, () => send(false));
    }
    await sleep(3000);
    clearInterval(sampler);
    const health = await daemon.health();

    let lost = 0;
    for (const k of sentAt.keys()) if (!seen.has(k)) lost++;
    let duplicated = 0;
    for (const c of seen.values()) duplicated += c - 1;
    const soakAll = samples.filter((s) => s.phase === 'soak');
    const soakSamples = soakAll.filter((s) => s.t >= 60);
    const xsMin = soakSamples.map((s) => s.t / 60);
    const burstSamples = samples.filter((s) => s.phase !== 'soak');
    const soakLat = soakAll.flatMap((s) => (Number.isFinite(s.latP99Ms) ? [s.latP99Ms] : []));
    // Heap after a forced full collection, during the soak after its first minute (the warm-up).
    const heapAt = (h: HeapProbeLine) => (h.at - t0Epoch) / 60_000;
    const heapSoak = daemon.heap.filter((h) => h.at <= soakEndEpoch && heapAt(h) >= 1);
    const heapAll = daemon.heap.filter((h) => h.at >= t0Epoch);
    const lastMinute = (xs: number[]) => xs.slice(-60);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    const summary = {
      model,
      soak: {
        ratePerS: rate,
        minutes,
        sent: soakAll.at(-1)?.sentTotal ?? 0,
        rssMbFirst: soakSamples[0]?.rssMb,
        rssMbLast: soakAll.at(-1)?.rssMb,
        rssMbMeanSecondMinute: r2(mean(soakSamples.slice(0, 60).map((s) => s.rssMb).filter(Number.isFinite))),
        rssMbMeanLastMinute: r2(mean(lastMinute(soakAll.map((s) => s.rssMb)).filter(Number.isFinite))),
        rssMbMax: Math.max(...soakAll.map((s) => s.rssMb).filter(Number.isFinite)),
        rssSlopeMbPerMin: r2(slope(xsMin, soakSamples.map((s) => s.rssMb))),
        heapUsedSlopeMbPerMin: r2(slope(xsMin, soakSamples.map((s) => s.heapMb))),
        heapAfterGcMbFirst: heapSoak[0]?.heapUsedMb,
        heapAfterGcMbLast: heapSoak.at(-1)?.heapUsedMb,
        heapAfterGcMbMax: Math.max(...heapSoak.map((h) => h.heapUsedMb)),
        heapAfterGcSlopeMbPerMin: r2(slope(heapSoak.map(heapAt), heapSoak.map((h) => h.heapUsedMb))),
        externalAfterGcSlopeMbPerMin: r2(slope(heapSoak.map(heapAt), heapSoak.map((h) => h.externalMb))),
        forcedGcMsMedian: r2(percentile(heapAll.map((h) => h.gcMs).sort((a, b) => a - b), 50)),
        latencyP99SlopeMsPerMin: r2(slope(xsMin, soakSamples.map((s) => s.latP99Ms))),
        latencyP99MsMedianOfSeconds: r2(percentile([...soakLat].sort((a, b) => a - b), 50)),
        latencyP99MsWorstSecond: r2(Math.max(...soakLat)),
        eventLoopP99MsMax: r2(Math.max(...soakSamples.map((s) => s.loopP99Ms).filter(Number.isFinite))),
        eventLoopDelaySlopeMsPerMin: r2(slope(xsMin, soakSamples.map((s) => s.loopP99Ms))),
        loadAverageMedian: r2(percentile(soakAll.map((s) => s.load1).sort((a, b) => a - b), 50)),
        loadAverageMax: Math.max(...soakAll.map((s) => s.load1)),
      },
      burst: {
        ratePerS: rate * burstFactor,
        seconds: burstSeconds,
        sent: burstKeys.size,
        // Two bounds hold a burst back: the inputs' own in-flight limits (folder maxInFlight files read ahead, the
        // broker's in-flight window) and the pipeline's queueBound, which pauses the inputs when reached.
        pipelineQueueFull: (daemon.stats.line?.pressureEvents ?? 0) > pressureBefore || burstSamples.some((s) => s.pressured),
        pressureEvents: (daemon.stats.line?.pressureEvents ?? 0) - pressureBefore,
        queueBound,
        maxInMemory: Math.max(...burstSamples.map((s) => s.inMemory).filter(Number.isFinite)),
        maxIngesting: Math.max(...burstSamples.map((s) => s.ingesting).filter(Number.isFinite)),
        maxFilesWaitingInFolder: Math.max(...burstSamples.map((s) => s.inboxFiles)),
        rssMbMax: Math.max(...burstSamples.map((s) => s.rssMb).filter(Number.isFinite)),
        heapAfterGcMbMax: Math.max(...daemon.heap.filter((h) => h.at > soakEndEpoch).map((h) => h.heapUsedMb)),
        eventLoopMaxMs: Math.max(...burstSamples.map((s) => s.loopMaxMs).filter(Number.isFinite)),
        recoverySecondsAfterBurst: recoveredAt ? r2((recoveredAt - burstEnd) / 1000) : null,
        lastBurstResultSecondsAfterBurst: lastBurstResultAt ? r2((lastBurstResultAt - burstEnd) / 1000) : null,
        burstWallSeconds: r2((burstEnd - soakEnd) / 1000),
        loadAverageMax: Math.max(...burstSamples.map((s) => s.load1)),
      },
      end: { heapAfterGcMb: heapAll.at(-1)?.heapUsedMb, rssMb: samples.at(-1)?.rssMb, filesLeftInInbox: inboxFiles(), rescuedFiles: health.counts?.rescuedFiles ?? 0 },
      total: { sent: sentAt.size, results: seen.size, lost, duplicated },
    };
    console.log(JSON.stringify(summary, null, 2));
    mkdirSync(resolve(opts.out, '..'), { recursive: true });
    writeFileSync(
      opts.out,
      JSON.stringify(
        {
          when: new Date().toISOString(),
          machine: { cpus: cpus().length, node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAverage() },
          command: `npm run bench:soak -- --minutes ${minutes} --rate ${rate} --burst-factor ${burstFactor} --burst-seconds ${burstSeconds} --queue-bound ${queueBound} --heap-probe-s ${heapProbeS} --model ${portablePath(modelDir)}`,
          ...summary,
          samples,
          heapProbe: heapAll.map((h) => ({ ...h, tMin: r2(heapAt(h)) })),
        },
        null,
        1,
      ) + '\n',
    );
    console.log(`wrote ${opts.out}`);
  } finally {
    clearInterval(sampler);
    await Promise.all([sub?.endAsync(), publisher?.endAsync()]);
    await daemon.stop();
    await stopAllServers();
  }
}

await main();
