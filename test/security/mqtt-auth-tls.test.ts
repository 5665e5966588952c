import { writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttOutput, type MqttOutputOptions } from '../../adapters/mqtt-output.ts';
import { ConfigError, parseConfig } from '../../config/load.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { makeTempDir, stopAllServers, waitFor } from '../../support/servers.ts';
import { startTlsBroker, type TlsBroker } from './support/tls-broker.ts';

/**
 * MQTT logins against a real mosquitto: user name and password (password_file), TLS with a self-signed CA made by
 * openssl here, and client certificates. What the config says reaches mqtt.connect, a broker that cannot be verified
 * is refused, and no failure message carries the password.
 */
let broker: TlsBroker;
const outputs: MqttOutput[] = [];

beforeAll(async () => {
  broker = await startTlsBroker();
}, 60_000);

afterAll(async () => {
  for (const o of outputs) await o.stop().catch(() => undefined);
  await broker?.stop();
  await stopAllServers();
});

const result = (id: string): ResultMessage =>
  ({ id, instrument: 'sec', source: 's', receivedAt: new Date().toISOString(), status: 'identified', class: 'c', score: 1, candidates: [], latencyMs: 1, modelVersion: 'm' }) as unknown as ResultMessage;

/** Starts an output and waits until it settles up or down; returns its state and detail. */
async function tryOutput(o: Omit<MqttOutputOptions, 'name' | 'node'>): Promise<{ out: MqttOutput; state: string; detail: string }> {
  const out = new MqttOutput({ name: `sec-${outputs.length}`, node: 'sec-node', reconnectPeriodMs: 60_000, connectTimeoutMs: 5000, ...o });
  outputs.push(out);
  let last = { state: 'starting', detail: '' };
  out.state$.subscribe((s) => (last = { state: s.state, detail: s.detail ?? '' }));
  await out.start();
  await waitFor(`output ${out.name} settled`, () => last.state === 'up' || last.state === 'down', 15_000);
  return { out, ...last };
}

/** A result published by `out` arrives at a subscriber logged in as the test user over the given URL. */
async function delivered(out: MqttOutput, url: string, tls: object): Promise<boolean> {
  const sub = await mqtt.connectAsync(url, { username: broker.username, password: broker.password, reconnectPeriod: 0, ...tls });
  const got: string[] = [];
  sub.on('message', (_t, p) => got.push((JSON.parse(p.toString()) as ResultMessage).id));
  await sub.subscribeAsync('spectrad/sec/result', { qos: 1 });
  const id = `r-${Math.random().toString(36).slice(2)}`;
  await out.publishResult(result(id));
  await waitFor('result delivered', () => got.includes(id), 10_000).catch(() => undefined);
  await sub.endAsync();
  return got.includes(id);
}

describe('MQTT user name and password', () => {
  it('the right login connects and publishes', async () => {
    const { out, state } = await tryOutput({ url: broker.plainUrl, username: broker.username, password: broker.password });
    expect(state).toBe('up');
    expect(await delivered(out, broker.plainUrl, {})).toBe(true);
  });

  it('a wrong password or none is refused, and the reason does not carry the password', async () => {
    const wrong = await tryOutput({ url: broker.plainUrl, username: broker.username, password: 'wrong-password-value' });
    expect(wrong.state).toBe('down');
    expect(wrong.detail).not.toContain('wrong-password-value');
    const none = await tryOutput({ url: broker.plainUrl });
    expect(none.state).toBe('down');
  });

  it('credentials in the URL are masked in the reported error', async () => {
    const url = broker.plainUrl.replace('mqtt://', `mqtt://${broker.username}:url-secret-123@`);
    const { detail } = await tryOutput({ url: url.replace(/:(\d+)$/, ':1') });
    expect(detail).not.toContain('url-secret-123');
  });
});

describe('MQTT over TLS', () => {
  it('with the CA file the broker verifies, and password login over TLS works', async () => {
    const { out, state } = await tryOutput({ url: broker.tlsUrl, username: broker.username, password: broker.password, tls: { caFile: broker.caFile } });
    expect(state).toBe('up');
    expect(await delivered(out, broker.tlsUrl, { ca: (await import('node:fs')).readFileSync(broker.caFile) })).toBe(true);
  });

  it('without the CA a self-signed broker is refused (rejectUnauthorized defaults to true)', async () => {
    const { state, detail } = await tryOutput({ url: broker.tlsUrl, username: broker.username, password: broker.password, tls: {} });
    expect(state).toBe('down');
    expect(detail).toMatch(/self[- ]signed|certificate|verify/i);
  });

  it('rejectUnauthorized: false connects anyway (the option is passed through)', async () => {
    const { state } = await tryOutput({ url: broker.tlsUrl, username: broker.username, password: broker.password, tls: { rejectUnauthorized: false } });
    expect(state).toBe('up');
  });

  it('a listener that requires a client certificate takes certFile + keyFile and refuses a client without', async () => {
    const withCert = await tryOutput({ url: broker.mtlsUrl, tls: { caFile: broker.caFile, certFile: broker.clientCertFile, keyFile: broker.clientKeyFile } });
    expect(withCert.state).toBe('up');
    const without = await tryOutput({ url: broker.mtlsUrl, tls: { caFile: broker.caFile } });
    expect(without.state).toBe('down');
  });
});

describe('MQTT TLS and secrets in the config', () => {
  const dir = makeTempDir('sec-config');
  const file = path.join(dir, 'spectrad.yaml');

  it('tls files resolve against the working folder, a password comes from its file, and reach the resolved config', () => {
    writeFileSync(path.join(dir, 'mqtt-password'), 'from-a-file\n');
    writeFileSync(path.join(dir, 'ca.pem'), 'pem');
    const c = parseConfig(
      ['outputs:', "  - { type: mqtt, url: 'mqtts://b:8883', username: u, passwordFile: mqtt-password, tls: { caFile: ca.pem, rejectUnauthorized: true } }"].join('\n'),
      file,
      { cwd: dir, env: {} },
    );
    const out = c.outputs[0] as { password?: string; passwordFile?: string; tls?: { caFile?: string; rejectUnauthorized: boolean } };
    expect(out.password).toBe('from-a-file');
    expect(out.passwordFile).toBeUndefined();
    expect(out.tls).toEqual({ caFile: path.join(dir, 'ca.pem'), rejectUnauthorized: true });
  });

  it('a TLS file that cannot be read, or a certificate without its key, is a config error naming the key', () => {
    const bad = (yaml: string) => {
      try {
        parseConfig(yaml, file, { cwd: dir, env: {} });
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => p.path).join(',');
        throw err;
      }
      return 'accepted';
    };
    expect(bad("inputs: [{ type: mqtt, url: 'mqtts://b', tls: { caFile: missing.pem } }]")).toBe('inputs[0].tls.caFile');
    expect(bad("outputs: [{ type: mqtt, url: 'mqtts://b', tls: { certFile: c.pem } }]")).toBe('outputs[0].tls.certFile');
  });
});
