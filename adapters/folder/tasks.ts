/** The adapter's promises still running (reads, renames, re-arms), so stop() can wait for every one of them. */
export class TaskSet {
  private readonly busy = new Set<Promise<void>>();

  track(p: Promise<void>): Promise<void> {
    this.busy.add(p);
    void p.finally(() => this.busy.delete(p));
    return p;
  }

  /** Resolves once every tracked task has settled, including tasks started while waiting. */
  async settled(): Promise<void> {
    while (this.busy.size) await Promise.allSettled([...this.busy]);
  }
}
