import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MqttInput } from '../../adapters/mqtt-input.ts';
import type { RawInput } from '../../adapters/types.ts';
import { startMosquitto, stopAllServers, waitFor, type Mosquitto } from '../../support/servers.ts';

/**
 * What an MQTT publisher controls, against a real mosquitto: the instrument name taken from a topic level follows the
 * documented rule (letters, digits, `_ . -`, at most 64 characters; `..` and 5000-character names are recorded as
 * rejected, never used as a name), and the dedup-key user property lives in its own namespace with a bounded length,
 * so a publisher cannot name (and so suppress) a folder input's key. The payload-dedup rule itself: the same payload
 * on the same topic is one measurement unless each carries its own dedup-key.
 */
let broker: Mosquitto;
let publisher: MqttClient;
const adapters: MqttInput[] = [];
let n = 0;

beforeAll(async () => {
  broker = await startMosquitto();
  publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
});
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await publisher?.endAsync(true);
  await stopAllServers();
});

async function input(): Promise<{ got: RawInput[]; base: string }> {
  const base = `rules${++n}`;
  const got: RawInput[] = [];
  const adapter = new MqttInput({ name: 'mqtt', url: broker.url, clientId: `c-${base}`, topics: [`${base}/+/spectra`], instrumentTopicLevel: 1, startWaitMs: 5000, stopGraceMs: 0 });
  adapters.push(adapter);
  adapter.inputs$.subscribe((i) => {
    got.push(i);
    void i.ack();
  });
  await adapter.start();
  return { got, base };
}

const payload = JSON.stringify({ y: [1, 2, 3] });

describe('MQTT input: names and keys a publisher controls', () => {
  it('an instrument name from the topic that breaks the rule is refused, never used', async () => {
    const { got, base } = await input();
    const long = 'r'.repeat(5000);
    for (const inst of ['..', long, '.hidden', 'raman-1']) await publisher.publishAsync(`${base}/${inst}/spectra`, payload, { qos: 1 });
    await waitFor('four messages', () => got.length === 4, 5000);
    const [dots, tooLong, hidden, good] = got;
    for (const bad of [dots, tooLong, hidden]) {
      expect(bad.instrument).toBeUndefined();
      expect(bad.refused?.code).toBe('bad-instrument-name');
    }
    expect(tooLong.refused!.message.length).toBeLessThan(300);
    expect(good.instrument).toBe('raman-1');
    expect(good.refused).toBeUndefined();
  });

  it("a dedup-key cannot name another input's key, and an over-long one is refused", async () => {
    const { got, base } = await input();
    const fileKey = 'file:/srv/spectra/inbox/a.jdx:17:1700000000000';
    await publisher.publishAsync(`${base}/raman/spectra`, payload, { qos: 1, properties: { userProperties: { 'dedup-key': fileKey } } });
    await publisher.publishAsync(`${base}/raman/spectra`, payload, { qos: 1, properties: { userProperties: { 'dedup-key': 'k'.repeat(5000) } } });
    await waitFor('two messages', () => got.length === 2, 5000);
    expect(got[0].dedupKey).not.toBe(fileKey);
    expect(got[0].dedupKey).toBe(`mqtt-key:${fileKey}`);
    expect(got[1].refused?.code).toBe('bad-dedup-key');
    expect(got[1].dedupKey!.length).toBeLessThan(200);
  });

  it('the same payload twice is one measurement; with a dedup-key each, two', async () => {
    const { got, base } = await input();
    const topic = `${base}/raman/spectra`;
    await publisher.publishAsync(topic, payload, { qos: 1 });
    await publisher.publishAsync(topic, payload, { qos: 1 });
    await publisher.publishAsync(topic, payload, { qos: 1, properties: { userProperties: { 'dedup-key': 'measurement-001' } } });
    await publisher.publishAsync(topic, payload, { qos: 1, properties: { userProperties: { 'dedup-key': 'measurement-002' } } });
    await waitFor('four messages', () => got.length === 4, 5000);
    expect(got[0].dedupKey).toBe(got[1].dedupKey);
    expect(new Set(got.slice(2).map((g) => g.dedupKey)).size).toBe(2);
    expect(got[2].dedupKey).not.toBe(got[0].dedupKey);
  });
});
