import type { InputGrid } from '../core/encoder/types.ts';
import { SpectrumInputError } from '../core/errors.ts';
import { parseSpectrumFile } from '../core/formats/index.ts';
import type { FormatName } from '../core/formats/types.ts';
import { preprocess, type PreprocessConfig } from '../core/preprocess/index.ts';
import type { Spectrum } from '../core/spectrum.ts';
import type { ParsedPart } from './domain.ts';

export interface SpectrumPreparationOptions {
  /** Refuse files that break the JCAMP-DX standard even where the meaning is clear (config formats.strict, --strict). */
  readonly strict: boolean;
  /** The preprocessing chain (the config's `preprocessing`); unset: core/preprocess's defaults, which the default config equals. */
  readonly chain?: PreprocessConfig;
  /** The grid spectra go to, read at each call: after a model switch, the new model's. */
  readonly grid: () => InputGrid;
}

/** One block of a file, read and put on the grid. */
export interface PreparedBlock {
  /** The block's number as the reader gave it. */
  readonly block: number;
  readonly spectrum: Spectrum;
  /** On the grid, max |y| = 1. */
  readonly values: Float32Array;
}

/**
 * The one parse-and-preprocess path from a file's bytes to the model's grid, shared by the daemon (inputs, uploads,
 * enrollment: daemon/parts/model.ts) and the command line (`spectrad library add`, `spectrad identify`), so a
 * spectrum enrolled from the command line is prepared exactly as the daemon prepares what it identifies.
 */
export interface SpectrumPreparation {
  /** Every spectrum in a file, or why a block could not be read (format: auto unless given). */
  parse(payload: Buffer, fileName?: string, format?: FormatName): ParsedPart[];
  /** Validated and put on the grid (max |y| = 1); throws SpectrumInputError. */
  preprocess(spectrum: Spectrum): Float32Array;
  /**
   * Every block of a file on the grid, in file order; throws the first block's SpectrumInputError (unreadable or
   * refused by preprocessing), so a file is taken whole or not at all.
   */
  prepareFile(payload: Buffer, fileName?: string, format?: FormatName): PreparedBlock[];
}

export function spectrumPreparation(o: SpectrumPreparationOptions): SpectrumPreparation {
  const parse = (payload: Buffer, fileName?: string, format?: FormatName): ParsedPart[] =>
    parseSpectrumFile(payload, { fileName, format, strict: o.strict }).map((b) => ({ block: b.block, spectrum: b.spectrum, error: b.error }));
  const toGrid = (spectrum: Spectrum): Float32Array => preprocess(spectrum, o.grid(), o.chain);
  return {
    parse,
    preprocess: toGrid,
    prepareFile: (payload, fileName, format) =>
      parse(payload, fileName, format).map((p) => {
        if (!p.spectrum) throw p.error ?? new SpectrumInputError('unreadable', 'block could not be read', { file: fileName });
        return { block: p.block, spectrum: p.spectrum, values: toGrid(p.spectrum) };
      }),
  };
}
