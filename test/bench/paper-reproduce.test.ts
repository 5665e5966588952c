import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRow, publishedFigures, TOLERANCE } from '../../bench/paper-reproduce.ts';
import { expectedTraining, PAPER_ENCODERS, PAPER_MODELS_DIR, trainingMismatches, type PaperEncoder } from '../../bench/lib/paper-encoders.ts';

const entry = (id: string): PaperEncoder => {
  const e = PAPER_ENCODERS.find((x) => x.id === id);
  if (!e) throw new Error(`no entry ${id}`);
  return e;
};

describe('bench:paper --reproduce: what it checks against', () => {
  const paperJson = JSON.parse(readFileSync('bench/results/paper.json', 'utf8')) as { rows: Array<{ id: string; ours: { values: number[] } | null }> };

  it("reads each seed's published figures from paper.json, the ones its table rows were built from", () => {
    const s1 = publishedFigures(paperJson, 1);
    for (const id of ['single50', 'single20', 'single5', 'unseen', 'mixture2', 'mixture3', 'mixture4', 'challenge', 'unknownAuroc', 'falseUnknown']) {
      const row = paperJson.rows.find((r) => r.id === id);
      expect(row?.ours?.values[0], id).toBe(s1[id]);
    }
    expect(publishedFigures(paperJson, 3).challenge).toBe(paperJson.rows.find((r) => r.id === 'challenge')?.ours?.values[2]);
    expect(publishedFigures(paperJson, 3).unseen).toBeUndefined();
    expect(publishedFigures(paperJson, 9)).toEqual({});
  });

  it('meets a row only within the stated tolerance, and prefers the figure recorded for these very weights', () => {
    const e: PaperEncoder = { ...entry('unseen-seed1'), recorded: { encoderVersion: 'v@abc', figures: { unseen: 99.0 } } };
    const published = { unseen: 100, unknownAuroc: 0.9974 };
    expect(checkRow(e, 'unseen', 'v@abc', 99.0, published)).toMatchObject({ expected: 99.0, published: 100, status: 'met' });
    expect(checkRow(e, 'unseen', 'v@abc', 99.0 + 1.01 * TOLERANCE.percent, published).status).toBe('mismatch');
    // Other weights (a retrained encoder) are held to the published figure, not to a figure recorded for others.
    expect(checkRow(e, 'unseen', 'v@other', 99.0, published)).toMatchObject({ expected: 100, status: 'mismatch' });
    expect(checkRow(e, 'unknownAuroc', 'v@abc', 0.99745, published)).toMatchObject({ tolerance: TOLERANCE.auroc, status: 'met' });
    expect(checkRow(e, 'unknownAuroc', 'v@abc', 0.9972, published).status).toBe('mismatch');
    // No figure to compare with is no success.
    expect(checkRow(e, 'falseUnknown', 'v@abc', 0.5, published)).toMatchObject({ expected: null, status: 'mismatch' });
  });
});

describe('the encoders behind the headline table', () => {
  it('refuses an encoder trained on classes its protocol holds out', () => {
    const card = { dataset: 'benchmark', classes: '0-399', perClass: 50, seed: 1 };
    expect(trainingMismatches(entry('unseen-seed1'), card)).toEqual([]);
    expect(trainingMismatches(entry('single-50-seed1'), card).join(' ')).toMatch(/classes "0-399".*needs "0-499"/);
    expect(trainingMismatches(entry('mixtures-seed1'), card)).toHaveLength(1);
    expect(trainingMismatches(entry('unseen-seed1'), { ...card, seed: 2 }).join(' ')).toMatch(/seed 2/);
    expect(trainingMismatches(entry('unseen-seed1'), undefined)).toHaveLength(1);
  });

  it('every committed encoder was trained on its protocol, and every from-scratch command saves where the entry looks', () => {
    for (const e of PAPER_ENCODERS) {
      const card = path.join(e.model, 'model-card.json');
      if (existsSync(card)) {
        const training = (JSON.parse(readFileSync(card, 'utf8')) as { training?: Record<string, unknown> }).training;
        expect(trainingMismatches(e, training), e.id).toEqual([]);
      }
      expect(e.regenerate, e.id).toContain(`--save-models ${PAPER_MODELS_DIR} `);
      expect(e.regenerate, e.id).toContain(`--seeds ${e.seed}-${e.seed}`);
      // bench:paper saves a protocol's encoder as <request name>-seed<s>.
      expect(e.id).toBe(`${e.protocol === 'single' ? `single-${e.perClass}` : e.protocol}-seed${e.seed}`);
      expect(e.regenerate).not.toMatch(/--out bench\/results\/paper\.json|docs\/RESULTS\.md/);
      expect(expectedTraining(e).seed).toBe(e.seed);
    }
    expect(new Set(PAPER_ENCODERS.map((e) => e.id)).size).toBe(PAPER_ENCODERS.length);
  });
});
