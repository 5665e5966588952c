/**
 * JCAMP-DX reader (4.24, McDonald & Wilks, Appl. Spectrosc. 42 (1988) 151; 5.01, Lampen et al., Pure Appl. Chem.
 * 71 (1999) 1549).
 *
 * Why our own parser and not jcampconverter 10.0.2 (the last MIT release; 11+ is CC-BY-NC-SA): measured with
 * test/formats/tools/compare-jcampconverter.ts (results in test/formats/README.md), jcampconverter returns partial
 * or shifted spectra without any error for a failed DIF Y-check, a missing line, a wrong ##NPOINTS=, an unknown
 * ASDF character and a truncated file, and its errors carry no line numbers. spectrad must reject such input and
 * say the line and field, so the reader is ours; it is also 3-4x faster on 100 000-point tables.
 *
 * Results: one per data-bearing block, in file order (LINK files: each nested block; plain concatenated blocks
 * likewise). NTUPLES: one result per page whose dependent variable is real-valued; pages holding an imaginary
 * part (##VAR_NAME= ...SPECTRUM/IMAG) are skipped, because identification works on real spectra and a separate
 * imaginary "spectrum" would be identified as if it were one. A block with both ##XYDATA= and ##PEAK TABLE= yields
 * its XYDATA (then XYPOINTS, then PEAK TABLE): the full spectrum is what identification needs.
 */
import { SpectrumInputError, type InputLocation } from '../../errors.ts';
import type { Spectrum, SpectrumMeta, SpectrumWarning } from '../../spectrum.ts';
import { finishSeries } from '../axis.ts';
import { inputError, locate } from '../fail.ts';
import { PointBudget, type ParseLimits } from '../limits.ts';
import { countLines, parseDecimal } from '../numbers.ts';
import type { ParsedBlock } from '../types.ts';
import { isKnownXUnit, normalizeXUnit, normalizeYUnit, xUnitFromColumnName } from '../units.ts';
import { decodeXyData } from './asdf.ts';
import { isLink, ldrText, tokenizeJcamp, type DataLine, type JcampBlock, type Ldr } from './ldr.ts';
import { blockMeta } from './meta.ts';
import { decodePoints, tupleSize } from './points.ts';

interface Context {
  readonly file?: string;
  readonly limits: ParseLimits;
  /** Read files that bend the standard where the meaning is clear, with warnings (false: `--strict`). */
  readonly tolerant: boolean;
  readonly budget: PointBudget;
  readonly results: ParsedBlock[];
  count: number;
}

export function readJcamp(text: string, limits: ParseLimits, file?: string, strict = false): ParsedBlock[] {
  // Every data line holds at least one point, bar one Y-check line per table: a file with more data lines than
  // points and blocks allow is refused on a count of its text, before the tokenizer keeps a record of each line.
  const dataLines = countLines(text, limits.maxPoints + limits.maxBlocks, (c) => c !== 35 && c !== 36);
  if (dataLines.over) {
    throw inputError('too-many-points', `more than ${limits.maxPoints + limits.maxBlocks} data lines: more than the limit of ${limits.maxPoints} points per file`, {
      file,
      line: dataLines.lineNo,
    });
  }
  const roots = tokenizeJcamp(text, file, !strict);
  const ctx: Context = { file, limits, tolerant: !strict, budget: new PointBudget(limits.maxPoints), results: [], count: 0 };
  for (const root of roots) walk(root, ctx, []);
  if (ctx.results.length === 0) {
    throw inputError('no-spectrum', 'no block holds spectral data (##XYDATA=, ##XYPOINTS=, ##PEAK TABLE= or ##NTUPLES=)', { file });
  }
  return ctx.results;
}

function nextBlock(ctx: Context): number {
  ctx.count++;
  if (ctx.count > ctx.limits.maxBlocks) {
    throw inputError('too-many-blocks', `more than ${ctx.limits.maxBlocks} spectra in one file`, { file: ctx.file });
  }
  return ctx.count;
}

function pushError(ctx: Context, error: SpectrumInputError): void {
  const block = nextBlock(ctx);
  ctx.results.push({ block, error: locate(error, { file: ctx.file, block }) });
}

/**
 * Reads one block; its input error becomes that block's result so the other blocks of the file still count.
 * Warnings (the block's own and those inherited from an enclosing LINK block) go into the spectrum's meta. A block
 * the file ends inside (tolerant reading) is kept only when its table held every declared point: `proven` says so.
 */
function recordBlock(
  ctx: Context,
  where: InputLocation & { block: number },
  block: JcampBlock,
  inherited: readonly SpectrumWarning[],
  read: (state: { proven: boolean }) => Spectrum,
): void {
  try {
    const state = { proven: false };
    const spectrum = read(state);
    if (block.truncated && !state.proven) throw block.truncated;
    const warnings = [...inherited, ...block.warnings, ...(spectrum.meta.warnings ?? [])];
    if (block.truncated) {
      warnings.push({ code: 'jcamp-missing-end', message: 'the file ends without ##END=; the table holds every declared point, so the block is read', field: 'END' });
    }
    const meta = warnings.length ? { ...spectrum.meta, warnings } : spectrum.meta;
    ctx.results.push({ block: where.block, spectrum: { ...spectrum, meta } });
  } catch (error) {
    if (!(error instanceof SpectrumInputError)) throw error;
    // A block the file ends inside that does not read is most plainly reported as cut short.
    const reported = block.truncated ?? error;
    ctx.results.push({ block: where.block, error: locate(reported, where) });
  }
}

function walk(block: JcampBlock, ctx: Context, inherited: readonly SpectrumWarning[]): void {
  if (block.children.length > 0 || isLink(block)) {
    const linkWarnings = [...inherited, ...block.warnings];
    for (const child of block.children) walk(child, ctx, linkWarnings);
    if (block.error) pushError(ctx, block.error);
    const declared = block.ldrs.find((l) => l.label === 'BLOCKS');
    if (declared) {
      const n = Number(declared.value);
      // 5.01 counts the nested blocks; some writers count the link block too. Any other count may mean blocks are
      // missing, which no reader can tell from the ones present: refused in tolerant reading too.
      if (n !== block.children.length && n !== block.children.length + 1) {
        pushError(
          ctx,
          inputError('jcamp-blocks-mismatch', `##BLOCKS=${declared.value} but the link block holds ${block.children.length} blocks`, {
            line: declared.line,
            field: 'BLOCKS',
          }),
        );
      }
    }
    return;
  }
  if (block.error) {
    pushError(ctx, block.error);
    return;
  }
  const ntuples = block.ldrs.findIndex((l) => l.label === 'NTUPLES');
  if (ntuples >= 0) {
    readNtuples(block, ntuples, ctx, inherited);
    return;
  }
  const table =
    block.ldrs.find((l) => l.label === 'XYDATA') ??
    block.ldrs.find((l) => l.label === 'XYPOINTS') ??
    block.ldrs.find((l) => l.label === 'PEAKTABLE');
  if (!table) return;
  const blockNo = nextBlock(ctx);
  const where = { file: ctx.file, block: blockNo };
  recordBlock(ctx, where, block, inherited, (state) => {
    const fields = new Fields(block.ldrs, where, ctx.tolerant);
    return readTable(
      {
        table,
        dataClass: table.rawLabel,
        lines: table.more,
        npoints: fields.number('NPOINTS'),
        firstX: fields.number('FIRSTX'),
        lastX: fields.number('LASTX'),
        deltaX: fields.number('DELTAX'),
        xFactor: fields.number('XFACTOR'),
        yFactor: fields.number('YFACTOR'),
        firstY: fields.number('FIRSTY'),
        xUnit: fields.text('XUNITS'),
        yUnit: fields.text('YUNITS'),
        meta: blockMeta(block.ldrs, ctx.file),
      },
      ctx,
      where,
      state,
    );
  });
}

/** A numeric header value with where it was written. */
interface NumberField {
  readonly value: number;
  readonly text: string;
  readonly line: number;
  readonly field: string;
  /** Written with a decimal comma (tolerant reading). */
  readonly decimalComma?: boolean;
}

class Fields {
  private readonly byLabel = new Map<string, Ldr>();
  constructor(
    ldrs: readonly Ldr[],
    private readonly where: InputLocation,
    private readonly tolerant = false,
  ) {
    for (const l of ldrs) if (!this.byLabel.has(l.label)) this.byLabel.set(l.label, l);
  }
  has(label: string): boolean {
    return this.byLabel.has(label);
  }
  text(label: string): string | undefined {
    const ldr = this.byLabel.get(label);
    return ldr ? ldrText(ldr) : undefined;
  }
  number(label: string): NumberField | undefined {
    const ldr = this.byLabel.get(label);
    if (!ldr || ldr.value === '') return undefined;
    return parseNumberField(ldr.value, ldr.line, ldr.rawLabel, this.where, this.tolerant);
  }
}

function parseNumberField(text: string, line: number, field: string, where: InputLocation, tolerant = false): NumberField {
  const parsed = parseDecimal(text.trim());
  // A header field holds one number, so "1234,5" (a writer on a German or French locale) has only one reading.
  if (!parsed.ok && tolerant && /^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$/.test(text.trim())) {
    const comma = parseDecimal(text.trim(), true);
    if (comma.ok) return { value: comma.value, text: text.trim().replace(',', '.'), line, field, decimalComma: true };
  }
  if (!parsed.ok) {
    throw inputError(parsed.nonFinite ? 'non-finite' : 'jcamp-bad-field', `"${text.trim()}" is not a number`, { ...where, line, field });
  }
  return { value: parsed.value, text: text.trim(), line, field };
}

interface TableSpec {
  readonly table: Ldr;
  readonly dataClass: string;
  readonly variableList?: string;
  readonly lines: readonly DataLine[];
  readonly npoints?: NumberField;
  readonly firstX?: NumberField;
  readonly lastX?: NumberField;
  readonly deltaX?: NumberField;
  readonly xFactor?: NumberField;
  readonly yFactor?: NumberField;
  readonly firstY?: NumberField;
  readonly xUnit?: string;
  readonly yUnit?: string;
  readonly meta: SpectrumMeta;
}

function readTable(spec: TableSpec, ctx: Context, where: InputLocation, state: { proven: boolean }): Spectrum {
  const warnings: SpectrumWarning[] = [];
  const spectrum = readTableWith(spec, ctx, where, state, warnings);
  return warnings.length ? { ...spectrum, meta: { ...spectrum.meta, warnings: [...(spectrum.meta.warnings ?? []), ...warnings] } } : spectrum;
}

function readTableWith(spec: TableSpec, ctx: Context, where: InputLocation, state: { proven: boolean }, warnings: SpectrumWarning[]): Spectrum {
  for (const f of [spec.npoints, spec.firstX, spec.lastX, spec.deltaX, spec.xFactor, spec.yFactor, spec.firstY]) {
    if (f?.decimalComma) warnings.push({ code: 'jcamp-decimal-comma', message: `##${f.field}= is written with a decimal comma; read as ${f.text}`, line: f.line, field: f.field });
  }
  const tableWhere: InputLocation = { ...where, line: spec.table.line, field: spec.table.rawLabel };
  let variableList = (spec.variableList ?? spec.table.value).replace(/\s+/g, '').toUpperCase();
  const open = variableList.split('(').length - 1;
  const close = variableList.split(')').length - 1;
  if (ctx.tolerant && /^\([A-Z]\+\+\([A-Z]\.\.[A-Z]\)?$|^\(XY[A-Z]*\.\.XY[A-Z]*$/.test(variableList) && open > close) {
    // "(X++(Y..Y)" with its last parenthesis left off: the table form is plain all the same.
    warnings.push({ code: 'jcamp-variable-list', message: `the data table form "${spec.table.value}" lacks a closing parenthesis`, line: spec.table.line, field: spec.table.rawLabel });
    variableList += ')'.repeat(open - close);
  }
  const xFactor = factor(spec.xFactor, where);
  const yFactor = factor(spec.yFactor, where);
  // Descriptive spellings ("Raman Shift (cm-1)", "WAVENUMBER (CM-1)") name a known unit as clearly as "1/CM".
  const named = normalizeXUnit(spec.xUnit);
  const xUnit = named === undefined ? 'other' : isKnownXUnit(named) ? named : (xUnitFromColumnName(spec.xUnit as string) ?? named);
  const yUnit = normalizeYUnit(spec.yUnit) ?? 'arbitrary';
  const meta: SpectrumMeta = {
    ...spec.meta,
    extra: { ...(spec.meta.extra ?? {}), 'DATA CLASS': spec.meta.extra?.['DATA CLASS'] ?? spec.dataClass },
  };

  if (/^\([A-Z]\+\+\([A-Z]\.\.[A-Z]\)\)/.test(variableList)) {
    const tableField = { ...where, field: spec.table.rawLabel };
    const firstX = requireField(spec.firstX, 'FIRSTX', tableWhere).value;
    if (!spec.npoints && ctx.tolerant && spec.deltaX && spec.deltaX.value !== 0) {
      // No ##NPOINTS=: FIRSTX and DELTAX still fix every abscissa, so the table's own count is the point count.
      const decoded = decodeXyData({ lines: spec.lines, firstX, dx: spec.deltaX.value, xFactor, where: tableField, maxPoints: ctx.budget.remaining, tolerant: true });
      const n = decoded.y.length;
      if (!ctx.budget.reserve(n)) throw inputError('too-many-points', `more than ${ctx.limits.maxPoints} points in the file`, tableWhere);
      warnings.push({ code: 'jcamp-npoints-missing', message: `no ##NPOINTS=; the table holds ${n} points from FIRSTX in steps of DELTAX`, line: spec.table.line, field: 'NPOINTS' });
      warnings.push(...decoded.warnings);
      const lastX = firstX + (n - 1) * spec.deltaX.value;
      if (spec.lastX && n > 1) checkDeltaX(spec.deltaX, (spec.lastX.value - firstX) / (n - 1), where);
      // Without a declared count a table is complete only by its ##END=.
      return finishTable(spec, decoded, firstX, spec.lastX?.value ?? lastX, yFactor, xUnit, yUnit, meta, where, state, false, warnings);
    }
    // No ##NPOINTS= and no ##DELTAX= stays refused: a lost last line would stretch the table to LASTX unnoticed.
    const npoints = requireField(spec.npoints, 'NPOINTS', tableWhere);
    if (!Number.isInteger(npoints.value) || npoints.value < 1) {
      throw inputError('jcamp-bad-field', `##NPOINTS=${npoints.text} is not a positive whole number`, { ...where, line: npoints.line, field: npoints.field });
    }
    if (!ctx.budget.reserve(npoints.value)) {
      throw inputError('too-many-points', `##NPOINTS=${npoints.text} exceeds the limit of ${ctx.limits.maxPoints} points per file`, {
        ...where,
        line: npoints.line,
        field: npoints.field,
      });
    }
    const lastX = requireField(spec.lastX, 'LASTX', tableWhere).value;
    const n = npoints.value;
    const dx = n > 1 ? (lastX - firstX) / (n - 1) : 0;
    // ##NPOINTS= one off while FIRSTX, LASTX and DELTAX agree on another count: the table decides between the two.
    const alternative = ctx.tolerant ? countFromDeltaX(spec.firstX, spec.lastX, spec.deltaX) : undefined;
    const oneOff = alternative !== undefined && Math.abs(alternative - n) === 1;
    let deltaXError: SpectrumInputError | undefined;
    try {
      if (spec.deltaX && n > 1) checkDeltaX(spec.deltaX, dx, where, ctx.tolerant ? warnings : undefined);
    } catch (error) {
      if (!(error instanceof SpectrumInputError) || !oneOff) throw error;
      deltaXError = error;
    }
    let decoded;
    try {
      decoded = decodeXyData({ lines: spec.lines, npoints: n, firstX, lastX, xFactor, where: tableField, tolerant: ctx.tolerant });
    } catch (error) {
      const drifting = ctx.tolerant && error instanceof SpectrumInputError && error.code === 'jcamp-x-check' ? readDrifting(spec, n, firstX, lastX, xFactor, tableField, error) : undefined;
      if (drifting) {
        warnings.push(drifting.warning);
        return finishTable(spec, drifting.decoded, firstX, lastX, yFactor, xUnit, yUnit, meta, where, state, true, warnings);
      }
      if (!(error instanceof SpectrumInputError) || !oneOff) throw error;
      try {
        decoded = decodeXyData({ lines: spec.lines, npoints: alternative, firstX, lastX, xFactor, where: tableField, tolerant: true });
      } catch {
        throw deltaXError ?? error;
      }
      warnings.push({
        code: 'jcamp-npoints-mismatch',
        message: `##NPOINTS=${npoints.text} but FIRSTX, LASTX, DELTAX and the table agree on ${alternative} points`,
        line: npoints.line,
        field: npoints.field,
      });
    }
    // The table holds NPOINTS ordinates after all: then DELTAX is what is wrong.
    if (deltaXError && decoded.y.length === n) throw deltaXError;
    warnings.push(...decoded.warnings);
    return finishTable(spec, decoded, firstX, lastX, yFactor, xUnit, yUnit, meta, where, state, true, ctx.tolerant ? warnings : undefined);
  }

  const size = tupleSize(variableList);
  if (size === undefined) {
    throw inputError('jcamp-unsupported', `the data table form "${spec.variableList ?? spec.table.value}" is not supported (expected (X++(Y..Y)), (XY..XY), (XYW..XYW) or (XYM..XYM))`, tableWhere);
  }
  const points = decodePoints(spec.lines, size, xFactor, yFactor, ctx.budget, { ...where, field: spec.table.rawLabel });
  state.proven = spec.npoints !== undefined;
  if (spec.npoints && spec.npoints.value !== points.x.length) {
    throw inputError('jcamp-npoints-mismatch', `##NPOINTS=${spec.npoints.text} but the table holds ${points.x.length} points`, {
      ...where,
      line: spec.npoints.line,
      field: spec.npoints.field,
    });
  }
  return finishSeries({ x: points.x, y: points.y, xUnit, yUnit, meta, lineOf: points.lineOf }, { ...where, field: spec.table.rawLabel });
}

/** The rest of an (X++(Y..Y)) table: FIRSTY, YFACTOR, the abscissae from FIRSTX to LASTX. */
function finishTable(
  spec: TableSpec,
  decoded: { y: Float64Array; lineOf(i: number): number | undefined },
  firstX: number,
  lastX: number,
  yFactor: number,
  xUnit: string,
  yUnit: string,
  meta: SpectrumMeta,
  where: InputLocation,
  state: { proven: boolean },
  proven: boolean,
  warnings?: SpectrumWarning[],
): Spectrum {
  const y = decoded.y;
  const n = y.length;
  if (spec.firstY) checkFirstY(spec.firstY, y[0], yFactor, where, warnings);
  for (let i = 0; i < n; i++) y[i] *= yFactor;
  const dx = n > 1 ? (lastX - firstX) / (n - 1) : 0;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = firstX + i * dx;
  if (n > 1) x[n - 1] = lastX;
  state.proven = proven;
  return finishSeries({ x, y, xUnit, yUnit, meta, lineOf: decoded.lineOf }, { ...where, field: spec.table.rawLabel });
}

/**
 * Line-start X values that follow an axis of their own (a writer that prints them from a slightly different step,
 * SpinWorks and others): read when the table holds exactly NPOINTS ordinates and its line-start X values lie on
 * one straight line in the point index (within half a step and their printed precision) whose step is within 1 %
 * of the header's. Then no point can be missing or extra without the count or that line showing it.
 */
function readDrifting(
  spec: TableSpec,
  n: number,
  firstX: number,
  lastX: number,
  xFactor: number,
  where: InputLocation,
  error: SpectrumInputError,
): { decoded: ReturnType<typeof decodeXyData>; warning: SpectrumWarning } | undefined {
  let decoded: ReturnType<typeof decodeXyData>;
  try {
    decoded = decodeXyData({ lines: spec.lines, npoints: n, firstX, lastX, xFactor, where, skipXCheck: true });
  } catch {
    return undefined;
  }
  const { lineStarts: j, lineX: x, lineRounding: r } = decoded;
  const m = j.length;
  const dx = n > 1 ? (lastX - firstX) / (n - 1) : 0;
  if (m < 3 || dx === 0) return undefined;
  // Least-squares line x = a + b j through the line starts.
  let sj = 0, sx = 0, sjj = 0, sjx = 0;
  for (let i = 0; i < m; i++) {
    sj += j[i];
    sx += x[i];
    sjj += j[i] * j[i];
    sjx += j[i] * x[i];
  }
  const den = m * sjj - sj * sj;
  if (den === 0) return undefined;
  const b = (m * sjx - sj * sx) / den;
  const a = (sx - b * sj) / m;
  if (Math.abs(Math.abs(b) - Math.abs(dx)) > 0.01 * Math.abs(dx)) return undefined;
  let worst = 0;
  for (let i = 0; i < m; i++) {
    const off = Math.abs(x[i] - (a + b * j[i]));
    if (off > 0.5 * Math.abs(b) + r[i] + 1e-9 * Math.abs(x[i])) return undefined;
    worst = Math.max(worst, off / Math.abs(b));
  }
  return {
    decoded,
    warning: {
      code: 'jcamp-x-drift',
      message:
        `the X values at the line starts follow a step of ${b} instead of the header's ${dx} (${error.message.replace(/^.*?: /, '')}); ` +
        `they lie on one line (within ${worst.toFixed(2)} of a step) and the table holds all ${n} ordinates, so x is taken from FIRSTX and LASTX`,
      line: error.where.line,
      field: spec.table.rawLabel,
    },
  };
}

/** The point count FIRSTX, LASTX and DELTAX imply, when it is a whole number (to 1 % of a step). */
function countFromDeltaX(firstX?: NumberField, lastX?: NumberField, deltaX?: NumberField): number | undefined {
  if (!firstX || !lastX || !deltaX || deltaX.value === 0) return undefined;
  const steps = (lastX.value - firstX.value) / deltaX.value;
  const whole = Math.round(steps);
  return whole >= 1 && Math.abs(steps - whole) <= 0.01 ? whole + 1 : undefined;
}

function requireField(field: NumberField | undefined, name: string, where: InputLocation): NumberField {
  if (!field) throw inputError('jcamp-missing-field', `the (X++(Y..Y)) table needs ##${name}=, which the block does not state`, { ...where, field: name });
  return field;
}

function factor(field: NumberField | undefined, where: InputLocation): number {
  if (!field) return 1;
  if (field.value === 0) throw inputError('jcamp-bad-field', `##${field.field}=0 would erase the data`, { ...where, line: field.line, field: field.field });
  return field.value;
}

function decimalsOf(text: string): number {
  const m = /\.(\d*)/.exec(text);
  return /e/i.test(text) ? 6 : m ? m[1].length : 0;
}

function checkDeltaX(deltaX: NumberField, dx: number, where: InputLocation, warnings?: SpectrumWarning[]): void {
  // DELTAX is often printed with few digits; allow that rounding plus 1 %, which still catches a wrong NPOINTS range.
  const tolerance = 0.5 * 10 ** -decimalsOf(deltaX.text) + 0.01 * Math.abs(dx);
  if (warnings && Math.abs(deltaX.value + dx) <= tolerance && Math.abs(deltaX.value - dx) > tolerance) {
    // The step's size agrees and only its sign does not (JEOL): FIRSTX and LASTX say which way x runs.
    warnings.push({
      code: 'jcamp-deltax-sign',
      message: `##DELTAX=${deltaX.text} has the wrong sign: FIRSTX to LASTX runs in steps of ${dx}`,
      line: deltaX.line,
      field: deltaX.field,
    });
    return;
  }
  if (Math.abs(deltaX.value - dx) > tolerance) {
    throw inputError(
      'jcamp-deltax-mismatch',
      `##DELTAX=${deltaX.text} but (LASTX - FIRSTX) / (NPOINTS - 1) = ${dx}`,
      { ...where, line: deltaX.line, field: deltaX.field },
    );
  }
}

function checkFirstY(firstY: NumberField, rawY0: number, yFactor: number, where: InputLocation, warnings?: SpectrumWarning[]): void {
  const scaled = rawY0 * yFactor;
  const close = (a: number, b: number, ulps = 0.5): boolean =>
    Math.abs(a - b) <= ulps * 10 ** -decimalsOf(firstY.text) + 1e-3 * Math.max(Math.abs(a), Math.abs(b)) + 0.5 * Math.abs(yFactor);
  // Some writers state FIRSTY before YFACTOR scaling; that is a known vendor habit, not damage.
  if (close(firstY.value, scaled) || close(firstY.value, rawY0)) return;
  if (warnings && (close(firstY.value, scaled, 1) || close(firstY.value, rawY0, 1))) {
    // Cut off after its last digit instead of rounded (NIST exports): within one unit of that digit.
    warnings.push({ code: 'jcamp-firsty-truncated', message: `##FIRSTY=${firstY.text} is the first ordinate ${scaled} cut off, not rounded`, line: firstY.line, field: firstY.field });
    return;
  }
  throw inputError('jcamp-firsty-mismatch', `##FIRSTY=${firstY.text} but the first ordinate decodes to ${scaled}`, {
    ...where,
    line: firstY.line,
    field: firstY.field,
  });
}

function splitList(text: string | undefined): string[] {
  return text === undefined ? [] : text.split(',').map((s) => s.trim());
}

function readNtuples(block: JcampBlock, start: number, ctx: Context, inherited: readonly SpectrumWarning[]): void {
  const ldrs = block.ldrs;
  const end = ldrs.findIndex((l, i) => i > start && l.label === 'ENDNTUPLES');
  const header = [...ldrs.slice(0, start), ...(end >= 0 ? ldrs.slice(end + 1) : [])];
  const section = ldrs.slice(start + 1, end >= 0 ? end : ldrs.length);
  const firstPage = section.findIndex((l) => l.label === 'PAGE');
  const table = new Map<string, Ldr>();
  for (const l of firstPage >= 0 ? section.slice(0, firstPage) : section) if (!table.has(l.label)) table.set(l.label, l);
  const column = (label: string): string[] => splitList(table.has(label) ? ldrText(table.get(label) as Ldr) : undefined);
  const symbols = column('SYMBOL').map((s) => s.toUpperCase());
  const names = column('VARNAME');
  const units = column('UNITS');
  const ntuplesTitle = ldrs[start].value;

  if (end < 0 && block.truncated) {
    // The file ends inside the section: its pages are read, each kept only if it holds every declared point.
  } else if (end < 0) {
    pushError(ctx, inputError('jcamp-missing-field', 'the ##NTUPLES= section has no ##END NTUPLES=', { line: ldrs[start].line, field: 'END NTUPLES' }));
    return;
  }
  const pages: Ldr[][] = [];
  for (const l of firstPage >= 0 ? section.slice(firstPage) : []) {
    if (l.label === 'PAGE') pages.push([l]);
    else pages[pages.length - 1].push(l);
  }
  for (const page of pages) {
    const dataTable = page.find((l) => l.label === 'DATATABLE');
    if (!dataTable) continue;
    const [variableList, kind] = splitDataTable(dataTable.value);
    const letters = /^\(([A-Z])\+\+\(([A-Z])\.\./.exec(variableList) ?? /^\(([A-Z])([A-Z])[A-Z]*\.\./.exec(variableList);
    const xCol = letters ? symbols.indexOf(letters[1]) : -1;
    const yCol = letters ? symbols.indexOf(letters[2]) : -1;
    if (yCol >= 0 && /IMAG/i.test(names[yCol] ?? '')) continue;
    const blockNo = nextBlock(ctx);
    const where = { file: ctx.file, block: blockNo };
    recordBlock(ctx, where, block, inherited, (state) => {
      if (xCol < 0 || yCol < 0) {
        throw inputError('jcamp-missing-field', `##SYMBOL= does not name the variables of the data table "${dataTable.value}"`, {
          line: dataTable.line,
          field: 'SYMBOL',
        });
      }
      const pageFields = new Fields(page, where, ctx.tolerant);
      const columnNumber = (label: string, col: number): NumberField | undefined => {
        const ldr = table.get(label);
        const text = splitList(ldr ? ldrText(ldr) : undefined)[col];
        return ldr && text ? parseNumberField(text, ldr.line, ldr.rawLabel, where, ctx.tolerant) : undefined;
      };
      const baseMeta = blockMeta(header, ctx.file);
      const meta: SpectrumMeta = {
        ...baseMeta,
        extra: { ...(baseMeta.extra ?? {}), NTUPLES: ntuplesTitle, PAGE: page[0].value, 'VAR NAME': names[yCol] ?? '' },
      };
      return readTable(
        {
          table: dataTable,
          dataClass: kind || 'XYDATA',
          variableList,
          lines: dataTable.more,
          npoints: pageFields.number('NPOINTS') ?? columnNumber('VARDIM', xCol),
          firstX: pageFields.number('FIRSTX') ?? columnNumber('FIRST', xCol),
          lastX: pageFields.number('LASTX') ?? columnNumber('LAST', xCol),
          deltaX: pageFields.number('DELTAX'),
          xFactor: pageFields.number('XFACTOR') ?? columnNumber('FACTOR', xCol),
          yFactor: pageFields.number('YFACTOR') ?? columnNumber('FACTOR', yCol),
          firstY: pageFields.number('FIRSTY'),
          xUnit: pageFields.text('XUNITS') ?? units[xCol],
          yUnit: pageFields.text('YUNITS') ?? units[yCol],
          meta,
        },
        ctx,
        where,
        state,
      );
    });
  }
}

/** '(X++(R..R)), XYDATA' -> ['(X++(R..R))', 'XYDATA']. */
function splitDataTable(value: string): [string, string] {
  const compact = value.replace(/\s+/g, '').toUpperCase();
  let depth = 0;
  for (let i = 0; i < compact.length; i++) {
    if (compact[i] === '(') depth++;
    else if (compact[i] === ')' && --depth === 0) return [compact.slice(0, i + 1), compact.slice(i + 1).replace(/^,/, '')];
  }
  return [compact, ''];
}
