import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelRegistry, decidePromotion } from '../../daemon/models/versions.ts';

const fresh = (): ModelRegistry => new ModelRegistry(join(mkdtempSync(join(tmpdir(), 'models-')), 'models'));

describe('decidePromotion', () => {
  it('promotes an equal or better candidate and refuses a worse one unless forced', () => {
    expect(decidePromotion(0.9, 0.9).promote).toBe(true);
    expect(decidePromotion(0.95, 0.9).promote).toBe(true);
    expect(decidePromotion(0.8, 0.9).promote).toBe(false);
    expect(decidePromotion(0.8, 0.9, true)).toEqual({ promote: true, candidate: 0.8, current: 0.9, forced: true });
    expect(decidePromotion(0.1, null).promote).toBe(true);
  });
});

describe('ModelRegistry', () => {
  it('versions, promotes, refuses a worse model, forces, rolls back and survives a reload', () => {
    const reg = fresh();
    expect(reg.nextVersion()).toBe('v1');
    reg.add({ version: 'v1', accuracyBefore: null, accuracyAfter: 0.9 });
    expect(reg.promote('v1').promote).toBe(true);
    reg.add({ version: reg.nextVersion(), accuracyBefore: 0.9, accuracyAfter: 0.8 });
    expect(reg.promote('v2')).toEqual({ promote: false, candidate: 0.8, current: 0.9, forced: false });
    expect(reg.current()?.version).toBe('v1');
    expect(reg.promote('v2', true).promote).toBe(true);
    expect(new ModelRegistry(reg.modelsDir).current()?.version).toBe('v2');
    expect(reg.rollback().version).toBe('v1');
    expect(() => reg.rollback()).toThrow(/no previously promoted/);
    expect(() => reg.promote('v9')).toThrow(/no model version v9/);
    expect(() => reg.add({ version: 'v1', accuracyBefore: null, accuracyAfter: 1 })).toThrow(/already exists/);
    expect(new ModelRegistry(reg.modelsDir).list().map((m) => m.version)).toEqual(['v1', 'v2']);
  });
});

describe('ModelRegistry.decide', () => {
  it('compares a fine-tuned candidate with its base on the same held-out spectra, others by their own accuracy', () => {
    const reg = fresh();
    reg.add({ version: 'v1', dir: '/shipped/model', accuracyBefore: null, accuracyAfter: 0.99 });
    reg.promote('v1');
    expect(reg.get('v1')?.dir).toBe('/shipped/model');
    // trained from v1: v1 measured 0.80 on this run's held-out spectra, the candidate 0.85 (the card's 0.99 was another set)
    reg.add({ version: 'v2', accuracyBefore: 0.8, accuracyAfter: 0.85, baseVersion: 'v1' });
    expect(reg.decide('v2')).toMatchObject({ promote: true, candidate: 0.85, current: 0.8 });
    reg.add({ version: 'v3', accuracyBefore: 0.9, accuracyAfter: 0.85, baseVersion: 'v1' });
    expect(reg.decide('v3').promote).toBe(false);
    reg.promote('v2');
    // v3 was not trained from v2: compared with v2's own accuracy
    expect(reg.decide('v3')).toMatchObject({ promote: true, current: 0.85 });
    expect(reg.previous()?.version).toBe('v1');
    expect(reg.decide('v2')).toMatchObject({ promote: true, current: null });
  });
});
