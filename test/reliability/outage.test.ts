import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAllServers } from '../../support/servers.ts';
import {
  diskFull,
  folderDeleted,
  mqttBrokerOutage,
  serialUnplug,
  startOutageRig,
  tsdbOutage,
  type OutageFigures,
  type OutageRig,
} from '../../support/reliability/outage-harness.ts';

/**
 * Outages with real servers around one real daemon process: each thing is taken away while spectra arrive and brought
 * back; nothing is lost or doubled, the backlog is replayed, and an alert is raised (store, socket.io, health) and
 * cleared. Short holds here; `npm run reliability:outages` holds longer and writes the figures.
 */
let rig: OutageRig;

beforeAll(async () => {
  rig = await startOutageRig();
}, 150_000);

afterAll(async () => {
  await rig?.close();
  await stopAllServers();
});

function expectClean(f: OutageFigures, delivered = f.fed): void {
  console.log(JSON.stringify(f));
  // The daemon rode the outage out: the same process, never restarted.
  expect(rig.daemon.running).toBe(true);
  expect(rig.daemon.lives).toBe(1);
  expect(f.lost).toBe(0);
  expect(f.duplicated).toBe(0);
  expect(f.stored).toBe(f.fed);
  expect(f.delivered).toBe(delivered);
  expect(f.alerts).toEqual({ downInStore: true, downOnSocket: true, downInHealth: true, upInStore: true, upOnSocket: true, upInHealth: true, downAlerts: 1 });
}

describe('outages: the daemon keeps running, buffers, reconnects, replays and alerts', () => {
  it('MQTT broker stopped and restarted: results buffered in the outbox and replayed', async () => {
    // Longer than the MQTT output's 10 s PUBACK timeout: in a shorter outage mqtt.js itself resends the one publish it
    // had in flight and the outbox's replay is never exercised (checked: with the replay disabled this test then
    // still passed at 4 s, and fails at 12 s).
    const f = await mqttBrokerOutage(rig, { n: 8, holdMs: 12_000 });
    expectClean(f);
    expect(f.buffered).toBeGreaterThanOrEqual(8);
    expect(f.replayed).toBe(8);
    expect(f.notes).toContain('3/3');
    expect(f.alertsOnMqttTopic).toBe(true);
  }, 120_000);

  it('TSDB stopped and restarted: points buffered and written after', async () => {
    const f = await tsdbOutage(rig, { n: 8, holdMs: 1500 });
    expectClean(f);
    expect(f.buffered).toBeGreaterThanOrEqual(8);
  }, 120_000);

  it('serial port unplugged and replugged: the daemon reopens it and reads again', async () => {
    const f = await serialUnplug(rig, { n: 4, holdMs: 1500 });
    expectClean(f);
  }, 120_000);

  it('watched folder deleted and recreated: still watched', async () => {
    const f = await folderDeleted(rig, { n: 4, holdMs: 1500 });
    expectClean(f);
  }, 120_000);

  it('disk full: inputs wait at their source, the store is reported down, everything is stored once space is back', async () => {
    const f = await diskFull(rig, { n: 4, holdMs: 1500 });
    expectClean(f);
    expect(f.buffered).toBeGreaterThan(0);
  }, 180_000);
});
