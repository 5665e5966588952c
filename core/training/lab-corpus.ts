import type { InputGrid } from '../encoder/types.ts';
import { SpectrumInputError } from '../errors.ts';
import { fnv1a32 } from './class-folds.ts';

/**
 * A lab's own labelled spectra as training data: which file belongs to which class and to which physical sample,
 * the grid they are trained on, and the split by sample (never by file: two files of one specimen are one sample,
 * and a validation that queried one with the other as reference would measure repeat measurements, not
 * identification). Pure: the file system is the CLI's business (daemon/commands/train-data.ts).
 */

export interface CorpusEntry {
  /** Path of the file as the caller can open it. */
  readonly file: string;
  readonly className: string;
  /** The physical sample (specimen) the file was measured on; the file itself when nothing says. */
  readonly sample: string;
}

const GRID_RE = /^([^:]*):([^:]+):([^:]+):([^:]+)$/;

/**
 * `UNIT:START:END:POINTS`, e.g. `cm-1:100:1500:1400`: POINTS grid points from START to END inclusive in UNIT.
 * A bare `UNIT` leaves the range and point count to be derived from the data (returns only the unit).
 */
export function parseGrid(text: string): InputGrid | { readonly xUnit: string } {
  const t = text.trim();
  const fail = (why: string): never => {
    throw new SpectrumInputError('bad-grid', `--grid "${text}": ${why} (expected UNIT:START:END:POINTS, e.g. cm-1:100:1500:1400, or a bare UNIT)`, { field: 'grid' });
  };
  if (t === '') fail('empty');
  if (!t.includes(':')) return { xUnit: t };
  const m = GRID_RE.exec(t);
  if (!m) return fail('needs four fields separated by ":"');
  const [, unit, a, b, p] = m;
  const xStart = Number(a);
  const xEnd = Number(b);
  const points = Number(p);
  if (unit.trim() === '') fail('the unit is empty');
  if (!Number.isFinite(xStart) || !Number.isFinite(xEnd)) fail(`START and END must be numbers, got "${a}" and "${b}"`);
  if (!(xEnd > xStart)) fail(`END (${xEnd}) must be greater than START (${xStart})`);
  if (!Number.isInteger(points) || points < 16 || points > 20000) fail(`POINTS must be an integer from 16 to 20000, got "${p}"`);
  return { xUnit: unit.trim(), xStart, xEnd, points };
}

export const isFullGrid = (g: InputGrid | { readonly xUnit: string }): g is InputGrid => 'points' in g;

/**
 * A grid covering the data: from the median first x to the median last x of the files (so a few spectra with an
 * unusual range neither stretch nor clip it), at about the median point spacing, at most `maxPoints` points.
 */
export function deriveGrid(ranges: readonly { first: number; last: number; points: number }[], xUnit: string, maxPoints = 2048): InputGrid {
  if (ranges.length === 0) throw new SpectrumInputError('empty-corpus', 'no readable spectra to derive a grid from', { field: 'data' });
  const median = (v: number[]): number => {
    const s = [...v].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  };
  const xStart = median(ranges.map((r) => r.first));
  const xEnd = median(ranges.map((r) => r.last));
  const spacing = median(ranges.map((r) => (r.last - r.first) / Math.max(1, r.points - 1)));
  if (!(xEnd > xStart) || !(spacing > 0)) throw new SpectrumInputError('bad-grid', `cannot derive a grid from the data (median range ${xStart}..${xEnd})`, { field: 'grid' });
  const points = Math.max(16, Math.min(maxPoints, Math.round((xEnd - xStart) / spacing) + 1));
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return { xUnit, xStart: round(xStart), xEnd: round(xEnd), points };
}

/**
 * Header fields of a text spectrum file: lines before the data of the form `##KEY=value` (JCAMP-DX, RRUFF) or
 * `#KEY: value` / `KEY: value`; keys upper-cased and trimmed of `#`. Stops at the first line that starts with a number.
 */
export function headerFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split(/\r?\n/, 400)) {
    const line = raw.trim();
    if (line === '') continue;
    if (/^[-+]?(\d|\.\d)/.test(line)) break;
    const m = /^#*\s*([^=:#][^=:]*?)\s*[=:]\s*(.*)$/.exec(line);
    if (m && !fields.has(m[1].toUpperCase())) fields.set(m[1].toUpperCase(), m[2].trim());
  }
  return fields;
}

/** The value of the first of `names` (comma-separated, case-insensitive) the fields hold, non-empty. */
export function fieldValue(fields: ReadonlyMap<string, string>, names: string): string | undefined {
  for (const name of names.split(',')) {
    const v = fields.get(name.trim().toUpperCase());
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

/** Splits one CSV line on commas, honouring double quotes. */
function csvCells(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  cells.push(cur.trim());
  return cells;
}

/**
 * A CSV manifest `file,class[,sample]`, one spectrum file per row; a first row `file,class[,sample]` is a header.
 * Relative file paths are returned as written (the caller resolves them against the manifest's folder).
 */
export function parseManifestCsv(text: string, where = 'manifest'): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const cells = csvCells(line);
    if (i === 0 && cells[0].toLowerCase() === 'file' && cells[1]?.toLowerCase() === 'class') return;
    if (cells.length < 2 || cells.length > 3 || cells[0] === '' || cells[1] === '') {
      throw new SpectrumInputError('bad-manifest', `line ${i + 1}: expected "file,class" or "file,class,sample", got "${line}"`, { file: where, line: i + 1 });
    }
    entries.push({ file: cells[0], className: cells[1], sample: cells[2] || cells[0] });
  });
  if (entries.length === 0) throw new SpectrumInputError('empty-corpus', 'the manifest lists no files', { file: where });
  return entries;
}

export interface SampleSplit {
  readonly train: CorpusEntry[];
  readonly val: CorpusEntry[];
}

/**
 * Holds out one whole sample of every class that has at least two (chosen by a seeded hash of the sample name), so
 * validation queries a specimen the model never trained on, against references of the same class from other
 * specimens. Classes with one sample stay whole in training (they still act as distractors for the queries).
 */
export function splitBySample(entries: readonly CorpusEntry[], seed: number): SampleSplit {
  const samplesOf = new Map<string, Set<string>>();
  for (const e of entries) {
    const s = samplesOf.get(e.className) ?? new Set<string>();
    s.add(e.sample);
    samplesOf.set(e.className, s);
  }
  const heldOut = new Map<string, string>();
  for (const [cls, samples] of samplesOf) {
    if (samples.size < 2) continue;
    let best = '';
    let bestKey = Infinity;
    for (const s of samples) {
      const key = fnv1a32(`${seed}\u0000${cls}\u0000${s}`);
      if (key < bestKey || (key === bestKey && s < best)) {
        bestKey = key;
        best = s;
      }
    }
    heldOut.set(cls, best);
  }
  const train: CorpusEntry[] = [];
  const val: CorpusEntry[] = [];
  for (const e of entries) (heldOut.get(e.className) === e.sample ? val : train).push(e);
  return { train, val };
}

/** Number of distinct samples per class. */
export function samplesPerClass(entries: readonly CorpusEntry[]): Map<string, number> {
  const sets = new Map<string, Set<string>>();
  for (const e of entries) {
    const s = sets.get(e.className) ?? new Set<string>();
    s.add(e.sample);
    sets.set(e.className, s);
  }
  return new Map([...sets].map(([c, s]) => [c, s.size]));
}
