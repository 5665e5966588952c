import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../core/messages.ts';
import { DaemonProcess, dropFile, jcampText, until, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, stopAllServers } from '../../support/servers.ts';
import { startTlsBroker, type TlsBroker } from './support/tls-broker.ts';

/**
 * Secrets reach where they are needed and nowhere else: a real `spectrad run` (log level trace) gets an MQTT password
 * from a file, the HTTP token from the environment, an InfluxDB token from a file and broker credentials inside a
 * URL; it publishes over TLS with the password (so they were used), and then its log, every read route of its API
 * and its store are searched for each secret.
 */
let broker: TlsBroker;
let daemon: DaemonProcess;
let root: string;
let inbox: string;
let subscriber: MqttClient;
const got: ResultMessage[] = [];
const HTTP_TOKEN = 'http-token-from-env-7c1f0a9e2b';
const INFLUX_TOKEN = 'influx-token-from-file-5d3e8b';
const URL_PASSWORD = 'url-embedded-password-93af';
let mqttPassword: string;

beforeAll(async () => {
  broker = await startTlsBroker();
  mqttPassword = broker.password;
  root = makeTempDir('secrets');
  inbox = path.join(root, 'inbox');
  const port = await freePort();
  writeFileSync(path.join(root, 'mqtt-password'), `${mqttPassword}\n`, { mode: 0o600 });
  writeFileSync(path.join(root, 'influx-token'), `${INFLUX_TOKEN}\n`, { mode: 0o600 });
  const urlWithCreds = broker.plainUrl.replace('mqtt://', `mqtt://${broker.username}:${URL_PASSWORD}@`);
  const configFile = writeDaemonConfig(root, [
    `dataDir: ${path.join(root, 'data')}`,
    'instrument: sec',
    'logLevel: trace',
    'inputs:',
    `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 50 }`,
    `  - { type: mqtt, name: mqtt-in, url: '${broker.tlsUrl}', topics: ['sec/in/#'], username: ${broker.username}, passwordFile: ${path.join(root, 'mqtt-password')}, tls: { caFile: ${broker.caFile} } }`,
    'outputs:',
    `  - { type: mqtt, name: mqtt-tls, url: '${broker.tlsUrl}', username: ${broker.username}, passwordFile: ${path.join(root, 'mqtt-password')}, tls: { caFile: ${broker.caFile} } }`,
    // Wrong password inside the URL: the broker refuses it, so error paths are logged too.
    `  - { type: mqtt, name: mqtt-url, url: '${urlWithCreds}' }`,
    `  - { type: influx, name: influx, url: 'http://127.0.0.1:1', tokenFile: ${path.join(root, 'influx-token')} }`,
    `http: { host: 127.0.0.1, port: ${port} }`,
    'library: { demo: true, demoClasses: [17, 250], demoPerClass: 2 }',
  ]);
  process.env.SPECTRAD_HTTP_TOKEN = HTTP_TOKEN; // inherited by the daemon only: this test file runs in its own worker
  daemon = new DaemonProcess(configFile, `http://127.0.0.1:${port}`, path.join(root, 'daemon.log'));
  daemon.start();
  delete process.env.SPECTRAD_HTTP_TOKEN;
  await daemon.waitReady(150_000, (h) => ['inbox', 'mqtt-in', 'mqtt-tls'].every((n) => h.adapters.find((a) => a.name === n)?.state === 'up'));
  subscriber = await mqtt.connectAsync(broker.tlsUrl, { username: broker.username, password: mqttPassword, ca: readFileSync(broker.caFile) });
  subscriber.on('message', (_t, p) => got.push(JSON.parse(p.toString()) as ResultMessage));
  await subscriber.subscribeAsync('spectrad/+/result', { qos: 1 });
}, 240_000);

afterAll(async () => {
  await subscriber?.endAsync().catch(() => undefined);
  await daemon?.kill('SIGTERM');
  await broker?.stop();
  await stopAllServers();
});

describe('secrets from files and the environment, never shown', () => {
  it('the secrets were used: results go out over TLS with the password from its file; the env token opens writes', async () => {
    dropFile(inbox, 'sec-1.jdx', jcampText('sec-1', 17, 1));
    await until('result over TLS', () => got.some((r) => r.source.endsWith('sec-1.jdx')), 60_000);
    const inputPublisher = await mqtt.connectAsync(broker.tlsUrl, { username: broker.username, password: mqttPassword, ca: readFileSync(broker.caFile) });
    await inputPublisher.publishAsync('sec/in/x', jcampText('sec-2', 250, 2), { qos: 1 });
    await inputPublisher.endAsync();
    await until('MQTT input over TLS', () => got.some((r) => r.source === 'sec/in/x'), 60_000);
    const noToken = await fetch(`${daemon.url}/api/alerts/none/ack`, { method: 'POST' });
    expect(noToken.status).toBe(401);
    const withToken = await fetch(`${daemon.url}/api/alerts/none/ack`, { method: 'POST', headers: { authorization: `Bearer ${HTTP_TOKEN}` } });
    expect(withToken.status).toBe(404); // past the token check: there is no such alert
    const health = await daemon.health();
    expect(health?.adapters.find((a) => a.name === 'mqtt-url')?.state).toBe('down');
  }, 120_000);

  it('no secret appears in the log, in any read route of the API, or in the store', async () => {
    const secrets = { mqttPassword, HTTP_TOKEN, INFLUX_TOKEN, URL_PASSWORD };
    const log = readFileSync(daemon.logFile, 'utf8');
    expect(log.length).toBeGreaterThan(1000); // trace level: plenty was logged
    expect(log).toMatch(/mqtt-url/); // including the refused login
    const results = (await (await fetch(`${daemon.url}/api/results?limit=10`)).json()) as { items: ResultMessage[] };
    const routes = ['/api/health', '/api/openapi.json', '/api/results', '/api/alerts', '/api/classes', `/api/spectra/${results.items[0]?.id}`, '/api/config', '/', '/metrics'];
    const bodies: Record<string, string> = {};
    for (const r of routes) bodies[r] = await (await fetch(daemon.url + r)).text();
    expect(bodies['/metrics']).toContain('spectrad_spectra_processed_total'); // the metrics were really read
    const dataDir = path.join(root, 'data');
    const storeBytes = ['spectrad.db', 'spectrad.db-wal'].filter((f) => existsSync(path.join(dataDir, f))).map((f) => readFileSync(path.join(dataDir, f)).toString('latin1')).join('');
    for (const [name, secret] of Object.entries(secrets)) {
      expect(log.includes(secret), `${name} in the daemon log`).toBe(false);
      for (const [route, body] of Object.entries(bodies)) expect(body.includes(secret), `${name} in GET ${route}`).toBe(false);
      expect(storeBytes.includes(secret), `${name} in the store`).toBe(false);
    }
  }, 60_000);
});
