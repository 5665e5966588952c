import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../config/load.ts';

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, 'test.yaml', { env, cwd: '/srv' });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

describe('config validation', () => {
  it('loads the embedded default with no external server', () => {
    const c = loadConfig({ env: {}, cwd: '/srv/lab' });
    expect(c.inputs).toHaveLength(1);
    expect(c.inputs[0]).toMatchObject({ type: 'folder', paths: ['/srv/lab/inbox'], after: 'move' });
    expect(c.outputs.every((o) => o.type === 'socketio')).toBe(true);
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(c.store.path).toBe('/srv/lab/data/spectrad.db');
    expect(c.model.dir).toMatch(/models\/default$/);
  });

  it('takes a bundled model by name in model.dir and names the bundled ones for an unknown name', () => {
    const c = parseConfig('model:\n  dir: default\n', 'test.yaml', { env: {}, cwd: '/srv' });
    expect(c.model.dir).toMatch(/models\/default$/);
    const problems = problemsOf('model:\n  dir: raman-999\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^model\.dir: no model "raman-999".*bundled models: .*default/);
    // A path that does not exist yet is not a config problem (the model loads later), as before.
    expect(problemsOf('model:\n  dir: ./models/mine\n')).toEqual([]);
  });

  it('names the key path and the problem for a wrong type deep in a list', () => {
    const problems = problemsOf('inputs:\n  - type: folder\n    paths: ./inbox\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^inputs\[0\]\.paths: .*array/);
  });

  it('names a misspelt key instead of ignoring it', () => {
    const problems = problemsOf('http:\n  prot: 9000\n');
    expect(problems).toEqual(['http: unknown key "prot" (misspelt?)']);
  });

  it('reports every problem at once, with paths', () => {
    const problems = problemsOf(
      [
        'http: { port: 70000 }',
        'identification: { mixture: sometimes, k: 0 }',
        'outputs:',
        '  - type: mqtt',
        '    url: http://broker',
        '  - type: kafka',
      ].join('\n'),
    );
    const paths = problems.map((p) => p.split(':')[0]);
    expect(paths).toEqual(expect.arrayContaining(['http.port', 'identification.mixture', 'identification.k', 'outputs[0].url', 'outputs[1].type']));
  });

  it('refuses duplicate adapter names and marker framing without markers', () => {
    const problems = problemsOf(
      ['inputs:', '  - { type: folder, name: a, paths: [x] }', '  - { type: serial, name: a, path: /dev/ttyUSB0, framing: markers }'].join('\n'),
    );
    expect(problems.some((p) => p.startsWith('inputs[1].name: name "a" is already used by inputs[0]'))).toBe(true);
    expect(problems.some((p) => p.startsWith('inputs[1].framing: framing "markers" needs'))).toBe(true);
  });

  it('lets core check the preprocessing steps, naming the key', () => {
    expect(problemsOf('preprocessing:\n  steps:\n    - { kind: savitzkyGolay, windowSize: 4 }\n')).toEqual([
      'preprocessing.steps[0].windowSize: windowSize 4 must be an odd integer >= 3',
    ]);
    expect(problemsOf('preprocessing:\n  steps:\n    - { kind: wavelet }\n')[0]).toMatch(/^preprocessing\.steps\[0\]\.kind: /);
  });

  it('reports YAML syntax errors with a line', () => {
    const problems = problemsOf('http:\n  port: [8080\n');
    expect(problems[0]).toMatch(/^line \d+: YAML/);
  });

  it('fills defaults and resolves relative paths against the working folder', () => {
    const c = parseConfig('dataDir: state\ninputs: [{ type: mqtt, url: "mqtt://b:1883" }]', 'x.yaml', { cwd: '/srv', env: {} });
    expect(c.dataDir).toBe('/srv/state');
    expect(c.library.path).toBe('/srv/state/library.json');
    expect(c.inputs[0]).toMatchObject({ name: 'mqtt', qos: 1, clean: false, topics: ['spectrad/+/spectrum'] });
    expect(c.pipeline).toEqual({ batchSize: 32, windowMs: 25, queueBound: 512, ingestConcurrency: 64, statsIntervalS: 60 });
  });

  it('each input names its file format (default auto); formats.strict defaults to tolerant reading', () => {
    const c = parseConfig('inputs:\n  - { type: folder, paths: [x], format: rruff }\n  - { type: mqtt, url: "mqtt://b:1883" }\n  - { type: serial, path: /dev/ttyUSB0, format: csv }\n', 'x.yaml', { cwd: '/srv', env: {} });
    expect(c.inputs.map((i) => i.format)).toEqual(['rruff', 'auto', 'csv']);
    expect(c.formats).toEqual({ strict: false });
    expect(parseConfig('formats: { strict: true }', 'x.yaml', { cwd: '/srv', env: {} }).formats.strict).toBe(true);
    expect(problemsOf('inputs: [{ type: folder, paths: [x], format: pdf }]\n')[0]).toMatch(/format/);
  });
});

describe('secrets and overrides', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-config-'));
  const yaml = 'inputs: [{ type: mqtt, url: "mqtt://b:1883", password: inline }]\noutputs: [{ type: mqtt, url: "mqtt://b:1883" }]\n';

  it('takes the MQTT password from the environment over the file', () => {
    const c = parseConfig(yaml, 'x.yaml', { env: { SPECTRAD_MQTT_PASSWORD: 'from-env' } });
    expect(c.inputs[0]).toMatchObject({ password: 'from-env' });
    expect(c.outputs[0]).toMatchObject({ password: 'from-env' });
  });

  it('reads SPECTRAD_MQTT_PASSWORD_FILE and keeps the inline one without env', () => {
    const secret = path.join(dir, 'pw');
    writeFileSync(secret, 's3cret\n');
    const c = parseConfig(yaml, 'x.yaml', { env: { SPECTRAD_MQTT_PASSWORD_FILE: secret } });
    expect(c.inputs[0]).toMatchObject({ password: 's3cret' });
    expect(parseConfig(yaml, 'x.yaml', { env: {} }).inputs[0]).toMatchObject({ password: 'inline' });
  });

  it('names the key when a secret file cannot be read, and requires an influx token', () => {
    const problems = problemsOf('http: { tokenFile: /nonexistent/token }\noutputs: [{ type: influx, url: "http://tsdb:8428" }]');
    expect(problems.some((p) => p.startsWith('http.tokenFile: cannot read'))).toBe(true);
    expect(problems.some((p) => p.startsWith('outputs[0].token: InfluxDB needs a token'))).toBe(true);
    const c = parseConfig('outputs: [{ type: influx, url: "http://tsdb:8428" }]', 'x.yaml', { env: { SPECTRAD_INFLUX_TOKEN: 't' } });
    expect(c.outputs[0]).toMatchObject({ token: 't' });
  });

  it('lets flags override the file and never rewrites the file', () => {
    const file = path.join(dir, 'spectrad.yaml');
    const text = 'inputs: [{ type: folder, paths: [a] }, { type: mqtt, url: "mqtt://b:1883" }]\noutputs: [{ type: mqtt, url: "mqtt://old:1883" }]\n';
    writeFileSync(file, text);
    const c = loadConfig({
      file,
      cwd: dir,
      env: {},
      overrides: { watch: ['w1', 'w2'], mqtt: 'mqtt://new:1883', http: '0.0.0.0:9090', instrument: 'ftir-1', dataDir: 'd' },
    });
    expect(c.inputs.map((i) => i.type)).toEqual(['mqtt', 'folder']);
    expect(c.inputs[1]).toMatchObject({ paths: [path.join(dir, 'w1'), path.join(dir, 'w2')] });
    expect(c.outputs).toEqual([expect.objectContaining({ type: 'mqtt', url: 'mqtt://new:1883' })]);
    expect(c.http).toMatchObject({ host: '0.0.0.0', port: 9090 });
    expect(c.instrument).toBe('ftir-1');
    expect(c.dataDir).toBe(path.join(dir, 'd'));
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('refuses a malformed --http flag and a missing file with a clear message', () => {
    expect(() => parseConfig('', 'x.yaml', { overrides: { http: 'localhost' } })).toThrow(/--http: expected HOST:PORT/);
    expect(() => loadConfig({ file: '/nonexistent/spectrad.yaml' })).toThrow(/cannot read the file/);
  });
});
