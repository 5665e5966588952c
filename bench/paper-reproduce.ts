import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Encoder } from '../core/encoder/types.ts';
import type { EncoderProvider, TrainRequest } from './lib/protocols.ts';
import { PAPER_ENCODERS, trainingMismatches, type CardTraining, type PaperEncoder } from './lib/paper-encoders.ts';

/**
 * `npm run bench:paper -- --reproduce` (`npm run bench:reproduce`): every headline row of docs/RESULTS.md whose
 * encoder is committed is measured again with that encoder on the published protocol and checked against the figure
 * the docs give for it; the rows whose encoder is not committed are listed with the command that trains it from
 * scratch. Writes bench/results/reproduce.json; exits 1 when a committed encoder's figure is not reproduced.
 */

/**
 * Percent rows: within 0.01 points, under one test spectrum (1 of 4500 is 0.022, 1 of 162 is 0.6): the same weights,
 * the same seeded splits and the same inference give the same answers, so the count of errors must be identical.
 * AUROC: 1e-4, a few swapped pairs of near-equal scores among 900 x 3600.
 */
export const TOLERANCE = { percent: 0.01, auroc: 1e-4 } as const;

type Published = Partial<Record<string, number>>;

interface CheckedRow {
  row: string;
  seed: number;
  encoder: string;
  encoderVersion: string;
  /** The figure docs/RESULTS.md's table was built from (bench/results/paper.json), with the encoder named there. */
  published: number | null;
  /** The figure the docs give for the committed encoder (its recorded figure, else the published one). */
  expected: number | null;
  measured: number;
  tolerance: number;
  status: 'met' | 'mismatch';
}

interface ListedRun {
  encoder: string;
  rows: readonly string[];
  seed: number;
  regenerate: string;
  expectedTime: string;
  publishedWith?: string;
}

export interface ReproduceReport {
  date: string;
  tolerance: typeof TOLERANCE;
  wallSeconds: number;
  checked: CheckedRow[];
  notCommitted: ListedRun[];
  /** Committed encoders whose card does not fit their protocol: not measured. */
  refused: Array<{ encoder: string; reasons: string[] }>;
}

/** The per-seed figures bench/results/paper.json holds, by row id. */
export function publishedFigures(paperJson: unknown, seed: number): Published {
  const perSeed = (paperJson as { perSeed?: Array<Record<string, unknown>> }).perSeed ?? [];
  const s = perSeed.find((x) => x.seed === seed) as
    | { single?: Record<string, number>; unseen?: { unseenAccuracy: number; unknownAuroc: number; falseUnknownRate: number }; mixtures?: Array<{ components: number; atLeast: number[] }>; challenge?: number }
    | undefined;
  if (!s) return {};
  const out: Published = {};
  for (const [n, v] of Object.entries(s.single ?? {})) out[`single${n}`] = v;
  if (s.unseen) Object.assign(out, { unseen: s.unseen.unseenAccuracy, unknownAuroc: s.unseen.unknownAuroc, falseUnknown: s.unseen.falseUnknownRate });
  for (const m of s.mixtures ?? []) out[`mixture${m.components}`] = m.atLeast[m.components - 1];
  if (s.challenge !== undefined) out.challenge = s.challenge;
  return out;
}

/** One row's verdict: the measured figure against the one the docs give for this encoder. */
export function checkRow(e: PaperEncoder, row: string, encoderVersion: string, measured: number, published: Published): CheckedRow {
  const recorded = e.recorded?.encoderVersion === encoderVersion ? e.recorded.figures[row] : undefined;
  const pub = published[row] ?? null;
  const expected = recorded ?? pub;
  const tolerance = row === 'unknownAuroc' ? TOLERANCE.auroc : TOLERANCE.percent;
  const status = expected !== null && Math.abs(measured - expected) <= tolerance ? 'met' : 'mismatch';
  return { row, seed: e.seed, encoder: e.model, encoderVersion, published: pub, expected, measured, tolerance, status };
}

/** An encoder provider that hands out one committed encoder, only for the request it was trained for. */
function fixedProvider(e: PaperEncoder, encoder: Encoder): EncoderProvider {
  return async (req: TrainRequest) => {
    const wanted = e.protocol === 'single' ? `single-${e.perClass}` : e.protocol;
    if (req.name !== wanted || req.seed !== e.seed) throw new Error(`${e.model} is the ${wanted} seed-${e.seed} encoder, asked for ${req.name} seed ${req.seed}`);
    return encoder;
  };
}

/** Runs an entry's protocol with its committed encoder: row id -> figure. */
async function measure(e: PaperEncoder, encoder: Encoder, log: (m: string) => void): Promise<Record<string, number>> {
  const protocols = await import('./lib/protocols.ts');
  const ctx = { encoderFor: fixedProvider(e, encoder), seed: e.seed, classes: 500, log };
  switch (e.protocol) {
    case 'single':
      return { [`single${e.perClass}`]: await protocols.singleCompound(ctx, e.perClass ?? 50) };
    case 'unseen': {
      const u = await protocols.unseenAndUnknown(ctx);
      return { unseen: u.unseenAccuracy, unknownAuroc: u.unknownAuroc, falseUnknown: u.falseUnknownRate };
    }
    case 'mixtures': {
      const runs = await protocols.mixtures(ctx, [2, 3, 4]);
      return Object.fromEntries(runs.map((r) => [`mixture${r.components}`, r.atLeast[r.components - 1]]));
    }
    case 'challenge':
      return { challenge: await protocols.challenge({ ...ctx, classes: 27 }) };
  }
}

interface ReproduceOptions {
  out: string;
  /** Entries to consider (ids of PAPER_ENCODERS); default all. */
  only?: readonly string[];
  published?: string;
  root?: string;
}

export async function runReproduce(opts: ReproduceOptions): Promise<ReproduceReport> {
  const root = opts.root ?? process.cwd();
  const started = Date.now();
  const log = (m: string) => console.error(`[bench:paper --reproduce ${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`);
  const paperJson = JSON.parse(readFileSync(path.resolve(root, opts.published ?? 'bench/results/paper.json'), 'utf8')) as unknown;
  const entries = opts.only ? PAPER_ENCODERS.filter((e) => opts.only!.includes(e.id)) : PAPER_ENCODERS;
  if (opts.only) {
    const unknown = opts.only.filter((id) => !PAPER_ENCODERS.some((e) => e.id === id));
    if (unknown.length) throw new Error(`--reproduce knows no encoder ${unknown.join(', ')} (known: ${PAPER_ENCODERS.map((e) => e.id).join(', ')})`);
  }
  const { readModelCard } = await import('../core/encoder/model-files.ts');
  const { openEncoder } = await import('../daemon/commands/library.ts');
  const report: ReproduceReport = { date: new Date().toISOString(), tolerance: TOLERANCE, wallSeconds: 0, checked: [], notCommitted: [], refused: [] };
  const save = () => {
    report.wallSeconds = (Date.now() - started) / 1000;
    mkdirSync(path.dirname(path.resolve(root, opts.out)), { recursive: true });
    writeFileSync(path.resolve(root, opts.out), JSON.stringify(report, null, 2) + '\n');
  };
  for (const e of entries) {
    const dir = path.resolve(root, e.model);
    if (!existsSync(path.join(dir, 'model-card.json'))) {
      report.notCommitted.push({ encoder: e.id, rows: e.rows, seed: e.seed, regenerate: e.regenerate, expectedTime: e.expectedTime, ...(e.publishedWith ? { publishedWith: e.publishedWith } : {}) });
      continue;
    }
    const card = await readModelCard(dir);
    const reasons = trainingMismatches(e, card.training as CardTraining | undefined);
    if (reasons.length) {
      report.refused.push({ encoder: e.model, reasons });
      log(`not measured: ${reasons.join('; ')}`);
      continue;
    }
    const encoder = await openEncoder(dir);
    log(`${e.id}: measuring ${e.model} (${encoder.version}) on its protocol`);
    const figures = await measure(e, encoder, log);
    encoder.dispose();
    const published = publishedFigures(paperJson, e.seed);
    for (const row of e.rows) {
      if (figures[row] === undefined) throw new Error(`${e.id}: the protocol gave no ${row}`);
      const c = checkRow(e, row, encoder.version, figures[row], published);
      report.checked.push(c);
      log(`${row} seed ${e.seed}: measured ${format(row, c.measured)}, expected ${c.expected === null ? '-' : format(row, c.expected)}: ${c.status}`);
    }
    save();
  }
  save();
  console.log(renderReproduce(report));
  return report;
}

function format(row: string, v: number): string {
  return row === 'unknownAuroc' ? v.toFixed(4) : `${v.toFixed(2)} %`;
}

function renderReproduce(r: ReproduceReport): string {
  const lines: string[] = [];
  if (!r.checked.length) lines.push('no committed encoder among those asked for');
  else lines.push('row            seed  encoder                          measured   expected   published  status');
  for (const c of r.checked) {
    const cell = (v: number | null) => (v === null ? '-' : format(c.row, v)).padEnd(10);
    lines.push(`${c.row.padEnd(14)} ${String(c.seed).padEnd(5)} ${c.encoder.padEnd(32)} ${cell(c.measured)} ${cell(c.expected)} ${cell(c.published)} ${c.status}`);
  }
  for (const x of r.refused) lines.push(`refused ${x.encoder}: ${x.reasons.join('; ')}`);
  if (r.notCommitted.length) {
    lines.push('');
    lines.push('not committed (trained again from scratch by the command):');
    for (const n of r.notCommitted) lines.push(`  ${n.rows.join(', ')} seed ${n.seed}: ${n.regenerate}  [${n.expectedTime}]`);
  }
  return lines.join('\n');
}
