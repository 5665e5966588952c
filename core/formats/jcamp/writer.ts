/**
 * JCAMP-DX 5.01 writer. Evenly spaced spectra become ##XYDATA=(X++(Y..Y)); others ##XYPOINTS=(XY..XY) in AFFN.
 *   AFFN: ordinates in shortest round-trip decimal, so reading back gives the identical doubles (YFACTOR=1).
 *   DIF:  ordinates as integers times YFACTOR, SQZ/DIF/DUP compressed with the Y check on each new line. Integer
 *         data (counts) round-trip exactly; otherwise YFACTOR = max|y| / 1e9, i.e. an error of at most
 *         5e-10 of the largest ordinate, far below float32 precision.
 * Lines stay within the standard's 80 characters.
 */
import type { Spectrum } from '../../spectrum.ts';
import { formatNumber } from '../numbers.ts';
import { jcampDataType, jcampXUnit, jcampYUnit } from '../units.ts';
import { normalizeLabel } from './ldr.ts';
import { toLongDate } from './meta.ts';

export interface JcampWriteOptions {
  /** Ordinate compression of an evenly spaced table (default 'DIF'). Unevenly spaced data is always AFFN XYPOINTS. */
  readonly compression?: 'AFFN' | 'DIF';
}

const MAX_LINE = 80;
/** Integers up to this magnitude after scaling keep 9 significant digits. */
const DIF_SCALE = 1e9;
/** Records the writer states itself; the same names in meta.extra are not copied. */
const OWN_LABELS = new Set([
  'TITLE', 'JCAMPDX', 'DATATYPE', 'DATACLASS', 'ORIGIN', 'OWNER', 'LONGDATE', 'DATE', 'TIME', 'XUNITS', 'YUNITS',
  'XFACTOR', 'YFACTOR', 'FIRSTX', 'LASTX', 'DELTAX', 'FIRSTY', 'MINY', 'MAXY', 'NPOINTS', 'XYDATA', 'XYPOINTS',
  'PEAKTABLE', 'DATATABLE', 'NTUPLES', 'ENDNTUPLES', 'PAGE', 'VARNAME', 'END', 'BLOCKS', 'SPECTROMETERDATASYSTEM',
  '$SAMPLEID', 'SAMPLEID', '$ACQUIREDAT',
]);

export function toJcamp(spectrum: Spectrum, options: JcampWriteOptions = {}): string {
  const compression = options.compression ?? 'DIF';
  const { x, y, meta } = spectrum;
  const n = y.length;
  if (n === 0) throw new RangeError('cannot write an empty spectrum');
  const extra = meta.extra ?? {};
  const out: string[] = [];
  const record = (label: string, value: string): void => {
    out.push(`##${label}=${escapeValue(value)}`);
  };
  record('TITLE', meta.title ?? extra.TITLE ?? 'spectrum');
  record('JCAMP-DX', '5.01');
  record('DATA TYPE', extra['DATA TYPE'] ?? jcampDataType(spectrum.xUnit));
  const even = isEvenlySpaced(x);
  record('DATA CLASS', even ? 'XYDATA' : 'XYPOINTS');
  record('ORIGIN', extra.ORIGIN ?? 'spectrad');
  record('OWNER', extra.OWNER ?? '');
  if (meta.acquiredAt) {
    const longDate = toLongDate(meta.acquiredAt);
    if (longDate) record('LONGDATE', longDate);
    else record('$ACQUIRED AT', meta.acquiredAt);
  }
  if (meta.instrument) record('SPECTROMETER/DATA SYSTEM', meta.instrument);
  if (meta.sampleId) record('$SAMPLE ID', meta.sampleId);
  for (const [key, value] of Object.entries(extra)) {
    const label = key.trim().toUpperCase();
    if (!isWritableLabel(label) || OWN_LABELS.has(normalizeLabel(label))) continue;
    record(label, value);
  }
  record('XUNITS', jcampXUnit(spectrum.xUnit));
  record('YUNITS', jcampYUnit(spectrum.yUnit));

  if (!even) {
    record('XFACTOR', '1');
    record('YFACTOR', '1');
    record('FIRSTX', formatNumber(x[0]));
    record('LASTX', formatNumber(x[n - 1]));
    record('NPOINTS', String(n));
    record('XYPOINTS', '(XY..XY)');
    for (let i = 0; i < n; i++) out.push(`${formatNumber(x[i])}, ${formatNumber(y[i])}`);
    out.push('##END=');
    return out.join('\n') + '\n';
  }

  // Ordinates too tiny to scale to integers (subnormal range) fall back to AFFN, which is exact anyway.
  const scaled = compression === 'DIF' ? difFactor(y) : undefined;
  const useDif = scaled !== undefined;
  const yFactor = scaled ?? 1;
  record('XFACTOR', '1');
  record('YFACTOR', formatNumber(yFactor));
  record('FIRSTX', formatNumber(x[0]));
  record('LASTX', formatNumber(x[n - 1]));
  if (n > 1) record('DELTAX', formatNumber((x[n - 1] - x[0]) / (n - 1)));
  record('FIRSTY', formatNumber(useDif ? Math.round(y[0] / yFactor) * yFactor : y[0]));
  record('NPOINTS', String(n));
  record('XYDATA', '(X++(Y..Y))');
  if (useDif) writeDif(out, x, y, yFactor);
  else writeAffn(out, x, y);
  out.push('##END=');
  return out.join('\n') + '\n';
}

/** Multi-line values keep their lines; a line that would start a record or a '$$' comment is defused. */
function escapeValue(value: string): string {
  return value
    .replace(/\$\$/g, '$ $')
    .split(/\r\n|\r|\n/)
    .map((line, i) => (i > 0 && line.trimStart().startsWith('##') ? line.replace('##', '# #') : line))
    .join('\n');
}

function isWritableLabel(label: string): boolean {
  return label !== '' && !/[=\r\n]/.test(label) && !label.startsWith('#');
}

/** True when x[i] = x[0] + i*dx to within 1e-7 of a step: the (X++(Y..Y)) form can then carry the axis. */
function isEvenlySpaced(x: Float64Array): boolean {
  const n = x.length;
  if (n < 2) return n === 1;
  const dx = (x[n - 1] - x[0]) / (n - 1);
  if (!(Math.abs(dx) > 0)) return false;
  const tolerance = 1e-7 * Math.abs(dx);
  for (let i = 1; i < n - 1; i++) if (Math.abs(x[i] - (x[0] + i * dx)) > tolerance) return false;
  return true;
}

function difFactor(y: Float64Array): number | undefined {
  let max = 0;
  let integral = true;
  for (const v of y) {
    max = Math.max(max, Math.abs(v));
    if (!Number.isInteger(v)) integral = false;
  }
  if (max === 0 || (integral && max <= 1e15)) return 1;
  const factor = max / DIF_SCALE;
  return factor >= 1e-290 ? factor : undefined;
}

function writeAffn(out: string[], x: Float64Array, y: Float64Array): void {
  const n = y.length;
  let i = 0;
  while (i < n) {
    let line = formatNumber(x[i]);
    let first = true;
    while (i < n) {
      const token = ` ${formatNumber(y[i])}`;
      if (!first && line.length + token.length > MAX_LINE) break;
      line += token;
      first = false;
      i++;
    }
    out.push(line);
  }
}

const SQZ_POS = '@ABCDEFGHI';
const SQZ_NEG = '@abcdefghi';
const DIF_POS = '%JKLMNOPQR';
const DIF_NEG = '%jklmnopqr';
const DUP_CHARS = ' STUVWXYZs';

function squeeze(value: number, positive: string, negative: string): string {
  const digits = String(Math.abs(value));
  const table = value < 0 ? negative : positive;
  return table[Number(digits[0])] + digits.slice(1);
}

function dup(count: number): string {
  const digits = String(count);
  return DUP_CHARS[Number(digits[0])] + digits.slice(1);
}

function writeDif(out: string[], x: Float64Array, y: Float64Array, yFactor: number): void {
  const n = y.length;
  const ints = new Array<number>(n);
  for (let i = 0; i < n; i++) ints[i] = Math.round(y[i] / yFactor);
  // Each line: X of its first point, that point in SQZ, then DIF(+DUP) tokens. A line after one that ended in DIF
  // starts by repeating the previous line's last point: the Y check.
  let start = 0;
  while (true) {
    let line = formatNumber(x[start]) + squeeze(ints[start], SQZ_POS, SQZ_NEG);
    let i = start + 1;
    while (i < n) {
      const d = ints[i] - ints[i - 1];
      let run = 1;
      while (i + run < n && ints[i + run] - ints[i + run - 1] === d) run++;
      const token = squeeze(d, DIF_POS, DIF_NEG) + (run > 1 ? dup(run) : '');
      if (line.length + token.length > MAX_LINE) break;
      line += token;
      i += run;
    }
    out.push(line);
    if (i >= n) {
      // The last line ended in DIF form: close with a line holding only the Y check of the final point.
      if (i > start + 1) out.push(formatNumber(x[n - 1]) + squeeze(ints[n - 1], SQZ_POS, SQZ_NEG));
      return;
    }
    start = i - 1;
  }
}
