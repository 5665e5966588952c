import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttInput } from '../../adapters/mqtt-input.ts';
import type { RawInput } from '../../adapters/types.ts';
import { startMosquitto, stopAllServers, waitFor, type Mosquitto } from '../../support/servers.ts';

/**
 * A message larger than the input's limit never reaches the daemon's memory: the MQTT input announces its Maximum
 * Packet Size (MQTT 5) and the broker (real mosquitto) drops larger messages for it, while the messages around them
 * arrive as usual.
 */
let broker: Mosquitto;
let input: MqttInput;

beforeAll(async () => {
  broker = await startMosquitto();
});

afterAll(async () => {
  await input?.stop();
  await stopAllServers();
});

describe('MQTT input message size', () => {
  it('the broker drops a message over maxMessageBytes; smaller ones before and after arrive', async () => {
    const got: RawInput[] = [];
    input = new MqttInput({ name: 'mqtt', url: broker.url, clientId: 'size-limit', topics: ['size/#'], maxMessageBytes: 64 * 1024, startWaitMs: 5000, stopGraceMs: 0 });
    input.inputs$.subscribe((i) => {
      got.push(i);
      void i.ack();
    });
    await input.start();
    const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    await pub.publishAsync('size/a', Buffer.alloc(1000, 0x31), { qos: 1 });
    await pub.publishAsync('size/huge', Buffer.alloc(4 * 1024 * 1024, 0x31), { qos: 1 });
    await pub.publishAsync('size/b', Buffer.alloc(60 * 1024, 0x31), { qos: 1 });
    // The huge message was published between the two small ones on one connection: had it come through, it would
    // be the second input, so no quiet window is needed after the second.
    await waitFor('the small messages', () => got.length >= 2, 10_000);
    await pub.endAsync();
    expect(got.map((g) => g.source)).toEqual(['size/a', 'size/b']);
    expect(Math.max(...got.map((g) => g.payload.length))).toBeLessThanOrEqual(64 * 1024);
  });
});
