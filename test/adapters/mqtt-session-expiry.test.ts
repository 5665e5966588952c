import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttInput } from '../../adapters/mqtt-input.ts';
import type { RawInput } from '../../adapters/types.ts';
import { startMosquitto, stopAllServers, waitFor, type Mosquitto } from '../../support/servers.ts';

/**
 * mqtt.sessionExpirySec (and --mqtt-session-expiry, SPECTRAD_MQTT_SESSION_EXPIRY_SEC) reaches the broker: a node that
 * stays away longer than its expiry loses its session, so its queued spectra stop waiting for it; within the expiry
 * they are delivered when it returns. Real mosquitto.
 */
let broker: Mosquitto;

beforeAll(async () => {
  broker = await startMosquitto({ logNotices: true });
});

afterAll(stopAllServers);

async function run(clientId: string, sessionExpirySec: number, untilExpired: boolean): Promise<RawInput[]> {
  const topic = `expiry/${clientId}/spectrum`;
  const first = new MqttInput({ name: 'mqtt', url: broker.url, clientId, topics: [topic], sessionExpirySec, stopGraceMs: 0 });
  await first.start();
  await first.stop();
  const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  // Away until the broker has ended the session (its own log says so), however long its expiry check takes to come.
  if (untilExpired) await waitFor(`the broker to expire ${clientId}`, () => broker.recentLog().includes(`Expiring client ${clientId} due to timeout`), 30_000);
  await publisher.publishAsync(topic, '1,2,3,4', { qos: 1 });
  await publisher.endAsync();
  const got: RawInput[] = [];
  const again = new MqttInput({ name: 'mqtt', url: broker.url, clientId, topics: [topic], sessionExpirySec, stopGraceMs: 0 });
  again.inputs$.subscribe((r) => {
    got.push(r);
    void r.ack();
  });
  await again.start();
  // Not a fixed wait: a marker published now comes after anything the broker had queued for the session, so once it
  // is here, what came before it is all that was queued.
  const marker = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  await marker.publishAsync(topic, 'marker', { qos: 1 });
  await marker.endAsync();
  await waitFor('the marker', () => got.some((r) => r.payload.toString() === 'marker'));
  await again.stop();
  return got.slice(0, got.findIndex((r) => r.payload.toString() === 'marker'));
}

describe('MQTT input session expiry against a real mosquitto', () => {
  it('gets the spectra queued while it was away within the session expiry', async () => {
    const got = await run('expiry-long', 3600, false);
    expect(got.map((r) => r.payload.toString())).toEqual(['1,2,3,4']);
  });

  it('starts afresh after the session expired: the broker queued nothing for it', async () => {
    // A 1 s expiry: the spectrum is published after the broker ended the session (an adapter that did not ask for
    // the expiry would keep its session for a week: the wait for the broker's word would time out).
    const got = await run('expiry-short', 1, true);
    expect(got).toEqual([]);
  });
});
