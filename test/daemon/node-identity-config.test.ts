import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultNodeId, parseConfig } from '../../config/load.ts';

const mqttYaml = [
  'inputs: [{ type: mqtt, name: lab-in, url: "mqtt://b:1883" }]',
  'outputs: [{ type: mqtt, name: lab-out, url: "mqtt://b:1883" }]',
].join('\n');

function problems(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
}

describe('node identity in the config', () => {
  it('defaults the node id to the host name, sanitised to letters, digits, _ . -', () => {
    expect(parseConfig('', 'x.yaml', { env: {} }).node.id).toBe(defaultNodeId(hostname()));
    expect(defaultNodeId('lab-pc.example.org')).toBe('lab-pc.example.org');
    expect(defaultNodeId('Labor PC#2')).toBe('Labor_PC_2');
    expect(defaultNodeId('-x')).toBe('x');
    expect(defaultNodeId('')).toBe('node');
    expect(defaultNodeId('a'.repeat(100))).toHaveLength(64);
  });

  it('takes the node id from the flag over SPECTRAD_NODE_ID over the file', () => {
    const yaml = 'node: { id: from-file }';
    expect(parseConfig(yaml, 'x.yaml', { env: {} }).node.id).toBe('from-file');
    expect(parseConfig(yaml, 'x.yaml', { env: { SPECTRAD_NODE_ID: 'from-env' } }).node.id).toBe('from-env');
    expect(parseConfig(yaml, 'x.yaml', { env: { SPECTRAD_NODE_ID: 'from-env' }, overrides: { nodeId: 'from-flag' } }).node.id).toBe('from-flag');
  });

  it('refuses a node id that cannot be a topic level or a label value, naming where it came from', () => {
    expect(problems(() => parseConfig('node: { id: "a/b" }', 'x.yaml', { env: {} }))).toMatch(/node\.id: use letters, digits/);
    expect(problems(() => parseConfig('', 'x.yaml', { env: { SPECTRAD_NODE_ID: 'lab+1' } }))).toMatch(/node\.id/);
    expect(problems(() => parseConfig('node: { idd: x }', 'x.yaml', { env: {} }))).toMatch(/unknown key "idd"/);
  });

  it('gives every MQTT connection a stable client id per node: spectrad-<node>-<adapter>', () => {
    const a = parseConfig(mqttYaml, 'x.yaml', { env: { SPECTRAD_NODE_ID: 'node-a' } });
    const b = parseConfig(mqttYaml, 'x.yaml', { env: { SPECTRAD_NODE_ID: 'node-b' } });
    expect(a.inputs[0]).toMatchObject({ clientId: 'spectrad-node-a-lab-in', sessionExpirySec: 7 * 24 * 3600 });
    expect(a.outputs[0]).toMatchObject({ clientId: 'spectrad-node-a-lab-out' });
    expect(b.inputs[0]).toMatchObject({ clientId: 'spectrad-node-b-lab-in' });
    // Same node, same ids at every start: the broker's persistent session is found again.
    expect(parseConfig(mqttYaml, 'x.yaml', { env: { SPECTRAD_NODE_ID: 'node-a' } }).inputs[0]).toMatchObject({ clientId: 'spectrad-node-a-lab-in' });
  });

  it('sets the client id prefix and the session expiry from the file, the environment or a flag; an adapter may name its own', () => {
    const yaml = `mqtt: { clientId: plant7, sessionExpirySec: 3600 }\n${mqttYaml}`;
    expect(parseConfig(yaml, 'x.yaml', { env: {} }).inputs[0]).toMatchObject({ clientId: 'plant7-lab-in', sessionExpirySec: 3600 });
    const env = { SPECTRAD_MQTT_CLIENT_ID: 'env-id', SPECTRAD_MQTT_SESSION_EXPIRY_SEC: '600' };
    expect(parseConfig(yaml, 'x.yaml', { env }).inputs[0]).toMatchObject({ clientId: 'env-id-lab-in', sessionExpirySec: 600 });
    const flags = parseConfig(yaml, 'x.yaml', { env, overrides: { mqttClientId: 'flag-id', mqttSessionExpirySec: '0' } });
    expect(flags.inputs[0]).toMatchObject({ clientId: 'flag-id-lab-in', sessionExpirySec: 0 });
    expect(flags.mqtt).toEqual({ clientId: 'flag-id', sessionExpirySec: 0 });
    const own = parseConfig('inputs: [{ type: mqtt, url: "mqtt://b:1883", clientId: fixed, sessionExpirySec: 60 }]', 'x.yaml', { env });
    expect(own.inputs[0]).toMatchObject({ clientId: 'fixed', sessionExpirySec: 60 });
  });

  it('says what is wrong with a session expiry that is not whole seconds', () => {
    expect(problems(() => parseConfig('', 'x.yaml', { env: { SPECTRAD_MQTT_SESSION_EXPIRY_SEC: '7d' } }))).toMatch(/SPECTRAD_MQTT_SESSION_EXPIRY_SEC: expected whole seconds, got "7d"/);
    expect(problems(() => parseConfig('', 'x.yaml', { env: {}, overrides: { mqttSessionExpirySec: '-1' } }))).toMatch(/--mqtt-session-expiry: expected whole seconds/);
    expect(problems(() => parseConfig('mqtt: { sessionExpirySec: -5 }', 'x.yaml', { env: {} }))).toMatch(/mqtt\.sessionExpirySec/);
  });

  it('needs no token for an Influx output with api v1, and reads its password from SPECTRAD_INFLUX_PASSWORD', () => {
    const v1 = parseConfig('outputs: [{ type: influx, url: "http://influx:8086", api: v1, database: lab, username: spectrad }]', 'x.yaml', { env: { SPECTRAD_INFLUX_PASSWORD: 'pw' } });
    expect(v1.outputs[0]).toMatchObject({ api: 'v1', database: 'lab', username: 'spectrad', password: 'pw' });
    expect(problems(() => parseConfig('outputs: [{ type: influx, url: "http://influx:8086" }]', 'x.yaml', { env: {} }))).toMatch(/InfluxDB needs a token/);
  });

  it('documents the flags in `spectrad run --help`', () => {
    const help = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/spectrad.js'), 'run', '--help'], { encoding: 'utf8' });
    expect(help.stdout).toContain('--node-id <id>');
    expect(help.stdout).toContain('--mqtt-client-id <id>');
    expect(help.stdout).toContain('--mqtt-session-expiry <seconds>');
  });
});
