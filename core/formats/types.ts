import type { SpectrumInputError } from '../errors.ts';
import type { Spectrum } from '../spectrum.ts';
import type { ParseLimits } from './limits.ts';

export type FileFormat = 'jcamp' | 'csv' | 'json';

/**
 * What a user or a config may name: a reader, 'auto', or 'rruff' (the RRUFF database's text export: `##KEY=value`
 * headers above `x, y` rows, read by the delimited-text reader, which knows its header keys).
 */
export const FORMAT_NAMES = ['auto', 'jcamp', 'csv', 'json', 'rruff'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

export interface ParseOptions {
  /** Shown in error locations and kept as meta.source. */
  readonly fileName?: string;
  /** 'auto' (default) looks at the content first, then the file name or content type. */
  readonly format?: FormatName;
  readonly limits?: Partial<ParseLimits>;
  /**
   * Refuse every departure from the standard (JCAMP-DX 4.24/5.01), as `--strict` asks. By default a file that
   * breaks a rule in a way whose meaning is clear is read and the spectrum carries meta.warnings saying what.
   */
  readonly strict?: boolean;
}

/**
 * One spectrum of a file, or why it could not be read. Blocks are numbered from 1 in file order (JCAMP-DX blocks
 * and NTUPLES pages that hold data, JSON array items); a single-spectrum file has one block, number 1.
 */
export interface ParsedBlock {
  readonly block: number;
  readonly spectrum?: Spectrum;
  readonly error?: SpectrumInputError;
}
