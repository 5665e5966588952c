import type { SpectrumInputError } from '../core/errors.ts';
import type { Identification } from '../core/identify/types.ts';
import type { Spectrum } from '../core/spectrum.ts';
import type { RawInput } from '../adapters/types.ts';

/** One spectrum of an input, or why that part of the input could not be read. */
export interface ParsedPart {
  /** 0-based position in the input. */
  readonly block: number;
  readonly spectrum?: Spectrum;
  readonly error?: SpectrumInputError;
}

/**
 * The domain steps the pipeline runs, bound to core (formats, preprocess, encoder, identify) by the daemon and to
 * small fakes in unit tests. Bad input is reported by throwing SpectrumInputError; anything else thrown is a fault.
 */
export interface PipelineDomain {
  /** Every spectrum in the input; throws SpectrumInputError when nothing at all is readable. */
  parse(input: RawInput): ParsedPart[];
  /** Validated and put on the model grid (max |y| = 1); throws SpectrumInputError. */
  preprocess(spectrum: Spectrum): Float32Array;
  /** Encodes and identifies a micro-batch; one answer per vector, in order. */
  identify(vectors: readonly Float32Array[]): Promise<Identification[]>;
  /** Identifies the weights in use (results carry it). */
  readonly modelVersion: string;
}
