import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelRegistry, decidePromotion } from '../../daemon/retrain/versions.ts';

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
