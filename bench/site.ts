/**
 * npm run bench:site: one site (docs/SCALE-OUT.md).
 *
 * By default the issue's run (bench/site/site-scenario.ts): three daemons on one PostgreSQL site store and one
 * nats-server work queue, 50 spectra/s for 120 s (--seconds, --rate, --nodes), one node SIGKILLed and restarted, an
 * enrollment and a promotion on node 1 mid-run; processed once / lost / duplicated, the time until every node uses
 * the new class and the new model, throughput per node. --scaling: 1 node against --nodes nodes at one latency bound.
 *
 * Usage: npm run bench:site [-- --seconds 120] [-- --rate 50] [-- --nodes 3] [-- --restart-after 20] [-- --lease-ms 10000]
 *        [-- --scaling [--scaling-rates 10,20,30,40,60,80] [--scaling-step-s 20] [--latency-bound-s 2]]
 *        [-- --promotions K (K promotions one after another on a fed site: bench/results/site-promotions.json)] [-- --out FILE]
 *
 * With --compare-engines, the comparison of work distributions that chose the queue engine (below).
 *
 * One site, several daemons, one node killed: does every spectrum come out once?
 *
 * For each engine, N real daemon processes (default 3) share one work distribution; an instrument publishes S spectra
 * at R/s; K seconds in, one node is SIGKILLed (and, with --restart-after, started again that much later). Counted
 * from every node's store afterwards: spectra with exactly one result, duplicates (results beyond the first), lost
 * (no result on any node), takeover time (kill -> every spectrum published before the kill has a result: the dead
 * node's share done by the others; none when some never got one), takeovers (jobs a live node took after another
 * node had left them, from the live nodes' logs), the longest and median publish -> result time, and throughput
 * (spectra with a result / first publish to last result).
 *
 * Engines:
 *  - nats: the product's queue input (`inputs: - type: queue`, `spectrad run`): NATS JetStream work-queue stream; the
 *    instrument publishes MQTT (QoS 1, MQTT 3.1.1) to nats-server's MQTT listener, the stream captures it, the daemons
 *    pull from one durable consumer (ack wait = --lease-ms).
 *  - postgres: the PostgreSQL queue prototype (SKIP LOCKED, lease = --lease-ms) on the same daemon
 *    (bench/site/queue-node.ts); the instrument side enqueues directly (what the node that accepted the spectrum
 *    would do before acknowledging it).
 *  - mqtt-share: no queue: the daemons' MQTT inputs share `$share/spectrad/spectrad/+/spectrum` on mosquitto with
 *    their default persistent sessions (today's scale-out).
 * Before that, the queues alone (no daemons): enqueue and claim+ack rates of --micro jobs of the same payload with
 * three consumers (median of --micro-repeat alternating runs), so the engines' own cost is known apart from
 * identification.
 *
 * Usage: npm run bench:site [-- --engines nats,postgres,mqtt-share] [-- --nodes 3] [-- --spectra 1500] [-- --rate 50]
 *        [-- --kill-at 10] [-- --restart-after 20 (0: never)] [-- --lease-ms 10000] [-- --micro 2000] [-- --micro-repeat 3]
 *        [-- --settle-s 90] [-- --keep-logs DIR] [-- --out FILE]   (all with --compare-engines)
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { NatsQueue } from '../adapters/nats-queue.ts';
import { PgQueue } from './site/pg-queue.ts';
import type { WorkQueue } from '../adapters/work-queue.ts';
import type { ResultMessage } from '../core/messages.ts';
import { DaemonProcess, REPO_ROOT, jsonPayload, readStore, writeDaemonConfig } from '../support/daemon-process.ts';
import { freePort, makeTempDir, sleep, startMosquitto, startNatsServer, startPostgres, stopAllServers } from '../support/servers.ts';

const { values } = parseArgs({
  options: {
    'compare-engines': { type: 'boolean', default: false },
    seconds: { type: 'string', default: '120' },
    scaling: { type: 'boolean', default: false },
    promotions: { type: 'string', default: '0' },
    'scaling-rates': { type: 'string', default: '10,20,30,40,50,60,80' },
    'scaling-step-s': { type: 'string', default: '20' },
    'latency-bound-s': { type: 'string', default: '2' },
    engines: { type: 'string', default: 'nats,postgres,mqtt-share' },
    nodes: { type: 'string', default: '3' },
    spectra: { type: 'string', default: '1500' },
    rate: { type: 'string', default: '50' },
    'kill-at': { type: 'string', default: '10' },
    'restart-after': { type: 'string', default: '20' },
    'lease-ms': { type: 'string', default: '10000' },
    micro: { type: 'string', default: '2000' },
    'micro-repeat': { type: 'string', default: '3' },
    'settle-s': { type: 'string', default: '90' },
    out: { type: 'string' },
    /** Copy every daemon's log here (they are removed with the temporary folders otherwise). */
    'keep-logs': { type: 'string' },
  },
});
const command = `npm run bench:site -- ${process.argv.slice(2).join(' ').replace(/--keep-logs(=|\s+)\S+/, '')}`.trim().replace(/ --$/, '');
if (!values['compare-engines']) {
  const { runSiteScenario } = await import('./site/site-scenario.ts');
  await runSiteScenario({
    nodes: Number(values.nodes),
    seconds: Number(values.seconds),
    rate: Number(values.rate),
    leaseMs: Number(values['lease-ms']),
    restartAfterS: Number(values['restart-after']),
    settleS: Number(values['settle-s']),
    out: values.out ?? path.join(REPO_ROOT, Number(values.promotions) > 0 ? 'bench/results/site-promotions.json' : values.scaling ? 'bench/results/site-scaling.json' : 'bench/results/site.json'),
    ...(values['keep-logs'] ? { keepLogs: values['keep-logs'] } : {}),
    command,
    scaling: values.scaling,
    scalingRates: values['scaling-rates'].split(',').map(Number),
    scalingStepS: Number(values['scaling-step-s']),
    latencyBoundS: Number(values['latency-bound-s']),
    promotions: Number(values.promotions),
  });
  process.exit(0);
}
const OUT = values.out ?? path.join(REPO_ROOT, 'bench/results/site-engines.json');
const ENGINES: readonly Engine[] = ['nats', 'postgres', 'mqtt-share'];
// `--engines none` measures the queues alone.
const engines = values.engines.split(',').map((e) => e.trim()).filter((e): e is Engine => ENGINES.includes(e as Engine));
const NODES = Number(values.nodes);
const SPECTRA = Number(values.spectra);
const RATE = Number(values.rate);
const KILL_AT_S = Number(values['kill-at']);
const RESTART_AFTER_S = Number(values['restart-after']);
const LEASE_MS = Number(values['lease-ms']);
const MICRO = Number(values.micro);
const MICRO_REPEAT = Number(values['micro-repeat']);
const SETTLE_S = Number(values['settle-s']);
const CLASSES = [17, 250, 499];

type Engine = 'nats' | 'postgres' | 'mqtt-share';

interface MicroRow {
  engine: string;
  jobs: number;
  enqueuePerS: number;
  claimAckPerS: number;
  delivered: number;
  duplicates: number;
  runs?: Array<{ enqueuePerS: number; claimAckPerS: number }>;
}

interface SiteRow {
  engine: Engine;
  nodes: number;
  spectra: number;
  rate: number;
  processedOnce: number;
  duplicates: number;
  lost: number;
  takeoverS: number | null;
  maxLatencyS: number;
  p50LatencyS: number;
  throughputPerS: number;
  perNode: Record<string, number>;
  killedNode: string;
  killedAtS: number;
  restartedAfterS: number | null;
  leaseMs: number;
  redeliveries: number;
}

const load0 = loadavg()[0];
const micro: MicroRow[] = [];
const rows: SiteRow[] = [];

const nats = engines.includes('nats') || MICRO > 0 ? await startNatsServer({ mqtt: true }) : undefined;
const postgres = engines.includes('postgres') || MICRO > 0 ? await startPostgres() : undefined;
const mosquitto = engines.includes('mqtt-share') ? await startMosquitto({ maxInflight: 256 }) : undefined;

try {
  if (MICRO > 0) {
    // Alternating runs, median reported: the machine's load changes from minute to minute.
    const runs: Record<string, MicroRow[]> = { nats: [], postgres: [] };
    for (let r = 0; r < MICRO_REPEAT; r++) {
      runs.nats.push(await microBench('nats', (n) => new NatsQueue({ url: nats!.url, stream: `MICRO${r}`, subjects: [`micro${r}.*.spectrum`], consumer: 'micro', leaseMs: 30_000, clientName: n }), `micro${r}`));
      const pgUrl = await postgres!.createDatabase(`micro${r}`);
      runs.postgres.push(await microBench('postgres', (n) => new PgQueue({ url: pgUrl, leaseMs: 30_000, node: n, queue: 'micro' }), 'spectrad'));
    }
    for (const list of Object.values(runs)) {
      const median = (f: (m: MicroRow) => number) => list.map(f).sort((a, b) => a - b)[Math.floor(list.length / 2)];
      micro.push({ ...list[0], enqueuePerS: median((m) => m.enqueuePerS), claimAckPerS: median((m) => m.claimAckPerS), runs: list.map(({ enqueuePerS, claimAckPerS }) => ({ enqueuePerS, claimAckPerS })) });
    }
    printMicro();
  }
  for (const engine of engines) {
    rows.push(await siteRun(engine));
    printSite();
    write();
  }
} finally {
  await stopAllServers();
}
write();

// ---- the queues alone ------------------------------------------------------------------------------------------

async function microBench(engine: string, make: (node: string, run: number) => WorkQueue, topicRoot: string): Promise<MicroRow> {
  const producer = make('producer', 0);
  await producer.connect();
  const payload = jsonPayload('micro', 17, 0);
  const t0 = performance.now();
  const producers = 8;
  await Promise.all(
    Array.from({ length: producers }, async (_, p) => {
      for (let i = p; i < MICRO; i += producers) await producer.enqueue({ topic: `${topicRoot}/lab-${i % 4}/spectrum`, payload: `${payload.slice(0, -1)},"n":${i}}`, contentType: 'application/json' });
    }),
  );
  const enqueueS = (performance.now() - t0) / 1000;
  const consumers = await Promise.all(['c1', 'c2', 'c3'].map(async (n) => {
    const q = make(n, 0);
    await q.connect();
    return q;
  }));
  const seen = new Map<string, number>();
  let delivered = 0;
  const t1 = performance.now();
  let lastAck = t1;
  await Promise.all(
    consumers.map(async (q) => {
      let idle = 0;
      while (idle < 2) {
        const jobs = await q.claim(64, 1000);
        if (jobs.length === 0) {
          idle++;
          continue;
        }
        idle = 0;
        for (const j of jobs) {
          const n = /"n":(\d+)\}$/.exec(j.payload.toString())?.[1] ?? '?';
          seen.set(n, (seen.get(n) ?? 0) + 1);
          delivered++;
        }
        await Promise.all(jobs.map((j) => q.ack(j)));
        lastAck = performance.now();
      }
    }),
  );
  // Until the last ack: the consumers' final claims wait for jobs that never come, which is not work.
  const claimS = (lastAck - t1) / 1000;
  await Promise.all([producer, ...consumers].map((q) => q.close()));
  return {
    engine,
    jobs: MICRO,
    enqueuePerS: round(MICRO / enqueueS),
    claimAckPerS: round(seen.size / claimS),
    delivered: seen.size,
    duplicates: delivered - seen.size,
  };
}

// ---- daemons --------------------------------------------------------------------------------------------------

async function siteRun(engine: Engine): Promise<SiteRow> {
  const root = makeTempDir(`site-${engine}`);
  const pgUrl = engine === 'postgres' ? await postgres!.createDatabase(`site_${Date.now()}`) : undefined;
  const queueUrl = engine === 'nats' ? nats!.url : pgUrl;
  const daemons: DaemonProcess[] = [];
  const names: string[] = [];
  const dbFiles: string[] = [];
  for (let i = 0; i < NODES; i++) {
    const node = `${engine}-${i + 1}`;
    const dir = path.join(root, node);
    const port = await freePort();
    const config = writeDaemonConfig(dir, [
      `dataDir: ${dir}/data`,
      engine === 'postgres' ? 'inputs: []' : 'inputs:',
      ...(engine === 'mqtt-share' ? [`  - { type: mqtt, name: mqtt, url: '${mosquitto!.url}', topics: ['$share/spectrad/spectrad/+/spectrum'] }`] : []),
      ...(engine === 'nats' ? [`  - { type: queue, url: '${queueUrl}', leaseMs: ${LEASE_MS} }`] : []),
      `http: { host: 127.0.0.1, port: ${port}, token: site-bench }`,
      `library: { demo: true, demoClasses: [${CLASSES.join(', ')}], demoPerClass: 3 }`,
      'pipeline: { batchSize: 8, windowMs: 10, statsIntervalS: 0 }',
    ]);
    // nats and mqtt-share are the product's own inputs (`spectrad run` with the config above); the PostgreSQL queue
    // is a prototype kept for this comparison, attached to the same daemon by bench/site/queue-node.ts.
    const script =
      engine !== 'postgres'
        ? undefined
        : [path.join(REPO_ROOT, 'bin/run-ts.js'), path.join(REPO_ROOT, 'bench/site/queue-node.ts'), '--config', config, '--engine', engine, '--url', queueUrl!, '--node', node, '--lease-ms', String(LEASE_MS)];
    const d = new DaemonProcess(config, `http://127.0.0.1:${port}`, path.join(dir, 'daemon.log'), ['/usr/bin/env', `SPECTRAD_NODE_ID=${node}`], script);
    daemons.push(d);
    names.push(node);
    dbFiles.push(path.join(dir, 'data', 'spectrad.db'));
  }
  console.log(`[${engine}] starting ${NODES} daemons`);
  for (const d of daemons) d.start();
  await Promise.all(daemons.map((d) => d.waitReady(400_000)));
  await sleep(2000); // queue inputs connect after ready

  const publish = await publisherFor(engine, queueUrl);
  const published = new Map<string, number>();
  const victim = 1;
  let killedAt = 0;
  let restartedAt: number | undefined;
  const t0 = Date.now();
  console.log(`[${engine}] publishing ${SPECTRA} spectra at ${RATE}/s; SIGKILL ${names[victim]} at ${KILL_AT_S} s`);
  const pending: Promise<void>[] = [];
  for (let i = 0; i < SPECTRA; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    if (!killedAt && Date.now() - t0 >= KILL_AT_S * 1000) {
      killedAt = Date.now();
      await daemons[victim].kill('SIGKILL');
      console.log(`[${engine}] killed ${names[victim]}`);
    }
    if (killedAt && RESTART_AFTER_S > 0 && !restartedAt && Date.now() - killedAt >= RESTART_AFTER_S * 1000) {
      restartedAt = Date.now();
      daemons[victim].start();
    }
    const title = `site-${engine}-${i}`;
    const sent = Date.now();
    pending.push(publish(`spectrad/lab-${i % 4}/spectrum`, jsonPayload(title, CLASSES[i % CLASSES.length], i % 9)).then(() => void published.set(title, sent)));
  }
  await Promise.all(pending);
  await publish.close();
  if (killedAt && RESTART_AFTER_S > 0 && !restartedAt) {
    await sleep(Math.max(0, killedAt + RESTART_AFTER_S * 1000 - Date.now()));
    restartedAt = Date.now();
    daemons[victim].start();
  }

  // Until every spectrum has a result somewhere, or the settle time passes (a spectrum held for a dead node).
  const deadline = Date.now() + SETTLE_S * 1000;
  let seen = collect(dbFiles);
  while (distinct(seen) < SPECTRA && Date.now() < deadline) {
    await sleep(2000);
    seen = collect(dbFiles);
  }
  await sleep(3000); // a late duplicate would land now
  seen = collect(dbFiles);
  await Promise.all(daemons.map((d) => d.kill('SIGTERM')));
  seen = collect(dbFiles);
  if (values['keep-logs']) {
    mkdirSync(values['keep-logs'], { recursive: true });
    daemons.forEach((d, i) => copyFileSync(d.logFile, path.join(values['keep-logs']!, `${names[i]}.log`)));
  }

  const byTitle = new Map<string, Array<{ node: string; done: number }>>();
  for (const s of seen) byTitle.set(s.title, [...(byTitle.get(s.title) ?? []), s]);
  let once = 0;
  let dups = 0;
  const latencies: number[] = [];
  let lastDone = 0;
  for (const [title, list] of byTitle) {
    if (!published.has(title)) continue;
    if (list.length === 1) once++;
    dups += list.length - 1;
    const first = Math.min(...list.map((l) => l.done));
    latencies.push((first - published.get(title)!) / 1000);
    lastDone = Math.max(lastDone, first);
  }
  const lost = [...published.keys()].filter((t) => !byTitle.has(t)).length;
  latencies.sort((a, b) => a - b);
  const perNode: Record<string, number> = {};
  for (const s of seen) perNode[s.node] = (perNode[s.node] ?? 0) + 1;
  const takeovers = daemons.flatMap((d, i) => (i === victim ? [] : redeliveredTimes(d.logFile)));
  // The dead node's share: every spectrum published before the kill; done when the last of them has a result
  // (0 when the dead node had left nothing unfinished). Lost ones leave it undefined.
  const beforeKill = [...published].filter(([, sent]) => sent < killedAt).map(([title]) => byTitle.get(title));
  const takeoverS = beforeKill.some((l) => !l) ? null : round(Math.max(0, ...beforeKill.map((l) => Math.min(...l!.map((x) => x.done)) - killedAt)) / 1000);
  return {
    engine,
    nodes: NODES,
    spectra: SPECTRA,
    rate: RATE,
    processedOnce: once,
    duplicates: dups,
    lost,
    takeoverS,
    maxLatencyS: round(latencies.at(-1) ?? 0),
    p50LatencyS: round(latencies[Math.floor(latencies.length / 2)] ?? 0),
    throughputPerS: round(byTitle.size / ((lastDone - t0) / 1000)),
    perNode,
    killedNode: names[victim],
    killedAtS: round((killedAt - t0) / 1000),
    restartedAfterS: restartedAt ? round((restartedAt - killedAt) / 1000) : null,
    leaseMs: LEASE_MS,
    redeliveries: takeovers.length,
  };
}

interface Publisher {
  (topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

async function publisherFor(engine: Engine, queueUrl: string | undefined): Promise<Publisher> {
  if (engine === 'postgres') {
    // What the node that accepted a spectrum does before acknowledging it to the instrument: one committed insert.
    const q = new PgQueue({ url: queueUrl!, node: 'instrument' });
    await q.connect();
    return Object.assign((topic: string, payload: string) => q.enqueue({ topic, payload, contentType: 'application/json' }), { close: () => q.close() });
  }
  const url = engine === 'nats' ? `mqtt://127.0.0.1:${nats!.mqttPort}` : mosquitto!.url;
  // nats-server speaks MQTT 3.1.1 only.
  const client: MqttClient = await mqtt.connectAsync(url, { protocolVersion: engine === 'nats' ? 4 : 5, clientId: `instrument-${engine}`, clean: true });
  return Object.assign((topic: string, payload: string) => client.publishAsync(topic, payload, { qos: 1 }).then(() => undefined), {
    close: () => client.endAsync(),
  });
}

function collect(dbFiles: readonly string[]): Array<{ node: string; title: string; done: number }> {
  const out: Array<{ node: string; title: string; done: number }> = [];
  for (const file of dbFiles) {
    let rows: Array<{ title: string; message: string }> = [];
    try {
      rows = readStore(file, (db) => db.prepare<[], { title: string; message: string }>('SELECT s.title AS title, r.message AS message FROM results r JOIN spectra s ON s.id = r.spectrum_id').all());
    } catch {
      continue; // not created yet
    }
    for (const r of rows) {
      const m = JSON.parse(r.message) as ResultMessage;
      out.push({ node: m.node ?? path.basename(path.dirname(path.dirname(file))), title: r.title, done: Date.parse(m.receivedAt) + m.latencyMs });
    }
  }
  return out;
}

function distinct(seen: ReadonlyArray<{ title: string }>): number {
  return new Set(seen.map((s) => s.title)).size;
}

/** Times (ms) at which a live node took a job another node had left unfinished, from its log. */
function redeliveredTimes(logFile: string): number[] {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"msg":"queue redelivered')) continue;
    try {
      out.push((JSON.parse(line) as { time: number }).time);
    } catch {
      // a line cut by the kill
    }
  }
  return out;
}

// ---- output ---------------------------------------------------------------------------------------------------

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function printMicro(): void {
  console.log('\n| engine | jobs | enqueue/s | claim+ack/s (3 consumers) | delivered | duplicates |\n| --- | --- | --- | --- | --- | --- |');
  for (const m of micro) console.log(`| ${m.engine} | ${m.jobs} | ${m.enqueuePerS} | ${m.claimAckPerS} | ${m.delivered} | ${m.duplicates} |`);
  console.log(`(median of ${MICRO_REPEAT} alternating runs; each run in the JSON)`);
}

function printSite(): void {
  console.log('\n| engine | nodes | spectra | rate/s | processed once | duplicates | lost | takeover s | taken over | max latency s | p50 s | throughput/s | per node |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.engine} | ${r.nodes} | ${r.spectra} | ${r.rate} | ${r.processedOnce} | ${r.duplicates} | ${r.lost} | ${r.takeoverS ?? '-'} | ${r.engine === 'mqtt-share' ? '-' : r.redeliveries} | ${r.maxLatencyS} | ${r.p50LatencyS} | ${r.throughputPerS} | ${Object.entries(r.perNode).map(([n, c]) => `${n}: ${c}`).join(', ')} |`,
    );
  }
}

function write(): void {
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(
    OUT,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        // Where logs were copied is this machine's business, not the result's.
        command,
        machine: { cpus: cpus().length, loadBefore: round(load0), loadAfter: round(loadavg()[0]) },
        micro,
        site: rows,
      },
      null,
      2,
    ) + '\n',
  );
}
