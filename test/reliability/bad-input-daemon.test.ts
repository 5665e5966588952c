import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, symlinkSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../core/messages.ts';
import { DaemonProcess, dropFile, jcampText, jsonPayload, serialLine, sleep, storedResults, until, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, startMosquitto, startPtyPair, stopAllServers, type Mosquitto, type PtyPair } from '../../support/servers.ts';
import { MALFORMED, VALID_FORMS } from '../fixtures/malformed/corpus.ts';

/**
 * The malformed corpus and path tricks driven through a real `spectrad run` (child process) by its folder, MQTT and
 * serial inputs: the daemon neither crashes nor hangs, its peak memory stays bounded, each bad input is recorded in
 * the store as rejected with a code and a message that says what and where, the file lands in failed/ with its
 * reason beside it, and good spectra sent in between are identified as usual.
 */
const MAX_FILE_BYTES = 1024 * 1024;
let root: string;
let inbox: string;
let dbFile: string;
let daemon: DaemonProcess;
let broker: Mosquitto;
let pty: PtyPair;
let publisher: MqttClient;
let baselinePeakKb = 0;

function peakRssKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

interface Rec {
  source: string;
  r: ResultMessage;
}
function records(): Rec[] {
  return storedResults(dbFile).map((row) => ({ source: row.source, r: JSON.parse(row.message) as ResultMessage }));
}

beforeAll(async () => {
  root = makeTempDir('bad-input');
  inbox = path.join(root, 'inbox');
  mkdirSync(inbox);
  const dataDir = path.join(root, 'data');
  dbFile = path.join(dataDir, 'spectrad.db');
  const port = await freePort();
  [broker, pty] = await Promise.all([startMosquitto(), startPtyPair()]);
  // stabilityMs 2000: the slow writer below pauses 120 ms between writes, and runs in this process while the daemon
  // runs in its own; with a 400 ms window a 280 ms stall of this process alone (common on a loaded machine) made a
  // pause look like the end of the file.
  const configFile = writeDaemonConfig(root, [
    `dataDir: ${dataDir}`,
    'instrument: badin',
    'inputs:',
    `  - { type: folder, name: inbox, paths: [${inbox}], patterns: ['**/*'], stabilityMs: 2000, maxFileBytes: ${MAX_FILE_BYTES} }`,
    `  - { type: serial, name: serial, path: ${pty.a}, baudRate: 115200, reconnectMinMs: 100, reconnectMaxMs: 1000 }`,
    `  - { type: mqtt, name: mqtt-in, url: '${broker.url}', topics: ['bad/#'], clientId: bad-input-daemon }`,
    `http: { host: 127.0.0.1, port: ${port}, token: bad-input-token }`,
    'library: { demo: true, demoClasses: [17, 250], demoPerClass: 5, demoSeed: 1 }',
    'pipeline: { batchSize: 8, windowMs: 10 }',
  ]);
  daemon = new DaemonProcess(configFile, `http://127.0.0.1:${port}`, path.join(root, 'daemon.log'));
  daemon.start();
  await daemon.waitReady(150_000, (h) => h.adapters.every((a) => a.state === 'up'));
  publisher = await mqtt.connectAsync(broker.url, { clientId: 'bad-input-publisher' });
  // Baseline: a good spectrum through the folder, so the encoder has run once before the peak is read.
  dropFile(inbox, 'good-0.jdx', jcampText('good-0'));
  await until('first good spectrum', () => existsSync(dbFile) && records().some((x) => x.source.endsWith('good-0.jdx')), 60_000);
  baselinePeakKb = peakRssKb(daemon.pid!);
}, 240_000);

afterAll(async () => {
  await publisher?.endAsync().catch(() => undefined);
  await daemon?.kill('SIGTERM');
  await stopAllServers();
});

function expectAliveAndClean(): void {
  expect(daemon.running, daemon.recentLog()).toBe(true);
  const log = readFileSync(daemon.logFile, 'utf8');
  // A reader that threw anything but a SpectrumInputError is logged as a fault: there must be none.
  expect(log).not.toMatch(/parser fault|preprocessing fault|uncaught|unhandled/i);
}

describe('bad input through a real daemon', () => {
  it('folder: every corpus file and path trick is recorded as rejected with its reason and moved to failed/', async () => {
    // Path tricks: links out of the folder (one to a device that never ends), a fifo, hostile names.
    symlinkSync('/etc/passwd', path.join(inbox, 'escape.jdx'));
    symlinkSync('/dev/zero', path.join(inbox, 'zero.csv'));
    execFileSync('mkfifo', [path.join(inbox, 'pipe.jdx')]);
    const hostile = ['a..%2F..%2Fescape.jdx', 'a..b..jdx', '$(touch pwned).csv', 'new\nline.csv', '-rf.csv'];
    for (const name of hostile) writeFileSync(path.join(inbox, name), 'not a spectrum at all\n');
    // A dot name is a writer's temporary file: never read, left where it is.
    writeFileSync(path.join(inbox, '..%2F..%2Fhidden.jdx'), 'not a spectrum at all\n');
    // Far over maxFileBytes, but sparse: reading it whole would take 2 GiB of memory.
    const huge = openSync(path.join(inbox, 'huge.csv'), 'w');
    ftruncateSync(huge, 2 * 1024 ** 3);
    closeSync(huge);
    for (const c of MALFORMED) writeFileSync(path.join(inbox, c.name), c.bytes);
    for (const v of VALID_FORMS) writeFileSync(path.join(inbox, v.name), v.bytes);
    for (let i = 1; i <= 3; i++) dropFile(inbox, `good-${i}.jdx`, jcampText(`good-${i}`, i % 2 ? 250 : 17, i));

    const names = [...MALFORMED.map((c) => c.name), ...VALID_FORMS.map((v) => v.name), ...hostile, 'escape.jdx', 'zero.csv', 'pipe.jdx', 'huge.csv', 'good-1.jdx', 'good-2.jdx', 'good-3.jdx'];
    const recorded = () => new Map(records().filter((x) => x.source.startsWith(inbox)).map((x) => [path.relative(inbox, x.source), x.r]));
    await until(`${names.length} folder inputs recorded`, () => names.every((n) => recorded().has(n)), 180_000, 500).catch((err: unknown) => {
      const have = recorded();
      throw new Error(`${String(err)}; missing ${names.filter((n) => !have.has(n)).join(', ')}; inbox holds ${readdirSync(inbox).join(', ')}; ${daemon.recentLog(3000)}`);
    });
    const expected = names.length;
    const byName = recorded();

    for (const c of MALFORMED) {
      const r = byName.get(c.name);
      expect(r?.status, c.name).toBe('rejected');
      expect(c.codes, `${c.name}: ${r?.error?.message}`).toContain(r?.error?.code);
      expect(r?.error?.message).toContain(c.name);
    }
    const refusedAs = (name: string) => byName.get(name)?.error?.code;
    expect(refusedAs('escape.jdx')).toBe('symlink-outside-folder');
    expect(refusedAs('zero.csv')).toBe('symlink-outside-folder');
    expect(refusedAs('pipe.jdx')).toBe('not-a-regular-file');
    expect(refusedAs('huge.csv')).toBe('input-too-large');
    expect(byName.get('huge.csv')?.error?.message).toMatch(/2147483648 bytes, more than the 1048576 allowed/);
    for (const name of hostile) expect(byName.get(name)?.status, name).toBe('rejected');
    // The valid compression forms are read (then judged by the model: their 16 points do not cover its range).
    for (const v of VALID_FORMS) expect(byName.get(v.name)?.error?.code ?? 'read', v.name).not.toMatch(/^jcamp-|^bad-|^binary|^empty/);
    // Good spectra among them are identified as usual.
    for (let i = 1; i <= 3; i++) expect(byName.get(`good-${i}.jdx`)?.status, `good-${i}`).not.toBe('rejected');

    // Each bad file is in failed/ with its reason beside it; the link moved is the link, its target untouched.
    const failed = path.join(inbox, 'failed');
    await until('files moved to failed/', () => MALFORMED.every((c) => existsSync(path.join(failed, c.name + '.error.txt'))), 30_000);
    const why = readFileSync(path.join(failed, 'npoints-1e9.jdx.error.txt'), 'utf8');
    expect(why).toMatch(/NPOINTS=1e9 exceeds the limit/);
    expect(lstatSync(path.join(failed, 'escape.jdx')).isSymbolicLink()).toBe(true);
    expect(readFileSync('/etc/passwd', 'utf8')).toMatch(/root:/);
    for (const name of [...hostile, 'huge.csv', 'pipe.jdx']) expect(existsSync(path.join(failed, name)), name).toBe(true);
    expect(existsSync(path.join(root, 'escape.jdx'))).toBe(false);
    expect(existsSync(path.join(inbox, 'pwned'))).toBe(false);
    expect(readdirSync(inbox).filter((n) => n !== 'failed' && n !== 'processed')).toEqual(['..%2F..%2Fhidden.jdx']);

    // Bounded memory: the 2 GiB file was never read, the billion-point claims never allocated.
    const growthMb = (peakRssKb(daemon.pid!) - baselinePeakKb) / 1024;
    console.log(`bad-input folder: ${expected} inputs, peak RSS ${Math.round(peakRssKb(daemon.pid!) / 1024)} MB (+${growthMb.toFixed(0)} MB over the baseline)`);
    expect(growthMb).toBeLessThan(300);
    expectAliveAndClean();
  }, 300_000);

  it('folder: a file still being written is read once complete, not as a truncated file', async () => {
    const text = jcampText('slow-writer', 17, 5);
    const file = path.join(inbox, 'slow.jdx');
    const fd = openSync(file, 'w');
    const step = Math.ceil(text.length / 12);
    for (let at = 0; at < text.length; at += step) {
      writeSync(fd, text.slice(at, at + step));
      await sleep(120);
    }
    closeSync(fd);
    await until('slow file recorded', () => records().some((x) => x.source === file), 60_000);
    const mine = records().filter((x) => x.source === file);
    expect(mine).toHaveLength(1);
    expect(mine[0].r.status).not.toBe('rejected');
    expect(mine[0].r.class).toBe('17');
  }, 120_000);

  it('MQTT: every corpus payload is recorded as rejected with a code; a good message after them is identified', async () => {
    const cases = MALFORMED.filter((c) => c.bytes.length > 0); // an empty MQTT payload is how retained messages are cleared
    for (const c of cases) await publisher.publishAsync(`bad/${c.name}`, c.bytes, { qos: 1 });
    await publisher.publishAsync('bad/good', jsonPayload('mqtt-good', 250, 2), { qos: 1 });
    await until('MQTT inputs recorded', () => records().filter((x) => x.source.startsWith('bad/')).length >= cases.length + 1, 120_000, 500);
    const byTopic = new Map(records().filter((x) => x.source.startsWith('bad/')).map((x) => [x.source, x.r]));
    for (const c of cases) {
      const r = byTopic.get(`bad/${c.name}`);
      expect(r?.status, c.name).toBe('rejected');
      expect(r?.error?.code, c.name).toMatch(/^[a-z0-9-]+$/);
      expect(r?.error?.code, c.name).not.toBe('internal-error');
      expect(r?.error?.message.length, c.name).toBeGreaterThan(10);
    }
    const good = byTopic.get('bad/good');
    // The whole answer in the message: a borderline score once made this read 'undefined' under load.
    expect(good?.class, JSON.stringify(good)).toBe('250');
    expectAliveAndClean();
  }, 180_000);

  it('serial: garbage, NaN lines and an oversized line neither stop the port nor its next good frame', async () => {
    const port = new SerialPort({ path: pty.b, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    const write = (b: Buffer | string) => new Promise<void>((res, rej) => port.write(b, (e) => (e ? rej(e) : port.drain(() => res()))));
    const before = records().filter((x) => x.source === pty.a).length;
    await write('1,2,NaN,4,Infinity\n');
    await write(Buffer.concat([Buffer.from([0, 1, 2, 0xff, 0xfe]), Buffer.from('\n')]));
    await write('not,numbers,at,all\n');
    // 2 MiB without a line end: past the framer's 1 MiB frame limit, dropped rather than buffered.
    for (let i = 0; i < 32; i++) await write('1,'.repeat(32 * 1024));
    await write('\n');
    await write(serialLine(17, 3));
    await until('serial good frame identified', () => records().some((x) => x.source === pty.a && x.r.class === '17'), 60_000, 300).catch((err: unknown) => {
      const mine = records().filter((x) => x.source === pty.a).map((x) => `${x.r.status} ${x.r.error?.code ?? ''} ${x.r.error?.message.slice(0, 100) ?? ''}`);
      throw new Error(`${String(err)}; serial records: ${mine.join(' | ')}; ${daemon.recentLog(3000)}`);
    });
    port.close();
    const mine = records().filter((x) => x.source === pty.a).slice(before);
    const rejected = mine.filter((x) => x.r.status === 'rejected');
    expect(rejected.length).toBeGreaterThanOrEqual(3);
    for (const x of rejected) expect(x.r.error?.code).toMatch(/^[a-z0-9-]+$/);
    expect(readFileSync(daemon.logFile, 'utf8')).toMatch(/serial bytes dropped/);
    const health = await daemon.health();
    expect(health?.adapters.find((a) => a.name === 'serial')?.state).toBe('up');
    expectAliveAndClean();
  }, 120_000);
});
