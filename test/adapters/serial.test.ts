import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SerialPort } from 'serialport';
import { SerialInput, type SerialInputOptions } from '../../adapters/serial.ts';
import type { RawInput } from '../../adapters/types.ts';
import type { AdapterState } from '../../core/messages.ts';
import { sleep, startPtyPair, stopAllServers, waitFor, type PtyPair } from '../../support/servers.ts';

const adapters: SerialInput[] = [];
const writers: SerialPort[] = [];

afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
  await Promise.all(writers.splice(0).map((w) => new Promise<void>((r) => (w.isOpen ? w.close(() => r()) : r()))));
  await stopAllServers();
});

async function startSerial(pty: PtyPair, options: Partial<SerialInputOptions>) {
  const got: RawInput[] = [];
  const states: AdapterState[] = [];
  const adapter = new SerialInput({ name: 'serial', path: pty.a, baudRate: 115200, reconnectMinMs: 50, reconnectMaxMs: 400, ...options });
  adapters.push(adapter);
  adapter.inputs$.subscribe((i) => got.push(i));
  adapter.state$.subscribe((s) => states.push(s));
  await adapter.start();
  return { adapter, got, states };
}

/** The instrument's side of the cable. */
async function instrument(pty: PtyPair): Promise<{ write(data: string): Promise<void> }> {
  const port = new SerialPort({ path: pty.b, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  writers.push(port);
  return {
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        port.write(data, 'latin1', (e) => (e ? reject(e) : port.drain(() => resolve())));
      }),
  };
}

const text = (got: RawInput[]) => got.map((g) => g.payload.toString('latin1'));

describe('serial input over a real socat pty pair', () => {
  it('frames one spectrum per line, with line settings applied (7E1)', async () => {
    const pty = await startPtyPair();
    const { got, states } = await startSerial(pty, { framing: 'line', dataBits: 7, parity: 'even', instrument: 'uv-1' });
    expect(states.at(-1)?.state).toBe('up');
    const dev = await instrument(pty);
    // The start of the second line comes with the first; the rest only once the first line was framed, so the
    // adapter holds a partial frame across reads (no fixed pause that a loaded machine could merge away).
    await dev.write('1,2,3\r\n4;5;');
    await waitFor('the first line', () => got.length === 1);
    await dev.write('6\n');
    await waitFor('two lines', () => got.length === 2);
    expect(text(got)).toEqual(['1,2,3', '4;5;6']);
    expect(got[0]).toMatchObject({ source: pty.a, instrument: 'uv-1', formatHint: 'serial.csv', adapter: 'serial' });
    await expect(got[0].ack()).resolves.toBeUndefined();
  });

  it('frames payloads between start and end markers', async () => {
    const pty = await startPtyPair();
    const { got } = await startSerial(pty, { framing: 'markers', startMarker: '\u0002', endMarker: '\u0003' });
    const dev = await instrument(pty);
    await dev.write('boot noise\u00021 2 3\u0003\r\n\u00024 5');
    await waitFor('the first frame', () => got.length === 1);
    await dev.write(' 6\u0003');
    await waitFor('two frames', () => got.length === 2);
    expect(text(got)).toEqual(['1 2 3', '4 5 6']);
  });

  it('frames whole JCAMP-DX blocks and drops an oversize one', async () => {
    const pty = await startPtyPair();
    const dropped: string[] = [];
    const { got, adapter } = await startSerial(pty, { framing: 'jcamp', maxFrameBytes: 200, onDropped: (e) => dropped.push(e.reason) });
    const dev = await instrument(pty);
    const block = '##TITLE=benzene\n##JCAMP-DX=4.24\n##XYDATA=(X++(Y..Y))\n100 1 2 3\n##END=\n';
    const huge = '##TITLE=huge\n' + '100 1 2 3 4 5 6 7 8 9\n'.repeat(30) + '##END=\n';
    for (let i = 0; i < block.length; i += 16) {
      await dev.write(block.slice(i, i + 16));
      await sleep(5);
    }
    await dev.write(huge + block);
    await waitFor('two blocks', () => got.length === 2);
    expect(text(got)).toEqual([block, block]);
    expect(got[0].formatHint).toBe('serial.jdx');
    expect(dropped).toEqual(['oversize']);
    expect(adapter.counts).toEqual({ frames: 2, dropped: 1 });
  });

  it('reconnects with backoff when the port disappears and comes back', async () => {
    const pty = await startPtyPair();
    const { got, states } = await startSerial(pty, { framing: 'line' });
    let dev = await instrument(pty);
    await dev.write('1,1\n');
    await waitFor('first line', () => got.length === 1);
    writers.splice(0); // their pty goes away with socat
    await pty.stop();
    await waitFor('down', () => states.at(-1)?.state === 'down');
    await waitFor('failed reopen attempts', () => states.filter((s) => s.state === 'down').length > 2);
    expect(states.at(-1)?.detail).toMatch(/retrying in \d+ ms/);
    await pty.start();
    await waitFor('up again', () => states.at(-1)?.state === 'up', 5000);
    dev = await instrument(pty);
    await dev.write('2,2\n');
    await waitFor('line after reconnect', () => got.length === 2);
    expect(text(got)).toEqual(['1,1', '2,2']);
  });

  it('notices a device node that vanished even when the open descriptor reports nothing', async () => {
    const pty = await startPtyPair();
    const { states } = await startSerial(pty, { framing: 'line', presenceCheckMs: 100 });
    expect(states.at(-1)?.state).toBe('up');
    // socat keeps both pty ends alive; only the node goes, as when udev removes /dev/ttyUSB0 before the hangup lands.
    rmSync(pty.a);
    await waitFor('down', () => states.at(-1)?.state === 'down', 3000);
    expect(states.at(-1)?.detail).toMatch(/disappeared; retrying in \d+ ms/);
  });

  it('waits for a port that is not there yet at start', async () => {
    const pty = await startPtyPair();
    await pty.stop();
    const { got, states } = await startSerial(pty, { framing: 'line' });
    expect(states.at(-1)?.state).toBe('down');
    expect(states.at(-1)?.detail).toMatch(/cannot open/);
    await pty.start();
    await waitFor('up', () => states.at(-1)?.state === 'up', 5000);
    const dev = await instrument(pty);
    await dev.write('9,9\n');
    await waitFor('line', () => got.length === 1);
  });
});
