import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../core/messages.ts';
import { DaemonProcess, jsonPayload, readStore, until, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, startNatsServer, stopAllServers, type NatsServer } from '../../support/servers.ts';

/**
 * A site work queue survives a dead node: two real `spectrad run` processes take spectra from one NATS JetStream
 * queue (`inputs: - type: queue`), an instrument publishes over MQTT to nats-server's MQTT listener, and one daemon
 * is SIGKILLed while it holds spectra it has not finished. Every spectrum must still get a result on some node
 * (the survivor takes the dead node's share once its lease runs out), and when the dead node comes back it must not
 * identify again the spectra it had left unfinished (the survivor did). Counted from both nodes' stores.
 */
const SPECTRA = 80;
const LEASE_MS = 3000;
const BATCH_SIZE = 4;
const classes = [17, 250, 499];
let nats: NatsServer;
const daemons: DaemonProcess[] = [];
const dbFiles: string[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ mqtt: true });
  for (const node of ['q-1', 'q-2']) {
    const root = makeTempDir(`queue-failover-${node}`);
    const port = await freePort();
    const config = writeDaemonConfig(root, [
      `dataDir: ${root}/data`,
      'inputs:',
      `  - { type: queue, url: '${nats.url}', leaseMs: ${LEASE_MS}, maxInFlight: 32 }`,
      `http: { host: 127.0.0.1, port: ${port}, token: queue-failover }`,
      `library: { demo: true, demoClasses: [${classes.join(', ')}], demoPerClass: 3 }`,
      `pipeline: { batchSize: ${BATCH_SIZE}, windowMs: 10, statsIntervalS: 0 }`,
    ]);
    const d = new DaemonProcess(config, `http://127.0.0.1:${port}`, path.join(root, 'daemon.log'), ['/usr/bin/env', `SPECTRAD_NODE_ID=${node}`]);
    daemons.push(d);
    dbFiles.push(path.join(root, 'data', 'spectrad.db'));
    d.start();
  }
  await Promise.all(daemons.map((d) => d.waitReady(200_000, (h) => h.adapters.some((a) => a.name === 'queue' && a.state === 'up'))));
}, 260_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.kill('SIGTERM')));
  await stopAllServers();
});

interface Stored {
  node: string;
  title: string;
  receivedAt: number;
}

function stored(): Stored[] {
  return dbFiles.flatMap((file) => {
    try {
      return readStore(file, (db) =>
        db.prepare<[], { title: string; message: string }>('SELECT s.title AS title, r.message AS message FROM results r JOIN spectra s ON s.id = r.spectrum_id').all(),
      ).map((r) => {
        const m = JSON.parse(r.message) as ResultMessage;
        return { node: m.node ?? '?', title: r.title, receivedAt: Date.parse(m.receivedAt) };
      });
    } catch {
      return [];
    }
  });
}

describe('two daemons on one NATS work queue, one SIGKILLed mid-stream', () => {
  it('every spectrum gets a result; the restarted node does not redo what the survivor took over', async () => {
    const [survivor, victim] = daemons;
    const instrument = await mqtt.connectAsync(`mqtt://127.0.0.1:${nats.mqttPort}`, { protocolVersion: 4, clientId: 'instrument-1', clean: true });
    const titles = Array.from({ length: SPECTRA }, (_, i) => `failover ${i}`);
    // All at once: each node takes up to maxInFlight (32), more than it finishes before the kill.
    await Promise.all(titles.map((t, i) => instrument.publishAsync(`spectrad/lab-${i % 3}/spectrum`, jsonPayload(t, classes[i % 3], i % 9), { qos: 1 })));
    await instrument.endAsync();
    await until('the victim identifies its first spectrum', () => stored().some((s) => s.node === 'q-2'), 60_000, 50);
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    const victimDone = new Set(stored().filter((s) => s.node === 'q-2').map((s) => s.title));

    await until('every spectrum has a result on some node', () => new Set(stored().map((s) => s.title)).size === SPECTRA, 120_000, 500);
    const log = survivor.recentLog(1_000_000);
    const takeovers = log.split('\n').filter((l) => l.includes('"msg":"queue redelivered')).length;
    expect(takeovers, 'the victim held unfinished spectra that the survivor took over').toBeGreaterThan(0);
    expect(Date.now() - killedAt).toBeGreaterThan(LEASE_MS - 500); // taken over after the lease, not before

    // The dead node comes back: its store still holds the spectra it had not finished, now done by the survivor.
    victim.start();
    await victim.waitReady(200_000, (h) => h.adapters.some((a) => a.name === 'queue' && a.state === 'up'));
    // Instead of a fixed wait: markers published now until the restarted node has identified one. Its own unfinished
    // spectra were read back (or left to the queue) when its pipeline started, before it took new work, so a redo
    // would be in its store by then.
    const markers = await mqtt.connectAsync(`mqtt://127.0.0.1:${nats.mqttPort}`, { protocolVersion: 4, clientId: 'instrument-2', clean: true });
    const isMarker = (s: Stored) => s.title.startsWith('marker ');
    for (let k = 0; !stored().some((s) => isMarker(s) && s.node === 'q-2'); k++) {
      if (k >= 40) throw new Error('40 markers and the restarted node identified none');
      await markers.publishAsync('spectrad/lab-0/spectrum', jsonPayload(`marker ${k}`, classes[0], k % 9), { qos: 1 });
      await until(`marker ${k} identified on some node`, () => stored().some((s) => s.title === `marker ${k}`), 60_000, 100);
    }
    await markers.endAsync();
    const all = stored().filter((s) => !isMarker(s));
    const perTitle = new Map<string, string[]>();
    for (const s of all) perTitle.set(s.title, [...(perTitle.get(s.title) ?? []), s.node]);
    const lost = titles.filter((t) => !perTitle.has(t));
    expect(lost).toEqual([]);
    const redoneAfterRestart = all.filter((s) => s.node === 'q-2' && !victimDone.has(s.title) && s.receivedAt < killedAt);
    expect(redoneAfterRestart.map((s) => s.title), 'spectra the restarted node identified again from its own store').toEqual([]);
    const duplicated = [...perTitle].filter(([, nodes]) => nodes.length > 1);
    const duplicates = duplicated.map(([t, nodes]) => `${t}: ${nodes.join(',')}`);
    // At-least-once: a node killed between committing a micro-batch (group commit, up to batchSize spectra; the next
    // one may be committed before the first one's acks reach the server) and the server receiving its acks leaves
    // those spectra to be done again by the survivor. Any other duplicate (one the
    // victim had not stored when it died) means a spectrum was taken by two nodes while its lease held.
    expect(duplicated.filter(([t]) => !victimDone.has(t)).map(([t]) => t), duplicates.join('; ')).toEqual([]);
    expect(duplicates.length, duplicates.join('; ')).toBeLessThanOrEqual(2 * BATCH_SIZE);
  }, 400_000);
});
