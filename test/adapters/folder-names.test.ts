import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { escapeUndecodable, fitName, MAX_NAME_BYTES } from '../../adapters/file-names.ts';
import { FolderInput, type FolderInputOptions } from '../../adapters/folder.ts';
import type { RawInput } from '../../adapters/types.ts';
import { makeTempDir, stopAllServers, waitFor } from '../../support/servers.ts';

/**
 * File names the folder input meets in labs: Latin-1 names written by older Windows software to a share (not valid
 * UTF-8: Node's string paths cannot name them and the watcher never reports them) are renamed to their escaped form
 * and read, whether there at start or arriving later, with no rescan; a name near the 255-byte limit that is refused
 * still gets its error note in failed/.
 */
const adapters: FolderInput[] = [];
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
  await stopAllServers();
});

async function start(options: Partial<FolderInputOptions> & { paths: string[] }) {
  const got: RawInput[] = [];
  const renamed: Array<{ from: string; to: string }> = [];
  const adapter = new FolderInput({ name: 'inbox', stabilityMs: 150, pollMs: 50, rescanMs: 0, onRenamed: (from, to) => renamed.push({ from, to }), ...options });
  adapters.push(adapter);
  adapter.inputs$.subscribe((i) => got.push(i));
  await adapter.start();
  return { got, renamed };
}

const latin1 = (dir: string, name: string) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name, 'latin1')]);

describe('folder input: file names that are not UTF-8 or near the length limit', () => {
  it('a Latin-1 name there at start is renamed to its escaped form and read', async () => {
    const dir = makeTempDir('names');
    writeFileSync(latin1(dir, 'Messung_\xe4.jdx'), '##TITLE=a\n##END=\n');
    // A writer's temporary name is left for the writer to rename.
    writeFileSync(latin1(dir, 'Messung_\xf6.jdx.part'), '##TITLE=b\n');
    const { got, renamed } = await start({ paths: [dir] });
    await waitFor('the Latin-1 file read', () => got.length === 1, 5000);
    expect(got[0].source).toBe(join(dir, 'Messung_%E4.jdx'));
    expect(got[0].payload.toString()).toBe('##TITLE=a\n##END=\n');
    expect(renamed).toEqual([{ from: join(dir, 'Messung_%E4.jdx'), to: join(dir, 'Messung_%E4.jdx') }]);
    await got[0].ack();
    expect(existsSync(join(dir, 'processed', 'Messung_%E4.jdx'))).toBe(true);
    expect(existsSync(latin1(dir, 'Messung_\xf6.jdx.part'))).toBe(true);
  });

  it('a Latin-1 name arriving later (in a sub-folder too) is read without any rescan', async () => {
    const dir = makeTempDir('names');
    mkdirSync(join(dir, 'sub'));
    const { got } = await start({ paths: [dir] });
    writeFileSync(latin1(dir, 'Pr\xfcfung \xb5m.csv'), '1,2\n3,4\n');
    writeFileSync(latin1(join(dir, 'sub'), '\xc4tzend.csv'), '5,6\n7,8\n');
    await waitFor('the Latin-1 files read', () => got.length === 2, 5000);
    expect(got.map((g) => g.source).sort()).toEqual([join(dir, 'Pr%FCfung %B5m.csv'), join(dir, 'sub', '%C4tzend.csv')]);
    expect(readdirSync(dir)).not.toContain('Pr\uFFFDfung \uFFFDm.csv');
  });

  it('an undecodable name whose escaped form is too long is fitted to 255 bytes and read', async () => {
    const dir = makeTempDir('names');
    writeFileSync(latin1(dir, '\xe4'.repeat(240) + '.jdx'), '##TITLE=b\n##END=\n');
    const { got } = await start({ paths: [dir] });
    await waitFor('the file read', () => got.length === 1, 5000);
    const name = got[0].source.slice(dir.length + 1);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(name).toMatch(/^(%E4)+~[0-9a-f]{8}\.jdx$/);
  });

  it('a refused file with a 250-character name gets its error note in failed/', async () => {
    const dir = makeTempDir('names');
    const name = 'x'.repeat(246) + '.jdx';
    writeFileSync(join(dir, name), 'not a spectrum');
    const { got } = await start({ paths: [dir] });
    await waitFor('the file', () => got.length === 1, 5000);
    await got[0].reject('unreadable: test reason');
    const failed = readdirSync(join(dir, 'failed'));
    expect(failed).toContain(name);
    const notes = failed.filter((f) => f.endsWith('.error.txt'));
    expect(notes).toHaveLength(1);
    expect(Buffer.byteLength(notes[0])).toBeLessThanOrEqual(MAX_NAME_BYTES);
    const note = readFileSync(join(dir, 'failed', notes[0]), 'utf8');
    expect(note).toContain(name);
    expect(note).toContain('test reason');
  });

  it('escaping is lossless and only touches bytes that are not UTF-8', () => {
    expect(escapeUndecodable(Buffer.from('Messung_\xe4.jdx', 'latin1'))).toBe('Messung_%E4.jdx');
    expect(escapeUndecodable(Buffer.concat([Buffer.from('ä_'), Buffer.from([0xff, 0x25])]))).toBe('ä_%FF%25');
    expect(fitName('a.jdx', '.error.txt')).toBe('a.jdx.error.txt');
    const long = fitName('é'.repeat(200) + '.jdx', '.error.txt');
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(long.endsWith('.jdx.error.txt')).toBe(true);
  });
});
