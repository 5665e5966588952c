import { toJcamp } from '../../core/formats/jcamp/writer.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import type { LabelledResult } from '../store/store.ts';
import type { Curve } from './services.ts';

/**
 * One CSV row per result for the bulk export (GET /api/results/export): the columns History shows plus what a
 * spreadsheet needs to redo the analysis (candidates, components, model version). RFC 4180 quoting; a text cell that
 * a spreadsheet would run as a formula (= + - @ first) gets a leading apostrophe.
 */
const COLUMNS = [
  'id', 'receivedAt', 'instrument', 'source', 'status', 'answer', 'score', 'label', 'labelledBy', 'labelledAt',
  'candidates', 'components', 'fitQuality', 'latencyMs', 'modelVersion', 'error',
] as const;

export function resultsCsvHeader(): string {
  return COLUMNS.join(',') + '\r\n';
}

function text(v: string | undefined): string {
  if (v === undefined || v === '') return '';
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function num(v: number | undefined, digits = 4): string {
  return v === undefined || !Number.isFinite(v) ? '' : String(Number(v.toFixed(digits)));
}

function answerOf(r: LabelledResult): string {
  if (r.status === 'mixture') return (r.components ?? []).map((c) => c.class).join(' + ');
  if (r.status === 'unknown' || r.status === 'rejected') return '';
  return r.class ?? r.candidates[0]?.class ?? '';
}

export function resultCsvRow(r: LabelledResult): string {
  const cells = [
    text(r.id),
    text(r.receivedAt),
    text(r.instrument),
    text(r.source),
    text(r.status),
    text(answerOf(r)),
    r.status === 'rejected' ? '' : num(r.score),
    text(r.label?.class),
    text(r.label?.by),
    text(r.label?.at),
    text(r.candidates.slice(0, 5).map((c) => `${c.class}:${num(c.score)}`).join(' ')),
    text((r.components ?? []).map((c) => `${c.class}:${num(c.fraction, 3)}`).join(' ')),
    num(r.fitQuality, 3),
    num(r.latencyMs, 1),
    text(r.modelVersion),
    text(r.error ? `${r.error.code}: ${r.error.message}` : undefined),
  ];
  return cells.join(',') + '\r\n';
}

/** Which curve a JCAMP-DX export carries: the model's input on the daemon's grid, or the file's own data. */
export type ExportCurve = 'preprocessed' | 'raw';

/**
 * One JCAMP-DX block per result for the bulk export (GET /api/results/export?format=jcamp), written by the core
 * writer. The blocks follow one another in one file (a concatenated multi-block file, which JCAMP-DX readers read
 * block by block; a LINK block would need the count before the first row is streamed). The title names the result
 * (id, source file, answer) and the result's fields ride along as $-labels, so a block read back says what it was.
 * A result with no curve to write (a rejected file, or one stored without its preprocessed vector) gives no block.
 */
export function resultJcampBlock(r: LabelledResult, curve: Curve | undefined): string {
  if (!curve || curve.y.length === 0) return '';
  const answer = answerOf(r);
  const extra: Record<string, string> = { '$SPECTRAD ID': r.id, '$SOURCE': r.source, '$STATUS': r.status, '$INSTRUMENT': r.instrument, '$RECEIVED AT': r.receivedAt };
  if (answer) extra.$ANSWER = answer;
  if (r.status !== 'rejected' && Number.isFinite(r.score)) extra.$SCORE = num(r.score);
  if (r.label?.class) extra.$LABEL = r.label.class;
  if (r.modelVersion) extra['$MODEL VERSION'] = r.modelVersion;
  const spectrum = createSpectrum({
    x: curve.x,
    y: curve.y,
    xUnit: curve.xUnit ?? (curve.x ? 'other' : 'index'),
    yUnit: curve.yUnit ?? 'arbitrary',
    meta: { title: `${r.id} ${r.source} ${answer || r.status}`, instrument: r.instrument, extra },
  });
  return toJcamp(spectrum);
}
