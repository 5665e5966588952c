import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { MqttInput, sniffPayloadFormat, type MqttInputOptions } from '../../adapters/mqtt-input.ts';
import type { RawInput } from '../../adapters/types.ts';
import type { AdapterState } from '../../core/messages.ts';
import { startMosquitto, stopAllServers, waitFor, type Mosquitto } from '../../support/servers.ts';

let broker: Mosquitto;
let publisher: MqttClient;
const adapters: MqttInput[] = [];
let topicNo = 0;

beforeAll(async () => {
  broker = await startMosquitto();
  publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 200 });
});

afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
});

afterAll(async () => {
  await publisher?.endAsync(true);
  await stopAllServers();
});

/** A fresh topic tree per test so sessions and retained state never cross tests. */
function freshTopics() {
  topicNo++;
  return { base: `t${topicNo}`, filter: `t${topicNo}/+/spectra`, topic: (inst: string) => `t${topicNo}/${inst}/spectra` };
}

async function startInput(options: Partial<MqttInputOptions> & Pick<MqttInputOptions, 'clientId' | 'topics'>, url = broker.url) {
  const got: RawInput[] = [];
  const states: AdapterState[] = [];
  // No stop grace by default: several tests stop with messages deliberately left un-acknowledged.
  const adapter = new MqttInput({ name: 'mqtt', url, reconnectPeriodMs: 200, startWaitMs: 5000, stopGraceMs: 0, ...options });
  adapters.push(adapter);
  adapter.inputs$.subscribe((i) => got.push(i));
  adapter.state$.subscribe((s) => states.push(s));
  await adapter.start();
  return { adapter, got, states };
}

async function stopInput(adapter: MqttInput) {
  adapters.splice(adapters.indexOf(adapter), 1);
  await adapter.stop();
}

/**
 * The "nothing else arrived" check, closed by a positive event instead of a fixed sleep: a marker published now on
 * the same session comes after anything the broker still had queued for it (redeliveries are sent first on
 * reconnect). Returns the inputs before the marker.
 */
let markerNo = 0;
async function untilMarker(topic: string, got: RawInput[]): Promise<RawInput[]> {
  const marker = `marker-${++markerNo}`;
  await publisher.publishAsync(topic, marker, { qos: 1 });
  const at = await waitFor(`the marker ${marker}`, () => {
    const i = got.findIndex((g) => g.payload.toString() === marker);
    return i >= 0 ? i + 1 : undefined;
  });
  return got.slice(0, at - 1);
}

/** A marker published on a shared subscription reaches one of the daemons: waits until one of them has it. */
async function untilMarkerAnywhere(topic: string, gots: RawInput[][]): Promise<void> {
  const marker = `marker-${++markerNo}`;
  await publisher.publishAsync(topic, marker, { qos: 1 });
  await waitFor(`the marker ${marker}`, () => gots.some((got) => got.some((g) => g.payload.toString() === marker)));
}

const json = (i: number) => JSON.stringify({ y: [i, i + 1, i + 2], meta: { sampleId: `s${i}` } });

describe('MQTT input against a real mosquitto', () => {
  it('receives QoS 1 messages with the source topic, instrument from the topic and a format hint', async () => {
    const t = freshTopics();
    const { got, adapter } = await startInput({ clientId: `c-${t.base}`, topics: [t.filter], instrumentTopicLevel: 1 });
    expect((await firstValue(adapter)).state).toBe('up');
    await publisher.publishAsync(t.topic('raman-1'), json(1), { qos: 1 });
    await waitFor('message', () => got.length === 1);
    expect(got[0].source).toBe(t.topic('raman-1'));
    expect(got[0].instrument).toBe('raman-1');
    expect(got[0].formatHint).toBe('application/json');
    expect(JSON.parse(got[0].payload.toString())).toEqual({ y: [1, 2, 3], meta: { sampleId: 's1' } });
    expect(got[0].dedupKey).toMatch(/^mqtt:t\d+\/raman-1\/spectra:[0-9a-f]{32}$/);
    await got[0].ack();
  });

  it('takes JCAMP-DX text payloads and honours an MQTT 5 content type and dedup-key', async () => {
    const t = freshTopics();
    const { got } = await startInput({ clientId: `c-${t.base}`, topics: [t.filter], instrument: 'ftir' });
    const jdx = '##TITLE=caffeine\n##JCAMP-DX=4.24\n##XYDATA=(X++(Y..Y))\n1 2 3\n##END=\n';
    await publisher.publishAsync(t.topic('x'), jdx, { qos: 1 });
    await publisher.publishAsync(t.topic('x'), '1;2;3', { qos: 1, properties: { contentType: 'text/csv', userProperties: { 'dedup-key': 'run-42' } } });
    await waitFor('two messages', () => got.length === 2);
    expect(got[0].payload.toString()).toBe(jdx);
    expect(got[0].formatHint).toBe('chemical/x-jcamp-dx');
    expect(got[0].instrument).toBe('ftir');
    expect(got[1].formatHint).toBe('text/csv');
    expect(got[1].dedupKey).toBe('mqtt-key:run-42');
    await Promise.all(got.map((g) => g.ack()));
  });

  it('sends the PUBACK only after ack(): an un-acked message is redelivered after reconnect, an acked one is not', async () => {
    const t = freshTopics();
    const clientId = `c-${t.base}`;
    const first = await startInput({ clientId, topics: [t.filter] });
    for (let i = 1; i <= 3; i++) await publisher.publishAsync(t.topic('a'), json(i), { qos: 1 });
    await waitFor('three messages', () => first.got.length === 3);
    await first.got[0].ack();
    expect(first.adapter.unacked).toBe(2);
    // No wait needed before the disconnect: ack() writes the PUBACK at once, and the DISCONNECT follows it on the same
    // connection, which the broker reads in order.
    await stopInput(first.adapter);

    const second = await startInput({ clientId, topics: [t.filter] });
    await waitFor('redelivery', () => second.got.length === 2);
    expect(second.got.map((g) => JSON.parse(g.payload.toString()).y[0])).toEqual([2, 3]);
    // Redelivered messages keep their content, so the store ledger recognises them by dedupKey.
    expect(second.got.map((g) => g.dedupKey)).toEqual(first.got.slice(1).map((g) => g.dedupKey));
    await Promise.all(second.got.map((g) => g.ack()));
    await stopInput(second.adapter);

    // A redelivery would come before anything published after the reconnect: the marker closes the window.
    const third = await startInput({ clientId, topics: [t.filter] });
    expect(await untilMarker(t.topic('a'), third.got)).toHaveLength(0);
  });

  it('acknowledges in arrival order: an early ack waits for the messages before it', async () => {
    const t = freshTopics();
    const clientId = `c-${t.base}`;
    const first = await startInput({ clientId, topics: [t.filter] });
    for (let i = 1; i <= 3; i++) await publisher.publishAsync(t.topic('a'), json(i), { qos: 1 });
    await waitFor('three messages', () => first.got.length === 3);
    await first.got[2].ack(); // the third first: held back until 1 and 2 are settled
    await first.got[0].reject('bad spectrum'); // a rejected message is settled too (PUBACK 0x99)
    await stopInput(first.adapter);
    const second = await startInput({ clientId, topics: [t.filter] });
    await waitFor('redelivery', () => second.got.length === 2);
    expect(second.got.map((g) => JSON.parse(g.payload.toString()).y[0])).toEqual([2, 3]);
    await Promise.all(second.got.map((g) => g.ack()));
  });

  it('works the same over MQTT 3.1.1: delayed PUBACK and redelivery', async () => {
    const t = freshTopics();
    const clientId = `c-${t.base}`;
    const first = await startInput({ clientId, topics: [t.filter], protocolVersion: 4 });
    for (let i = 1; i <= 2; i++) await publisher.publishAsync(t.topic('a'), json(i), { qos: 1 });
    await waitFor('two messages', () => first.got.length === 2);
    await first.got[0].ack();
    await stopInput(first.adapter);
    const second = await startInput({ clientId, topics: [t.filter], protocolVersion: 4 });
    await waitFor('redelivery', () => second.got.length === 1);
    expect(JSON.parse(second.got[0].payload.toString()).y[0]).toBe(2);
    await second.got[0].ack();
  });

  it('with clean: true forgets what arrived while away', async () => {
    const t = freshTopics();
    const clientId = `c-${t.base}`;
    const first = await startInput({ clientId, topics: [t.filter], clean: true });
    await stopInput(first.adapter);
    await publisher.publishAsync(t.topic('a'), json(1), { qos: 1 });
    const second = await startInput({ clientId, topics: [t.filter], clean: true });
    expect(await untilMarker(t.topic('a'), second.got)).toHaveLength(0);
  });

  it('on stop, lets the pipeline settle what it has, emits nothing new, and leaves later messages at the broker', async () => {
    const t = freshTopics();
    const clientId = `c-${t.base}`;
    // A grace far longer than the test: the stop waits for the acks below, which come once the message published
    // during the stop has reached the input.
    const first = await startInput({ clientId, topics: [t.filter], stopGraceMs: 120_000 });
    const received: string[] = [];
    (first.adapter as unknown as { client: MqttClient }).client.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') received.push(packet.payload.toString());
    });
    for (let i = 1; i <= 3; i++) await publisher.publishAsync(t.topic('a'), json(i), { qos: 1 });
    await waitFor('three messages', () => first.got.length === 3);
    adapters.splice(adapters.indexOf(first.adapter), 1);
    const stopped = first.adapter.stop();
    await publisher.publishAsync(t.topic('a'), json(4), { qos: 1 }); // arrives while stopping
    await waitFor('the message published during the stop to reach the stopping input', () => received.includes(json(4)));
    for (const g of first.got) await g.ack(); // the pipeline finishes its batch after stop() was called
    await stopped;
    expect(first.got).toHaveLength(3);
    const second = await startInput({ clientId, topics: [t.filter] });
    await waitFor('the message that came during stop', () => second.got.length === 1);
    const before = await untilMarker(t.topic('a'), second.got);
    expect(before.map((g) => JSON.parse(g.payload.toString()).y[0])).toEqual([4]);
    await Promise.all(second.got.map((g) => g.ack()));
  });

  it('keeps messages published while the daemon is away (persistent session)', async () => {
    const t = freshTopics();
    const clientId = `c-${t.base}`;
    const first = await startInput({ clientId, topics: [t.filter] });
    await stopInput(first.adapter);
    for (let i = 1; i <= 5; i++) await publisher.publishAsync(t.topic('a'), json(i), { qos: 1 });
    const second = await startInput({ clientId, topics: [t.filter] });
    await waitFor('queued messages', () => second.got.length === 5);
    expect(second.got.map((g) => JSON.parse(g.payload.toString()).y[0])).toEqual([1, 2, 3, 4, 5]);
    await Promise.all(second.got.map((g) => g.ack()));
  });

  it('splits a shared subscription between two daemons: each message handled exactly once', async () => {
    const t = freshTopics();
    const shared = `$share/spectrad/${t.filter}`;
    const d1 = await startInput({ clientId: `d1-${t.base}`, topics: [shared] });
    const d2 = await startInput({ clientId: `d2-${t.base}`, topics: [shared] });
    for (const d of [d1, d2]) d.adapter.inputs$.subscribe((i) => void i.ack());
    const n = 40;
    for (let i = 0; i < n; i++) await publisher.publishAsync(t.topic(`inst${i % 3}`), json(i), { qos: 1 });
    await waitFor('all messages', () => d1.got.length + d2.got.length >= n);
    // Instead of a fixed wait for a late duplicate: markers on the shared subscription until each daemon has had one,
    // published after every message, so anything either daemon still had coming was delivered before its marker.
    const isMarker = (g: RawInput) => g.payload.toString().startsWith('marker-');
    for (let k = 0; !(d1.got.some(isMarker) && d2.got.some(isMarker)); k++) {
      if (k >= 50) throw new Error('50 markers on the shared subscription and one daemon got none');
      const before = d1.got.length + d2.got.length;
      await untilMarkerAnywhere(t.topic('inst0'), [d1.got, d2.got]);
      expect(d1.got.length + d2.got.length).toBe(before + 1);
    }
    const spectra = (got: RawInput[]) => got.filter((g) => !isMarker(g));
    const ids1 = spectra(d1.got).map((g) => JSON.parse(g.payload.toString()).y[0] as number);
    const ids2 = spectra(d2.got).map((g) => JSON.parse(g.payload.toString()).y[0] as number);
    expect(ids1.length + ids2.length).toBe(n);
    expect(new Set([...ids1, ...ids2]).size).toBe(n);
    expect(ids1.length).toBeGreaterThan(0);
    expect(ids2.length).toBeGreaterThan(0);
  });

  it('lets many un-acked messages in at once (no head-of-line stall while the pipeline batches)', async () => {
    const t = freshTopics();
    const { got } = await startInput({ clientId: `c-${t.base}`, topics: [t.filter] });
    await Promise.all(Array.from({ length: 50 }, (_, i) => publisher.publishAsync(t.topic('a'), json(i), { qos: 1 })));
    await waitFor('50 un-acked messages delivered together', () => got.length === 50);
    await Promise.all(got.map((g) => g.ack()));
  });

  it('reconnects after the broker restarts and receives again', async () => {
    const t = freshTopics();
    const { got, states } = await startInput({ clientId: `c-${t.base}`, topics: [t.filter] });
    await broker.stop();
    await waitFor('down', () => states.at(-1)?.state === 'down');
    await broker.start();
    await waitFor('up again', () => states.at(-1)?.state === 'up', 15_000);
    await waitFor('publisher reconnected', () => publisher.connected);
    await publisher.publishAsync(t.topic('a'), json(7), { qos: 1 });
    await waitFor('message after restart', () => got.length === 1);
    expect(JSON.parse(got[0].payload.toString()).y[0]).toBe(7);
    await got[0].ack();
  });
});

describe('MQTT input started before its broker', () => {
  it('starts at once with the adapter down, then connects and subscribes when the broker appears', async () => {
    const late = await startMosquitto();
    await late.stop();
    // startWaitMs longer than the test's timeout: a start() that waited for the broker instead of returning on the
    // first refusal fails the test, however loaded the machine (no wall-clock bound).
    const { got, states } = await startInput({ clientId: 'early-bird', topics: ['early/#'], startWaitMs: 120_000 }, late.url);
    expect(states.at(-1)?.state).toBe('down');
    await late.start();
    await waitFor('up', () => states.at(-1)?.state === 'up', 15_000);
    const pub = await mqtt.connectAsync(late.url, { protocolVersion: 5 });
    await pub.publishAsync('early/x', json(5), { qos: 1 });
    await waitFor('message', () => got.length === 1);
    await pub.endAsync();
  });
});

describe('MQTT input with authentication', () => {
  it('is down with the reason on a wrong password and up with the right one', async () => {
    const secure = await startMosquitto({ auth: { username: 'spectrad', password: 's3cret' } });
    const bad = await startInput({ clientId: 'auth-bad', topics: ['a/#'], username: 'spectrad', password: 'wrong', startWaitMs: 1500 }, secure.url);
    await waitFor('refusal', () => bad.states.some((s) => s.state === 'down' && /authori[sz]ed/i.test(s.detail ?? '')));
    expect(JSON.stringify(bad.states)).not.toContain('wrong');
    const good = await startInput({ clientId: 'auth-good', topics: ['a/#'], username: 'spectrad', password: 's3cret' }, secure.url);
    expect(good.states.at(-1)?.state).toBe('up');
  });
});

describe('payload format sniffing', () => {
  it('tells JSON, JCAMP-DX and other text apart', () => {
    expect(sniffPayloadFormat(Buffer.from('\n  {"y":[1]}'))).toBe('application/json');
    expect(sniffPayloadFormat(Buffer.from('\ufeff##TITLE=x'))).toBe('chemical/x-jcamp-dx');
    expect(sniffPayloadFormat(Buffer.from('1,2,3'))).toBe('text/plain');
    expect(sniffPayloadFormat(Buffer.from('{}'), 'text/csv')).toBe('text/csv');
  });
});

function firstValue(adapter: MqttInput): Promise<AdapterState> {
  return new Promise((resolve) => {
    const sub = adapter.state$.subscribe((s) => {
      resolve(s);
      queueMicrotask(() => sub.unsubscribe());
    });
  });
}
