/**
 * One site as the issue describes it: N real daemons (`spectrad run`, default 3) on one PostgreSQL (site store) and
 * one nats-server (JetStream work queue, `inputs: - type: queue`; the instrument publishes MQTT to its listener), a
 * fixed rate of spectra for a fixed time; meanwhile one node is SIGKILLed and restarted, a class is enrolled on node 1
 * and a retrained model version is promoted on node 1. Counted from every node's store afterwards: spectra processed
 * once, duplicated, lost; per node, the time from the enrollment (the POST sent) until the node's library holds the
 * class and until its first result names it, and the time from the promotion (the POST sent) until the node's health
 * names the new model and until its first result made by it; throughput per node; latency publish -> result.
 *
 * The candidate model is trained on node 1 before the spectra start (POST /api/retrain, 1 epoch) and the run waits
 * until every node has prepared it (docs/SCALE-OUT.md: a version added to the site is loaded, embedded and
 * calibrated ahead on every node), as a site's retraining would have happened before an operator promotes.
 *
 * With --scaling: no events; for 1 node and for N nodes, rates step up (--scaling-rates) for --scaling-step-s each
 * while the p95 latency stays under --latency-bound-s; the highest rate held is that setup's throughput at the bound.
 */
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { ResultMessage } from '../../core/messages.ts';
import { DaemonProcess, jcampText, jsonPayload, readStore, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, sleep, startNatsServer, startPostgres, stopAllServers, type Postgres } from '../../support/servers.ts';

interface ScenarioOptions {
  readonly nodes: number;
  readonly seconds: number;
  readonly rate: number;
  readonly leaseMs: number;
  readonly restartAfterS: number;
  readonly settleS: number;
  readonly out: string;
  readonly keepLogs?: string;
  readonly command: string;
  readonly scaling: boolean;
  readonly scalingRates: readonly number[];
  readonly scalingStepS: number;
  readonly latencyBoundS: number;
  /** Promotions to measure one after another (0: the run or scaling). */
  readonly promotions: number;
}

const CLASSES = [17, 250, 499];
/** The class enrolled mid-run (not in the demo library): one spectrum in ten is of it. */
const NEW_CLASS = 333;
const NEW_CLASS_NAME = 'compound-x';
const TOKEN = 'site-bench-token';

interface Node {
  readonly name: string;
  readonly daemon: DaemonProcess;
  readonly dbFile: string;
}

interface Seen {
  node: string;
  title: string;
  done: number;
  cls?: string;
  model: string;
}

const round = (x: number) => Math.round(x * 100) / 100;
const quantile = (sorted: readonly number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

async function startSite(o: ScenarioOptions, pg: Postgres, natsUrl: string, count: number, tag: string): Promise<Node[]> {
  const siteUrl = await pg.createDatabase(`site_${tag}_${Date.now()}`);
  const root = makeTempDir(`site-${tag}`);
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) {
    const name = `node-${i + 1}`;
    const dir = path.join(root, name);
    const port = await freePort();
    const config = writeDaemonConfig(dir, [
      `dataDir: ${dir}/data`,
      'inputs:',
      `  - { type: queue, url: '${natsUrl}', leaseMs: ${o.leaseMs} }`,
      `http: { host: 127.0.0.1, port: ${port}, token: ${TOKEN} }`,
      `library: { demo: true, demoClasses: [${CLASSES.join(', ')}], demoPerClass: 3 }`,
      'pipeline: { batchSize: 8, windowMs: 10, statsIntervalS: 0 }',
    ]);
    const daemon = new DaemonProcess(config, `http://127.0.0.1:${port}`, path.join(dir, 'daemon.log'), ['/usr/bin/env', `SPECTRAD_NODE_ID=${name}`, `SPECTRAD_SITE_URL=${siteUrl}`]);
    nodes.push({ name, daemon, dbFile: path.join(dir, 'data', 'spectrad.db') });
  }
  // The first node sets up the site (schema, its models, the token); the others join it.
  nodes[0].daemon.start();
  await nodes[0].daemon.waitReady(400_000);
  for (const n of nodes.slice(1)) n.daemon.start();
  await Promise.all(nodes.slice(1).map((n) => n.daemon.waitReady(400_000)));
  return nodes;
}

/**
 * One API call; a connection the daemon closed under the request (a keep-alive race on a loaded machine) is retried:
 * the enrollment carries an Idempotency-Key, and promoting the active version again changes nothing.
 */
async function api(node: Node, method: string, url: string, body?: unknown, key?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key) headers['idempotency-key'] = key;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(node.daemon.url + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(300_000) });
      return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(200);
    }
  }
}

async function health(node: Node): Promise<{ modelVersion?: string; library?: { classes: number } } | undefined> {
  return (await node.daemon.health()) as { modelVersion?: string; library?: { classes: number } } | undefined;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

function logHas(node: Node, text: string): boolean {
  try {
    return readFileSync(node.daemon.logFile, 'utf8').includes(text);
  } catch {
    return false;
  }
}

/** Every result of every node's store: title, node, when committed (arrival + latency), class, model. */
function collect(nodes: readonly Node[]): Seen[] {
  const out: Seen[] = [];
  for (const n of nodes) {
    let rows: Array<{ title: string; message: string }> = [];
    try {
      rows = readStore(n.dbFile, (db) => db.prepare<[], { title: string; message: string }>('SELECT s.title AS title, r.message AS message FROM results r JOIN spectra s ON s.id = r.spectrum_id').all());
    } catch {
      continue;
    }
    for (const r of rows) {
      const m = JSON.parse(r.message) as ResultMessage & { class?: string; best?: { class?: string } };
      out.push({ node: m.node ?? n.name, title: r.title, done: Date.parse(m.receivedAt) + m.latencyMs, cls: m.class ?? m.best?.class, model: m.modelVersion });
    }
  }
  return out;
}

interface Publisher {
  (topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

async function publisher(mqttPort: number, id: string): Promise<Publisher> {
  // nats-server speaks MQTT 3.1.1 only.
  const client: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 4, clientId: `instrument-${id}`, clean: true });
  return Object.assign((topic: string, payload: string) => client.publishAsync(topic, payload, { qos: 1 }).then(() => undefined), { close: () => client.endAsync() });
}

/** Publishes `rate`/s for `seconds`; `title(i)` names spectrum i; `tick` runs once a publish slot (events). */
async function publishAtRate(pub: Publisher, rate: number, seconds: number, title: (i: number) => string, cls: (i: number) => number, tick?: (elapsedS: number) => void): Promise<Map<string, number>> {
  const published = new Map<string, number>();
  const total = Math.round(rate * seconds);
  const t0 = Date.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / rate - Date.now();
    if (wait > 0) await sleep(wait);
    tick?.((Date.now() - t0) / 1000);
    const t = title(i);
    const sent = Date.now();
    pending.push(pub(`spectrad/lab-${i % 4}/spectrum`, jsonPayload(t, cls(i), i % 9)).then(() => void published.set(t, sent)));
  }
  await Promise.all(pending);
  return published;
}

async function settle(nodes: readonly Node[], published: ReadonlyMap<string, number>, settleS: number): Promise<Seen[]> {
  const deadline = Date.now() + settleS * 1000;
  const distinct = (s: Seen[]) => new Set(s.filter((x) => published.has(x.title)).map((x) => x.title)).size;
  let seen = collect(nodes);
  while (distinct(seen) < published.size && Date.now() < deadline) {
    await sleep(1000);
    seen = collect(nodes);
  }
  await sleep(3000); // a late duplicate would land now
  return collect(nodes);
}

function count(seen: readonly Seen[], published: ReadonlyMap<string, number>) {
  const byTitle = new Map<string, Seen[]>();
  for (const s of seen) if (published.has(s.title)) byTitle.set(s.title, [...(byTitle.get(s.title) ?? []), s]);
  let once = 0;
  let duplicates = 0;
  const latencies: number[] = [];
  const duplicated: Array<{ title: string; nodes: string[] }> = [];
  for (const [title, list] of byTitle) {
    if (list.length === 1) once++;
    else duplicated.push({ title, nodes: list.map((l) => l.node) });
    duplicates += list.length - 1;
    latencies.push((Math.min(...list.map((l) => l.done)) - published.get(title)!) / 1000);
  }
  latencies.sort((a, b) => a - b);
  const lost = [...published.keys()].filter((t) => !byTitle.has(t)).length;
  return { once, duplicates, duplicated: duplicated.slice(0, 20), lost, p50LatencyS: round(quantile(latencies, 0.5)), p95LatencyS: round(quantile(latencies, 0.95)), maxLatencyS: round(latencies.at(-1) ?? NaN) };
}

// ---- the run --------------------------------------------------------------------------------------------

async function siteRun(o: ScenarioOptions, pg: Postgres, nats: { url: string; mqttPort: number | undefined }) {
  const nodes = await startSite(o, pg, nats.url, o.nodes, 'run');
  const [first] = nodes;
  const victim = nodes[nodes.length - 1];
  console.log(`[site] ${o.nodes} daemons ready; training a candidate on ${first.name}`);
  const started = await api(first, 'POST', '/api/retrain', { epochs: 1 });
  if (started.status !== 202 && started.status !== 200) throw new Error(`retrain answered ${started.status}: ${JSON.stringify(started.json)}`);
  await until('a candidate', async () => ['kept', 'promoted'].includes((await api(first, 'GET', '/api/retrain')).json.state as string), 600_000, 1000);
  const candidate = (await api(first, 'GET', '/api/retrain')).json.candidate as string;
  await until('every node prepared the candidate', () => nodes.every((n) => logHas(n, '"msg":"model prepared"')), 300_000, 500);
  const modelBefore = (await health(first))?.modelVersion;
  console.log(`[site] ${candidate} prepared on every node; publishing ${o.rate}/s for ${o.seconds} s`);

  const killAt = o.seconds * 0.15;
  const enrollAt = o.seconds * 0.5;
  const promoteAt = o.seconds * 0.7;
  const events: Record<string, number> = {};
  let enrollment: Promise<unknown> | undefined;
  let promotion: Promise<unknown> | undefined;
  const classApplied: Record<string, number> = {};
  const modelApplied: Record<string, number> = {};
  const watch = (what: string, into: Record<string, number>, check: (n: Node) => Promise<boolean>) =>
    Promise.all(
      nodes.map(async (n) => {
        const t0 = events[what];
        const deadline = t0 + 120_000;
        while (Date.now() < deadline) {
          if (n.daemon.running && (await check(n).catch(() => false))) {
            into[n.name] = Date.now() - t0;
            return;
          }
          await sleep(100);
        }
      }),
    );
  const classesBefore = (await health(first))?.library?.classes ?? 0;
  const pub = await publisher(nats.mqttPort!, 'site');
  const published = await publishAtRate(
    pub,
    o.rate,
    o.seconds,
    (i) => `site-${i}${i % 10 === 9 ? '-x' : ''}`,
    (i) => (i % 10 === 9 ? NEW_CLASS : CLASSES[i % CLASSES.length]),
    (s) => {
      if (s >= killAt && events.kill === undefined) {
        events.kill = Date.now();
        void victim.daemon.kill('SIGKILL').then(() => {
          events.killed = Date.now();
          console.log(`[site] killed ${victim.name}`);
        });
      }
      if (events.killed !== undefined && events.restart === undefined && Date.now() - events.kill >= o.restartAfterS * 1000) {
        events.restart = Date.now();
        victim.daemon.start();
        console.log(`[site] restarted ${victim.name}`);
      }
      if (s >= enrollAt && events.enroll === undefined) {
        events.enroll = Date.now();
        const files = [0, 1, 2].map((v) => ({ name: `x${v}.jdx`, content: jcampText(`${NEW_CLASS_NAME} ${v}`, NEW_CLASS, v) }));
        enrollment = api(first, 'POST', '/api/classes', { name: NEW_CLASS_NAME, files, by: 'bench' }, `bench-${Date.now()}`).then((r) => {
          events.enrollAnswered = Date.now();
          if (r.status >= 300) throw new Error(`enrollment answered ${r.status}: ${JSON.stringify(r.json)}`);
        });
        void watch('enroll', classApplied, async (n) => ((await health(n))?.library?.classes ?? 0) > classesBefore);
      }
      if (s >= promoteAt && events.promote === undefined) {
        events.promote = Date.now();
        promotion = api(first, 'POST', `/api/models/${candidate}/promote?force=true`).then((r) => {
          events.promoteAnswered = Date.now();
          if (r.status >= 300) throw new Error(`promotion answered ${r.status}: ${JSON.stringify(r.json)}`);
        });
        void watch('promote', modelApplied, async (n) => {
          const v = (await health(n))?.modelVersion;
          return v !== undefined && v !== modelBefore;
        });
      }
    },
  );
  await pub.close();
  await Promise.all([enrollment, promotion]);
  const seen = await settle(nodes, published, o.settleS);
  await Promise.all(nodes.map((n) => n.daemon.kill('SIGTERM')));
  if (o.keepLogs) {
    mkdirSync(o.keepLogs, { recursive: true });
    for (const n of nodes) copyFileSync(n.daemon.logFile, path.join(o.keepLogs, `site-${n.name}.log`));
  }

  const counts = count(seen, published);
  const firstPublished = Math.min(...published.values());
  const lastDone = Math.max(...seen.map((s) => s.done));
  const perNode: Record<string, { results: number; perS: number; firstClassResultMs: number | null; firstModelResultMs: number | null; classAppliedMs: number | null; modelAppliedMs: number | null }> = {};
  for (const n of nodes) {
    const mine = seen.filter((s) => s.node === n.name && published.has(s.title));
    const firstAfter = (from: number, pred: (s: Seen) => boolean) => {
      const t = mine.filter((s) => pred(s) && s.done >= from).map((s) => s.done);
      return t.length ? Math.min(...t) - from : null;
    };
    const modelAfter = seen.find((s) => s.done > events.promote && s.model !== modelBefore && s.model)?.model;
    perNode[n.name] = {
      results: mine.length,
      perS: round(mine.length / ((lastDone - firstPublished) / 1000)),
      classAppliedMs: classApplied[n.name] ?? null,
      firstClassResultMs: firstAfter(events.enroll, (s) => s.cls === NEW_CLASS_NAME),
      modelAppliedMs: modelApplied[n.name] ?? null,
      firstModelResultMs: modelAfter ? firstAfter(events.promote, (s) => s.model === modelAfter) : null,
    };
  }
  const spread = (f: (p: (typeof perNode)[string]) => number | null) => {
    const v = Object.values(perNode).map(f);
    return v.some((x) => x === null) ? null : Math.max(...(v as number[]));
  };
  return {
    nodes: o.nodes,
    seconds: o.seconds,
    rate: o.rate,
    spectra: published.size,
    processedOnce: counts.once,
    duplicates: counts.duplicates,
    duplicated: counts.duplicated,
    lost: counts.lost,
    p50LatencyS: counts.p50LatencyS,
    p95LatencyS: counts.p95LatencyS,
    maxLatencyS: counts.maxLatencyS,
    throughputPerS: round(new Set(seen.filter((s) => published.has(s.title)).map((s) => s.title)).size / ((lastDone - firstPublished) / 1000)),
    killed: victim.name,
    killedAtS: round((events.kill - firstPublished) / 1000),
    restartedAfterS: events.restart ? round((events.restart - events.kill) / 1000) : null,
    enrollAtS: round((events.enroll - firstPublished) / 1000),
    enrollAnsweredMs: events.enrollAnswered - events.enroll,
    classOnEveryNodeMs: spread((p) => p.classAppliedMs),
    promoteAtS: round((events.promote - firstPublished) / 1000),
    promoteAnsweredMs: events.promoteAnswered - events.promote,
    modelOnEveryNodeMs: spread((p) => p.modelAppliedMs),
    candidate,
    leaseMs: o.leaseMs,
    perNode,
  };
}

// ---- promotion after promotion --------------------------------------------------------------------------------------

/**
 * K promotions on a fed site: each time node 1 retrains (1 epoch), every node prepares the candidate, node 1 promotes
 * it; per node, the time from the POST sent until its health names the new model and until its first result by it.
 */
async function promotionRuns(o: ScenarioOptions, pg: Postgres, nats: { url: string; mqttPort: number | undefined }) {
  const nodes = await startSite(o, pg, nats.url, o.nodes, 'promote');
  const [first] = nodes;
  const prepared = (n: Node) => {
    try {
      return readFileSync(n.daemon.logFile, 'utf8').split('"msg":"model prepared"').length - 1;
    } catch {
      return 0;
    }
  };
  const pub = await publisher(nats.mqttPort!, 'promote');
  let feeding = true;
  const published = new Map<string, number>();
  const feed = (async () => {
    for (let round_ = 0; feeding; round_++) {
      const part = await publishAtRate(pub, o.rate, 5, (i) => `promo-${round_}-${i}`, (i) => CLASSES[i % CLASSES.length]);
      for (const [t, at] of part) published.set(t, at);
    }
  })();
  const runs: Array<{ candidate: string; at: number; answeredMs: number; modelVersion: string; perNode: Record<string, { appliedMs: number | null; firstResultMs: number | null }> }> = [];
  try {
    for (let k = 0; k < o.promotions; k++) {
      const before = nodes.map(prepared);
      const previous = (await api(first, 'GET', '/api/retrain')).json.candidate as string | undefined;
      const started = await api(first, 'POST', '/api/retrain', { epochs: 1 });
      if (started.status >= 300) throw new Error(`retrain answered ${started.status}: ${JSON.stringify(started.json)}`);
      await until('a new candidate', async () => {
        const st = (await api(first, 'GET', '/api/retrain')).json;
        return ['kept', 'promoted'].includes(st.state as string) && st.candidate !== previous;
      }, 900_000, 1000);
      const candidate = (await api(first, 'GET', '/api/retrain')).json.candidate as string;
      await until(`every node prepared ${candidate}`, () => nodes.every((n, i) => prepared(n) > before[i]), 600_000, 250);
      const modelBefore = (await health(first))?.modelVersion;
      const at = Date.now();
      const applied: Record<string, number> = {};
      const watching = Promise.all(
        nodes.map(async (n) => {
          while (Date.now() < at + 180_000) {
            const v = (await health(n))?.modelVersion;
            if (v !== undefined && v !== modelBefore) return void (applied[n.name] = Date.now() - at);
            await sleep(50);
          }
        }),
      );
      const answer = await api(first, 'POST', `/api/models/${candidate}/promote?force=true`);
      if (answer.status >= 300) throw new Error(`promotion answered ${answer.status}: ${JSON.stringify(answer.json)}`);
      const answeredMs = Date.now() - at;
      await watching;
      const modelVersion = answer.json.modelVersion as string;
      console.log(`[promote] ${candidate}: answered ${answeredMs} ms; every node by ${Math.max(...Object.values(applied))} ms (${JSON.stringify(applied)})`);
      runs.push({ candidate, at, answeredMs, modelVersion, perNode: Object.fromEntries(nodes.map((n) => [n.name, { appliedMs: applied[n.name] ?? null, firstResultMs: null }])) });
      await sleep(5000); // results by the new model on every node
    }
  } finally {
    feeding = false;
    await feed;
    await pub.close();
  }
  const seen = await settle(nodes, published, o.settleS);
  await Promise.all(nodes.map((n) => n.daemon.kill('SIGTERM')));
  if (o.keepLogs) {
    mkdirSync(o.keepLogs, { recursive: true });
    for (const n of nodes) copyFileSync(n.daemon.logFile, path.join(o.keepLogs, `promote-${n.name}.log`));
  }
  for (const r of runs) {
    for (const n of nodes) {
      const t = seen.filter((s) => s.node === n.name && s.model === r.modelVersion && s.done >= r.at).map((s) => s.done);
      r.perNode[n.name] = { ...r.perNode[n.name], firstResultMs: t.length ? Math.min(...t) - r.at : null };
    }
  }
  const applied = runs.flatMap((r) => Object.values(r.perNode).map((p) => p.appliedMs ?? Infinity)).sort((a, b) => a - b);
  const counts = count(seen, published);
  return {
    nodes: o.nodes,
    rate: o.rate,
    promotions: runs.length,
    spectra: published.size,
    processedOnce: counts.once,
    duplicates: counts.duplicates,
    lost: counts.lost,
    appliedMs: { min: applied[0], median: quantile(applied, 0.5), p90: quantile(applied, 0.9), max: applied.at(-1), within5s: applied.filter((x) => x <= 5000).length, of: applied.length },
    runs: runs.map(({ at: _at, ...r }) => r),
  };
}

// ---- throughput with 1 node and N nodes at one latency bound ---------------------------------------------------------

async function scalingRun(o: ScenarioOptions, pg: Postgres, nats: { url: string; mqttPort: number | undefined }, count_: number) {
  const nodes = await startSite(o, pg, nats.url, count_, `scale${count_}`);
  const steps: Array<{ rate: number; p95LatencyS: number; lost: number; duplicates: number; perNode: Record<string, number> }> = [];
  let held = 0;
  try {
    // Warm-up, not counted: a node's first minute after start also calibrates its library in the background.
    const warm = await publisher(nats.mqttPort!, `scale${count_}-warm`);
    const warmed = await publishAtRate(warm, 5, 20, (i) => `scale${count_}-warm-${i}`, (i) => CLASSES[i % CLASSES.length]);
    await warm.close();
    await settle(nodes, warmed, 60);
    for (const rate of o.scalingRates) {
      const pub = await publisher(nats.mqttPort!, `scale${count_}-${rate}`);
      const prefix = `scale${count_}-r${rate}-`;
      const published = await publishAtRate(pub, rate, o.scalingStepS, (i) => `${prefix}${i}`, (i) => CLASSES[i % CLASSES.length]);
      await pub.close();
      const seen = await settle(nodes, published, Math.max(30, o.scalingStepS * 2));
      const c = count(seen, published);
      const perNode: Record<string, number> = {};
      for (const s of seen) if (published.has(s.title)) perNode[s.node] = (perNode[s.node] ?? 0) + 1;
      steps.push({ rate, p95LatencyS: c.p95LatencyS, lost: c.lost, duplicates: c.duplicates, perNode });
      console.log(`[scaling] ${count_} node(s) at ${rate}/s: p95 ${c.p95LatencyS} s, lost ${c.lost}`);
      if (c.lost > 0 || !(c.p95LatencyS <= o.latencyBoundS)) break;
      held = rate;
    }
  } finally {
    await Promise.all(nodes.map((n) => n.daemon.kill('SIGTERM')));
  }
  return { nodes: count_, heldRatePerS: held, latencyBoundS: o.latencyBoundS, steps };
}

export async function runSiteScenario(o: ScenarioOptions): Promise<void> {
  const load0 = loadavg()[0];
  const pg = await startPostgres();
  const nats = await startNatsServer({ mqtt: true });
  const result: Record<string, unknown> = { at: new Date().toISOString(), command: o.command, machine: { cpus: cpus().length, loadBefore: round(load0) } };
  const write = () => {
    mkdirSync(path.dirname(o.out), { recursive: true });
    writeFileSync(o.out, JSON.stringify({ ...result, machine: { ...(result.machine as object), loadAfter: round(loadavg()[0]) } }, null, 2) + '\n');
  };
  try {
    if (o.promotions > 0) {
      const promotions = await promotionRuns(o, pg, nats);
      result.promotions = promotions;
      console.log(JSON.stringify(promotions, null, 2));
    } else if (o.scaling) {
      const one = await scalingRun(o, pg, nats, 1);
      result.scaling = [one];
      write();
      const many = await scalingRun(o, pg, nats, o.nodes);
      result.scaling = [one, many];
      result.scalingRatio = one.heldRatePerS > 0 ? round(many.heldRatePerS / one.heldRatePerS) : null;
      console.log(`[scaling] held at p95 <= ${o.latencyBoundS} s: 1 node ${one.heldRatePerS}/s, ${o.nodes} nodes ${many.heldRatePerS}/s on ${cpus().length} cores`);
    } else {
      const run = await siteRun(o, pg, nats);
      result.site = run;
      console.log(JSON.stringify(run, null, 2));
    }
    write();
  } finally {
    await stopAllServers();
  }
}
