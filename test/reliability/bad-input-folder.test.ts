import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, lstatSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderInput, type FolderInputOptions } from '../../adapters/folder.ts';
import type { RawInput } from '../../adapters/types.ts';
import { makeTempDir, stopAllServers, waitFor } from '../../support/servers.ts';

/**
 * The folder input's refusals on their own (the daemon run is in bad-input-daemon.test.ts): with emitRefusals, files
 * that are not read (too large, links out of the folder, fifos) come out as inputs carrying `refused` and an empty
 * payload, so the pipeline can record why; reject() then moves them to failed/ with the reason. Without it they go
 * to failed/ directly, as before.
 */
const adapters: FolderInput[] = [];

async function startFolder(options: Partial<FolderInputOptions> & { paths: string[] }) {
  const got: RawInput[] = [];
  const refused: string[] = [];
  const adapter = new FolderInput({ name: 'inbox', stabilityMs: 100, pollMs: 50, rearmCheckMs: 200, onRefused: (p) => refused.push(p), ...options });
  adapters.push(adapter);
  adapter.inputs$.subscribe((i) => got.push(i));
  await adapter.start();
  return { got, refused };
}

afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
  await stopAllServers();
});

function plant(dir: string): void {
  const outside = makeTempDir('outside');
  writeFileSync(join(outside, 'secret.csv'), '1,2\n3,4\n');
  symlinkSync(join(outside, 'secret.csv'), join(dir, 'escape.csv'));
  execFileSync('mkfifo', [join(dir, 'pipe.csv')]);
  const fd = openSync(join(dir, 'huge.csv'), 'w');
  ftruncateSync(fd, 1024 ** 3); // sparse: 1 GiB that costs no disk
  closeSync(fd);
  writeFileSync(join(dir, 'fine.csv'), '1,2\n3,4\n');
}

describe('folder input refusals', () => {
  it('emitRefusals: refused files come out unread with a code, and reject() moves them to failed/', async () => {
    const dir = makeTempDir('inbox');
    plant(dir);
    const { got, refused } = await startFolder({ paths: [dir], maxFileBytes: 1024, emitRefusals: true });
    await waitFor('four inputs', () => got.length === 4);
    const by = Object.fromEntries(got.map((g) => [g.source.slice(dir.length + 1), g]));
    expect(by['escape.csv'].refused?.code).toBe('symlink-outside-folder');
    expect(by['escape.csv'].refused?.message).toMatch(/points outside the watched folder .* \(to .*secret\.csv\); not followed/);
    expect(by['pipe.csv'].refused?.code).toBe('not-a-regular-file');
    expect(by['huge.csv'].refused).toEqual({ code: 'input-too-large', message: `file has ${1024 ** 3} bytes, more than the 1024 allowed (maxFileBytes); not read` });
    for (const name of ['escape.csv', 'pipe.csv', 'huge.csv']) {
      expect(by[name].payload.length, name).toBe(0);
      expect(by[name].dedupKey, name).toMatch(/^file:/);
    }
    expect(by['fine.csv'].refused).toBeUndefined();
    expect(by['fine.csv'].payload.toString()).toBe('1,2\n3,4\n');
    expect(refused).toEqual([]); // told through the inputs instead

    for (const name of ['escape.csv', 'pipe.csv', 'huge.csv']) await by[name].reject(by[name].refused!.message);
    for (const name of ['escape.csv', 'pipe.csv', 'huge.csv']) {
      expect(existsSync(join(dir, 'failed', name)), name).toBe(true);
      expect(readFileSync(join(dir, 'failed', `${name}.error.txt`), 'utf8')).toContain(by[name].refused!.message);
    }
    expect(lstatSync(join(dir, 'failed', 'escape.csv')).isSymbolicLink()).toBe(true);
  });

  it('a refusal recorded before a restart is only tidied into failed/, not emitted again', async () => {
    const dir = makeTempDir('inbox');
    plant(dir);
    const { got } = await startFolder({ paths: [dir], maxFileBytes: 1024, emitRefusals: true, alreadyProcessed: (key) => (key.includes('huge.csv') ? 'failed' : false) });
    await waitFor('three inputs', () => got.length === 3);
    await waitFor('huge.csv tidied', () => existsSync(join(dir, 'failed', 'huge.csv')));
    expect(got.map((g) => g.source).some((s) => s.endsWith('huge.csv'))).toBe(false);
  });

  it('without emitRefusals refused files go straight to failed/ and onRefused', async () => {
    const dir = makeTempDir('inbox');
    plant(dir);
    const { got, refused } = await startFolder({ paths: [dir], maxFileBytes: 1024 });
    await waitFor('three refusals', () => refused.length === 3);
    // Not a fixed wait: fine.csv must arrive, and a marker written after everything else closes the window in which
    // a refused file could still come out as an input.
    await waitFor('fine.csv', () => got.some((g) => g.source === join(dir, 'fine.csv')));
    writeFileSync(join(dir, 'zz-marker.csv'), 'marker');
    await waitFor('the marker', () => got.some((g) => g.source === join(dir, 'zz-marker.csv')));
    expect(got.map((g) => g.source)).toEqual([join(dir, 'fine.csv'), join(dir, 'zz-marker.csv')]);
    for (const name of ['escape.csv', 'pipe.csv', 'huge.csv']) expect(existsSync(join(dir, 'failed', `${name}.error.txt`)), name).toBe(true);
  });
});
