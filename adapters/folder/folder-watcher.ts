import { watch, type FSWatcher } from 'chokidar';
import { realpath } from 'node:fs/promises';
import type { AdapterStateTracker } from '../adapter-state.ts';
import { stableMsOf, type FolderInputOptions } from './options.ts';
import type { UndecodableNames } from './undecodable-names.ts';
import { WatchedFolders, type Root } from './watched-folders.ts';

export interface FolderWatcherDeps {
  readonly folders: WatchedFolders;
  readonly state: AdapterStateTracker;
  readonly undecodable: UndecodableNames;
  readonly isRunning: () => boolean;
  readonly track: (p: Promise<void>) => Promise<void>;
  /** A file was added or changed. */
  readonly onFile: (path: string) => void;
  /** A file was removed. */
  readonly onGone: (path: string) => void;
}

/**
 * The chokidar watcher over every watched folder that exists now: complete files only (awaitWriteFinish: the size
 * held still for stableMs), links never followed, the adapter's state up or down with the folders. A folder that is
 * deleted, recreated or replaced (or a new match of a glob entry) rebuilds the watcher (re-armed), checked every
 * rearmCheckMs.
 */
export class FolderWatcher {
  private watcher: FSWatcher | undefined;
  private armedOnce = false;
  private checking = false;
  private rearmTimer: NodeJS.Timeout | undefined;
  /** The watcher's initial scan is over: from here on chokidar's awaitWriteFinish guards completeness. */
  private scanned = false;
  private readonly fromInitialScan = new Set<string>();

  constructor(
    private readonly options: FolderInputOptions,
    private readonly deps: FolderWatcherDeps,
  ) {}

  /** The watcher's initial scan is over. */
  get ready(): boolean {
    return this.scanned;
  }

  /** Called for each file taken: remembered when reported by the initial scan. */
  noteTaken(path: string): void {
    if (!this.scanned) this.fromInitialScan.add(path);
  }

  /** True (once) when the initial scan reported this path: awaitWriteFinish did not guard it. */
  takeFromInitialScan(path: string): boolean {
    return this.fromInitialScan.delete(path);
  }

  /** Arms the watcher over roots, then checks for replaced folders every rearmCheckMs. */
  async start(roots: Root[]): Promise<void> {
    await this.arm(roots);
    this.rearmTimer = setInterval(() => void this.checkRoots(), this.options.rearmCheckMs ?? 1000);
  }

  stopTimer(): void {
    clearInterval(this.rearmTimer);
  }

  async close(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
  }

  /** (Re)creates the watcher over every folder that exists now. */
  private async arm(roots: Root[]): Promise<void> {
    const { folders, state, undecodable } = this.deps;
    await this.close();
    const present: Root[] = [];
    for (const root of roots) {
      if (root.ino === undefined) continue;
      root.real = await realpath(root.dir).catch(() => root.dir);
      present.push(root);
    }
    folders.roots = roots;
    if (!this.deps.isRunning()) return;
    const scanInitial = this.armedOnce || (this.options.scanAtStart ?? true);
    this.armedOnce = true;
    const missing = roots.filter((r) => r.ino === undefined).map((r) => r.dir);
    if (present.length === 0) {
      state.set('down', `folder missing: ${missing.join(', ')}`);
      return;
    }
    const stableMs = stableMsOf(this.options);
    const watcher = (this.options.watchFactory ?? watch)(
      present.map((r) => r.dir),
      {
        ignoreInitial: !scanInitial,
        followSymlinks: false,
        usePolling: this.options.usePolling ?? false,
        awaitWriteFinish: { stabilityThreshold: stableMs, pollInterval: this.options.pollMs ?? Math.min(100, stableMs) },
        ignored: (path: string) => folders.isIgnored(path),
      },
    );
    watcher.on('add', (path) => this.deps.onFile(path));
    watcher.on('change', (path) => this.deps.onFile(path));
    watcher.on('unlink', (path) => this.deps.onGone(path));
    // A name that is not UTF-8 reaches only the raw events (as U+FFFD), never 'add': list that folder as bytes.
    watcher.on('raw', (_event, file, details) => {
      const dir = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (typeof file === 'string' && file.includes('\uFFFD') && dir) undecodable.soon(dir, 0);
    });
    watcher.on('error', (err) => state.set('down', `watch error: ${String(err)}`));
    this.watcher = watcher;
    this.scanned = false;
    await new Promise<void>((r) => watcher.once('ready', () => r()));
    this.scanned = true;
    if (scanInitial) for (const root of present) void this.deps.track(undecodable.renameIn(root.dir, true).then(() => undefined));
    state.set(missing.length ? 'down' : 'up', missing.length ? `folder missing: ${missing.join(', ')}` : undefined);
  }

  /** Deleted, recreated or replaced folders: rebuild the watcher so events keep coming. */
  private async checkRoots(): Promise<void> {
    const { folders, isRunning } = this.deps;
    if (!isRunning() || this.checking) return;
    this.checking = true;
    try {
      const now = await folders.resolve();
      if (isRunning() && !WatchedFolders.same(now, folders.roots)) await this.deps.track(this.arm(now));
    } finally {
      this.checking = false;
    }
  }
}
