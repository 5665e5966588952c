/**
 * Outage harness: one real daemon (`spectrad run`) wired to real servers -- a watched folder, a serial port (socat pty
 * pair), MQTT in and out (mosquitto), InfluxDB line protocol out (victoria-metrics), socket.io -- with its data dir on
 * a small tmpfs of its own. Each scenario takes one thing away while spectra keep coming, brings it back, and counts:
 * spectra fed, stored, delivered downstream, lost, duplicated, buffered, replayed, downtime; and checks the alert
 * reached the store (GET /api/alerts), socket.io and /api/health, and cleared (adapter-up) on recovery.
 *
 * The tmpfs is mounted inside a user + mount namespace (`unshare --user --map-root-user --mount`), which needs no root
 * where unprivileged user namespaces are allowed (Debian's default); the harness reaches the daemon's view of it
 * through /proc/<pid>/root.
 *
 * Used by test/reliability/outage.test.ts (short holds) and bench/reliability/outages.ts (longer, figures).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, rmSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { SerialPort } from 'serialport';
import { io, type Socket } from 'socket.io-client';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import { DaemonProcess, dropFile, jcampText, jsonPayload, parseResult, serialLine, sleep, until, writeDaemonConfig, type HealthAnswer } from '../daemon-process.ts';
import {
  freePort,
  makeTempDir,
  startMosquitto,
  startPtyPair,
  startVictoriaMetrics,
  type Mosquitto,
  type PtyPair,
  type VictoriaMetrics,
} from '../servers.ts';

const INSTRUMENT = 'outage';

export interface AlertEvidence {
  /** An adapter-down alert for the adapter in the store (GET /api/alerts). */
  readonly downInStore: boolean;
  readonly downOnSocket: boolean;
  /** /api/health showed the adapter down (and status degraded) during the outage. */
  readonly downInHealth: boolean;
  readonly upInStore: boolean;
  readonly upOnSocket: boolean;
  /** /api/health shows it up again (status ok) after recovery. */
  readonly upInHealth: boolean;
  /** adapter-down alerts recorded for this outage: 1 unless the state flapped. */
  readonly downAlerts: number;
}

export interface OutageFigures {
  readonly outage: string;
  /** The adapter whose alert is checked. */
  readonly adapter: string;
  readonly fed: number;
  readonly stored: number;
  /** Reached the far end: MQTT result topic, VictoriaMetrics points, or (folder/serial/disk) results stored. */
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Most messages waiting in the output's outbox (or inputs waiting at their source) during the outage. */
  readonly buffered: number;
  /** Delivered after the server came back. */
  readonly replayed: number;
  readonly downtimeS: number;
  /** From the server (device, folder, space) being back to everything delivered. */
  readonly recoveryS: number;
  readonly alerts: AlertEvidence;
  /** Broker outage only: the adapter-down and adapter-up alerts reached the MQTT alert topic too (replayed after). */
  readonly alertsOnMqttTopic?: boolean;
  readonly notes?: string;
}

export interface OutageRig {
  readonly root: string;
  readonly inbox: string;
  readonly daemon: DaemonProcess;
  readonly broker: Mosquitto;
  readonly vm: VictoriaMetrics;
  readonly pty: PtyPair;
  /** MQTT messages received on spectrad/<instrument>/result and /alert (a persistent QoS 1 session). */
  readonly mqttResults: ResultMessage[];
  readonly mqttAlerts: AlertMessage[];
  readonly socketAlerts: AlertMessage[];
  /** The daemon's data dir as this process sees it (through /proc/<pid>/root: the tmpfs is in its namespace). */
  dataView(): string;
  readonly tmpfsBytes: number;
  /** Why the data dir could not get a tmpfs of its own (then only the disk-full scenario cannot run). */
  readonly noTmpfs?: string;
  close(): Promise<void>;
}

export interface RigOptions {
  /** Size of the data dir's tmpfs (default 48 MiB). */
  readonly tmpfsMb?: number;
}

export async function startOutageRig(options: RigOptions = {}): Promise<OutageRig> {
  const root = makeTempDir('outage');
  const inbox = path.join(root, 'inbox');
  const dataDir = path.join(root, 'data');
  mkdirSync(inbox);
  mkdirSync(dataDir);
  const [broker, vm, pty, port] = await Promise.all([startMosquitto(), startVictoriaMetrics(), startPtyPair(), freePort()]);
  const tmpfsMb = options.tmpfsMb ?? 48;
  const configFile = writeDaemonConfig(root, [
    `dataDir: ${dataDir}`,
    `instrument: ${INSTRUMENT}`,
    'inputs:',
    `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 50 }`,
    `  - { type: serial, name: serial, path: ${pty.a}, baudRate: 115200, reconnectMinMs: 100, reconnectMaxMs: 1000 }`,
    `  - { type: mqtt, name: mqtt-in, url: '${broker.url}', topics: ['outage/in/#'], clientId: outage-daemon }`,
    'outputs:',
    `  - { type: mqtt, name: mqtt-out, url: '${broker.url}', clientId: outage-daemon-out }`,
    `  - { type: influx, name: influx, url: '${vm.url}', token: vm-needs-none }`,
    '  - { type: socketio }',
    `http: { host: 127.0.0.1, port: ${port}, token: outage-token }`,
    'library: { demo: true, demoClasses: [17, 250], demoPerClass: 2 }',
    'pipeline: { batchSize: 4, windowMs: 10 }',
  ]);
  // The data dir gets a tmpfs of its own, mounted in a private mount namespace just for the daemon.
  const mountScript = `mount -t tmpfs -o size=${tmpfsMb}m spectrad-data "$0" && exec "$@"`;
  const probe = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', mountScript, dataDir, 'true'], { encoding: 'utf8' });
  const noTmpfs = probe.status === 0 ? undefined : `unshare --user --mount could not mount a tmpfs here: ${probe.error?.message ?? probe.stderr.trim()}`;
  const wrapper = noTmpfs ? [] : ['unshare', '--user', '--map-root-user', '--mount', 'sh', '-c', mountScript, dataDir];
  const daemon = new DaemonProcess(configFile, `http://127.0.0.1:${port}`, path.join(root, 'daemon.log'), wrapper);

  const mqttResults: ResultMessage[] = [];
  const mqttAlerts: AlertMessage[] = [];
  const socketAlerts: AlertMessage[] = [];
  // Protocol 3.1.1 with clean=false: the broker keeps this consumer's subscription and queue across its own restart.
  const consumer: MqttClient = await mqtt.connectAsync(broker.url, { clientId: 'outage-consumer', clean: false, protocolVersion: 4, reconnectPeriod: 200 });
  consumer.on('message', (topic, payload) => {
    if (topic.endsWith('/result')) mqttResults.push(parseResult(payload));
    else mqttAlerts.push(JSON.parse(payload.toString()) as AlertMessage);
  });
  await consumer.subscribeAsync([`spectrad/${INSTRUMENT}/result`, `spectrad/${INSTRUMENT}/alert`], { qos: 1 });

  daemon.start();
  await daemon.waitReady(120_000, (h) => h.adapters.filter((a) => a.kind !== 'influx').every((a) => a.state === 'up'));
  const socket: Socket = io(daemon.url, { transports: ['websocket'], reconnectionDelay: 200 });
  socket.on('alert', (a: AlertMessage) => socketAlerts.push(a));
  await until('socket.io connected', () => socket.connected, 10_000, 50);

  return {
    root,
    inbox,
    daemon,
    broker,
    vm,
    pty,
    mqttResults,
    mqttAlerts,
    socketAlerts,
    tmpfsBytes: tmpfsMb * 1024 * 1024,
    ...(noTmpfs ? { noTmpfs } : {}),
    dataView: () => `/proc/${daemon.pid}/root${dataDir}`,
    async close() {
      socket.close();
      await daemon.kill('SIGTERM');
      await consumer.endAsync().catch(() => undefined);
      await Promise.all([broker.stop(), vm.stop(), pty.stop()]);
    },
  };
}

// ---- shared checks -----------------------------------------------------------------------------------------------

async function storedFor(rig: OutageRig, prefix: string): Promise<ResultMessage[]> {
  const res = await fetch(`${rig.daemon.url}/api/results?q=${encodeURIComponent(prefix)}&limit=500`);
  if (!res.ok) throw new Error(`GET /api/results answered ${res.status}`);
  return ((await res.json()) as { items: ResultMessage[] }).items.filter((r) => r.source.includes(prefix));
}

function adapterState(h: HealthAnswer | undefined, name: string): string | undefined {
  return h?.adapters.find((a) => a.name === name)?.state;
}

const isAbout = (a: AlertMessage, adapter: string, kind: 'adapter-down' | 'adapter-up', since: string) =>
  a.kind === kind && a.message.includes(` ${adapter} is `) && a.at >= since;

/** Watches /api/health every 100 ms while an outage runs: was the adapter seen down, and the most buffered. */
function watchHealth(rig: OutageRig, adapter: string, output?: string) {
  let seenDown = false;
  let degraded = false;
  let maxBuffered = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const h = await rig.daemon.health();
      if (adapterState(h, adapter) === 'down') seenDown = true;
      if (h?.status === 'degraded') degraded = true;
      if (h && output) maxBuffered = Math.max(maxBuffered, h.outbox[output] ?? 0);
      await sleep(100);
    }
  })();
  return {
    /**
     * Holds the outage until /api/health has been seen showing it (the adapter down, the status degraded, and at
     * least minBuffered in the output's outbox), so a daemon slow to answer on a loaded machine is not taken for one
     * that never said so. Gives up after 30 s: the figures then tell what was not seen.
     */
    async seen(minBuffered = 0) {
      await until('/api/health to show the outage', () => seenDown && degraded && maxBuffered >= minBuffered, 30_000, 50).catch(() => undefined);
    },
    async end() {
      stop = true;
      await loop;
      return { seenDown: seenDown && degraded, maxBuffered };
    },
  };
}

async function alertEvidence(rig: OutageRig, adapter: string, since: string, downInHealth: boolean): Promise<AlertEvidence> {
  // The up alert is queued for socket.io through the outbox right after the state change: give it a moment.
  await until(`adapter-up alert for ${adapter} on socket.io`, () => rig.socketAlerts.some((a) => isAbout(a, adapter, 'adapter-up', since)), 15_000).catch(() => undefined);
  const stored = await rig.daemon.alerts();
  const h = await rig.daemon.health();
  return {
    downInStore: stored.some((a) => isAbout(a, adapter, 'adapter-down', since)),
    downOnSocket: rig.socketAlerts.some((a) => isAbout(a, adapter, 'adapter-down', since)),
    downInHealth,
    upInStore: stored.some((a) => isAbout(a, adapter, 'adapter-up', since)),
    upOnSocket: rig.socketAlerts.some((a) => isAbout(a, adapter, 'adapter-up', since)),
    upInHealth: adapterState(h, adapter) === 'up' && h?.status === 'ok',
    downAlerts: stored.filter((a) => isAbout(a, adapter, 'adapter-down', since)).length,
  };
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return m;
}

async function feedFiles(rig: OutageRig, prefix: string, n: number, gapMs: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}${String(i).padStart(4, '0')}.jdx`;
    dropFile(rig.inbox, name, jcampText(name, i % 2 ? 17 : 250, i));
    names.push(name);
    await sleep(gapMs);
  }
  return names;
}

export interface ScenarioOptions {
  /** Spectra fed during (or right after) the outage. */
  readonly n: number;
  /** How long the thing stays away after the spectra were fed. */
  readonly holdMs: number;
  readonly gapMs?: number;
}

// ---- scenarios ---------------------------------------------------------------------------------------------------

/** mosquitto stopped and started again: results wait in the outbox and are replayed; MQTT input reconnects. */
export async function mqttBrokerOutage(rig: OutageRig, o: ScenarioOptions): Promise<OutageFigures> {
  const prefix = 'mqtt-out-';
  const since = new Date().toISOString();
  const watch = watchHealth(rig, 'mqtt-out', 'mqtt-out');
  const t0 = Date.now();
  await rig.broker.stop();
  const names = await feedFiles(rig, prefix, o.n, o.gapMs ?? 50);
  await until('results stored during the broker outage', async () => (await storedFor(rig, prefix)).length >= o.n, 30_000);
  await sleep(o.holdMs);
  await watch.seen(o.n);
  const publishedBefore = rig.mqttResults.filter((r) => r.source.includes(prefix)).length;
  await rig.broker.start();
  const t1 = Date.now();
  await until('results replayed to the MQTT consumer', () => new Set(rig.mqttResults.filter((r) => r.source.includes(prefix)).map((r) => r.id)).size >= o.n, 60_000, 100).catch(() => undefined);
  const recoveryS = (Date.now() - t1) / 1000;
  // The MQTT input reconnected too: spectra published on its topic after the restart are identified.
  const feeder = await mqtt.connectAsync(rig.broker.url, { clientId: 'outage-feeder', clean: true });
  for (let i = 0; i < 3; i++) await feeder.publishAsync(`outage/in/after-restart-${i}`, jsonPayload(`after-restart-${i}`, 17, i), { qos: 1 });
  await feeder.endAsync();
  await until('MQTT input identifies after the broker restart', async () => (await storedFor(rig, 'outage/in/after-restart-')).length >= 3, 30_000).catch(() => undefined);
  const inputAfter = (await storedFor(rig, 'outage/in/after-restart-')).length;
  const { seenDown, maxBuffered } = await watch.end();
  const stored = await storedFor(rig, prefix);
  const published = rig.mqttResults.filter((r) => r.source.includes(prefix));
  const perId = countBy(published, (r) => r.id);
  const storedIds = new Set(stored.map((r) => r.id));
  const sources = new Set(stored.map((r) => path.basename(r.source)));
  return {
    outage: 'MQTT broker (mosquitto) stopped and restarted',
    adapter: 'mqtt-out',
    fed: names.length,
    stored: stored.length,
    delivered: [...perId.keys()].filter((id) => storedIds.has(id)).length,
    lost: names.filter((n) => !sources.has(n)).length + [...storedIds].filter((id) => !perId.has(id)).length,
    duplicated: published.length - perId.size,
    buffered: maxBuffered,
    replayed: published.length - publishedBefore,
    downtimeS: round((t1 - t0) / 1000),
    recoveryS: round(recoveryS),
    alerts: await alertEvidence(rig, 'mqtt-out', since, seenDown),
    alertsOnMqttTopic:
      rig.mqttAlerts.some((a) => isAbout(a, 'mqtt-out', 'adapter-down', since)) && rig.mqttAlerts.some((a) => isAbout(a, 'mqtt-out', 'adapter-up', since)),
    notes: `MQTT input after the restart: ${inputAfter}/3 identified`,
  };
}

/** victoria-metrics stopped and started again: points wait in the outbox and are written after. */
export async function tsdbOutage(rig: OutageRig, o: ScenarioOptions): Promise<OutageFigures> {
  const prefix = 'tsdb-';
  const since = new Date().toISOString();
  const watch = watchHealth(rig, 'influx', 'influx');
  const t0 = Date.now();
  await rig.vm.stop();
  const names = await feedFiles(rig, prefix, o.n, o.gapMs ?? 50);
  await until('results stored during the TSDB outage', async () => (await storedFor(rig, prefix)).length >= o.n, 30_000);
  await sleep(o.holdMs);
  await watch.seen(o.n);
  await rig.vm.start();
  const t1 = Date.now();
  const stored = await storedFor(rig, prefix);
  const wanted = new Set(stored.map((r) => Date.parse(r.receivedAt)));
  let points: number[] = [];
  await until(
    'points written to victoria-metrics',
    async () => {
      await rig.vm.forceFlush();
      const series = await rig.vm.exportSeries(`spectrad_result_score{instrument="${INSTRUMENT}"}`);
      points = series.flatMap((s) => s.timestamps).filter((t) => wanted.has(t));
      return new Set(points).size >= wanted.size;
    },
    60_000,
    250,
  ).catch(() => undefined);
  const recoveryS = (Date.now() - t1) / 1000;
  const { seenDown, maxBuffered } = await watch.end();
  const sources = new Set(stored.map((r) => path.basename(r.source)));
  return {
    outage: 'TSDB (victoria-metrics) stopped and restarted',
    adapter: 'influx',
    fed: names.length,
    stored: stored.length,
    delivered: new Set(points).size,
    lost: names.filter((n) => !sources.has(n)).length + (wanted.size - new Set(points).size),
    // VictoriaMetrics keeps one sample per series and timestamp, so a re-written point cannot show as a duplicate.
    duplicated: points.length - new Set(points).size,
    buffered: maxBuffered,
    replayed: new Set(points).size,
    downtimeS: round((t1 - t0) / 1000),
    recoveryS: round(recoveryS),
    alerts: await alertEvidence(rig, 'influx', since, seenDown),
  };
}

/** The socat pty pair killed (device node gone) and created again at the same path: the daemon reopens it. */
export async function serialUnplug(rig: OutageRig, o: ScenarioOptions): Promise<OutageFigures> {
  const since = new Date().toISOString();
  const watch = watchHealth(rig, 'serial');
  const before = (await storedFor(rig, rig.pty.a)).length;
  const t0 = Date.now();
  await rig.pty.stop('SIGKILL');
  await until('serial adapter down', async () => adapterState(await rig.daemon.health(), 'serial') === 'down', 15_000);
  await sleep(o.holdMs);
  await watch.seen();
  await rig.pty.start();
  const t1 = Date.now();
  await until('serial adapter up again', async () => adapterState(await rig.daemon.health(), 'serial') === 'up', 30_000, 50);
  const reopenedS = (Date.now() - t1) / 1000;
  const port = new SerialPort({ path: rig.pty.b, baudRate: 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  for (let i = 0; i < o.n; i++) {
    await new Promise<void>((res, rej) => port.write(serialLine(i % 2 ? 17 : 250, i), (e) => (e ? rej(e) : res())));
    await new Promise<void>((res) => port.drain(() => res()));
    await sleep(o.gapMs ?? 50);
  }
  await until('serial spectra stored', async () => (await storedFor(rig, rig.pty.a)).length - before >= o.n, 30_000).catch(() => undefined);
  const recoveryS = (Date.now() - t1) / 1000;
  await new Promise<void>((res) => port.close(() => res()));
  const { seenDown } = await watch.end();
  const stored = (await storedFor(rig, rig.pty.a)).length - before;
  return {
    outage: 'serial port unplugged and replugged (socat pty pair killed, recreated at the same path)',
    adapter: 'serial',
    fed: o.n,
    stored,
    delivered: stored,
    lost: Math.max(0, o.n - stored),
    duplicated: Math.max(0, stored - o.n),
    buffered: 0,
    replayed: 0,
    downtimeS: round((t1 - t0) / 1000),
    recoveryS: round(recoveryS),
    alerts: await alertEvidence(rig, 'serial', since, seenDown),
    notes: `port reopened ${round(reopenedS)} s after the device came back; spectra sent after the replug`,
  };
}

/** The watched folder deleted (with processed/) and created again: the daemon watches it again. */
export async function folderDeleted(rig: OutageRig, o: ScenarioOptions): Promise<OutageFigures> {
  const prefix = 'refolder-';
  const since = new Date().toISOString();
  const watch = watchHealth(rig, 'inbox');
  const t0 = Date.now();
  rmSync(rig.inbox, { recursive: true, force: true });
  await until('folder adapter down', async () => adapterState(await rig.daemon.health(), 'inbox') === 'down', 15_000);
  await sleep(o.holdMs);
  await watch.seen();
  mkdirSync(rig.inbox);
  const t1 = Date.now();
  // Dropped at once, before the daemon noticed the new folder: the re-armed watcher's first scan must find them.
  const names = await feedFiles(rig, prefix, o.n, o.gapMs ?? 50);
  await until('files in the recreated folder stored', async () => (await storedFor(rig, prefix)).length >= o.n, 30_000).catch(() => undefined);
  const recoveryS = (Date.now() - t1) / 1000;
  const { seenDown } = await watch.end();
  const stored = await storedFor(rig, prefix);
  const perSource = countBy(stored, (r) => path.basename(r.source));
  return {
    outage: 'watched folder deleted and recreated',
    adapter: 'inbox',
    fed: names.length,
    stored: stored.length,
    delivered: perSource.size,
    lost: names.filter((n) => !perSource.has(n)).length,
    duplicated: stored.length - perSource.size,
    buffered: 0,
    replayed: 0,
    downtimeS: round((t1 - t0) / 1000),
    recoveryS: round(recoveryS),
    alerts: await alertEvidence(rig, 'inbox', since, seenDown),
  };
}

/**
 * The data dir's tmpfs filled up (a filler file written until ENOSPC) while files arrive: the store cannot commit, the
 * files wait in the inbox unacknowledged, the daemon reports its store down; the filler is removed and every file is
 * stored once.
 */
export async function diskFull(rig: OutageRig, o: ScenarioOptions): Promise<OutageFigures> {
  if (rig.noTmpfs) throw new Error(`disk full cannot be staged: ${rig.noTmpfs} (unprivileged user namespaces needed)`);
  const prefix = 'diskfull-';
  const since = new Date().toISOString();
  const watch = watchHealth(rig, 'store');
  const filler = path.join(rig.dataView(), 'filler.bin');
  const t0 = Date.now();
  const filled = fillUp(filler);
  const names: string[] = [];
  // Feed until the daemon notices (a WAL with room left can take a few commits first), then n more.
  let extra = 0;
  const feedUntil = Date.now() + 60_000;
  for (let i = 0; extra < o.n && Date.now() < feedUntil; i++) {
    names.push(...(await feedFiles(rig, `${prefix}${i}-`, 1, o.gapMs ?? 50)));
    if (adapterState(await rig.daemon.health(), 'store') === 'down') extra++;
  }
  await sleep(o.holdMs);
  await watch.seen();
  const waiting = names.filter((n) => existsIn(rig.inbox, n)).length;
  unlinkSync(filler);
  const t1 = Date.now();
  await until('files stored after space came back', async () => (await storedFor(rig, prefix)).length >= names.length, 60_000).catch(() => undefined);
  const recoveryS = (Date.now() - t1) / 1000;
  const { seenDown } = await watch.end();
  const stored = await storedFor(rig, prefix);
  const perSource = countBy(stored, (r) => path.basename(r.source));
  return {
    outage: `disk full (data dir on a ${Math.round(rig.tmpfsBytes / 2 ** 20)} MiB tmpfs, filled with ${Math.round(filled / 2 ** 20)} MiB)`,
    adapter: 'store',
    fed: names.length,
    stored: stored.length,
    delivered: perSource.size,
    lost: names.filter((n) => !perSource.has(n)).length,
    duplicated: stored.length - perSource.size,
    buffered: waiting,
    replayed: waiting,
    downtimeS: round((t1 - t0) / 1000),
    recoveryS: round(recoveryS),
    alerts: await alertEvidence(rig, 'store', since, seenDown),
    notes: `${waiting} files waited in the inbox (unacknowledged) while the disk was full`,
  };
}

/** Writes zeros until the filesystem says ENOSPC; returns the bytes written. */
function fillUp(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(256 * 1024);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    // Fill the last partial block too.
    for (let size = chunk.length / 2; size >= 512; size /= 2) {
      try {
        written += writeSync(fd, chunk.subarray(0, size));
      } catch {
        // ENOSPC at this size: try a smaller one
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

function existsIn(dir: string, name: string): boolean {
  return existsSync(path.join(dir, name));
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Every outage, in the order the long run takes them (the disk-full one feeds a third as many spectra). */
export const OUTAGE_SCENARIOS: readonly ((rig: OutageRig, o: ScenarioOptions) => Promise<OutageFigures>)[] = [
  mqttBrokerOutage,
  tsdbOutage,
  serialUnplug,
  folderDeleted,
  diskFull,
];
