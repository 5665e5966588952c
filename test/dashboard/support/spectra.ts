import { generateRandomSplit, generateTestSplit, loadDefinition } from '../../../core/benchmark/index.ts';
import type { ResultMessage, ResultStatus } from '../../../core/messages.ts';

/**
 * Real benchmark spectra (Schuetzke 2023 generator, 5000 points) and ResultMessages about them, for the dashboard
 * tests. Each class's reference is a seeded training sample of it, as a demo library would hold.
 */
const def = loadDefinition('benchmark');

export function testSpectrum(cls: number, variant = 0): number[] {
  const ds = generateTestSplit(def, { classes: [cls] });
  const row = variant % (ds.n);
  return Array.from(ds.x.subarray(row * ds.points, (row + 1) * ds.points));
}

export function mixtureSpectrum(parts: ReadonlyArray<{ cls: number; fraction: number }>): number[] {
  const out = new Array<number>(def.points).fill(0);
  for (const p of parts) testSpectrum(p.cls).forEach((v, i) => { out[i] += v * p.fraction; });
  return out;
}

export function referenceOf(cls: number): number[] {
  const ds = generateRandomSplit(def, { split: 'train', perClass: 1, seed: 1, classes: [cls] });
  return Array.from(ds.x);
}

export const className = (cls: number): string => `class-${cls}`;

let seq = 0;
/** Time-sortable ids like the daemon's (ULID-like): later results sort after earlier ones. */
export function nextId(at: Date): string {
  seq += 1;
  return `${at.getTime().toString(36).padStart(10, '0')}${seq.toString(36).padStart(6, '0')}`.toUpperCase();
}

export function makeResult(init: {
  status: ResultStatus;
  instrument?: string;
  cls?: number;
  score?: number;
  at?: Date;
  source?: string;
  components?: Array<{ cls: number; fraction: number; score: number }>;
  candidates?: Array<{ cls: number; score: number }>;
  error?: { code: string; message: string };
}): ResultMessage {
  const at = init.at ?? new Date();
  const id = nextId(at);
  const candidates = (init.candidates ?? (init.cls !== undefined ? [{ cls: init.cls, score: init.score ?? 0.9 }] : []))
    .map((c) => ({ class: className(c.cls), score: c.score, similarity: 0.5 + c.score / 2 }));
  return {
    id,
    instrument: init.instrument ?? 'raman-1',
    source: init.source ?? `/lab/inbox/${id.toLowerCase()}.jdx`,
    receivedAt: at.toISOString(),
    status: init.status,
    class: init.status === 'identified' || init.status === 'low-confidence' ? (init.cls !== undefined ? className(init.cls) : undefined) : undefined,
    score: init.score ?? (init.status === 'rejected' ? 0 : 0.9),
    candidates,
    components: init.components?.map((c) => ({ class: className(c.cls), fraction: c.fraction, score: c.score })),
    error: init.error,
    latencyMs: 42,
    modelVersion: 'seed-1.0.0+abc123',
  };
}
