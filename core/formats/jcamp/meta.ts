import type { SpectrumMeta } from '../../spectrum.ts';
import { ldrText, type Ldr } from './ldr.ts';

/**
 * Header records to SpectrumMeta: ##TITLE= to title, ##LONGDATE= (5.01) or ##DATE= + ##TIME= (4.24) to an ISO 8601
 * acquiredAt, ##$SAMPLE ID= / ##SAMPLE ID= to sampleId, every other text record kept verbatim in extra.
 */

/** Records that describe the data table itself: they live in x/y/units, not in meta.extra. */
const STRUCTURAL = new Set([
  'TITLE', 'END', 'XYDATA', 'XYPOINTS', 'PEAKTABLE', 'DATATABLE', 'NTUPLES', 'ENDNTUPLES', 'PAGE', 'VARNAME',
  'SYMBOL', 'VARTYPE', 'VARFORM', 'VARDIM', 'UNITS', 'FIRST', 'LAST', 'MIN', 'MAX', 'FACTOR', 'FIRSTX', 'LASTX',
  'DELTAX', 'XFACTOR', 'YFACTOR', 'NPOINTS', 'FIRSTY', 'MINX', 'MAXX', 'MINY', 'MAXY', 'XUNITS', 'YUNITS',
  'BLOCKS',
]);

const SAMPLE_ID_LABELS = new Set(['$SAMPLEID', 'SAMPLEID']);
const ACQUIRED_LABELS = new Set(['LONGDATE', 'DATE', 'TIME', '$ACQUIREDAT']);

export function blockMeta(ldrs: readonly Ldr[], source: string | undefined): SpectrumMeta {
  const extra: Record<string, string> = {};
  let title: string | undefined;
  let sampleId: string | undefined;
  const texts = new Map<string, string>();
  for (const ldr of ldrs) {
    if (ldr.label === 'TITLE') {
      title ??= ldrText(ldr);
      continue;
    }
    if (STRUCTURAL.has(ldr.label)) continue;
    const text = ldrText(ldr);
    if (!texts.has(ldr.label)) texts.set(ldr.label, text);
    if (SAMPLE_ID_LABELS.has(ldr.label)) {
      sampleId ??= text;
      continue;
    }
    if (ACQUIRED_LABELS.has(ldr.label)) continue;
    if (!(ldr.rawLabel in extra)) extra[ldr.rawLabel] = text;
  }
  const acquired = acquiredAt(texts);
  if (!acquired) {
    // Dates we could not read stay visible as written.
    for (const ldr of ldrs) if (ACQUIRED_LABELS.has(ldr.label) && !(ldr.rawLabel in extra)) extra[ldr.rawLabel] = ldrText(ldr);
  }
  const meta: { -readonly [K in keyof SpectrumMeta]: SpectrumMeta[K] } = {};
  if (title !== undefined && title !== '') meta.title = title;
  if (source !== undefined) meta.source = source;
  if (acquired) meta.acquiredAt = acquired;
  if (sampleId !== undefined && sampleId !== '') meta.sampleId = sampleId;
  if (Object.keys(extra).length) meta.extra = extra;
  return meta;
}

function acquiredAt(texts: ReadonlyMap<string, string>): string | undefined {
  const longDate = texts.get('LONGDATE');
  if (longDate) {
    const iso = parseJcampDate(longDate);
    if (iso) return iso;
  }
  const date = texts.get('DATE');
  if (date) {
    const time = texts.get('TIME');
    const iso = parseJcampDate(time ? `${date} ${time}` : date);
    if (iso) return iso;
  }
  const explicit = texts.get('$ACQUIREDAT');
  return explicit || undefined;
}

const DATE_TIME =
  /^(\d{4}|\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(?:(Z|UTC|GMT)|([+-])(\d{2}):?(\d{2}))?$/i;

/**
 * Reads 'YYYY/MM/DD[ HH:MM[:SS[.SSSS]]][ ±UUUU]' (LONGDATE) and 4.24's 'YY/MM/DD' (years 00-49 are 20xx).
 * Other spellings (month names, D/M/Y) are ambiguous across vendors and are left unparsed.
 */
export function parseJcampDate(text: string): string | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [, yText, mo, d, hh, mm, ss, frac, zulu, sign, oh, om] = m;
  const year = yText.length === 2 ? (Number(yText) < 50 ? 2000 : 1900) + Number(yText) : Number(yText);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const pad = (n: number | string): string => String(n).padStart(2, '0');
  let iso = `${String(year).padStart(4, '0')}-${pad(month)}-${pad(day)}`;
  if (hh === undefined) return iso;
  if (Number(hh) > 23 || Number(mm) > 59 || (ss !== undefined && Number(ss) > 60)) return undefined;
  iso += `T${pad(hh)}:${mm}:${ss ?? '00'}${frac ?? ''}`;
  if (zulu || (sign && Number(oh) === 0 && Number(om) === 0)) iso += 'Z';
  else if (sign) iso += `${sign}${oh}:${om}`;
  return iso;
}

/** ISO 8601 back to 5.01's ##LONGDATE= form; undefined when the text is no ISO date. */
export function toLongDate(iso: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|([+-])(\d{2}):(\d{2}))?)?$/.exec(iso);
  if (!m) return undefined;
  const [, y, mo, d, hh, mm, ss, frac, zone, sign, oh, om] = m;
  let text = `${y}/${mo}/${d}`;
  if (hh === undefined) return text;
  text += ` ${hh}:${mm}:${ss ?? '00'}${frac ?? ''}`;
  if (zone === 'Z') text += ' +0000';
  else if (sign) text += ` ${sign}${oh}${om}`;
  return text;
}
