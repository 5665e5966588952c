import type { InputLocation } from '../../errors.ts';
import { inputError } from '../fail.ts';
import type { PointBudget } from '../limits.ts';
import { parseDecimal } from '../numbers.ts';
import type { DataLine } from './ldr.ts';

/**
 * (XY..XY), (XYW..XYW), (XYM..XYM) tables of ##XYPOINTS= and ##PEAK TABLE= (JCAMP-DX 4.24 §5.9, 5.01): AFFN
 * tuples, components separated by commas, tuples by ';' or blanks. Only x and y are kept; widths and
 * multiplicities are dropped.
 */
export interface PointTable {
  readonly x: Float64Array;
  readonly y: Float64Array;
  lineOf(index: number): number | undefined;
}

/** Number of values per tuple for a variable list such as '(XY..XY)' or '(XYW..XYW)'; undefined if unsupported. */
export function tupleSize(variableList: string): number | undefined {
  const m = /^\((XY[A-Z]*)\.\.(XY[A-Z]*)\)/.exec(variableList.replace(/\s+/g, '').toUpperCase());
  return m && m[1] === m[2] ? m[1].length : undefined;
}

export function decodePoints(
  lines: readonly DataLine[],
  size: number,
  xFactor: number,
  yFactor: number,
  budget: PointBudget,
  where: InputLocation,
): PointTable {
  const xs: number[] = [];
  const ys: number[] = [];
  const lines_: number[] = [];
  let pending: number[] = [];
  let pendingLine = 0;
  for (const dataLine of lines) {
    const at: InputLocation = { ...where, line: dataLine.line };
    // Each ';' or line end may close a tuple; commas and blanks separate values.
    for (const group of dataLine.text.split(';')) {
      const fields = group.split(/[\s,]+/).filter((f) => f !== '');
      for (const field of fields) {
        if (field === '?') throw inputError('non-finite', '"?" (a missing value): spectrad needs every point', at);
        const parsed = parseDecimal(field);
        if (!parsed.ok) {
          throw inputError(parsed.nonFinite ? 'non-finite' : 'bad-number', `"${field}" is not a number`, at);
        }
        if (pending.length === 0) pendingLine = dataLine.line;
        pending.push(parsed.value);
        if (pending.length === size) {
          if (!budget.reserve(1)) {
            throw inputError('too-many-points', `more than ${budget.max} points in the file`, at);
          }
          xs.push(pending[0] * xFactor);
          ys.push(pending[1] * yFactor);
          lines_.push(pendingLine);
          pending = [];
        }
      }
    }
  }
  if (pending.length) {
    throw inputError('jcamp-incomplete-tuple', `the last tuple has ${pending.length} of ${size} values`, { ...where, line: pendingLine });
  }
  return { x: Float64Array.from(xs), y: Float64Array.from(ys), lineOf: (i) => lines_[i] };
}
