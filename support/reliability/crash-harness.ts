/**
 * Crash harness: the real daemon (`spectrad run`) with a watched folder and an MQTT input (real mosquitto), results
 * published on MQTT. Spectra arrive continuously through both inputs, each with a unique name; the daemon is
 * SIGKILLed after a seeded random life, restarted, killed again, ...; a last life without a kill drains everything.
 * Then the outputs are counted: the store, the folder's processed/ dir and an MQTT subscriber on the result topic.
 *
 * Used by test/reliability/crash.test.ts (a few kills) and bench/reliability/crash.ts (>= 20 kills, figures).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { createRng } from '../../core/math/rng.ts';
import type { ResultMessage } from '../../core/messages.ts';
import {
  DaemonProcess,
  dropFile,
  jcampText,
  jsonPayload,
  parseResult,
  sleep,
  storedResults,
  until,
  writeDaemonConfig,
} from '../daemon-process.ts';
import { freePort, makeTempDir, startMosquitto, type Mosquitto } from '../servers.ts';

export interface CrashOptions {
  readonly kills: number;
  readonly seed: number;
  /**
   * Where kills land (seeded): a quarter at a random moment of start-up (0.3-3 s after the restart, whether or not the
   * daemon is ready by then); the rest a random [minLifeMs, maxLifeMs) after it is ready, while it works through the
   * backlog and the live feed. Tied to readiness so a loaded machine, where start-up takes longer, still gets kills
   * mid-work.
   */
  readonly minLifeMs?: number;
  readonly maxLifeMs?: number;
  /** Mean gap between two inputs of one kind (folder, MQTT); each gap is random in [0.5, 1.5] x this. */
  readonly feedGapMs?: number;
  readonly drainTimeoutMs?: number;
  readonly progress?: (line: string) => void;
}

export interface CrashFigures {
  readonly seed: number;
  readonly kills: number;
  readonly lives: number;
  readonly fedFiles: number;
  /** MQTT messages the broker accepted (PUBACK to the feeder): each must end with one result. */
  readonly fedMqtt: number;
  readonly fed: number;
  readonly processedFiles: number;
  readonly storedResults: number;
  readonly lost: number;
  /** Inputs with more than one stored result (a spectrum identified twice). */
  readonly duplicatedStored: number;
  /** Result messages the MQTT subscriber received, and how many distinct result ids among them. */
  readonly mqttMessages: number;
  readonly mqttDistinctIds: number;
  /** Redeliveries downstream: messages whose id the subscriber had already seen (QoS 1 after a crash). */
  readonly mqttRedelivered: number;
  /** Inputs whose published result ids differ from the stored one, or that got two different ids (must be 0). */
  readonly unstableIds: number;
  /** Redelivered result messages whose body differed from the first delivery (must be 0). */
  readonly redeliveriesDiffering: number;
  /** Stored results never seen on the MQTT result topic after the drain (must be 0). */
  readonly unpublished: number;
  /** Inputs redelivered by their source after a crash and recognised by the store ledger (acknowledged, not re-run). */
  readonly ledgerRecognised: number;
  readonly seconds: number;
  readonly drainSeconds: number;
  /** Downtime per crash: from the restart to /api/health ready, median over the lives that got that far (s). */
  readonly restartToReadyMedianS: number;
  /** Lives killed before they were ready (killed during start-up, model loading or warm-up). */
  readonly killedBeforeReady: number;
  readonly lostNames: readonly string[];
}

const INSTRUMENT = 'crash';

export async function runCrashHarness(o: CrashOptions): Promise<CrashFigures> {
  const log = o.progress ?? (() => undefined);
  const root = makeTempDir('crash');
  const inbox = path.join(root, 'inbox');
  mkdirSync(inbox);
  const dbFile = path.join(root, 'data', 'spectrad.db');
  const logFile = path.join(root, 'daemon.log');
  const broker: Mosquitto = await startMosquitto();
  const port = await freePort();
  const configFile = writeDaemonConfig(root, [
    `dataDir: ${root}/data`,
    `instrument: ${INSTRUMENT}`,
    'logLevel: debug',
    'inputs:',
    `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 50 }`,
    `  - { type: mqtt, name: mqtt-in, url: '${broker.url}', topics: ['crash/in/#'], clientId: crash-daemon }`,
    'outputs:',
    `  - { type: mqtt, name: mqtt-out, url: '${broker.url}', clientId: crash-daemon-out }`,
    '  - { type: socketio }',
    `http: { host: 127.0.0.1, port: ${port}, token: crash-token }`,
    'library: { demo: true, demoClasses: [17, 250], demoPerClass: 2 }',
    'pipeline: { batchSize: 4, windowMs: 10 }',
  ]);
  const daemon = new DaemonProcess(configFile, `http://127.0.0.1:${port}`, logFile);

  // The consumer: a QoS 1 subscriber on the result topic for the whole run (it never crashes).
  const received: Array<{ id: string; body: string; result: ResultMessage }> = [];
  const consumer = await mqtt.connectAsync(broker.url, { clientId: 'crash-consumer', clean: true, reconnectPeriod: 200 });
  consumer.on('message', (_topic, payload) => {
    const body = payload.toString();
    const result = parseResult(body);
    received.push({ id: result.id, body, result });
  });
  await consumer.subscribeAsync(`spectrad/${INSTRUMENT}/result`, { qos: 1 });
  const feeder = await mqtt.connectAsync(broker.url, { clientId: 'crash-feeder', clean: true, reconnectPeriod: 200 });

  const rand = createRng(o.seed);
  const gap = o.feedGapMs ?? 80;
  const fileNames: string[] = [];
  const mqttNames: string[] = [];
  const started = Date.now();
  let feeding = true;

  const feedFiles = async () => {
    while (feeding) {
      const name = `s-${String(fileNames.length).padStart(5, '0')}.jdx`;
      dropFile(inbox, name, jcampText(name, 17, fileNames.length));
      fileNames.push(name);
      await sleep(gap * (0.5 + rand.next()));
    }
  };
  const feedMqtt = async () => {
    while (feeding) {
      const name = `m-${String(mqttNames.length).padStart(5, '0')}`;
      // Accepted once the broker PUBACKs: from then on the broker holds it for the daemon's persistent session.
      await feeder.publishAsync(`crash/in/${name}`, jsonPayload(name, 250, mqttNames.length), { qos: 1 });
      mqttNames.push(name);
      await sleep(gap * (0.5 + rand.next()));
    }
  };

  let kills = 0;
  const readyMs: number[] = [];
  let killedBeforeReady = 0;
  let feeders: Promise<void> | undefined;
  try {
    // The first life must subscribe (creating the persistent session) before MQTT spectra are sent.
    daemon.start();
    await daemon.waitReady(120_000, (h) => h.adapters.some((a) => a.name === 'mqtt-in' && a.state === 'up'));
    feeders = Promise.all([feedFiles(), feedMqtt()]).then(() => undefined);
    for (; kills < o.kills; ) {
      const restarted = !daemon.running;
      if (restarted) daemon.start();
      const inStartup = restarted && rand.next() < 0.25;
      const lifeStart = Date.now();
      let readyAfter: number | undefined;
      const pollReady = async () => {
        if (readyAfter === undefined && (await daemon.health())?.ready) readyAfter = Date.now() - lifeStart;
      };
      if (!inStartup) {
        while (readyAfter === undefined && Date.now() - lifeStart < 120_000) {
          await pollReady();
          await sleep(100);
        }
      }
      const life = inStartup ? 300 + rand.next() * 2700 : (o.minLifeMs ?? 500) + rand.next() * ((o.maxLifeMs ?? 3000) - (o.minLifeMs ?? 500));
      const lifeEnd = Date.now() + life;
      while (Date.now() < lifeEnd) {
        await pollReady();
        await sleep(Math.max(0, Math.min(100, lifeEnd - Date.now())));
      }
      if (restarted) {
        if (readyAfter === undefined) killedBeforeReady++;
        else readyMs.push(readyAfter);
      }
      await daemon.kill('SIGKILL');
      kills++;
      log(`kill ${kills}/${o.kills} after ${Math.round(life)} ms: fed ${fileNames.length} files, ${mqttNames.length} MQTT`);
    }
    feeding = false;
    await feeders;

    // Last life: no kill; wait until everything is stored and published.
    const drainStart = Date.now();
    daemon.start();
    const expected = fileNames.length + mqttNames.length;
    await until(
      'every input stored and published',
      async () => {
        const h = await daemon.health();
        if (!h?.ready) return false;
        const outboxEmpty = Object.values(h.outbox).every((n) => n === 0);
        const inboxEmpty = readdirSync(inbox).filter((f) => f.endsWith('.jdx')).length === 0;
        return inboxEmpty && outboxEmpty && h.counts.pending === 0 && h.counts.results >= expected && new Set(received.map((r) => r.id)).size >= expected;
      },
      o.drainTimeoutMs ?? 90_000,
      250,
    ).catch((err: unknown) => log(`drain incomplete: ${String(err)}`));
    const drainSeconds = (Date.now() - drainStart) / 1000;
    await sleep(500); // late redeliveries still count
    await daemon.kill('SIGTERM');

    const sorted = [...readyMs].sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] / 1000 : NaN;
    return { ...count(), drainSeconds: Math.round(drainSeconds * 10) / 10, restartToReadyMedianS: Math.round(median * 10) / 10, killedBeforeReady };
  } finally {
    feeding = false;
    await feeders?.catch(() => undefined);
    await daemon.kill('SIGKILL');
    await consumer.endAsync().catch(() => undefined);
    await feeder.endAsync().catch(() => undefined);
    await broker.stop();
  }

  function count(): Omit<CrashFigures, 'drainSeconds' | 'restartToReadyMedianS' | 'killedBeforeReady'> {
    const stored = storedResults(dbFile);
    const storedBySource = new Map<string, string[]>();
    for (const r of stored) {
      const key = r.source.startsWith('crash/in/') ? r.source.slice('crash/in/'.length) : path.basename(r.source);
      storedBySource.set(key, [...(storedBySource.get(key) ?? []), r.id]);
    }
    const all = [...fileNames, ...mqttNames];
    const lostNames = all.filter((n) => !storedBySource.has(n));
    const duplicatedStored = [...storedBySource.values()].filter((ids) => ids.length > 1).length;

    const firstBody = new Map<string, string>();
    let redelivered = 0;
    let differing = 0;
    const publishedIdsBySource = new Map<string, Set<string>>();
    for (const r of received) {
      const before = firstBody.get(r.id);
      if (before !== undefined) {
        redelivered++;
        if (before !== r.body) differing++;
      } else firstBody.set(r.id, r.body);
      const src = r.result.source.startsWith('crash/in/') ? r.result.source.slice('crash/in/'.length) : path.basename(r.result.source);
      const set = publishedIdsBySource.get(src) ?? new Set<string>();
      set.add(r.id);
      publishedIdsBySource.set(src, set);
    }
    let unstable = 0;
    for (const [src, ids] of publishedIdsBySource) {
      const storedIds = storedBySource.get(src) ?? [];
      if (ids.size !== 1 || storedIds.length !== 1 || !ids.has(storedIds[0])) unstable++;
    }
    const unpublished = stored.filter((r) => !firstBody.has(r.id)).length;
    const processedDir = path.join(inbox, 'processed');
    const processed = readdirSync(processedDir).filter((f) => f.endsWith('.jdx'));
    const ledgerRecognised = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('already recorded: acknowledged again')).length;
    return {
      seed: o.seed,
      kills,
      lives: daemon.lives,
      fedFiles: fileNames.length,
      fedMqtt: mqttNames.length,
      fed: all.length,
      processedFiles: processed.length,
      storedResults: stored.length,
      lost: lostNames.length,
      duplicatedStored,
      mqttMessages: received.length,
      mqttDistinctIds: firstBody.size,
      mqttRedelivered: redelivered,
      unstableIds: unstable,
      redeliveriesDiffering: differing,
      unpublished,
      ledgerRecognised,
      seconds: Math.round((Date.now() - started) / 1000),
      lostNames: lostNames.slice(0, 20),
    };
  }
}
