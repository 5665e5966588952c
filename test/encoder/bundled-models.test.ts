import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR, bundledModelNames, resolveModelRef } from '../../core/encoder/bundled-models.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { decodeNpy, encodeNpy } from '../../core/npy.ts';
import { promisify } from 'node:util';

const run = promisify(execFile);
const spectrad = (...args: string[]) => run(process.execPath, [path.resolve('bin/spectrad.js'), ...args], { maxBuffer: 1 << 24 });

describe('models by name', () => {
  it('lists the bundled models and resolves a name to its folder', () => {
    expect(bundledModelNames()).toContain('default');
    expect(resolveModelRef('default', tmpdir())).toBe(path.join(BUNDLED_MODELS_DIR, 'default'));
  });

  it('takes an existing directory as it is, relative to the base', () => {
    const base = mkdtempSync(path.join(tmpdir(), 'spectrad-models-'));
    mkdirSync(path.join(base, 'mine'));
    expect(resolveModelRef('./mine', base)).toBe(path.join(base, 'mine'));
    expect(resolveModelRef(path.join(base, 'mine'), '/')).toBe(path.join(base, 'mine'));
    // A bare name that is a folder holding a model is that folder; one without a model card is the bundled model.
    cpSync(path.join(BUNDLED_MODELS_DIR, 'default'), path.join(base, 'default'), { recursive: true });
    expect(resolveModelRef('default', base)).toBe(path.join(base, 'default'));
    mkdirSync(path.join(base, 'empty', 'default'), { recursive: true });
    expect(resolveModelRef('default', path.join(base, 'empty'))).toBe(path.join(BUNDLED_MODELS_DIR, 'default'));
  });

  it('names the bundled models when a name is unknown', () => {
    const err = (() => {
      try {
        resolveModelRef('raman-785-nonexistent', tmpdir());
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SpectrumInputError);
    expect((err as SpectrumInputError).code).toBe('unknown-model');
    expect((err as Error).message).toMatch(/not a bundled model; bundled models: .*default/);
    expect(() => resolveModelRef('no/such/dir', tmpdir())).toThrow(/not a model directory; bundled models/);
  });
});

describe('bundled real models by name (subprocess)', () => {
  it('embeds with --model ir-fold0 on its 1800-point cm-1 grid, and names the bundled models for an unknown one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-named-'));
    const x = new Float32Array(2 * 1800);
    for (let i = 0; i < 1800; i++) x[i] = Math.exp(-(((i - 600) / 10) ** 2)) + 0.5 * Math.exp(-(((i - 1200) / 20) ** 2));
    for (let i = 0; i < 1800; i++) x[1800 + i] = Math.exp(-(((i - 300) / 15) ** 2));
    writeFileSync(path.join(dir, 'x.npy'), encodeNpy(x, [2, 1800]));
    await spectrad('embed', '--model', 'ir-fold0', '--in', path.join(dir, 'x.npy'), '--out', path.join(dir, 'e.npy'));
    const e = decodeNpy(readFileSync(path.join(dir, 'e.npy')));
    expect(e.shape).toEqual([2, 128]);
    const failed = (await spectrad('embed', '--model', 'raman-1064-nonexistent', '--in', path.join(dir, 'x.npy'), '--out', path.join(dir, 'o.npy')).catch((err: unknown) => err)) as { code: number; stderr: string };
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/bundled models: .*ir-fold0/);
  }, 120_000);
});
