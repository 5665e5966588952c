import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateTestSplit, loadDefinition } from '../../core/benchmark/index.ts';
import { toJcamp } from '../../core/formats/index.ts';
import { createSpectrum } from '../../core/spectrum.ts';

/**
 * Crash safety, folder input only: the real daemon process is SIGKILLed at seeded random moments while files keep
 * arriving, restarted each time, and at the end every fed file has exactly one stored result and sits in processed/.
 */
const root = mkdtempSync(path.join(tmpdir(), 'spectrad-crash-'));
const inbox = path.join(root, 'inbox');
const configFile = path.join(root, 'spectrad.yaml');
const repo = path.resolve(import.meta.dirname, '../..');

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const data = generateTestSplit(loadDefinition('benchmark'), { classes: [17] });
function jcamp(n: number): string {
  const v = n % (data.x.length / data.points);
  const y = data.x.subarray(v * data.points, (v + 1) * data.points);
  return toJcamp(createSpectrum({ y, xUnit: 'index', yUnit: 'arbitrary', meta: { title: `crash ${n}` } }));
}

/** Written under a dot name then renamed, so the watcher never sees a half file (what a careful instrument does). */
function feed(n: number): void {
  const tmp = path.join(inbox, `.part-${n}`);
  writeFileSync(tmp, jcamp(n));
  renameSync(tmp, path.join(inbox, `s-${String(n).padStart(5, '0')}.jdx`));
}

function startDaemon(): ChildProcess {
  return spawn(process.execPath, [path.join(repo, 'bin/spectrad.js'), 'run', '--config', configFile], {
    cwd: repo,
    stdio: 'ignore',
  });
}

/** The npm script `reliability:crash` raises the kill count (>= 20) and asks for the JSON figures. */
const KILLS = Number(process.env.SPECTRAD_CRASH_KILLS ?? 6);
const JSON_OUT = process.env.SPECTRAD_CRASH_JSON;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function storedSources(): string[] {
  const db = new Database(path.join(root, 'data', 'spectrad.db'), { readonly: true, fileMustExist: true });
  try {
    return (
      db.prepare('SELECT s.source AS source FROM results r JOIN spectra s ON s.id = r.spectrum_id').all() as {
        source: string;
      }[]
    ).map((r) => path.basename(r.source));
  } finally {
    db.close();
  }
}

describe('crash safety: SIGKILL while a folder is fed', () => {
  it('loses nothing and stores each accepted file once over >= 5 kills', async () => {
    mkdirSync(inbox);
    writeFileSync(
      configFile,
      [
        `dataDir: ${root}/data`,
        'instrument: crash',
        'inputs:',
        `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 50 }`,
        'outputs: [{ type: socketio }]',
        'http: { host: 127.0.0.1, port: 0, token: crash-token }',
        'library: { demo: true, demoClasses: [17, 250], demoPerClass: 2 }',
        'pipeline: { batchSize: 4, windowMs: 10 }',
      ].join('\n'),
    );
    const rand = mulberry32(7);
    let fed = 0;
    let kills = 0;
    const started = Date.now();
    for (let round = 0; round < KILLS; round++) {
      const child = startDaemon();
      const upFor = 2500 + rand() * 2500;
      const until = Date.now() + upFor;
      while (Date.now() < until) {
        feed(fed++);
        await sleep(40 + rand() * 80);
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      kills++;
    }
    // Last life: no kill; wait for the drain.
    const child = startDaemon();
    try {
      const deadline = Date.now() + 40_000;
      while (Date.now() < deadline) {
        const left = readdirSync(inbox).filter((f) => f.endsWith('.jdx'));
        if (left.length === 0) break;
        await sleep(250);
      }
      await sleep(500);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const processed = readdirSync(path.join(inbox, 'processed')).filter((f) => f.endsWith('.jdx'));
    const left = readdirSync(inbox).filter((f) => f.endsWith('.jdx'));
    const sources = storedSources();
    const perFile = new Map<string, number>();
    for (const s of sources) perFile.set(s, (perFile.get(s) ?? 0) + 1);
    const duplicates = [...perFile.values()].filter((c) => c > 1).length;
    const expected = Array.from({ length: fed }, (_, n) => `s-${String(n).padStart(5, '0')}.jdx`);
    const lost = expected.filter((f) => !perFile.has(f));
    const figures = { fed, kills, processed: processed.length, stored: sources.length, duplicates, lost: lost.length, seconds: Math.round((Date.now() - started) / 1000) };
    console.log(JSON.stringify(figures));
    if (JSON_OUT) {
      mkdirSync(path.dirname(JSON_OUT), { recursive: true });
      writeFileSync(JSON_OUT, JSON.stringify({ test: 'crash-folder', seed: 7, ...figures }, null, 2) + '\n');
    }
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(left).toEqual([]);
    expect(lost).toEqual([]);
    expect(duplicates).toBe(0);
    expect(processed.sort()).toEqual(expected);
  }, 60_000 + KILLS * 8_000);
});
