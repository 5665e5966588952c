import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIX = fileURLToPath(new URL('../fixtures/formats/', import.meta.url));

async function inspect(args: string[]): Promise<{ code: number; lines: Array<Record<string, unknown>>; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, ['bin/spectrad.js', 'inspect', ...args], { cwd: ROOT });
    return { code: 0, stdout, lines: stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout, lines: e.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
  }
}

describe('spectrad inspect (subprocess)', () => {
  it('prints one line per file, per block for multi-block files, and exits 0', async () => {
    const { code, lines } = await inspect([path.join(FIX, 'opus-ir-difdup.jdx'), path.join(FIX, 'link-ir-ms.jdx')]);
    expect(code).toBe(0);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({
      file: path.join(FIX, 'opus-ir-difdup.jdx'),
      points: 1801,
      xUnit: 'cm-1',
      yUnit: 'absorbance',
      xFirst: 399.1993,
      xLast: 3999.64,
      yMin: expect.any(Number),
      yMax: expect.any(Number),
    });
    expect(lines[0].yMin as number).toBeCloseTo(0.02, 6);
    expect(lines[1]).toMatchObject({ block: 1, points: 11, xUnit: 'cm-1', xFirst: 1690, xLast: 1700 });
    expect(lines[2]).toMatchObject({ block: 2, points: 5, xUnit: 'm/z', yMin: 150, yMax: 999 });
  }, 60_000);

  it('reports unreadable files after printing all of them and exits 1', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'inspect-'));
    const bad = path.join(dir, 'bad.csv');
    const good = path.join(dir, 'good.csv');
    writeFileSync(bad, '1,2\n3,x\n');
    writeFileSync(good, '1;0,5\n2;0,25\n');
    const { code, lines } = await inspect([bad, path.join(dir, 'missing.jdx'), good]);
    expect(code).toBe(1);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ file: bad, code: 'bad-number' });
    expect(lines[0].error).toMatch(/line 2/);
    expect(lines[1]).toMatchObject({ code: 'ENOENT' });
    expect(lines[2]).toMatchObject({ file: good, points: 2, xFirst: 1, xLast: 2, yMin: 0.25, yMax: 0.5 });
  }, 60_000);

  it('applies --max-bytes and --format, and --help explains the output', async () => {
    const big = await inspect(['--max-bytes', '100', path.join(FIX, 'opus-ir-difdup.jdx')]);
    expect(big.code).toBe(1);
    expect(big.lines[0]).toMatchObject({ code: 'input-too-large' });
    const forced = await inspect(['--format', 'json', path.join(FIX, 'opus-ir-difdup.jdx')]);
    expect(forced.lines[0]).toMatchObject({ code: 'json-syntax' });
    const help = await run(process.execPath, ['bin/spectrad.js', 'inspect', '--help'], { cwd: ROOT });
    expect(help.stdout).toMatch(/--max-points/);
    expect(help.stdout).toMatch(/Exit code/);
  }, 60_000);

  it('reads RRUFF exports and vendor JCAMP-DX that bends the standard, printing the warnings; --strict refuses those', async () => {
    const CORPUS = fileURLToPath(new URL('../fixtures/corpus/', import.meta.url));
    const rruff = path.join(CORPUS, 'rruff', 'Adamite__R050020-1__Infrared__Infrared_Data_Processed__196.txt');
    const jeol = path.join(CORPUS, 'jcamp', 'jeol.dx');
    const tolerant = await inspect([rruff, jeol]);
    expect(tolerant.code).toBe(0);
    expect(tolerant.lines[0]).toMatchObject({ file: rruff, points: 1869, xFirst: 399.1926, xLast: 4001.568 });
    expect(tolerant.lines[0].warnings).toBeUndefined();
    expect(tolerant.lines[1]).toMatchObject({ file: jeol, points: 16384, warnings: [expect.objectContaining({ code: 'jcamp-deltax-sign', line: 107, field: 'DELTAX' }), expect.objectContaining({ code: 'jcamp-x-offset' })] });
    const strict = await inspect(['--strict', rruff, jeol]);
    expect(strict.code).toBe(1);
    expect(strict.lines[0]).toMatchObject({ points: 1869 });
    expect(strict.lines[1]).toMatchObject({ code: 'jcamp-deltax-mismatch' });
    const named = await inspect(['--format', 'rruff', rruff]);
    expect(named.lines[0]).toMatchObject({ points: 1869 });
  });
});
