import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
// bench/paper.ts run as `npm run bench:paper` runs it: a TypeScript entry through bin/run-ts.js.
const script = [path.resolve('bin/run-ts.js'), path.resolve('bench/paper.ts')];
const benchPaper = (...args: string[]) => run(process.execPath, [...script, ...args], { maxBuffer: 1 << 24 });

interface Row {
  id: string;
  ours: { mean: number; values: number[] } | null;
  met: boolean | null;
}
interface Report {
  quick: boolean;
  classes: number;
  complete: boolean;
  perSeed: Array<{ seed: number; single?: Record<string, number>; unseen?: unknown }>;
  rows: Row[];
}

const rowOf = (r: Report, id: string) => r.rows.find((x) => x.id === id);

/**
 * The CI smoke run of `npm run bench:paper -- --quick` (issue 4): two protocols run as separate processes, as a long run
 * on 2 cores is made side by side, then merged. It checks the plumbing (training, protocols, reports, merge), not
 * the paper's numbers: those need the full run.
 */
describe('bench:paper --quick (subprocesses)', () => {
  it('runs protocols separately, writes partial reports and merges them into one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-bench-'));
    const a = path.join(dir, 'single', 'paper.json');
    const b = path.join(dir, 'unseen', 'paper.json');
    const common = ['paper', '--quick', '--classes', '10'];
    await Promise.all([
      benchPaper(...common, '--only', 'single', '--per-class', '50', '--out', a, '--doc', path.join(dir, 'single.md'), '--save-models', path.join(dir, 'models')),
      benchPaper(...common, '--only', 'unseen,single', '--per-class', '5', '--out', b, '--doc', path.join(dir, 'unseen.md')),
    ]);
    const single = JSON.parse(readFileSync(a, 'utf8')) as Report;
    expect(single).toMatchObject({ quick: true, classes: 10, complete: true });
    expect(rowOf(single, 'single50')?.ours?.mean).toBeGreaterThan(50);
    expect(rowOf(single, 'unseen')?.ours).toBeNull();
    // the encoder trained for a protocol is kept as a loadable model directory
    expect(existsSync(path.join(dir, 'models', 'single-50-seed1', 'model-card.json'))).toBe(true);

    const merged = path.join(dir, 'merged.json');
    const doc = path.join(dir, 'RESULTS.md');
    const { stdout } = await benchPaper('paper-merge', a, b, '--out', merged, '--doc', doc);
    const report = JSON.parse(readFileSync(merged, 'utf8')) as Report;
    expect(report.perSeed).toHaveLength(1);
    expect(rowOf(report, 'single50')?.ours?.values).toEqual(rowOf(single, 'single50')?.ours?.values);
    // the two runs' single-compound counts add up rather than one replacing the other
    expect(rowOf(single, 'single5')?.ours).toBeNull();
    expect(rowOf(report, 'single5')?.ours?.mean).toBeGreaterThan(50);
    expect(rowOf(report, 'unseen')?.ours?.mean).toBeGreaterThan(50);
    expect(rowOf(report, 'unknownAuroc')?.ours?.mean).toBeGreaterThan(0.5);
    // a reduced run never claims a target
    expect(report.rows.every((r) => r.met === null)).toBe(true);
    expect(stdout).toMatch(/unseen classes/);
    expect(readFileSync(doc, 'utf8')).toMatch(/quick smoke run/);
  }, 480_000);

  it('refuses to merge a report without per-seed values', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-bench-'));
    const old = path.join(dir, 'old.json');
    writeFileSync(old, JSON.stringify({ quick: true, classes: 10, rows: [] }));
    await expect(benchPaper('paper-merge', old, '--out', path.join(dir, 'm.json'), '--doc', path.join(dir, 'm.md'))).rejects.toThrow(/no perSeed/);
  }, 60_000);
});
