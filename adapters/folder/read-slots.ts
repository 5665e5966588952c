/**
 * At most maxInFlight files are read and waiting for ack at once: a backlog of thousands of files costs a list of
 * names, not their contents. Paths wait here (names only) until a slot frees up; a slot is taken until release().
 * pause() stops handing out slots (backpressure); files already taken go on.
 */
export class ReadSlots {
  /** Paths queued until a slot frees up. */
  private readonly queued = new Set<string>();
  /** Paths emitted and not yet acknowledged. */
  private readonly inFlight = new Set<string>();
  private pausedNow = false;

  constructor(
    private readonly maxInFlight: number,
    private readonly isRunning: () => boolean,
    /** Called with each path given a slot; the taker calls release(path) when done with it. */
    private readonly take: (path: string) => void,
  ) {}

  get paused(): boolean {
    return this.pausedNow;
  }

  /** Files waiting for a slot plus files waiting for ack. */
  get depth(): number {
    return this.queued.size + this.inFlight.size;
  }

  pause(): void {
    this.pausedNow = true;
  }

  resume(): void {
    if (!this.pausedNow) return;
    this.pausedNow = false;
    this.pump();
  }

  isInFlight(path: string): boolean {
    return this.inFlight.has(path);
  }

  /** Queued or in flight. */
  holds(path: string): boolean {
    return this.queued.has(path) || this.inFlight.has(path);
  }

  add(path: string): void {
    this.queued.add(path);
    this.pump();
  }

  release(path: string): void {
    this.inFlight.delete(path);
    this.pump();
  }

  /** Forgets the queued paths (at stop); files in flight finish. */
  clearQueued(): void {
    this.queued.clear();
  }

  private pump(): void {
    while (this.isRunning() && !this.pausedNow && this.queued.size && this.inFlight.size < this.maxInFlight) {
      const path = this.queued.values().next().value as string;
      this.queued.delete(path);
      this.inFlight.add(path);
      this.take(path);
    }
  }
}
