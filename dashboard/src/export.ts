import type { Curve, ResultMessage } from './types.ts';

/**
 * Client-side export of one spectrum as CSV or JCAMP-DX 5.01 (XYPOINTS, one pair per line: every reader takes it and
 * no value is rounded). Numbers are written with JavaScript's shortest round-trip form, so re-reading gives the
 * same doubles. Pure: tested in Node.
 */

export interface ExportInput {
  readonly id: string;
  readonly curve: Curve;
  readonly title?: string;
  readonly result?: ResultMessage;
}

function xs(curve: Curve): readonly number[] {
  return curve.x ?? curve.y.map((_, i) => i);
}

function assertExportable(curve: Curve): void {
  if (curve.y.length === 0) throw new RangeError('the spectrum has no points to export');
  if (curve.x && curve.x.length !== curve.y.length) throw new RangeError(`x has ${curve.x.length} points but y has ${curve.y.length}`);
}

const num = (v: number): string => (Number.isFinite(v) ? String(v) : 'NaN');

export function toCsv(input: ExportInput): string {
  assertExportable(input.curve);
  const x = xs(input.curve);
  const lines = ['x,y'];
  for (let i = 0; i < input.curve.y.length; i++) lines.push(`${num(x[i])},${num(input.curve.y[i])}`);
  return lines.join('\n') + '\n';
}

const JCAMP_X_UNITS: Readonly<Record<string, string>> = {
  'cm-1': '1/CM', '2theta': 'DEGREES 2THETA', ppm: 'PPM', nm: 'NANOMETERS', um: 'MICROMETERS', Hz: 'HZ', eV: 'EV',
  s: 'SECONDS', 'm/z': 'M/Z', index: 'INDEX',
};
const JCAMP_DATA_TYPE: Readonly<Record<string, string>> = {
  'cm-1': 'INFRARED SPECTRUM', '2theta': 'X-RAY POWDER DIFFRACTION', ppm: 'NMR SPECTRUM', nm: 'UV/VIS SPECTRUM',
  'm/z': 'MASS SPECTRUM',
};

/** A JCAMP-DX value on one line: a newline would start a new labelled record. */
const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ').trim();

export function toJcamp(input: ExportInput, now: Date = new Date()): string {
  assertExportable(input.curve);
  const { curve, result } = input;
  const x = xs(curve);
  const xUnit = curve.x ? curve.xUnit ?? 'arbitrary' : 'index';
  const yUnit = curve.yUnit ?? 'arbitrary';
  const pad = (n: number): string => String(n).padStart(2, '0');
  const longDate = `${now.getUTCFullYear()}/${pad(now.getUTCMonth() + 1)}/${pad(now.getUTCDate())} ${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())}`;
  const head: Array<[string, string]> = [
    ['TITLE', oneLine(input.title || input.id)],
    ['JCAMP-DX', '5.01'],
    ['DATA TYPE', JCAMP_DATA_TYPE[xUnit] ?? 'UNKNOWN'],
    ['ORIGIN', 'spectrad dashboard export'],
    ['OWNER', ''],
    ['LONGDATE', longDate],
    ['$SPECTRAD ID', input.id],
  ];
  if (result) {
    head.push(['$SPECTRAD INSTRUMENT', oneLine(result.instrument)], ['$SPECTRAD SOURCE', oneLine(result.source)]);
    head.push(['$SPECTRAD RECEIVED', result.receivedAt], ['$SPECTRAD STATUS', result.status]);
    if (result.class) head.push(['$SPECTRAD CLASS', oneLine(result.class)]);
    head.push(['$SPECTRAD SCORE', num(result.score)]);
    if (result.components?.length) {
      head.push(['$SPECTRAD COMPONENTS', result.components.map((c) => `${oneLine(c.class)}:${num(c.fraction)}`).join('; ')]);
    }
    if (result.modelVersion) head.push(['$SPECTRAD MODEL', oneLine(result.modelVersion)]);
  }
  head.push(
    ['XUNITS', JCAMP_X_UNITS[xUnit] ?? oneLine(xUnit).toUpperCase()],
    ['YUNITS', yUnit === 'arbitrary' ? 'ARBITRARY UNITS' : oneLine(yUnit).toUpperCase()],
    ['XFACTOR', '1'],
    ['YFACTOR', '1'],
    ['FIRSTX', num(x[0])],
    ['LASTX', num(x[x.length - 1])],
    ['FIRSTY', num(curve.y[0])],
    ['NPOINTS', String(curve.y.length)],
  );
  const lines = head.map(([k, v]) => `##${k}=${v}`);
  lines.push('##XYPOINTS=(XY..XY)');
  for (let i = 0; i < curve.y.length; i++) lines.push(`${num(x[i])}, ${num(curve.y[i])}`);
  lines.push('##END=');
  return lines.join('\n') + '\n';
}

/** A file name from the spectrum's source, safe on every file system. */
export function exportFileName(input: ExportInput, ext: 'csv' | 'jdx'): string {
  const base = (input.title || input.id).replace(/\.[A-Za-z0-9]{1,6}$/, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');
  return `${base || 'spectrum'}.${ext}`;
}
