import type { SpectrumInputError } from '../errors.ts';
import type { Spectrum } from '../spectrum.ts';
import type { ParseLimits } from './limits.ts';

export type FileFormat = 'jcamp' | 'csv' | 'json';

export interface ParseOptions {
  /** Shown in error locations and kept as meta.source. */
  readonly fileName?: string;
  /** 'auto' (default) looks at the content first, then the file name or content type. */
  readonly format?: 'auto' | FileFormat;
  readonly limits?: Partial<ParseLimits>;
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
