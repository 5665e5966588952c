/** initEngine: backend choice, forced backends that are not installed, idempotency, bad input. */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { initEngine, tf, wasmDistFolder } from '../../core/engine/index.ts';
import { SpectrumInputError } from '../../core/errors.ts';

describe('initEngine', () => {
  it('rejects an unknown backend name with a SpectrumInputError', async () => {
    // @ts-expect-error: deliberately wrong input, as from a config file
    await expect(initEngine({ backend: 'gpu' })).rejects.toMatchObject({ name: 'SpectrumInputError', code: 'unknown-backend' });
  });

  it('a forced tfjs-node that is not installed fails clearly and leaves the engine free to start', async () => {
    const err = await initEngine({ backend: 'tensorflow' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpectrumInputError);
    expect((err as SpectrumInputError).code).toBe('backend-unavailable');
    expect((err as Error).message).toMatch(/tensorflow/);
  });

  it('auto falls through the missing tfjs-node packages to wasm, logs each step, and registers our kernels', async () => {
    const lines: string[] = [];
    const info = await initEngine({ backend: 'auto', logger: (m) => lines.push(m) });
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.threads).toBe(1);
    expect(info.kernels).toContain('MaxPoolGrad');
    expect(info.kernels).toContain('Conv2DBackpropFilter');
    expect(lines.some((l) => l.includes('tensorflow-gpu unavailable'))).toBe(true);
    expect(lines.at(-1)).toMatch(/engine: backend wasm/);
  });

  it('is idempotent: a second call returns the same info without re-initialising', async () => {
    const first = await initEngine();
    const second = await initEngine({ backend: 'wasm' });
    expect(await initEngine()).toBe(first);
    expect(second).toBe(first);
  });

  it('refuses to switch to another forced backend once started', async () => {
    await initEngine({ backend: 'auto' });
    await expect(initEngine({ backend: 'cpu' })).rejects.toMatchObject({ code: 'backend-already-chosen' });
  });

  it('locates the .wasm binaries as a file path', () => {
    const dir = wasmDistFolder();
    expect(existsSync(path.join(dir, 'tfjs-backend-wasm-simd.wasm'))).toBe(true);
  });
});
