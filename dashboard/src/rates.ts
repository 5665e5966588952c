/**
 * Spectra per minute for each instrument, counted from the results this page has seen over a sliding window.
 * Kept as sorted arrival times per instrument; old entries fall off as time passes.
 */
export class RateMeter {
  private readonly times = new Map<string, number[]>();

  constructor(private readonly windowMs = 60_000) {}

  record(instrument: string, atMs: number): void {
    let list = this.times.get(instrument);
    if (!list) this.times.set(instrument, (list = []));
    // Results usually arrive in order; insert in place when one is late so pruning from the front stays right.
    let i = list.length;
    while (i > 0 && list[i - 1] > atMs) i--;
    list.splice(i, 0, atMs);
  }

  /** Per minute over the window ending at nowMs. */
  perMinute(instrument: string, nowMs: number): number {
    const list = this.times.get(instrument);
    if (!list) return 0;
    const cutoff = nowMs - this.windowMs;
    let drop = 0;
    while (drop < list.length && list[drop] < cutoff) drop++;
    if (drop) list.splice(0, drop);
    const inWindow = list.filter((t) => t <= nowMs).length;
    return (inWindow * 60_000) / this.windowMs;
  }

  instruments(): string[] {
    return [...this.times.keys()];
  }
}
