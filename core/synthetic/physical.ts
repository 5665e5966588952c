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
  /**
   * How a relative differs from its parent. `independent` (the default): half of the bands move independently by up
   * to familyShift, heights re-weighed exp(N(0, 0.5)), 15 % dropped, 1-3 new bands. `substitution`: a cation
   * substituted in the same structure, the confusion real mineral libraries are made of: every band moves the same
   * way by a common amount drawn in `familyShiftRange` (scaled 0.5-1.5 per band, +-1 x unit of its own), heights
   * re-weighed exp(N(0, 0.3)), widths exp(N(0, 0.15)), 5 % dropped, at most one weak new band.
   */
  readonly familyMode?: 'independent' | 'substitution';
  /** Common band shift of a `substitution` relative, |shift| uniform in [min, max] x units, sign random. */
  readonly familyShiftRange?: readonly [number, number];
  /**
   * Band heights u^heightPower with u uniform (default 2: most bands weak, a few dominant); larger, fewer strong
   * bands. Floor 0.03 of the tallest.
   */
  readonly heightPower?: number;
  /**
   * Share of classes drawn as a relative (familyMode) of a band skeleton of a real training spectrum (skeletons.ts)
   * instead of from scratch or of an earlier class: new minerals that sit next to the real ones, as the unseen
   * minerals a library meets do. 0 without skeletons.
   */
  readonly skeletonShare?: number;
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
    const height = 0.03 + (profile.heightPower === undefined ? u * u : u ** profile.heightPower);
    bands.push({ center: rng.uniform(grid.xStart, grid.xEnd), fwhm: logUniform(rng, profile.fwhm[0], profile.fwhm[1]), height, eta: rng.next() });
  }
  bands.sort((a, b) => a.center - b.center);
  return { bands };
}

/**
 * A relative of `parent`: each band moves (half of them, by up to familyShift), is re-weighed (exp(N(0, 0.5))) or
 * dropped (15 %); one to three new bands join. Positions stay inside the grid.
 */
function drawRelative(parent: SyntheticClass, profile: TechniqueProfile, grid: InputGrid, rng: Rng): SyntheticClass {
  if (profile.familyMode === 'substitution') return drawSubstituted(parent, profile, grid, rng);
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

/** A `substitution` relative of `parent` (see TechniqueProfile.familyMode): all bands moved together, little else. */
function drawSubstituted(parent: SyntheticClass, profile: TechniqueProfile, grid: InputGrid, rng: Rng): SyntheticClass {
  const [lo, hi] = profile.familyShiftRange ?? [2, 8];
  const common = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(lo, hi);
  const clamp = (x: number): number => Math.min(grid.xEnd, Math.max(grid.xStart, x));
  const bands: Band[] = [];
  for (const b of parent.bands) {
    if (rng.next() < 0.05 && parent.bands.length > 2) continue;
    const center = clamp(b.center + common * rng.uniform(0.5, 1.5) + rng.uniform(-1, 1));
    bands.push({ ...b, center, fwhm: b.fwhm * Math.exp(0.15 * rng.normal()), height: b.height * Math.exp(0.3 * rng.normal()) });
  }
  if (rng.next() < 0.5) bands.push(...drawClass({ ...profile, peaks: [1, 1] }, grid, rng).bands.map((b) => ({ ...b, height: b.height * 0.3 })));
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
  /** Band skeletons of real spectra that `profile.skeletonShare` of the classes are relatives of. */
  readonly skeletons?: readonly SyntheticClass[];
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
    const skeletons = opts.skeletons ?? [];
    // Drawn only when skeletons are given, so a set without them is the same as before they existed.
    const fromSkeleton = skeletons.length > 0 && classRng.next() < (profile.skeletonShare ?? 0);
    const cls = fromSkeleton
      ? drawRelative(skeletons[classRng.int(0, skeletons.length)], profile, grid, classRng)
      : related
        ? drawRelative(classes[classRng.int(0, c)], profile, grid, classRng)
        : drawClass(profile, grid, classRng);
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

const RANGE_KEYS = ['peaks', 'fwhm', 'familyShiftRange'] as const;
const NUMBER_KEYS = ['shift', 'bandShift', 'widthJitter', 'heightJitter', 'baseline', 'noise', 'familyShare', 'familyShift', 'heightPower', 'skeletonShare'] as const;

/**
 * `base` with the overrides of a `key=value,key=value` text (the CLI's --pretrain-profile), e.g.
 * `familyMode=substitution,familyShiftRange=2-8,familyShare=0.7`. Ranges are written `min-max`. Throws a RangeError
 * naming the key for an unknown key or a bad value.
 */
export function overrideProfile(base: TechniqueProfile, text: string): TechniqueProfile {
  const out: Record<string, unknown> = { ...base };
  for (const part of text.split(',').map((t) => t.trim()).filter((t) => t !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new RangeError(`pretrain profile: "${part}" is not key=value`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if ((RANGE_KEYS as readonly string[]).includes(key)) {
      const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(value);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m ? Number(m[2]) : NaN;
      if (!(lo > 0 && hi >= lo)) throw new RangeError(`pretrain profile: ${key} must be a range min-max with 0 < min <= max, got "${value}"`);
      if (key === 'peaks' && !(Number.isInteger(lo) && Number.isInteger(hi))) throw new RangeError(`pretrain profile: peaks must be whole numbers, got "${value}"`);
      out[key] = [lo, hi];
    } else if ((NUMBER_KEYS as readonly string[]).includes(key)) {
      const v = Number(value);
      if (value === '' || !Number.isFinite(v) || v < 0) throw new RangeError(`pretrain profile: ${key} must be a number >= 0, got "${value}"`);
      if ((key === 'familyShare' || key === 'skeletonShare') && v > 1) throw new RangeError(`pretrain profile: ${key} must be from 0 to 1, got "${value}"`);
      out[key] = v;
    } else if (key === 'familyMode') {
      if (value !== 'independent' && value !== 'substitution') throw new RangeError(`pretrain profile: familyMode must be independent or substitution, got "${value}"`);
      out[key] = value;
    } else {
      throw new RangeError(`pretrain profile: unknown key "${key}" (known: ${[...RANGE_KEYS, ...NUMBER_KEYS, 'familyMode'].join(', ')})`);
    }
  }
  return out as unknown as TechniqueProfile;
}
