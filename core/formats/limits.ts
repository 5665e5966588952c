/**
 * Limits that keep a hostile or broken file from exhausting memory: every reader checks them before it allocates,
 * so a header claiming ##NPOINTS=1e9 is refused up front rather than after an out-of-memory crash.
 */
export interface ParseLimits {
  /** Largest input accepted, in bytes (for a string input: its UTF-8 length). */
  readonly maxBytes: number;
  /** Most data points in one file, all blocks together (each point costs 16 bytes: x and y as float64). */
  readonly maxPoints: number;
  /** Most spectra (blocks, NTUPLES pages, JSON array items) in one file. */
  readonly maxBlocks: number;
}

export const DEFAULT_PARSE_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxBytes: 64 * 1024 * 1024,
  maxPoints: 4 * 1024 * 1024,
  maxBlocks: 1000,
});

export function resolveLimits(partial: Partial<ParseLimits> | undefined): ParseLimits {
  const limits = { ...DEFAULT_PARSE_LIMITS, ...(partial ?? {}) };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value < 1) {
      throw new RangeError(`parse limit ${key} must be a positive number, got ${String(value)}`);
    }
  }
  return limits;
}

/** Counts points handed out across all blocks of one file against maxPoints. */
export class PointBudget {
  private used = 0;
  constructor(readonly max: number) {}
  /** True when n more points fit; reserves them. */
  reserve(n: number): boolean {
    if (!(n >= 0) || this.used + n > this.max) return false;
    this.used += n;
    return true;
  }
  get remaining(): number {
    return this.max - this.used;
  }
}
