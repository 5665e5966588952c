/**
 * The spectrum at the centre of spectrad. Values are immutable by convention: every operation returns a new
 * Spectrum and never writes into the arrays it was given (matchms-style pure filters).
 */

/** Units of the x axis seen on lab instruments; any other string is kept as the instrument wrote it. */
export type KnownXUnit = 'index' | 'cm-1' | '2theta' | 'ppm' | 'nm' | 'um' | 'Hz' | 'eV' | 's' | 'm/z';
export type XUnit = KnownXUnit | (string & {});

/**
 * Something a reader had to bend to read the file: the file breaks its format's rules in a way whose meaning is
 * clear (a bare `##END`, a ##DELTAX= with the wrong sign). The spectrum is kept; the warning travels with it to
 * `inspect`, the store and the dashboard, so nobody mistakes a repaired file for a clean one.
 */
export interface SpectrumWarning {
  /** Stable machine-readable code, e.g. 'jcamp-bare-end'. */
  readonly code: string;
  readonly message: string;
  readonly line?: number;
  readonly field?: string;
}

export interface SpectrumMeta {
  /** Name of the instrument that measured it (also the MQTT topic segment). */
  readonly instrument?: string;
  /** Where it came from: a file path, an MQTT topic, a serial port. */
  readonly source?: string;
  /** ISO 8601 time of acquisition, when the instrument states it. */
  readonly acquiredAt?: string;
  readonly sampleId?: string;
  readonly title?: string;
  /** Any further header fields, kept as text (e.g. JCAMP-DX ##ORIGIN=). */
  readonly extra?: Readonly<Record<string, string>>;
  /** What the reader tolerated in a file that breaks its format's rules (absent for clean files). */
  readonly warnings?: readonly SpectrumWarning[];
}

export interface Spectrum {
  /** Strictly monotonic x values (ascending after parsing); same length as y. */
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly xUnit: XUnit;
  readonly yUnit: string;
  readonly meta: SpectrumMeta;
}

export interface SpectrumInit {
  x?: ArrayLike<number>;
  y: ArrayLike<number>;
  xUnit?: XUnit;
  yUnit?: string;
  meta?: SpectrumMeta;
}

/** Builds a Spectrum, copying the arrays; without x the axis is the point index. */
export function createSpectrum(init: SpectrumInit): Spectrum {
  const y = Float64Array.from(init.y);
  const x = init.x ? Float64Array.from(init.x) : Float64Array.from({ length: y.length }, (_, i) => i);
  if (x.length !== y.length) {
    throw new RangeError(`x has ${x.length} points but y has ${y.length}`);
  }
  return {
    x,
    y,
    xUnit: init.xUnit ?? (init.x ? 'other' : 'index'),
    yUnit: init.yUnit ?? 'arbitrary',
    meta: init.meta ?? {},
  };
}

/** A copy of the spectrum with new intensities on the same axis. */
export function withY(spectrum: Spectrum, y: ArrayLike<number>): Spectrum {
  if (y.length !== spectrum.x.length) {
    throw new RangeError(`new y has ${y.length} points but the axis has ${spectrum.x.length}`);
  }
  return { ...spectrum, y: Float64Array.from(y) };
}

export function withMeta(spectrum: Spectrum, meta: Partial<SpectrumMeta>): Spectrum {
  return { ...spectrum, meta: { ...spectrum.meta, ...meta } };
}
