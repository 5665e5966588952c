/**
 * Soak and burst against the real daemon (`spectrad run`, seed model, demo library) with real mosquitto.
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
 * Prints a table, writes bench/results/soak.json.
 * Usage: npm run bench:soak [-- --minutes N] [-- --rate R] [-- --burst-factor F] [-- --burst-seconds S] [-- --queue-bound N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { generateTestSplit, loadDefinition } from '../core/benchmark/index.ts';
import { toJcamp } from '../core/formats/index.ts';
import type { ResultMessage } from '../core/messages.ts';
import { createSpectrum } from '../core/spectrum.ts';
import { freePort, makeTempDir, sleep, startMosquitto, stopAllServers, waitFor } from '../test/support/servers.ts';

const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '20' },
    'burst-factor': { type: 'string', default: '10' },
    'burst-seconds': { type: 'string', default: '30' },
    'queue-bound': { type: 'string', default: '512' },
    out: { type: 'string', default: new URL('./results/soak.json', import.meta.url).pathname },
  },
  strict: true,
});
const minutes = Number(opts.minutes);
const rate = Number(opts.rate);
const burstFactor = Number(opts['burst-factor']);
const burstSeconds = Number(opts['burst-seconds']);
const queueBound = Number(opts['queue-bound']);
for (const [k, v] of Object.entries({ minutes, rate, burstFactor, burstSeconds, queueBound })) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`);
}
const FILE_STABLE_MS = 200;

interface DaemonStats {
  inMemory: number;
  ingesting: number;
  spilled: boolean;
  pressured: boolean;
  pressureEvents: number;
  rssMb: number;
  heapMb: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

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
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const pts = xs.map((x, i) => [x, ys[i]]).filter(([, y]) => Number.isFinite(y));
  const n = pts.length;
  if (n < 2) return NaN;
  const mx = pts.reduce((a, [x]) => a + x, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  return sxx > 0 ? sxy / sxx : NaN;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

function makePayloads(): { jcamp: string[]; json: string[] } {
  const ds = generateTestSplit(loadDefinition('benchmark'), { classes: Array.from({ length: 20 }, (_, i) => i * 25) });
  const jcamp: string[] = [];
  const json: string[] = [];
  for (let i = 0; i < ds.n; i += 9) {
    const y = Array.from(ds.x.subarray(i * ds.points, (i + 1) * ds.points), (v) => Math.round(v * 1e5) / 1e5);
    jcamp.push(toJcamp(createSpectrum({ y, meta: { title: `class ${ds.y[i]}` } })));
    json.push(JSON.stringify({ y, meta: { title: `class ${ds.y[i]}` } }));
  }
  return { jcamp, json };
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
  writeFileSync(
    join(dir, 'spectrad.yaml'),
    [
      'instrument: soak',
      `dataDir: ${join(dir, 'data')}`,
      'logLevel: info',
      'inputs:',
      '  - type: folder',
      '    name: inbox',
      `    paths: [${inbox}]`,
      `    stabilityMs: ${FILE_STABLE_MS}`,
      '  - type: mqtt',
      '    name: mqtt',
      `    url: ${broker.url}`,
      '    topics: [spectrad/+/spectrum]',
      '    clientId: soak-daemon',
      'outputs:',
      '  - type: mqtt',
      `    url: ${broker.url}`,
      'http:',
      '  host: 127.0.0.1',
      `  port: ${httpPort}`,
      'library:',
      '  demo: true',
      'pipeline:',
      '  statsIntervalS: 1',
      `  queueBound: ${queueBound}`,
    ].join('\n') + '\n',
  );
  const child: ChildProcess = spawn(process.execPath, [new URL('../bin/spectrad.js', import.meta.url).pathname, 'run', '--config', join(dir, 'spectrad.yaml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  let stats: DaemonStats | undefined;
  let partial = '';
  child.stdout?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"pipeline stats"')) continue;
      try {
        stats = JSON.parse(line) as DaemonStats;
      } catch {
        // not a stats line after all
      }
    }
  });

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
  let sampler: NodeJS.Timeout | undefined;
  try {
    await waitFor('daemon health', async () => (await fetch(`http://127.0.0.1:${httpPort}/api/health`).catch(() => undefined))?.ok, 300_000, 500).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${stderr}`);
    });
    sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    sub.on('message', (_topic, body) => {
      const r = JSON.parse(body.toString()) as ResultMessage;
      // MQTT: the source is the topic spectrad/<key>/spectrum; folder: the file path.
      const key = r.source.startsWith('spectrad/') ? r.source.split('/')[1] : (r.source.split('/').pop() ?? r.source);
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
      const s = stats;
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
        inboxFiles: readdirSync(inbox).filter((f) => f.endsWith('.jdx')).length,
        latP50Ms: r2(percentile(lat, 50)),
        latP99Ms: r2(percentile(lat, 99)),
      });
    }, 1000);

    let n = 0;
    const send = (burst: boolean) => {
      const i = n++;
      if (i % 2 === 0) {
        const key = `soak-${i}`;
        sentAt.set(key, performance.now());
        if (burst) burstKeys.add(key);
        pub.publish(`spectrad/${key}/spectrum`, payloads.json[i % payloads.json.length], { qos: 1 });
      } else {
        const key = `soak-${i}.jdx`;
        writeFileSync(join(staging, key), payloads.jcamp[i % payloads.jcamp.length]);
        sentAt.set(key, performance.now());
        if (burst) burstKeys.add(key);
        renameSync(join(staging, key), join(inbox, key));
      }
    };
    /** Sends at perSecond for seconds, in 10 ms ticks so high rates are not limited by timer resolution. */
    const paced = async (perSecond: number, seconds: number, burst: boolean) => {
      const start = performance.now();
      let sent = 0;
      const total = Math.round(perSecond * seconds);
      while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * perSecond) + 1);
        while (sent < due) {
          send(burst);
          sent++;
        }
        await sleep(10);
      }
    };

    console.log(`soak: ${rate}/s for ${minutes} min (half MQTT, half folder), then a burst of ${rate * burstFactor}/s for ${burstSeconds} s`);
    await paced(rate, minutes * 60, false);
    const soakEnd = performance.now();
    phase = 'burst';
    const pressureBefore = stats?.pressureEvents ?? 0;
    await paced(rate * burstFactor, burstSeconds, true);
    const burstEnd = performance.now();
    phase = 'recovery';
    // Back to the soak rate until every burst spectrum has its result and the queue is empty.
    let recoveredAt = 0;
    while (performance.now() - burstEnd < 300_000) {
      // Recovered: every burst spectrum has its result and no file is left waiting in the folder beyond the soak's own.
      const burstDone = [...burstKeys].every((k) => seen.has(k));
      if (burstDone && !recoveredAt && readdirSync(inbox).filter((f) => f.endsWith('.jdx')).length <= rate) recoveredAt = performance.now();
      if (recoveredAt && performance.now() - recoveredAt > 5000) break;
      await paced(rate, 1, false);
    }
    await sleep(3000);
    clearInterval(sampler);

    let lost = 0;
    for (const k of sentAt.keys()) if (!seen.has(k)) lost++;
    let duplicated = 0;
    for (const c of seen.values()) duplicated += c - 1;
    const soakSamples = samples.filter((s) => s.phase === 'soak' && s.t >= 60);
    const xsMin = soakSamples.map((s) => s.t / 60);
    const burstSamples = samples.filter((s) => s.phase !== 'soak');
    const soakLat = samples.filter((s) => s.phase === 'soak').flatMap((s) => (Number.isFinite(s.latP99Ms) ? [s.latP99Ms] : []));
    const summary = {
      soak: {
        ratePerS: rate,
        minutes,
        sent: samples.filter((s) => s.phase === 'soak').at(-1)?.sentTotal ?? 0,
        rssMbFirst: soakSamples[0]?.rssMb,
        rssMbMax: Math.max(...samples.filter((s) => s.phase === 'soak').map((s) => s.rssMb).filter(Number.isFinite)),
        rssSlopeMbPerMin: r2(slope(xsMin, soakSamples.map((s) => s.rssMb))),
        heapSlopeMbPerMin: r2(slope(xsMin, soakSamples.map((s) => s.heapMb))),
        latencyP99SlopeMsPerMin: r2(slope(xsMin, soakSamples.map((s) => s.latP99Ms))),
        latencyP99MsMedianOfSeconds: r2(percentile([...soakLat].sort((a, b) => a - b), 50)),
        latencyP99MsWorstSecond: r2(Math.max(...soakLat)),
        eventLoopP99MsMax: r2(Math.max(...soakSamples.map((s) => s.loopP99Ms).filter(Number.isFinite))),
        eventLoopDelaySlopeMsPerMin: r2(slope(xsMin, soakSamples.map((s) => s.loopP99Ms))),
      },
      burst: {
        ratePerS: rate * burstFactor,
        seconds: burstSeconds,
        sent: burstKeys.size,
        // Two bounds hold a burst back: the inputs' own in-flight limits (folder maxInFlight files read ahead, the
        // broker's in-flight window) and the pipeline's queueBound, which pauses the inputs when reached.
        pipelineQueueFull: (stats?.pressureEvents ?? 0) > pressureBefore || burstSamples.some((s) => s.pressured),
        pressureEvents: (stats?.pressureEvents ?? 0) - pressureBefore,
        queueBound,
        maxInMemory: Math.max(...burstSamples.map((s) => s.inMemory).filter(Number.isFinite)),
        maxIngesting: Math.max(...burstSamples.map((s) => s.ingesting).filter(Number.isFinite)),
        maxFilesWaitingInFolder: Math.max(...burstSamples.map((s) => s.inboxFiles)),
        rssMbMax: Math.max(...burstSamples.map((s) => s.rssMb).filter(Number.isFinite)),
        eventLoopMaxMs: Math.max(...burstSamples.map((s) => s.loopMaxMs).filter(Number.isFinite)),
        recoverySecondsAfterBurst: recoveredAt ? r2((recoveredAt - burstEnd) / 1000) : null,
        lastBurstResultSecondsAfterBurst: lastBurstResultAt ? r2((lastBurstResultAt - burstEnd) / 1000) : null,
        burstWallSeconds: r2((burstEnd - soakEnd) / 1000),
      },
      total: { sent: sentAt.size, results: seen.size, lost, duplicated },
    };
    console.log(JSON.stringify(summary, null, 2));
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(
      opts.out,
      JSON.stringify(
        {
          when: new Date().toISOString(),
          machine: { cpus: (await import('node:os')).cpus().length, node: process.version, loadavg: (await import('node:os')).loadavg().map(r2) },
          command: `npm run bench:soak -- --minutes ${minutes} --rate ${rate} --burst-factor ${burstFactor} --burst-seconds ${burstSeconds} --queue-bound ${queueBound}`,
          ...summary,
          samples,
        },
        null,
        1,
      ) + '\n',
    );
    console.log(`wrote ${opts.out}`);
  } finally {
    clearInterval(sampler);
    await Promise.all([sub?.endAsync(), publisher?.endAsync()]);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await stopAllServers();
  }
}

await main();
