import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { messageJsonSchemaText } from '../../adapters/message-schema.ts';
import { messageSchemaDoc as docPath, validatorsFromDoc } from '../support/schema.ts';
import { alertFor, asJson, identifiedResult, mixtureResult, rejectedResult } from '../support/messages.ts';

describe('docs/RESULT-SCHEMA.json', () => {
  it('is up to date with adapters/message-schema.ts (run npm run schema:messages)', () => {
    expect(readFileSync(docPath, 'utf8')).toBe(messageJsonSchemaText());
  });

  it('accepts every kind of result and alert', () => {
    const v = validatorsFromDoc();
    for (const r of [identifiedResult(), mixtureResult(), rejectedResult(), identifiedResult({ status: 'unknown', class: undefined, score: 0.2 })]) {
      expect(v.result.safeParse(asJson(r)).error).toBeUndefined();
    }
    expect(v.alert.safeParse(asJson(alertFor(identifiedResult()))).success).toBe(true);
    expect(v.alert.safeParse(asJson({ ...alertFor(identifiedResult()), resultId: undefined, kind: 'adapter-down' })).success).toBe(true);
  });

  it("carries an answer's evidence: decidedBy, the prediction set and its coverage, fit quality, spectral match", () => {
    const v = validatorsFromDoc();
    const good = asJson(identifiedResult()) as unknown as Record<string, unknown>;
    const evidence = {
      ...good,
      decidedBy: 'peaks',
      predictionSet: ['NaCl'],
      coverage: 0.95,
      candidates: [{ class: 'NaCl', score: 0.97, similarity: 0.99, spectralMatch: 0.93 }],
    };
    expect(v.result.safeParse(evidence).error).toBeUndefined();
    expect(v.result.safeParse({ ...asJson(mixtureResult()), fitQuality: 0.96 }).error).toBeUndefined();
    expect(v.result.safeParse({ ...evidence, decidedBy: 'luck' }).success).toBe(false);
    expect(v.result.safeParse({ ...evidence, coverage: 1.2 }).success).toBe(false);
    expect(v.result.safeParse({ ...evidence, candidates: [{ class: 'NaCl', score: 0.9, spectralMatch: 2 }] }).success).toBe(false);
  });

  it('refuses messages that break the contract', () => {
    const v = validatorsFromDoc();
    const good = asJson(identifiedResult()) as unknown as Record<string, unknown>;
    const { modelVersion: _m, ...missing } = good;
    expect(v.result.safeParse(missing).success).toBe(false);
    expect(v.result.safeParse({ ...good, status: 'probably' }).success).toBe(false);
    expect(v.result.safeParse({ ...good, score: 1.5 }).success).toBe(false);
    expect(v.result.safeParse({ ...good, receivedAt: 'yesterday' }).success).toBe(false);
    expect(v.result.safeParse({ ...good, surprise: true }).success).toBe(false);
    expect(v.result.safeParse({ ...good, candidates: [{ class: 'x' }] }).success).toBe(false);
    expect(v.alert.safeParse({ ...asJson(alertFor(identifiedResult())), kind: 'meh' }).success).toBe(false);
  });
});
