import { lstat, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { dedupKeyOf, fileSignature } from './file-identity.ts';
import type { FileDisposal } from './file-disposal.ts';
import { stableMsOf, type FolderInputOptions } from './options.ts';
import type { ReadSlots } from './read-slots.ts';
import type { Root, WatchedFolders } from './watched-folders.ts';

export interface MissedFilesDeps {
  readonly folders: WatchedFolders;
  readonly slots: ReadSlots;
  readonly disposal: FileDisposal;
  readonly isRunning: () => boolean;
  /** The watcher's initial scan is over (until then the watcher reports every file itself). */
  readonly watcherReady: () => boolean;
  readonly enqueue: (path: string) => void;
  /** After each rescan: the folders are listed as bytes for names that are not UTF-8. */
  readonly afterRescan: (present: readonly Root[]) => Promise<void>;
}

interface Untaken {
  path: string;
  sig: string;
  changedAt: number;
}

/**
 * A periodic rescan (rescanMs) lists the folders and takes any file the watcher never reported: under load
 * inotify/chokidar can lose events (5 of 3 000 files in a burst stayed in the inbox until a restart). A file counts
 * as missed only when two rescans in a row found it unchanged (same size and mtime) and not taken, and it last
 * changed (mtime or ctime, which a rename into the folder sets) more than stableMs + 2 s ago, so a file still being
 * written, or one the watcher is about to report, is left to the watcher; the ledger still guards against double
 * processing.
 */
export class MissedFiles {
  private timer: NodeJS.Timeout | undefined;
  private rescanning = false;
  /** Files the last rescan found not taken: path -> size:mtime. Unchanged on the next rescan = missed. */
  private untakenAtLastRescan = new Map<string, string>();
  /** Paths the rescan queued: read only once stable, counted as rescued when emitted. */
  private readonly queuedByRescan = new Set<string>();
  /** With scanAtStart false: the files there at start (by key), which the rescan must leave alone too. */
  private readonly presentAtStart = new Set<string>();
  private rescuedCount = 0;

  constructor(
    private readonly options: FolderInputOptions,
    private readonly deps: MissedFilesDeps,
  ) {}

  /** Files the rescan found and emitted since start. */
  get rescued(): number {
    return this.rescuedCount;
  }

  /** Files that were there before start are not to be read (scanAtStart false): not by the rescan either. */
  async notePresentAtStart(roots: readonly Root[]): Promise<void> {
    for (const root of roots) {
      if (root.ino === undefined) continue;
      for (const { path, sig } of await this.listUntaken(root)) this.presentAtStart.add(`${path}\0${sig}`);
    }
  }

  start(periodMs: number, track: (p: Promise<void>) => Promise<void>): void {
    this.timer = setInterval(() => void track(this.rescan()), periodMs);
  }

  stopTimer(): void {
    clearInterval(this.timer);
  }

  /** True (once) when the rescan queued this path: it is read only once stable. */
  takeQueued(path: string): boolean {
    return this.queuedByRescan.delete(path);
  }

  clearQueued(): void {
    this.queuedByRescan.clear();
  }

  /** An emitted file the rescan had found. */
  countRescued(path: string): void {
    this.rescuedCount++;
    this.options.onRescued?.(path);
  }

  /**
   * Lists the folders and queues the files the watcher missed: present, wanted, not queued, read or kept, and
   * unchanged since the previous rescan also found them untaken. Runs one at a time.
   */
  private async rescan(): Promise<void> {
    const { folders, isRunning } = this.deps;
    if (!isRunning() || this.rescanning || !this.deps.watcherReady()) return;
    this.rescanning = true;
    // The watcher reports a file once it held still for stableMs; a file younger than that plus a margin is its.
    const graceMs = stableMsOf(this.options) + 2000;
    try {
      const untaken = new Map<string, string>();
      for (const root of folders.roots) {
        if (root.ino === undefined) continue;
        for (const { path, sig, changedAt } of await this.listUntaken(root)) {
          if (this.presentAtStart.has(`${path}\0${sig}`)) continue;
          untaken.set(path, sig);
          if (this.untakenAtLastRescan.get(path) !== sig || Date.now() - changedAt < graceMs || !isRunning()) continue;
          this.queuedByRescan.add(path);
          this.deps.enqueue(path);
        }
      }
      this.untakenAtLastRescan = untaken;
      await this.deps.afterRescan(folders.present());
    } finally {
      this.rescanning = false;
    }
  }

  /** Wanted files under root that the adapter holds in no way (queued, in flight, kept), with their size:mtime. */
  private async listUntaken(root: Root): Promise<Untaken[]> {
    const { folders, slots, disposal } = this.deps;
    const found: Untaken[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const path = join(dir, e.name);
        if (folders.isIgnored(path)) continue;
        if (e.isDirectory()) {
          // Symlinked folders are not entered (Dirent of a link is not a directory), as the watcher does not follow them.
          if (depth < 64) await walk(path, depth + 1);
          continue;
        }
        if (!folders.isWanted(relative(root.dir, path)) || slots.holds(path)) continue;
        const st = await lstat(path).catch(() => undefined);
        if (!st) continue;
        const sig = fileSignature(st);
        if (disposal.isKept(path, dedupKeyOf(path, st))) continue;
        if (st.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isDirectory()) continue;
        found.push({ path, sig, changedAt: Math.max(st.mtimeMs, st.ctimeMs) });
      }
    };
    await walk(root.dir, 1);
    return found;
  }
}
