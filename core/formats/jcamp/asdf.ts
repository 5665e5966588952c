import type { InputLocation, SpectrumInputError } from '../../errors.ts';
import { inputError } from '../fail.ts';
import type { DataLine } from './ldr.ts';

/**
 * Decoder for the (X++(Y..Y)) data table in every form of JCAMP-DX 4.24 §5.9 / 5.01 ASCII squeezed difference
 * form (ASDF), which may be mixed freely within a line:
 *   AFFN  free format, separated by blanks or commas:     1000 1020 -5.5E+01
 *   PAC   packed, the sign is the separator:               1000+1020-55
 *   SQZ   first digit and sign as one letter:              @=0 A..I=+1..+9 a..i=-1..-9
 *   DIF   difference to the previous ordinate:             %=0 J..R=+1..+9 j..r=-1..-9
 *   DUP   the preceding value (or difference) n times:     S..Z=1..8, s=9 (n counts the original)
 * Each line starts with the abscissa (divided by XFACTOR) of its first ordinate. When a line ends in DIF form the
 * next line repeats the last ordinate as an absolute "Y check" value; it is verified and not counted twice.
 */

const ABS = 0;
const DIF = 1;
const DUP = 2;

export interface XyDataSpec {
  readonly lines: readonly DataLine[];
  /** Ordinates the table must hold; undefined: as many as it holds (at most maxPoints), ##NPOINTS= being absent. */
  readonly npoints?: number;
  readonly firstX: number;
  /** Abscissa step per point; with npoints given it defaults to (lastX - firstX) / (npoints - 1). */
  readonly dx?: number;
  readonly lastX?: number;
  readonly xFactor: number;
  readonly where: InputLocation;
  /** Most ordinates accepted when npoints is undefined. */
  readonly maxPoints?: number;
  /**
   * Tolerant reading: X values at line starts that disagree with FIRSTX from the first line on, but agree among
   * themselves (a constant offset, or point indices counted the other way, as some NMR writers print), are read
   * with a warning; the table must still hold exactly npoints ordinates.
   */
  readonly tolerant?: boolean;
  /** Read without comparing line-start X values with the axis; they are returned (lineX) for the caller to judge. */
  readonly skipXCheck?: boolean;
}

export interface XyDataWarning {
  readonly code: string;
  readonly message: string;
  readonly line?: number;
}

export interface XyDataResult {
  /** Ordinates as written (before YFACTOR); its length is the number of points read. */
  readonly y: Float64Array;
  readonly warnings: readonly XyDataWarning[];
  /** Per data line: the index of its first ordinate, its X value (times XFACTOR), how finely X was printed, its line. */
  readonly lineStarts: readonly number[];
  readonly lineX: readonly number[];
  readonly lineRounding: readonly number[];
  readonly lineNumbers: readonly number[];
  /** Source line of a point index. */
  lineOf(index: number): number | undefined;
}

interface Tokens {
  kinds: Uint8Array;
  values: Float64Array;
  /** Digits after the decimal point of the line's leading X (-1: unknown, e.g. exponent form). */
  xDecimals: number;
  n: number;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Splits one data line into typed tokens; throws with the column of any character that is no part of ASDF. */
function badChar(text: string, at: number, why: string, base: InputLocation, line: number): never {
  throw inputError('jcamp-bad-char', `${why} at column ${at + 1} in "${text.trim().slice(0, 60)}"`, { ...base, line });
}

/** Makes room for one more token; a line can never usefully hold more than NPOINTS ordinates plus X and a check. */
function reserveToken(out: Tokens, maxTokens: number, base: InputLocation, line: number): void {
  if (out.n < out.kinds.length) return;
  if (out.n >= maxTokens) {
    throw inputError('jcamp-npoints-mismatch', `the line holds more values than ##NPOINTS= allows`, { ...base, line, field: 'NPOINTS' });
  }
  const size = Math.min(out.kinds.length * 2, maxTokens + 1);
  const kinds = new Uint8Array(size);
  const values = new Float64Array(size);
  kinds.set(out.kinds);
  values.set(out.values);
  out.kinds = kinds;
  out.values = values;
}

function scanLine(text: string, out: Tokens, base: InputLocation, line: number, maxTokens: number): void {
  out.n = 0;
  out.xDecimals = -1;
  const len = text.length;
  let i = 0;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 44 || c === 59) {
      i++;
      continue;
    }
    let kind: number;
    let sign = 1;
    let lead: number;
    const start = i;
    if (isDigit(c) || c === 46 || c === 43 || c === 45) {
      // AFFN / PAC: an optional sign, digits, a point, digits, an exponent only with an explicit sign (E/e alone is SQZ).
      kind = ABS;
      let j = i;
      if (c === 43 || c === 45) j++;
      let digits = 0;
      let decimals = -1;
      while (j < len && isDigit(text.charCodeAt(j))) {
        j++;
        digits++;
      }
      if (j < len && text.charCodeAt(j) === 46) {
        j++;
        decimals = 0;
        while (j < len && isDigit(text.charCodeAt(j))) {
          j++;
          digits++;
          decimals++;
        }
      }
      if (digits === 0) badChar(text, start, `"${text[start]}" without digits after it`, base, line);
      let exponent = false;
      if (digits > 0 && j + 2 <= len && (text.charCodeAt(j) === 69 || text.charCodeAt(j) === 101)) {
        const s = text.charCodeAt(j + 1);
        if ((s === 43 || s === 45) && j + 2 < len && isDigit(text.charCodeAt(j + 2))) {
          j += 2;
          while (j < len && isDigit(text.charCodeAt(j))) j++;
          exponent = true;
        }
      }
      const value = Number(text.slice(i, j));
      if (!Number.isFinite(value)) badChar(text, start, `the number "${text.slice(i, j)}" is out of range`, base, line);
      if (out.n === 0) out.xDecimals = exponent ? -1 : Math.max(decimals, 0);
      reserveToken(out, maxTokens, base, line);
      out.kinds[out.n] = kind;
      out.values[out.n] = value;
      out.n++;
      i = j;
      continue;
    }
    if (c === 64) {
      kind = ABS;
      lead = 0;
    } else if (c >= 65 && c <= 73) {
      kind = ABS;
      lead = c - 64;
    } else if (c >= 97 && c <= 105) {
      kind = ABS;
      lead = c - 96;
      sign = -1;
    } else if (c === 37) {
      kind = DIF;
      lead = 0;
    } else if (c >= 74 && c <= 82) {
      kind = DIF;
      lead = c - 73;
    } else if (c >= 106 && c <= 114) {
      kind = DIF;
      lead = c - 105;
      sign = -1;
    } else if (c >= 83 && c <= 90) {
      kind = DUP;
      lead = c - 82;
    } else if (c === 115) {
      kind = DUP;
      lead = 9;
    } else if (c === 63) {
      throw inputError('non-finite', `"?" (a missing value) at column ${i + 1}: spectrad needs every point`, { ...base, line });
    } else {
      return badChar(text, i, `the character "${text[i]}" is not JCAMP-DX ASDF`, base, line);
    }
    i++;
    let value = lead;
    let fraction = false;
    const digitsStart = i;
    while (i < len) {
      const d = text.charCodeAt(i);
      if (isDigit(d)) {
        value = value * 10 + (d - 48);
        i++;
      } else if (d === 46 && !fraction && kind !== DUP) {
        fraction = true;
        i++;
      } else break;
    }
    if (fraction) {
      // Rare decimal SQZ/DIF values: let the number parser round exactly as for AFFN.
      value = Number(String(lead) + text.slice(digitsStart, i));
      if (!Number.isFinite(value)) badChar(text, start, 'a number out of range', base, line);
    }
    if (out.n === 0) out.xDecimals = fraction ? text.slice(digitsStart, i).split('.')[1].length : 0;
    reserveToken(out, maxTokens, base, line);
    out.kinds[out.n] = kind;
    out.values[out.n] = sign * value;
    out.n++;
  }
}

export function decodeXyData(spec: XyDataSpec): XyDataResult {
  const { firstX, xFactor } = spec;
  const declared = spec.npoints;
  // Without a declared count the table decides, within the file's point limit.
  const capacity = declared ?? Math.max(1, spec.maxPoints ?? 1);
  let y = new Float64Array(declared ?? Math.min(capacity, 4096));
  const npoints = capacity;
  const dx = spec.dx ?? (declared !== undefined && declared > 1 && spec.lastX !== undefined ? (spec.lastX - firstX) / (declared - 1) : 0);
  const checkX = !spec.skipXCheck && (dx !== 0 || declared === 1);
  const lineX: number[] = [];
  const lineRounding: number[] = [];
  const warnings: XyDataWarning[] = [];
  /** Tolerant reading of line-start X values that follow their own origin (and maybe direction), not FIRSTX. */
  let relative: { x0: number; j0: number; sign: number; rounding: number; firstError: SpectrumInputError; expected: number } | undefined;
  const xAt = (i: number): number => (relative ? relative.x0 + relative.sign * (i - relative.j0) * Math.abs(dx) : firstX + i * dx);
  const lineStarts: number[] = [];
  const lineNumbers: number[] = [];
  const tokens: Tokens = { kinds: new Uint8Array(128), values: new Float64Array(128), xDecimals: -1, n: 0 };

  let count = 0;
  let prevY = Number.NaN;
  let havePrev = false;
  let prevLineEndedDif = false;

  let line = 0;
  // Locations are built only when something is wrong: the loop runs once per data line of large files.
  const here = (): InputLocation => ({ ...spec.where, line });
  const overflow = (): never => {
    if (declared === undefined) throw inputError('too-many-points', `more than ${capacity} points in the file`, here());
    throw inputError('jcamp-npoints-mismatch', `more ordinates than ##NPOINTS=${npoints}`, { ...here(), field: 'NPOINTS' });
  };
  /** Room for one more ordinate: a declared count is allocated up front, an undeclared one grows to the limit. */
  const room = (): void => {
    if (count < y.length) return;
    if (count >= capacity) overflow();
    const bigger = new Float64Array(Math.min(capacity, y.length * 2));
    bigger.set(y);
    y = bigger;
  };

  for (const dataLine of spec.lines) {
    line = dataLine.line;
    scanLine(dataLine.text, tokens, spec.where, line, npoints + 2);
    if (tokens.n === 0) continue;
    if (tokens.kinds[0] !== ABS) {
      throw inputError('jcamp-x-check', 'the line does not start with an X value (it starts with a DIF or DUP character)', here());
    }
    const xLine = tokens.values[0] * xFactor;
    const firstIsAbs = tokens.n > 1 && tokens.kinds[1] === ABS;
    // How far the written X may be from the true abscissa just from being printed with few decimals.
    const rounding = tokens.xDecimals >= 0 ? 0.5 * 10 ** -tokens.xDecimals * Math.abs(xFactor) : 1e-6 * Math.abs(xLine);
    let isCheck = false;
    if (prevLineEndedDif && firstIsAbs && count > 0 && (relative?.sign === 0 || !checkX)) {
      // Where the X values cannot place the line, the repeated value alone marks the Y check.
      isCheck = valuesEqual(tokens.values[1], prevY);
    } else if (prevLineEndedDif && firstIsAbs && count > 0) {
      const sameValue = valuesEqual(tokens.values[1], prevY);
      // A repeated last ordinate is the standard's Y check. A different value is a failed check when the X
      // (printed finely enough to tell) names the previous point, else a writer that skips the convention.
      const dPrevious = Math.abs(xLine - xAt(count - 1));
      const dNext = Math.abs(xLine - xAt(count));
      const exact = Math.min(dPrevious, dNext) <= 1e-9 * (Math.abs(xLine) + Math.abs(dx));
      const xResolves = npoints > 1 && (exact || rounding < 0.5 * Math.abs(dx));
      isCheck = sameValue || (xResolves && dPrevious < dNext);
      if (isCheck && !sameValue) {
        throw inputError(
          'jcamp-dif-check',
          `Y check failed: the line repeats the last ordinate of the previous line as ${tokens.values[1]}, but the decoded value is ${prevY}`,
          here(),
        );
      }
    }
    const anchor = isCheck ? count - 1 : count;
    if (checkX && npoints > 1 && tokens.n > 1) {
      const tolerance = 0.5 * Math.abs(dx) + rounding + (relative?.rounding ?? 0) + 1e-9 * Math.abs(xLine);
      if (relative && relative.sign === 0 && anchor > relative.j0) {
        // The second line fixes which way the line-start X values count.
        const step = (xLine - relative.x0) / (anchor - relative.j0);
        if (Math.abs(Math.abs(step) - Math.abs(dx)) * (anchor - relative.j0) <= tolerance) relative.sign = Math.sign(step);
        else throw relative.firstError;
      }
      if (Math.abs(xLine - xAt(anchor)) > tolerance) {
        const error = inputError(
          'jcamp-x-check',
          relative
            ? `the line starts at X = ${xLine} but the X values of the earlier lines put its first ordinate (point ${anchor}) at ${xAt(anchor)}: a point is missing or extra before this line`
            : `the line starts at X = ${xLine} but its first ordinate is point ${anchor}, at x = ${xAt(anchor)} from FIRSTX/LASTX/NPOINTS: a point is missing or extra before this line`,
          here(),
        );
        if (!spec.tolerant || relative) throw error;
        if (anchor === 0) {
          relative = { x0: xLine, j0: 0, sign: 0, rounding, firstError: error, expected: xAt(0) };
        } else {
          // From here on one point off (NIST and Bruker exports stamp each line with the abscissa of the previous
          // line's last ordinate). Any other jump is a lost or extra point or line, and refused here.
          const shift = Math.abs((xLine - xAt(anchor)) / dx);
          if (Math.abs(shift - 1) > 0.1 + (rounding + 1e-9 * Math.abs(xLine)) / Math.abs(dx)) throw error;
          relative = { x0: xLine, j0: anchor, sign: Math.sign(dx), rounding, firstError: error, expected: xAt(anchor) };
        }
      }
    }
    lineStarts.push(anchor);
    lineNumbers.push(dataLine.line);
    lineX.push(xLine);
    lineRounding.push(rounding);

    let lastKind = -1;
    let lastDif = 0;
    for (let t = 1; t < tokens.n; t++) {
      const kind = tokens.kinds[t];
      const value = tokens.values[t];
      if (kind === ABS) {
        if (!(t === 1 && isCheck)) {
          room();
          y[count++] = value;
        }
        prevY = value;
        havePrev = true;
        lastKind = ABS;
      } else if (kind === DIF) {
        if (!havePrev) throw inputError('jcamp-dif-check', 'a DIF value with no ordinate before it to add to', here());
        prevY += value;
        room();
        y[count++] = prevY;
        lastDif = value;
        lastKind = DIF;
      } else {
        if (lastKind < 0 || !Number.isInteger(value) || value < 1) {
          throw inputError('jcamp-bad-char', lastKind < 0 ? 'a DUP count with no value before it on the line' : `DUP count ${value}`, here());
        }
        for (let r = 1; r < value; r++) {
          if (lastKind === DIF) prevY += lastDif;
          room();
          y[count++] = prevY;
        }
      }
    }
    prevLineEndedDif = lastKind === DIF;
  }

  if (declared !== undefined && count !== declared) {
    // A table that is short or long after its first line disagreed with FIRSTX is explained by that line.
    if (relative) throw relative.firstError;
    throw inputError('jcamp-npoints-mismatch', `##NPOINTS=${npoints} but the table holds ${count} ordinates`, {
      ...spec.where,
      field: 'NPOINTS',
    });
  }
  if (relative) {
    warnings.push({
      code: 'jcamp-x-offset',
      message:
        (relative.j0 === 0
          ? `the X values at the line starts follow their own origin (the first line starts at X = ${relative.x0}, where FIRSTX puts point 0 at ${relative.expected})`
          : `from line ${relative.firstError.where.line ?? '?'} on, the X values at the line starts are one point off (X = ${relative.x0} where point ${relative.j0} is at ${relative.expected})`) +
        `; they agree among themselves and the table holds all ${count} ordinates, so x is taken from FIRSTX and LASTX`,
      line: relative.firstError.where.line,
    });
  }
  if (declared === undefined && y.length !== count) y = y.slice(0, count);
  return {
    y,
    warnings,
    lineStarts,
    lineX,
    lineRounding,
    lineNumbers,
    lineOf(index: number): number | undefined {
      // Binary search for the last line that starts at or before the index.
      let lo = 0;
      let hi = lineStarts.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (lineStarts[mid] <= index) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return found >= 0 ? lineNumbers[found] : undefined;
    },
  };
}

function valuesEqual(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}
