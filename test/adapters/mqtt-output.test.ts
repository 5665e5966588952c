import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { MqttOutput, type MqttOutputOptions } from '../../adapters/mqtt-output.ts';
import { OutputUnavailableError } from '../../adapters/errors.ts';
import type { AdapterState } from '../../core/messages.ts';
import { alertFor, asJson, identifiedResult, mixtureResult, rejectedResult } from '../support/messages.ts';
import { validatorsFromDoc } from '../support/schema.ts';
import { startMosquitto, stopAllServers, waitFor, type Mosquitto } from '../../support/servers.ts';

let broker: Mosquitto;
const outputs: MqttOutput[] = [];
const clients: MqttClient[] = [];
const schema = validatorsFromDoc();

beforeAll(async () => {
  broker = await startMosquitto();
});

afterEach(async () => {
  await Promise.all(outputs.splice(0).map((o) => o.stop()));
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
});

afterAll(stopAllServers);

async function startOutput(options: Partial<MqttOutputOptions> = {}) {
  const states: AdapterState[] = [];
  const output = new MqttOutput({ name: 'mqtt-out', node: 'lab-a', url: broker.url, reconnectPeriodMs: 200, publishTimeoutMs: 2000, ...options });
  outputs.push(output);
  output.state$.subscribe((s) => states.push(s));
  await output.start();
  return { output, states };
}

/** A consumer (a LIMS bridge, a PLC gateway) subscribed to spectrad's topics. */
async function subscriber(filter: string | string[]) {
  const got: Array<{ topic: string; body: unknown; retain: boolean }> = [];
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 200 });
  clients.push(client);
  client.on('message', (topic, payload, packet) => got.push({ topic, body: JSON.parse(payload.toString()), retain: packet.retain }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { got, client };
}

describe('MQTT output against a real mosquitto', () => {
  it('publishes results and alerts on spectrad/<instrument>/..., valid against docs/RESULT-SCHEMA.json', async () => {
    const { output } = await startOutput({ topicPrefix: 'lab1' });
    const sub = await subscriber(['lab1/+/result', 'lab1/+/alert']);
    const results = [identifiedResult(), mixtureResult({ instrument: 'ftir-2' }), rejectedResult()];
    for (const r of results) await output.publishResult(r);
    await output.publishAlert(alertFor(results[0]));
    await waitFor('four messages', () => sub.got.length === 4);
    expect(sub.got.map((m) => m.topic)).toEqual(['lab1/raman-1/result', 'lab1/ftir-2/result', 'lab1/raman-1/result', 'lab1/raman-1/alert']);
    expect(sub.got.slice(0, 3).map((m) => m.body)).toEqual(results.map(asJson));
    for (const m of sub.got.slice(0, 3)) expect(schema.result.safeParse(m.body).error).toBeUndefined();
    expect(schema.alert.safeParse(sub.got[3].body).error).toBeUndefined();
  });

  it('resolves publishResult only once the broker has the message (PUBACK), in order', async () => {
    const { output } = await startOutput();
    const sub = await subscriber('spectrad/+/result');
    const rs = Array.from({ length: 20 }, (_, i) => identifiedResult({ score: i / 20 }));
    await Promise.all(rs.map((r) => output.publishResult(r)));
    // Every promise resolved => every message is at the broker: the subscriber gets all of them.
    await waitFor('all results', () => sub.got.length === 20);
    expect(sub.got.map((m) => (m.body as { id: string }).id)).toEqual(rs.map((r) => r.id));
  });

  it('retains results when configured, so a late subscriber sees each instrument\'s latest', async () => {
    const { output } = await startOutput({ topicPrefix: 'retained', retain: true });
    await output.publishResult(identifiedResult({ instrument: 'r1', class: 'old' }));
    const latest = identifiedResult({ instrument: 'r1', class: 'newest' });
    await output.publishResult(latest);
    const late = await subscriber('retained/+/result');
    await waitFor('retained result', () => late.got.length === 1);
    expect(late.got[0]).toMatchObject({ retain: true, body: asJson(latest) });
  });

  it('keeps instrument names from changing the topic tree', async () => {
    const { output } = await startOutput();
    expect(output.topicFor('lab/a+b#c', 'result')).toBe('spectrad/lab_a_b_c/result');
    const sub = await subscriber('spectrad/#');
    await output.publishResult(identifiedResult({ instrument: 'rig/2' }));
    await waitFor('result', () => sub.got.some((m) => m.topic.endsWith('/result')));
    expect(sub.got.find((m) => m.topic.endsWith('/result'))?.topic).toBe('spectrad/rig_2/result');
  });

  it('announces itself online/offline, retained, and retains each adapter state, under its own node', async () => {
    const { output } = await startOutput({ topicPrefix: 'bridgetest' });
    const state: AdapterState = { name: 'inbox', kind: 'folder', state: 'up', since: new Date().toISOString() };
    await output.publishAdapterState(state);
    const late = await subscriber('bridgetest/bridge/#'); // subscribes after the fact: retained messages arrive
    await waitFor('retained bridge and adapter state', () => late.got.length === 2);
    const byTopic = Object.fromEntries(late.got.map((m) => [m.topic, m]));
    expect(byTopic['bridgetest/bridge/lab-a/state'].body).toMatchObject({ state: 'online', node: 'lab-a' });
    expect(byTopic['bridgetest/bridge/lab-a/state'].retain).toBe(true);
    expect(byTopic['bridgetest/bridge/lab-a/adapters/inbox'].body).toEqual(state);
    expect(schema.adapterState.safeParse(byTopic['bridgetest/bridge/lab-a/adapters/inbox'].body).success).toBe(true);
    await output.stop();
    outputs.splice(0);
    await waitFor('offline', () => late.got.some((m) => m.topic === 'bridgetest/bridge/lab-a/state' && (m.body as { state: string }).state === 'offline'));
    expect(schema.bridgeState.safeParse(late.got.at(-1)?.body).success).toBe(true);
  });

  it('keeps two nodes apart: each retains its own state, and one going offline leaves the other online', async () => {
    const { output: a } = await startOutput({ topicPrefix: 'site', node: 'node-a' });
    const { output: b } = await startOutput({ topicPrefix: 'site', node: 'node-b' });
    const sub = await subscriber('site/bridge/+/state');
    await waitFor('both online', () => new Set(sub.got.filter((m) => (m.body as { state: string }).state === 'online').map((m) => m.topic)).size === 2);
    await a.stop();
    outputs.splice(outputs.indexOf(a), 1);
    await waitFor('a offline', () => sub.got.some((m) => m.topic === 'site/bridge/node-a/state' && (m.body as { state: string }).state === 'offline'));
    // A late subscriber sees the retained truth: a offline, b online.
    const late = await subscriber('site/bridge/+/state');
    await waitFor('both retained', () => late.got.length === 2);
    const byTopic = Object.fromEntries(late.got.map((m) => [m.topic, (m.body as { state: string }).state]));
    expect(byTopic).toEqual({ 'site/bridge/node-a/state': 'offline', 'site/bridge/node-b/state': 'online' });
    expect(b.bridgeStateTopic).toBe('site/bridge/node-b/state');
  });

  it('publishes adapter states that changed while it was disconnected once it reconnects', async () => {
    const { output, states } = await startOutput({ topicPrefix: 'heldstate' });
    await broker.stop();
    await waitFor('down', () => states.at(-1)?.state === 'down');
    const state: AdapterState = { name: 'serial-1', kind: 'serial', state: 'down', detail: 'port gone', since: new Date().toISOString() };
    await output.publishAdapterState(state); // resolves: kept for the next connect, not lost
    await broker.start();
    await waitFor('up again', () => states.at(-1)?.state === 'up', 15_000);
    const late = await subscriber('heldstate/bridge/lab-a/adapters/#');
    await waitFor('retained adapter state', () => late.got.some((m) => m.topic === 'heldstate/bridge/lab-a/adapters/serial-1'));
    expect(late.got.find((m) => m.topic === 'heldstate/bridge/lab-a/adapters/serial-1')?.body).toEqual(state);
  });

  it('has the broker announce offline (last will) when the connection dies without a goodbye, and online again after reconnecting', async () => {
    const { output, states } = await startOutput({ topicPrefix: 'willtest' });
    const watcher = await subscriber('willtest/bridge/lab-a/state');
    await waitFor('online', () => watcher.got.some((m) => (m.body as { state: string }).state === 'online'));
    const online = watcher.got.length;
    // Cut the TCP connection under mqtt.js, as a crash or a pulled cable would: no DISCONNECT is sent.
    (output as unknown as { client: MqttClient }).client.stream.destroy();
    await waitFor('offline from the will', () => watcher.got.slice(online).some((m) => (m.body as { state: string }).state === 'offline'));
    await waitFor('online again', () => (watcher.got.at(-1)?.body as { state: string }).state === 'online' && states.at(-1)?.state === 'up', 15_000);
  });

  it('throws OutputUnavailableError while the broker is down and publishes again after it restarts', async () => {
    // A PUBACK timeout longer than the test's: the publish below can only reject in time by failing fast, without
    // waiting for an acknowledgement (the outbox buffers, not mqtt.js). No wall-clock bound, so load cannot fail it.
    const { output, states } = await startOutput({ publishTimeoutMs: 120_000 });
    await output.publishResult(identifiedResult());
    await broker.stop();
    await waitFor('down', () => states.at(-1)?.state === 'down');
    await expect(output.publishResult(identifiedResult())).rejects.toBeInstanceOf(OutputUnavailableError);
    await broker.start();
    await waitFor('up again', () => states.at(-1)?.state === 'up', 15_000);
    const sub = await subscriber('spectrad/+/result');
    const after = identifiedResult();
    await output.publishResult(after);
    await waitFor('result after restart', () => sub.got.length === 1);
    expect((sub.got[0].body as { id: string }).id).toBe(after.id);
  });

  it('is down with the reason when the broker refuses the login, without leaking the password', async () => {
    const secure = await startMosquitto({ auth: { username: 'spectrad', password: 'pw-123' } });
    const { output, states } = await startOutput({ url: secure.url, username: 'spectrad', password: 'nope-456', startWaitMs: 1500 });
    await waitFor('refused', () => states.some((s) => s.state === 'down' && /authori[sz]ed/i.test(s.detail ?? '')));
    expect(JSON.stringify(states)).not.toContain('nope-456');
    await expect(output.publishResult(identifiedResult())).rejects.toBeInstanceOf(OutputUnavailableError);
  });
});
