import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderInput, type FolderInputOptions } from '../../adapters/folder.ts';
import type { RawInput } from '../../adapters/types.ts';
import { makeTempDir, stopAllServers, waitFor } from '../../support/servers.ts';

/**
 * A local user who can write to the inbox swaps a checked file, between the folder input's look at it and its read,
 * for a symbolic link to a secret the daemon can read (its write token), for a FIFO or for a link to /dev/zero. The
 * swap is made deterministic by doing it in the ledger look-up (alreadyProcessed), the last step before the read.
 * The daemon must read nothing but the file it checked: the secret never reaches an input, a FIFO never blocks the
 * reader, and the swapped entry ends in failed/ with its reason.
 */
const SECRET = 'the-daemon-write-token-0123456789abcdef';
const adapters: FolderInput[] = [];
const fifos: string[] = [];

afterEach(async () => {
  // A reader blocked on a FIFO (the old code) is released by opening the other end.
  for (const f of fifos.splice(0)) {
    try {
      closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // nobody is waiting on it
    }
  }
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
  await stopAllServers();
});

async function startWithSwap(dir: string, swap: (path: string) => void, options: Partial<FolderInputOptions> = {}) {
  const got: RawInput[] = [];
  const refused: Array<{ path: string; reason: string }> = [];
  const swapped = new Set<string>();
  const adapter = new FolderInput({
    name: 'inbox',
    paths: [dir],
    stabilityMs: 100,
    pollMs: 30,
    rescanMs: 0,
    readDeadlineMs: 2000,
    alreadyProcessed: (key) => {
      const path = key.slice('file:'.length, key.lastIndexOf(':', key.lastIndexOf(':') - 1));
      if (!swapped.has(path)) {
        swapped.add(path);
        swap(path);
      }
      return false;
    },
    onRefused: (path, reason) => refused.push({ path, reason }),
    ...options,
  });
  adapters.push(adapter);
  adapter.inputs$.subscribe((i) => {
    got.push(i);
    void i.reject(i.refused?.message ?? 'test');
  });
  await adapter.start();
  return { got, refused };
}

function secretFile(): string {
  const dir = makeTempDir('data');
  const file = join(dir, 'http-token');
  writeFileSync(file, SECRET, { mode: 0o600 });
  return file;
}

const errorNotes = (dir: string) =>
  existsSync(join(dir, 'failed')) ? readdirSync(join(dir, 'failed')).filter((f) => f.endsWith('.error.txt')).map((f) => readFileSync(join(dir, 'failed', f), 'utf8')) : [];

describe('folder input: a file swapped after it was checked', () => {
  it('for a symbolic link to the write token: the token is never read, the link goes to failed/ with the reason', async () => {
    const secret = secretFile();
    const dir = makeTempDir('inbox');
    writeFileSync(join(dir, 'sample.jdx'), '##TITLE=innocent\n##END=\n');
    const { got, refused } = await startWithSwap(dir, (path) => {
      if (!path.endsWith('sample.jdx')) return;
      unlinkSync(path);
      symlinkSync(secret, path);
    });
    // The note is written after the move (and a reader can see it created but still empty): wait for its words.
    await waitFor('the swapped file refused', () => refused.length + got.length > 0 && existsSync(join(dir, 'failed', 'sample.jdx')) && /symbolic link/.test(errorNotes(dir).join('\n')), 5000);
    // Instead of a fixed wait: a file written now, not swapped, comes through the same watcher and reader after
    // anything the swapped one could still have emitted.
    writeFileSync(join(dir, 'marker.jdx'), '##TITLE=marker\n##END=\n');
    await waitFor('the marker file', () => got.some((i) => i.source.endsWith('marker.jdx')), 30_000);
    expect(got.find((i) => i.source.endsWith('marker.jdx'))!.payload.toString()).toBe('##TITLE=marker\n##END=\n');
    for (const input of got) expect(input.payload.toString()).not.toContain(SECRET);
    expect(lstatSync(join(dir, 'failed', 'sample.jdx')).isSymbolicLink()).toBe(true);
    expect(errorNotes(dir).join('\n')).toMatch(/symbolic link/);
    expect(readFileSync(secret, 'utf8')).toBe(SECRET); // the target itself is untouched
  });

  it('for a FIFO: nothing blocks, the FIFO goes to failed/ and the next file is read', async () => {
    const dir = makeTempDir('inbox');
    writeFileSync(join(dir, 'a.jdx'), '##TITLE=a\n##END=\n');
    const { got, refused } = await startWithSwap(dir, (path) => {
      if (!path.endsWith('a.jdx')) return;
      unlinkSync(path);
      execFileSync('mkfifo', [path]);
      fifos.push(path);
    });
    await waitFor('the FIFO refused', () => existsSync(join(dir, 'failed', 'a.jdx')) && /not a regular file/.test(errorNotes(dir).join('\n')), 5000);
    expect(errorNotes(dir).join('\n')).toMatch(/not a regular file/);
    writeFileSync(join(dir, 'b.jdx'), '##TITLE=b\n##END=\n');
    await waitFor('the next file', () => got.some((i) => i.source.endsWith('b.jdx')), 5000);
    expect(got.find((i) => i.source.endsWith('b.jdx'))!.payload.toString()).toBe('##TITLE=b\n##END=\n');
    expect(refused.length + got.filter((i) => i.refused).length).toBeGreaterThan(0);
  });

  it('for a link to /dev/zero: nothing is read from it', async () => {
    const dir = makeTempDir('inbox');
    writeFileSync(join(dir, 'z.jdx'), '##TITLE=z\n##END=\n');
    const { got } = await startWithSwap(dir, (path) => {
      unlinkSync(path);
      symlinkSync('/dev/zero', path);
    }, { maxFileBytes: 1 << 20 });
    await waitFor('the link refused', () => existsSync(join(dir, 'failed', 'z.jdx')), 5000);
    expect(got.every((i) => i.payload.length === 0)).toBe(true);
  });

  it('with emitRefusals (the daemon): the refusal is emitted with an empty payload and its code', async () => {
    const secret = secretFile();
    const dir = makeTempDir('inbox');
    writeFileSync(join(dir, 'sample.jdx'), '##TITLE=innocent\n##END=\n');
    const { got } = await startWithSwap(
      dir,
      (path) => {
        unlinkSync(path);
        symlinkSync(secret, path);
      },
      { emitRefusals: true },
    );
    await waitFor('the refusal emitted', () => got.length === 1, 5000);
    expect(got[0].payload.length).toBe(0);
    expect(got[0].refused?.code).toBe('symlink-swapped');
  });

  it('a folder on the way swapped for a link to the data folder: the file of the same name there is not read', async () => {
    const secret = secretFile(); // <data>/http-token
    const dir = makeTempDir('inbox');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'first.jdx'), '##TITLE=first\n##END=\n');
    const got: RawInput[] = [];
    const refused: string[] = [];
    // One file at a time: the second waits in the queue, by name, while the first is not acknowledged.
    const adapter = new FolderInput({ name: 'inbox', paths: [dir], stabilityMs: 100, pollMs: 30, rescanMs: 0, maxInFlight: 1, onRefused: (_p, r) => refused.push(r) });
    adapters.push(adapter);
    adapter.inputs$.subscribe((i) => got.push(i));
    await adapter.start();
    await waitFor('the first file', () => got.length === 1, 5000);
    writeFileSync(join(dir, 'sub', 'http-token'), 'harmless\n');
    await waitFor('the second file reported by the watcher and queued behind the first', () => adapter.queueDepth >= 2, 10_000);
    renameSync(join(dir, 'sub'), join(dir, 'sub-old'));
    symlinkSync(dirname(secret), join(dir, 'sub'));
    await got[0].ack();
    // Its turn came and it was refused: the adapter is done with it (the checks below hold for good).
    await waitFor('the queued file refused', () => /outside the watched folder/.test(refused.join('\n')), 10_000);
    for (const input of got) expect(input.payload.toString()).not.toContain(SECRET);
    // Neither read nor moved: the token stays in the data folder.
    expect(readFileSync(secret, 'utf8')).toBe(SECRET);
    // (failed/ may hold the link 'sub' itself, moved there as a link out of the folder: a link, not the token.)
    expect(existsSync(join(dir, 'failed', 'sub')) ? lstatSync(join(dir, 'failed', 'sub')).isSymbolicLink() : true).toBe(true);
    expect(refused.join('\n')).toMatch(/outside the watched folder/);
  });

  it("a link planted in failed/ under a refused file's note name: the note does not write through it", async () => {
    const secret = secretFile();
    const dir = makeTempDir('inbox');
    mkdirSync(join(dir, 'failed'));
    symlinkSync(secret, join(dir, 'failed', 'bad.jdx.error.txt'));
    writeFileSync(join(dir, 'bad.jdx'), 'not a spectrum');
    const got: RawInput[] = [];
    const adapter = new FolderInput({ name: 'inbox', paths: [dir], stabilityMs: 100, pollMs: 30, rescanMs: 0 });
    adapters.push(adapter);
    adapter.inputs$.subscribe((i) => got.push(i));
    await adapter.start();
    await waitFor('the file', () => got.length === 1, 5000);
    await got[0].reject('unreadable: planted-link test');
    expect(readFileSync(secret, 'utf8')).toBe(SECRET);
    const notes = readdirSync(join(dir, 'failed')).filter((f) => f.endsWith('.error.txt') && !lstatSync(join(dir, 'failed', f)).isSymbolicLink());
    expect(notes).toHaveLength(1);
    expect(readFileSync(join(dir, 'failed', notes[0]), 'utf8')).toMatch(/planted-link test/);
  });

  it('processed/ and failed/ replaced by links to the data folder: nothing is moved there', async () => {
    const secret = secretFile();
    const data = dirname(secret);
    const dir = makeTempDir('inbox');
    symlinkSync(data, join(dir, 'processed'));
    symlinkSync(data, join(dir, 'failed'));
    writeFileSync(join(dir, 'good.jdx'), '##TITLE=good\n##END=\n');
    writeFileSync(join(dir, 'bad.jdx'), 'not a spectrum');
    const got: RawInput[] = [];
    const refused: string[] = [];
    const adapter = new FolderInput({ name: 'inbox', paths: [dir], stabilityMs: 100, pollMs: 30, rescanMs: 0, onRefused: (_p, r) => refused.push(r) });
    adapters.push(adapter);
    adapter.inputs$.subscribe((i) => got.push(i));
    await adapter.start();
    await waitFor('both files', () => got.length === 2, 5000);
    for (const i of got) await (i.source.endsWith('good.jdx') ? i.ack() : i.reject('test'));
    expect(readdirSync(data)).toEqual(['http-token']);
    expect(existsSync(join(dir, 'good.jdx')) && existsSync(join(dir, 'bad.jdx'))).toBe(true);
    expect(refused.filter((r) => /leads outside the watched folder/.test(r))).toHaveLength(2);
  });
});

