/**
 * Instrument file formats: JCAMP-DX, delimited text (CSV/TSV/semicolon/blank), JSON; writers for JCAMP-DX and CSV.
 * Every malformed input ends in a SpectrumInputError with a stable code and where (file, block, line, field);
 * nothing else is thrown for bad input.
 */
import { SpectrumInputError } from '../errors.ts';
import type { Spectrum } from '../spectrum.ts';
import { decodeInput } from './decode.ts';
import { detectFormat } from './detect.ts';
import { inputError, locate } from './fail.ts';
import { readJcamp } from './jcamp/reader.ts';
import { readJson } from './json/reader.ts';
import { resolveLimits } from './limits.ts';
import { readDelimited } from './text/reader.ts';
import { FORMAT_NAMES, type FileFormat, type ParsedBlock, type ParseOptions } from './types.ts';

export { DEFAULT_PARSE_LIMITS, type ParseLimits } from './limits.ts';
export { FORMAT_NAMES, type FileFormat, type FormatName, type ParsedBlock, type ParseOptions } from './types.ts';
export type { FormatErrorCode } from './fail.ts';
export { detectFormat } from './detect.ts';
export { toJcamp, type JcampWriteOptions } from './jcamp/writer.ts';
export { toCsv, type CsvWriteOptions } from './text/writer.ts';

const FORMATS: ReadonlySet<string> = new Set(FORMAT_NAMES);

/**
 * Reads every spectrum in a file. A problem with the file as a whole (too large, binary, not a spectrum format,
 * nothing readable) throws a SpectrumInputError; a problem confined to one block of a multi-block file is that
 * block's `error` while the other blocks still come back.
 */
export function parseSpectrumFile(input: Buffer | string, opts: ParseOptions = {}): ParsedBlock[] {
  const file = opts.fileName;
  const format = opts.format ?? 'auto';
  if (!FORMATS.has(format)) {
    throw inputError('unknown-format', `unknown format "${String(format)}" (expected ${FORMAT_NAMES.join(', ')})`, { file });
  }
  const limits = resolveLimits(opts.limits);
  try {
    const { text } = decodeInput(input, limits, file);
    const chosen: FileFormat = format === 'auto' ? detectFormat(text, file) : format === 'rruff' ? 'csv' : format;
    switch (chosen) {
      case 'jcamp':
        return readJcamp(text, limits, file, opts.strict ?? false);
      case 'json':
        return readJson(text, limits, file);
      case 'csv':
        return [{ block: 1, spectrum: readDelimited(text, limits, file) }];
    }
  } catch (error) {
    if (error instanceof SpectrumInputError) throw locate(error, { file });
    throw error;
  }
}

/** All spectra of a file; throws the first error, whole-file or per-block. */
export function parseSpectra(input: Buffer | string, opts: ParseOptions = {}): Spectrum[] {
  const blocks = parseSpectrumFile(input, opts);
  const failed = blocks.find((b) => b.error);
  if (failed?.error) throw failed.error;
  return blocks.map((b) => b.spectrum as Spectrum);
}
