/**
 * JSON spectra: `{ "x"?: number[], "y": number[], "xUnit"?: string, "yUnit"?: string, "meta"?: {...} }` or an
 * array of such objects (one block per item). Without x the axis is the point index. meta's known keys (title,
 * instrument, source, acquiredAt, sampleId) are kept; its `extra` object and any other keys land in meta.extra
 * as text.
 */
import { SpectrumInputError, type InputLocation } from '../../errors.ts';
import type { Spectrum, SpectrumMeta } from '../../spectrum.ts';
import { finishSeries } from '../axis.ts';
import { inputError, locate } from '../fail.ts';
import { PointBudget, type ParseLimits } from '../limits.ts';
import type { ParsedBlock } from '../types.ts';
import { normalizeXUnit, normalizeYUnit } from '../units.ts';

export function readJson(text: string, limits: ParseLimits, file?: string): ParsedBlock[] {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw syntaxError(error, text, file);
  }
  const items = Array.isArray(root) ? root : [root];
  if (items.length === 0) throw inputError('no-spectrum', 'the JSON array is empty', { file });
  if (items.length > limits.maxBlocks) {
    throw inputError('too-many-blocks', `${items.length} spectra in one file; the limit is ${limits.maxBlocks}`, { file });
  }
  const budget = new PointBudget(limits.maxPoints);
  return items.map((item, i) => {
    const block = i + 1;
    const where: InputLocation = { file, block };
    try {
      return { block, spectrum: readItem(item, budget, where, Array.isArray(root) ? `[${i}].` : '', file) };
    } catch (error) {
      if (!(error instanceof SpectrumInputError)) throw error;
      return { block, error: locate(error, where) };
    }
  });
}

function syntaxError(error: unknown, text: string, file?: string): SpectrumInputError {
  const message = error instanceof Error ? error.message : String(error);
  const position = /position (\d+)/.exec(message)?.[1];
  const where: InputLocation = { file };
  if (position !== undefined) {
    const before = text.slice(0, Number(position));
    return inputError('json-syntax', `invalid JSON: ${message}`, { ...where, line: before.split('\n').length });
  }
  return inputError('json-syntax', `invalid JSON: ${message}`, where);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readItem(item: unknown, budget: PointBudget, where: InputLocation, path: string, file?: string): Spectrum {
  if (!isRecord(item)) {
    throw inputError('json-schema', `expected an object with a "y" array, found ${describe(item)}`, { ...where, field: path.replace(/\.$/, '') || undefined });
  }
  const y = numberArray(item.y, `${path}y`, where, true) as Float64Array;
  if (!budget.reserve(y.length)) {
    throw inputError('too-many-points', `more than ${budget.max} points in the file`, { ...where, field: `${path}y` });
  }
  const x = numberArray(item.x, `${path}x`, where, false);
  if (x && x.length !== y.length) {
    throw inputError('json-schema', `x has ${x.length} values but y has ${y.length}`, { ...where, field: `${path}x` });
  }
  const xUnit = optionalString(item.xUnit, `${path}xUnit`, where);
  const yUnit = optionalString(item.yUnit, `${path}yUnit`, where);
  return finishSeries(
    {
      x: x ?? Float64Array.from({ length: y.length }, (_, i) => i),
      y,
      xUnit: normalizeXUnit(xUnit) ?? (x ? 'other' : 'index'),
      yUnit: normalizeYUnit(yUnit) ?? 'arbitrary',
      meta: readMeta(item.meta, `${path}meta`, where, file),
    },
    where,
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}

function numberArray(value: unknown, field: string, where: InputLocation, required: boolean): Float64Array | undefined {
  if (value === undefined) {
    if (required) throw inputError('json-schema', `"${field}" is missing: a spectrum needs a y array`, { ...where, field });
    return undefined;
  }
  if (!Array.isArray(value)) throw inputError('json-schema', `"${field}" must be an array of numbers, found ${describe(value)}`, { ...where, field });
  if (value.length === 0) throw inputError('too-few-points', `"${field}" is empty`, { ...where, field });
  const out = new Float64Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v !== 'number') {
      // null is what JSON.stringify makes of NaN and Infinity.
      const code = v === null ? 'non-finite' : 'json-schema';
      throw inputError(code, `${field}[${i}] is ${v === null ? 'null (NaN or Infinity before serialisation?)' : describe(v)}, not a number`, {
        ...where,
        field,
        index: i,
      });
    }
    out[i] = v;
  }
  return out;
}

function optionalString(value: unknown, field: string, where: InputLocation): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw inputError('json-schema', `"${field}" must be a string, found ${describe(value)}`, { ...where, field });
  return value;
}

const META_STRINGS = ['title', 'instrument', 'source', 'acquiredAt', 'sampleId'] as const;

function readMeta(value: unknown, field: string, where: InputLocation, file?: string): SpectrumMeta {
  const meta: { -readonly [K in keyof SpectrumMeta]: SpectrumMeta[K] } = {};
  if (value !== undefined && value !== null) {
    if (!isRecord(value)) throw inputError('json-schema', `"${field}" must be an object, found ${describe(value)}`, { ...where, field });
    const extra: Record<string, string> = {};
    for (const [key, v] of Object.entries(value)) {
      if ((META_STRINGS as readonly string[]).includes(key)) {
        meta[key as (typeof META_STRINGS)[number]] = optionalString(v, `${field}.${key}`, where);
      } else if (key === 'extra' && isRecord(v)) {
        for (const [k, e] of Object.entries(v)) extra[k] = asText(e, `${field}.extra.${k}`, where);
      } else {
        extra[key] = asText(v, `${field}.${key}`, where);
      }
    }
    if (Object.keys(extra).length) meta.extra = extra;
  }
  if (file !== undefined && meta.source === undefined) meta.source = file;
  for (const key of META_STRINGS) if (meta[key] === undefined) delete meta[key];
  return meta;
}

/** Meta values other than text are kept as their JSON; nesting too deep to serialise is refused, not a crash. */
function asText(value: unknown, field: string, where: InputLocation): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    throw inputError('json-schema', `"${field}" is nested too deeply to keep as metadata`, { ...where, field });
  }
}
