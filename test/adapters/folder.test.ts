import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, appendFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { FolderInput, type FolderInputOptions } from '../../adapters/folder.ts';
import type { RawInput } from '../../adapters/types.ts';
import { makeTempDir, sleep, stopAllServers, waitFor } from '../../support/servers.ts';

const adapters: FolderInput[] = [];

async function startFolder(options: Partial<FolderInputOptions> & { paths: string[] }) {
  const got: RawInput[] = [];
  const adapter = new FolderInput({ name: 'inbox', stabilityMs: 150, pollMs: 50, rearmCheckMs: 200, ...options });
  adapters.push(adapter);
  adapter.inputs$.subscribe((i) => got.push(i));
  await adapter.start();
  return { adapter, got };
}

/**
 * The "nothing else arrived" check, following a positive event instead of a fixed sleep: a marker file written now
 * goes through the same watcher and stability window as everything before it, so once it has arrived, whatever the
 * earlier events were going to emit has had its chance. Returns the inputs that came before the marker.
 */
async function untilMarker(dir: string, got: RawInput[], name = 'zz-marker.csv'): Promise<RawInput[]> {
  const path = join(dir, name);
  writeFileSync(path, 'marker');
  await waitFor(`the marker ${name}`, () => got.some((g) => g.source === path), 30_000);
  return got.filter((g) => g.source !== path);
}

afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
  await stopAllServers(); // removes the temporary folders
});

describe('folder input over the real file system', () => {
  it('picks up files that were there before start, once each, and moves them to processed/ on ack', async () => {
    const dir = makeTempDir('inbox');
    writeFileSync(join(dir, 'a.jdx'), '##TITLE=a\n##END=\n');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'b.csv'), '1,2\n');
    const { got } = await startFolder({ paths: [dir] });
    await waitFor('two files', () => got.length === 2);
    const bySource = Object.fromEntries(got.map((i) => [i.source, i]));
    expect(bySource[join(dir, 'a.jdx')].payload.toString()).toBe('##TITLE=a\n##END=\n');
    expect(bySource[join(dir, 'a.jdx')].formatHint).toBe('a.jdx');
    expect(bySource[join(dir, 'a.jdx')].dedupKey).toMatch(/^file:.*a\.jdx:17:\d+$/);
    // Not acknowledged yet: the files stay where they are.
    expect(existsSync(join(dir, 'a.jdx'))).toBe(true);
    await Promise.all(got.map((i) => i.ack()));
    expect(readFileSync(join(dir, 'processed', 'a.jdx'), 'utf8')).toBe('##TITLE=a\n##END=\n');
    expect(existsSync(join(dir, 'processed', 'sub', 'b.csv'))).toBe(true);
    expect(existsSync(join(dir, 'a.jdx'))).toBe(false);
    expect(await untilMarker(dir, got)).toHaveLength(2); // the moves into processed/ are not new inputs
  });

  it('reads a file only once it is complete: slow writers and rename-on-close temp names', async () => {
    const dir = makeTempDir('inbox');
    // Pauses between writes (50 ms) well inside the stability window (800 ms), so a loaded machine cannot make a
    // pause look like the end of the file.
    const { got } = await startFolder({ paths: [dir], stabilityMs: 800, pollMs: 50 });
    const slow = join(dir, 'slow.csv');
    writeFileSync(slow, '1,');
    writeFileSync(join(dir, 'fast.jdx.part'), '##TITLE=x\n');
    for (let i = 2; i <= 6; i++) {
      await sleep(50);
      expect(got).toHaveLength(0);
      appendFileSync(slow, `${i},`);
    }
    await waitFor('the slow file', () => got.length === 1);
    expect(got.map((g) => g.source)).toEqual([slow]);
    expect(got[0].payload.toString()).toBe('1,2,3,4,5,6,');
    appendFileSync(join(dir, 'fast.jdx.part'), '##END=\n');
    renameSync(join(dir, 'fast.jdx.part'), join(dir, 'fast.jdx'));
    await waitFor('renamed file', () => got.length === 2);
    expect(got[1].payload.toString()).toBe('##TITLE=x\n##END=\n');
    expect(await untilMarker(dir, got)).toHaveLength(2);
  });

  it('waits for a file that is still being written when the adapter starts', async () => {
    const dir = makeTempDir('inbox');
    const path = join(dir, 'growing.csv');
    writeFileSync(path, '1,');
    const writer = (async () => {
      for (let i = 2; i <= 5; i++) {
        await sleep(50);
        appendFileSync(path, `${i},`);
      }
    })();
    const { got } = await startFolder({ paths: [dir], stabilityMs: 800, pollMs: 50 });
    await writer;
    await waitFor('the file', () => got.length === 1);
    expect(got[0].payload.toString()).toBe('1,2,3,4,5,');
  });

  it('watches several folders with glob patterns', async () => {
    const a = makeTempDir('a');
    const b = makeTempDir('b');
    const { got } = await startFolder({ paths: [a, b], patterns: ['*.jdx', '*.csv'] });
    writeFileSync(join(a, 'x.jdx'), 'x');
    writeFileSync(join(b, 'y.csv'), 'y');
    writeFileSync(join(b, 'notes.txt'), 'not a spectrum');
    mkdirSync(join(b, 'deep'));
    writeFileSync(join(b, 'deep', 'z.csv'), 'z'); // '*.csv' is top level only
    await waitFor('two files', () => got.length === 2);
    expect((await untilMarker(b, got)).map((g) => g.payload.toString()).sort()).toEqual(['x', 'y']);
  });

  it('watches every folder matching a glob, including one created later', async () => {
    const parent = makeTempDir('rigs');
    mkdirSync(join(parent, 'rig1', 'export'), { recursive: true });
    mkdirSync(join(parent, 'rig1', 'raw'), { recursive: true });
    writeFileSync(join(parent, 'rig1', 'export', 'a.csv'), 'a');
    writeFileSync(join(parent, 'rig1', 'raw', 'no.csv'), 'not exported');
    const { got } = await startFolder({ paths: [join(parent, '*', 'export')] });
    await waitFor('file in rig1/export', () => got.length === 1);
    mkdirSync(join(parent, 'rig2', 'export'), { recursive: true });
    writeFileSync(join(parent, 'rig2', 'export', 'b.csv'), 'b');
    await waitFor('file in the new rig2/export', () => got.length === 2);
    expect(got.map((g) => g.payload.toString())).toEqual(['a', 'b']);
    await got[1].ack();
    expect(existsSync(join(parent, 'rig2', 'export', 'processed', 'b.csv'))).toBe(true);
    expect(await untilMarker(join(parent, 'rig2', 'export'), got)).toHaveLength(2);
  });

  it('leaves files that were there at start alone when scanAtStart is off', async () => {
    const dir = makeTempDir('inbox');
    writeFileSync(join(dir, 'old.csv'), 'old');
    const { got } = await startFolder({ paths: [dir], scanAtStart: false });
    writeFileSync(join(dir, 'new.csv'), 'new');
    await waitFor('new file', () => got.length === 1);
    expect((await untilMarker(dir, got)).map((g) => g.payload.toString())).toEqual(['new']);
  });

  it('marks files with a suffix, or keeps them, and never re-emits them', async () => {
    const dir = makeTempDir('inbox');
    writeFileSync(join(dir, 'm.csv'), '1');
    const { got, adapter } = await startFolder({ paths: [dir], after: 'mark', markSuffix: '.done' });
    await waitFor('file', () => got.length === 1);
    await got[0].ack();
    expect(readdirSync(dir).sort()).toEqual(['m.csv.done']);
    expect(await untilMarker(dir, got)).toHaveLength(1);
    await adapter.stop();

    const keepDir = makeTempDir('keep');
    writeFileSync(join(keepDir, 'k.csv'), '1');
    const committed = new Set<string>();
    const first = await startFolder({ paths: [keepDir], after: 'keep', alreadyProcessed: (k) => committed.has(k) });
    await waitFor('file', () => first.got.length === 1);
    committed.add(first.got[0].dedupKey!);
    await first.got[0].ack();
    expect(readdirSync(keepDir)).toEqual(['k.csv']);
    await first.adapter.stop();
    // A restart sees the file again; the ledger says it is done.
    const second = await startFolder({ paths: [keepDir], after: 'keep', alreadyProcessed: (k) => committed.has(k) });
    expect(await untilMarker(keepDir, second.got)).toHaveLength(0);
    // A changed file is a new spectrum.
    writeFileSync(join(keepDir, 'k.csv'), '1,2,3');
    const changed = await waitFor('changed file', () => second.got.find((g) => g.source === join(keepDir, 'k.csv')));
    expect(changed.payload.toString()).toBe('1,2,3');
  });

  it('only tidies away a file the ledger already holds (crash between commit and move)', async () => {
    const dir = makeTempDir('inbox');
    writeFileSync(join(dir, 'done.csv'), '1');
    writeFileSync(join(dir, 'bad.csv'), 'x');
    writeFileSync(join(dir, 'new.csv'), '2');
    const asked: string[] = [];
    const { got } = await startFolder({
      paths: [dir],
      alreadyProcessed: async (k) => {
        asked.push(k);
        return k.includes('done.csv') ? 'processed' : k.includes('bad.csv') ? 'failed' : undefined;
      },
    });
    await waitFor('new file', () => got.length === 1);
    expect(got[0].source).toBe(join(dir, 'new.csv'));
    await waitFor('done.csv moved', () => existsSync(join(dir, 'processed', 'done.csv')));
    await waitFor('bad.csv in failed/', () => existsSync(join(dir, 'failed', 'bad.csv.error.txt')));
    expect(await untilMarker(dir, got)).toHaveLength(1);
    expect(asked.some((k) => k.includes('done.csv'))).toBe(true);
  });

  it('moves a rejected file to failed/ with the reason beside it', async () => {
    const dir = makeTempDir('inbox');
    const { got } = await startFolder({ paths: [dir] });
    writeFileSync(join(dir, 'bad.jdx'), 'garbage');
    await waitFor('file', () => got.length === 1);
    await got[0].reject('JCAMP_NO_TITLE: line 1: no ##TITLE= label');
    expect(readFileSync(join(dir, 'failed', 'bad.jdx'), 'utf8')).toBe('garbage');
    expect(readFileSync(join(dir, 'failed', 'bad.jdx.error.txt'), 'utf8')).toMatch(/JCAMP_NO_TITLE.*no ##TITLE/);
    await got[0].ack(); // a second settle is ignored
    expect(existsSync(join(dir, 'processed'))).toBe(false);
  });

  it('refuses a symlink that points outside the watched folder and reads one that stays inside', async () => {
    const dir = makeTempDir('inbox');
    const outside = makeTempDir('secret');
    writeFileSync(join(outside, 'passwd.csv'), 'secret');
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'inside.csv'), 'inside');
    const refused: string[] = [];
    const { got } = await startFolder({ paths: [dir], patterns: ['*.csv'], onRefused: (p, why) => refused.push(`${p}: ${why}`) });
    symlinkSync(join(outside, 'passwd.csv'), join(dir, 'escape.csv'));
    symlinkSync(join(dir, 'real', 'inside.csv'), join(dir, 'link.csv'));
    await waitFor('refusal and inside link', () => refused.length === 1 && got.length === 1);
    expect(got[0].payload.toString()).toBe('inside');
    expect(refused[0]).toMatch(/escape\.csv: symbolic link points outside/);
    expect(readFileSync(join(dir, 'failed', 'escape.csv.error.txt'), 'utf8')).toMatch(/outside the watched folder/);
    expect(readFileSync(join(outside, 'passwd.csv'), 'utf8')).toBe('secret'); // the target is untouched
    expect((await untilMarker(dir, got)).every((g) => !g.payload.toString().includes('secret'))).toBe(true);
  });

  it('keeps watching a folder that is deleted and recreated', async () => {
    const parent = makeTempDir('parent');
    const dir = join(parent, 'inbox');
    mkdirSync(dir);
    const { got, adapter } = await startFolder({ paths: [dir] });
    const states: string[] = [];
    adapter.state$.subscribe((s) => states.push(s.state));
    writeFileSync(join(dir, 'one.csv'), '1');
    await waitFor('first file', () => got.length === 1);
    rmSync(dir, { recursive: true });
    await waitFor('down state', () => states.includes('down'));
    mkdirSync(dir);
    await waitFor('up again', () => states.lastIndexOf('up') > states.indexOf('down'));
    writeFileSync(join(dir, 'two.csv'), '2');
    await waitFor('file in recreated folder', () => got.length === 2);
    expect(got[1].payload.toString()).toBe('2');
    await got[0].ack(); // its file vanished with the folder: acking must not fail or recreate anything
    expect(existsSync(join(dir, 'processed'))).toBe(false);
  });

  it('holds at most maxInFlight unacknowledged files and reads the rest as slots free up', async () => {
    const dir = makeTempDir('inbox');
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, `f${i}.csv`), String(i));
    const { got, adapter } = await startFolder({ paths: [dir], maxInFlight: 3 });
    await waitFor('first three', () => got.length === 3);
    // The adapter knows all ten (three in flight, seven waiting for a slot) and still emitted only three.
    await waitFor('all ten files seen', () => adapter.queueDepth === 10);
    expect(got).toHaveLength(3);
    for (let acked = 0; acked < 10; acked++) {
      await waitFor(`file ${acked + 1}`, () => got.length > acked);
      await got[acked].ack();
    }
    expect(new Set(got.map((g) => g.payload.toString())).size).toBe(10);
    expect(readdirSync(join(dir, 'processed'))).toHaveLength(10);
  });

  it('refuses files larger than maxFileBytes without reading them', async () => {
    const dir = makeTempDir('inbox');
    const refused: string[] = [];
    const { got } = await startFolder({ paths: [dir], maxFileBytes: 100, onRefused: (p) => refused.push(p) });
    writeFileSync(join(dir, 'huge.csv'), 'x'.repeat(1000));
    await waitFor('refusal', () => refused.length === 1);
    expect(got).toHaveLength(0);
    expect(readFileSync(join(dir, 'failed', 'huge.csv.error.txt'), 'utf8')).toMatch(/1000 bytes/);
  });
});
