import { deriveRng, type Rng } from '../math/rng.ts';
import type { InputGrid } from '../encoder/types.ts';

/**
 * Synthetic spectra rendered on a physical grid (cm-1, 2-theta, nm, ...): the benchmark generator of Schuetzke et al.
 * (2023) generalised from 5000 unitless indices to a technique's own axis. A class is a set of pseudo-Voigt bands
 * (position, width, height, Lorentzian share) drawn for the technique; a sample of a class moves, widens and
 * re-weighs those bands the way a second specimen on a second instrument does, then adds a baseline and noise.
 * Used to pretrain an encoder on the grid a lab's own spectra will be fine-tuned on. Everything derives from a seed.
 */

/** What bands of a technique look like, in the grid's unit. */
export interface TechniqueProfile {
  readonly name: string;
  /** Bands per class, uniform integer in [min, max]. */
  readonly peaks: readonly [number, number];
  /** Band FWHM in x units, log-uniform in [min, max]. */
  readonly fwhm: readonly [number, number];
  /** Per-sample whole-axis shift (calibration), uniform in [-v, v] x units. */
  readonly shift: number;
  /** Per-sample per-band extra shift, uniform in [-v, v] x units. */
  readonly bandShift: number;
  /** Per-sample width factor exp(N(0, v)). */
  readonly widthJitter: number;
  /** Per-sample relative height factor exp(N(0, v)) per band (orientation, concentration). */
  readonly heightJitter: number;
  /** Baseline amplitude, uniform in [0, v) of the tallest band (fluorescence, scattering). */
  readonly baseline: number;
  /** Gaussian noise sigma, uniform in [0, v) of the tallest band. */
  readonly noise: number;
  /**
   * Share of classes drawn as a relative of an earlier class (a mineral group, a solid-solution series): the same
   * bands, some moved by up to `familyShift` x units, re-weighed, a few dropped or added. Such near neighbours are
   * what a library search confuses; without them every synthetic class is trivially far from every other.
   */
  readonly familyShare?: number;
  readonly familyShift?: number;
}

/** Raman with a 532 nm laser on minerals (RRUFF-like): few sharp bands, a few cm-1 wide, strong relative-intensity changes with orientation. */
export const RAMAN_PROFILE: TechniqueProfile = {
  name: 'raman',
  peaks: [3, 25],
  fwhm: [3, 30],
  shift: 3,
  bandShift: 2,
  widthJitter: 0.2,
  heightJitter: 0.4,
  baseline: 0.15,
  noise: 0.03,
  familyShare: 0.5,
  familyShift: 15,
};

/** Mid-infrared absorbance of solids: broader, overlapping bands. */
export const IR_PROFILE: TechniqueProfile = {
  name: 'ir',
  peaks: [4, 30],
  fwhm: [8, 120],
  shift: 4,
  bandShift: 3,
  widthJitter: 0.2,
  heightJitter: 0.35,
  baseline: 0.15,
  noise: 0.02,
  familyShare: 0.5,
  familyShift: 25,
};

export const TECHNIQUE_PROFILES: Readonly<Record<string, TechniqueProfile>> = { raman: RAMAN_PROFILE, ir: IR_PROFILE };

/** One band of a class, in x units. */
export interface Band {
  readonly center: number;
  readonly fwhm: number;
  readonly height: number;
  /** Lorentzian share of the pseudo-Voigt (0 Gaussian, 1 Lorentzian). */
  readonly eta: number;
}

export interface SyntheticClass {
  readonly bands: readonly Band[];
}

export interface PhysicalSet {
  /** Row-major [n, grid.points], each row max-normalized. */
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly points: number;
  readonly classes: readonly SyntheticClass[];
}

const logUniform = (rng: Rng, lo: number, hi: number): number => Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));

/** Draws a class: band count, positions (inside the grid), widths and heights (a few strong, many weak). */
export function drawClass(profile: TechniqueProfile, grid: InputGrid, rng: Rng): SyntheticClass {
  const count = rng.int(profile.peaks[0], profile.peaks[1] + 1);
  const bands: Band[] = [];
  for (let i = 0; i < count; i++) {
    // Heights: squared uniform, so most bands are weak and a few dominate, as in measured spectra.
    const u = rng.next();
    bands.push({ center: rng.uniform(grid.xStart, grid.xEnd), fwhm: logUniform(rng, profile.fwhm[0], profile.fwhm[1]), height: 0.03 + u * u, eta: rng.next() });
  }
  bands.sort((a, b) => a.center - b.center);
  return { bands };
}

/**
 * A relative of `parent`: each band moves (half of them, by up to familyShift), is re-weighed (exp(N(0, 0.5))) or
 * dropped (15 %); one to three new bands join. Positions stay inside the grid.
 */
function drawRelative(parent: SyntheticClass, profile: TechniqueProfile, grid: InputGrid, rng: Rng): SyntheticClass {
  const shift = profile.familyShift ?? 0;
  const clamp = (x: number): number => Math.min(grid.xEnd, Math.max(grid.xStart, x));
  const bands: Band[] = [];
  for (const b of parent.bands) {
    if (rng.next() < 0.15 && parent.bands.length > 2) continue;
    const moved = rng.next() < 0.5 ? clamp(b.center + rng.uniform(-shift, shift)) : b.center;
    bands.push({ ...b, center: moved, height: b.height * Math.exp(0.5 * rng.normal()) });
  }
  const extra = drawClass({ ...profile, peaks: [1, 3] }, grid, rng);
  bands.push(...extra.bands);
  bands.sort((a, b) => a.center - b.center);
  return { bands };
}

/** Renders one sample of a class onto the grid into `out` (length grid.points), max-normalized. */
export function renderSample(cls: SyntheticClass, profile: TechniqueProfile, grid: InputGrid, rng: Rng, out: Float32Array): Float32Array {
  const n = grid.points;
  const step = (grid.xEnd - grid.xStart) / (n - 1);
  out.fill(0);
  const globalShift = rng.uniform(-profile.shift, profile.shift);
  for (const band of cls.bands) {
    const center = band.center + globalShift + rng.uniform(-profile.bandShift, profile.bandShift);
    const fwhm = band.fwhm * Math.exp(profile.widthJitter * rng.normal());
    const height = band.height * Math.exp(profile.heightJitter * rng.normal());
    const sigma = fwhm / 2.3548;
    const gamma = fwhm / 2;
    // Lorentzian tails are long: render out to 12 half-widths, where they have fallen below 1 % of the top.
    const reach = 12 * fwhm;
    const lo = Math.max(0, Math.ceil((center - reach - grid.xStart) / step));
    const hi = Math.min(n - 1, Math.floor((center + reach - grid.xStart) / step));
    for (let i = lo; i <= hi; i++) {
      const d = grid.xStart + i * step - center;
      const g = Math.exp(-(d * d) / (2 * sigma * sigma));
      const l = (gamma * gamma) / (d * d + gamma * gamma);
      out[i] += height * (band.eta * l + (1 - band.eta) * g);
    }
  }
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, out[i]);
  if (max <= 0) return out;
  const baseline = rng.uniform(0, profile.baseline) * max;
  const c1 = rng.uniform(-1, 1);
  const c2 = rng.uniform(-1, 1);
  const noise = rng.uniform(0, profile.noise) * max;
  for (let i = 0; i < n; i++) {
    const t = (2 * i) / (n - 1) - 1;
    out[i] += baseline * (0.5 * (1 + c1 * t) + 0.5 * c2 * t * t) + noise * rng.normal();
  }
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(out[i]));
  if (m > 0) for (let i = 0; i < n; i++) out[i] /= m;
  return out;
}

export interface PhysicalSetOptions {
  readonly classes: number;
  readonly perClass: number;
  readonly seed: number;
}

/**
 * `classes` random classes with `perClass` samples each on the grid. The same seed gives the same classes; samples
 * of class c come from their own derived stream, so adding classes changes none of the earlier ones.
 */
export function generatePhysicalSet(profile: TechniqueProfile, grid: InputGrid, opts: PhysicalSetOptions): PhysicalSet {
  if (!Number.isInteger(opts.classes) || opts.classes < 2) throw new RangeError(`synthetic classes must be an integer >= 2, got ${opts.classes}`);
  if (!Number.isInteger(opts.perClass) || opts.perClass < 1) throw new RangeError(`synthetic perClass must be a positive integer, got ${opts.perClass}`);
  if (!(grid.points >= 2 && grid.xEnd > grid.xStart)) throw new RangeError(`invalid grid ${JSON.stringify(grid)}`);
  const n = opts.classes * opts.perClass;
  const x = new Float32Array(n * grid.points);
  const y = new Int32Array(n);
  const classes: SyntheticClass[] = [];
  for (let c = 0; c < opts.classes; c++) {
    const classRng = deriveRng(opts.seed, 0x5c1a55, c);
    const related = c > 0 && classRng.next() < (profile.familyShare ?? 0);
    const cls = related ? drawRelative(classes[classRng.int(0, c)], profile, grid, classRng) : drawClass(profile, grid, classRng);
    classes.push(cls);
    const rng = deriveRng(opts.seed, 0x5a3b1e, c);
    for (let s = 0; s < opts.perClass; s++) {
      const row = c * opts.perClass + s;
      renderSample(cls, profile, grid, rng, x.subarray(row * grid.points, (row + 1) * grid.points));
      y[row] = c;
    }
  }
  return { x, y, n, points: grid.points, classes };
}
