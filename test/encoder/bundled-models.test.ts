import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR, bundledModelNames, resolveModelRef } from '../../core/encoder/bundled-models.ts';
import { SpectrumInputError } from '../../core/errors.ts';

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
