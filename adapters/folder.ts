/**
 * Folder input: watches several folders (chokidar 4) for spectrum files matching glob patterns and emits each
 * complete file once.
 *
 * - Complete files only: a file must keep the same size for stableMs (awaitWriteFinish), and temporary names used by
 *   rename-on-close writers (*.tmp, *.part, .~*, ...) are ignored until renamed.
 * - Files already present at start are picked up (they arrived while the daemon was down).
 * - Exactly once: the dedup key is path + size + mtime; the daemon's store ledger answers alreadyProcessed(key), and a
 *   file it has already recorded is only tidied away (moved/marked) again, never re-emitted.
 * - The file is moved/marked only when the pipeline calls ack() (after the store commit); reject() moves it to the
 *   failed folder with a .error.txt beside it.
 * - Symlinks are never followed out of the watched folder; a link that points outside is refused into failed/.
 * - A watched folder that is deleted and recreated is watched again (re-armed).
 * - At most maxInFlight files are read and waiting for ack at once: a backlog of thousands of files costs a list of
 *   names, not their contents.
 * - A periodic rescan (rescanMs) lists the folders and takes any file the watcher never reported: under load
 *   inotify/chokidar can lose events (5 of 3 000 files in a burst stayed in the inbox until a restart). A file counts
 *   as missed only when two rescans in a row found it unchanged (same size and mtime) and not taken, and it last
 *   changed (mtime or ctime, which a rename into the folder sets) more than stableMs + 2 s ago, so a file still being
 *   written, or one the watcher is about to report, is left to the watcher; the ledger still guards against double
 *   processing.
 * - File names that are not valid UTF-8 (Latin-1 names from older Windows software), which Node's string paths cannot
 *   name and the watcher never reports, are found by listing the folders as bytes (at start, on the watcher's raw
 *   events, at each rescan) and, once they held still for stableMs, renamed in place to their escaped UTF-8 form
 *   (`Messung_\xe4.jdx` -> `Messung_%E4.jdx`, adapters/file-names.ts); the renamed file is then read as any other.
 * - Names near the 255-byte limit keep their `.error.txt` note: a note name that would be too long is shortened.
 */
import { watch, type ChokidarOptions, type FSWatcher } from 'chokidar';
import { constants as fsConstants, type Stats } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readlink, realpath, rename, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import type { Observable } from 'rxjs';
import type { AdapterState } from '../core/messages.ts';
import { AdapterStateTracker, InputSink } from './adapter-state.ts';
import { escapeUndecodable, fitName, isUtf8Name } from './file-names.ts';
import { readCheckedFile } from './safe-read.ts';
import type { InputAdapter, RawInput } from './types.ts';

/** What happens to a file once its spectrum is committed. */
export type FolderAckAction =
  /** Move into dir (relative to the watched folder unless absolute); default 'processed'. */
  | { readonly action: 'move'; readonly dir?: string }
  /** Rename in place with a suffix; default '.processed'. Marked files are not picked up again. */
  | { readonly action: 'mark'; readonly suffix?: string }
  /** Leave it; the store ledger keeps it from being processed twice. */
  | { readonly action: 'keep' };

export interface FolderInputOptions {
  readonly name: string;
  readonly folders: readonly string[];
  /** Globs (picomatch) relative to each folder; default every file at any depth. */
  readonly patterns?: readonly string[];
  /** Globs for names that are never read: temporary names of writers that rename on close. */
  readonly ignore?: readonly string[];
  readonly instrument?: string;
  /** A file counts as complete when its size has not changed for this long (default 500 ms). */
  readonly stableMs?: number;
  readonly pollMs?: number;
  readonly onAck?: FolderAckAction;
  /** Where rejected files go (relative to the watched folder unless absolute); default 'failed'. */
  readonly failedDir?: string;
  /** The store ledger: true when a spectrum with this key was already committed. */
  /**
   * The store ledger: what became of an input with this key before. true or 'processed': committed (the file is
   * moved/marked as on ack); 'failed': recorded as rejected (the file goes to failed/); false/undefined: new.
   */
  readonly alreadyProcessed?: (dedupKey: string) => LedgerAnswer | Promise<LedgerAnswer>;
  /** Larger files are refused into failed/ unread (default 64 MiB). */
  readonly maxFileBytes?: number;
  /** A file whose read takes longer (a stalled share) is refused into failed/ (default 30 000 ms). */
  readonly readDeadlineMs?: number;
  /** Files read and waiting for ack at once (default 256). */
  readonly maxInFlight?: number;
  /** How often a missing or replaced folder is looked for (default 1000 ms). */
  readonly rearmCheckMs?: number;
  /** Read files already there at start (default true); when false only files arriving later count. */
  readonly scanAtStart?: boolean;
  /** Create missing folders at start (default true; not for glob entries). */
  readonly createMissing?: boolean;
  /** Polling instead of inotify, for network shares where events do not arrive. */
  readonly usePolling?: boolean;
  /** Told about files refused without being emitted (symlink escape, too large, unreadable). */
  readonly onRefused?: (path: string, reason: string) => void;
  /**
   * Emit refused files (too large, symlink out of the folder, fifo or device) as inputs carrying `refused` and an
   * empty payload, so the pipeline records the refusal in the store; reject() then moves them to failed/. Default
   * false: refused files go straight to failed/ and onRefused.
   */
  readonly emitRefusals?: boolean;
  /**
   * How often the folders are listed for files the watcher missed (default 30 000 ms; 0: never). A missed file is
   * taken on the second rescan that finds it unchanged, so between one and two periods after it stopped changing.
   */
  readonly rescanMs?: number;
  /** Told about each file the rescan found and emitted (the watcher had missed it). */
  readonly onRescued?: (path: string) => void;
  /** Told about each file renamed because its name was not valid UTF-8 (from: the name's bytes as escaped text). */
  readonly onRenamed?: (from: string, to: string, reason: string) => void;
  /** Builds the file watcher; chokidar's watch() unless a test needs a watcher that loses events. */
  readonly watchFactory?: (paths: string[], options: ChokidarOptions) => FSWatcher;
}

export type LedgerAnswer = boolean | 'processed' | 'failed' | undefined;

const DEFAULT_IGNORE = ['**/*.tmp', '**/*.part', '**/*.partial', '**/*.crdownload', '**/.~*', '**/~$*', '**/*.swp', '**/.*'];
const ERROR_SUFFIX = '.error.txt';

interface Root {
  /** As configured, made absolute. */
  readonly dir: string;
  /** With symlinks resolved: what "inside the folder" means. */
  real: string;
  ino: number | undefined;
  readonly processedDir: string | undefined;
  readonly failedDir: string;
}

export class FolderInput implements InputAdapter {
  readonly name: string;
  private readonly state: AdapterStateTracker;
  private readonly sink = new InputSink<RawInput>();
  /** Folders as configured, absolute; an entry may be a glob over folders, e.g. /data/*\/export. */
  private readonly specs: readonly string[];
  /** The folders watched now: literal ones (present or not) plus the current matches of glob entries. */
  private roots: Root[] = [];
  private armedOnce = false;
  private checking = false;
  private readonly isWanted: (rel: string) => boolean;
  private readonly isIgnored: (rel: string) => boolean;
  private readonly markSuffix: string | undefined;
  private watcher: FSWatcher | undefined;
  /** The watcher's initial scan is over: from here on chokidar's awaitWriteFinish guards completeness. */
  private scanned = false;
  private readonly fromInitialScan = new Set<string>();
  private rearmTimer: NodeJS.Timeout | undefined;
  private running = false;
  private pausedNow = false;
  /** Paths queued (names only) until a slot frees up. */
  private readonly queued = new Set<string>();
  /** Paths emitted and not yet acknowledged. */
  private readonly inFlight = new Set<string>();
  /**
   * Files acknowledged and left in place ('keep'): path -> key, so a repeated event for the unchanged file is not a
   * new spectrum. One entry per file present (removed on unlink), so it does not grow with the daemon's uptime.
   */
  private readonly kept = new Map<string, string>();
  private readonly busy = new Set<Promise<void>>();
  private rescanTimer: NodeJS.Timeout | undefined;
  private rescanning = false;
  /** Files the last rescan found not taken: path -> size:mtime. Unchanged on the next rescan = missed. */
  private untakenAtLastRescan = new Map<string, string>();
  /** Paths the rescan queued: read only once stable, counted as rescued when emitted. */
  private readonly fromRescan = new Set<string>();
  /** With scanAtStart false: the files there at start (by key), which the rescan must leave alone too. */
  private readonly presentAtStart = new Set<string>();
  private rescuedCount = 0;
  /** Files with undecodable names seen by the last byte listing of their folder: key -> size:mtime. */
  private undecodableSeen = new Map<string, string>();
  /** Folders whose byte listing is due (raw watcher events with U+FFFD, or a name not yet stable). */
  private readonly undecodableDue = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: FolderInputOptions) {
    this.name = options.name;
    this.state = new AdapterStateTracker(options.name, 'folder');
    if (options.folders.length === 0) throw new RangeError(`folder input ${options.name}: no folders given`);
    const onAck = options.onAck ?? { action: 'move' };
    this.markSuffix = onAck.action === 'mark' ? (onAck.suffix ?? '.processed') : undefined;
    this.specs = options.folders.map((f) => resolve(f));
    const patterns = options.patterns?.length ? [...options.patterns] : ['**/*'];
    this.isWanted = picomatch(patterns, { dot: false });
    this.isIgnored = picomatch([...(options.ignore ?? DEFAULT_IGNORE), `**/*${ERROR_SUFFIX}`], { dot: true });
  }

  get inputs$(): Observable<RawInput> {
    return this.sink.output$;
  }

  get state$(): Observable<AdapterState> {
    return this.state.state$;
  }

  /** Backpressure: read no new files (they stay in the folder) until resume(); files already read go on. */
  pause(): void {
    this.pausedNow = true;
  }

  resume(): void {
    if (!this.pausedNow) return;
    this.pausedNow = false;
    this.pump();
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  /** Files the periodic rescan found and emitted because the watcher had missed them, since start. */
  get rescued(): number {
    return this.rescuedCount;
  }

  /** Files waiting for a slot plus files waiting for ack: the adapter's share of the queue depth. */
  get queueDepth(): number {
    return this.queued.size + this.inFlight.size;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.state.set('starting');
    for (const spec of this.specs) {
      if ((this.options.createMissing ?? true) && !isGlob(spec)) await mkdir(spec, { recursive: true });
    }
    const roots = await this.resolveRoots();
    const rescanMs = this.options.rescanMs ?? 30_000;
    if (rescanMs > 0 && !(this.options.scanAtStart ?? true)) {
      // Files that were there before start are not to be read (scanAtStart false): not by the rescan either.
      for (const root of roots) {
        if (root.ino === undefined) continue;
        for (const { path, sig } of await this.listUntaken(root)) this.presentAtStart.add(`${path}\0${sig}`);
      }
    }
    if (this.options.scanAtStart ?? true) {
      // Before the watcher's first scan: chokidar never gets ready over a name that is not UTF-8 and whose U+FFFD
      // form is longer than 255 bytes (ENAMETOOLONG), so names found at start are renamed first (they are seen
      // twice, stableMs apart, only when there are any).
      const present = roots.filter((r) => r.ino !== undefined);
      this.roots = roots; // what is inside which folder, and its processed/ and failed/, for the listing
      let waiting = false;
      for (const root of present) waiting = (await this.renameUndecodable(root.dir, true)) || waiting;
      if (waiting) {
        await new Promise((r) => setTimeout(r, (this.options.stableMs ?? 500) + (this.options.pollMs ?? 100)));
        for (const root of present) await this.renameUndecodable(root.dir, true);
      }
    }
    await this.arm(roots);
    this.rearmTimer = setInterval(() => void this.checkRoots(), this.options.rearmCheckMs ?? 1000);
    if (rescanMs > 0) this.rescanTimer = setInterval(() => void this.track(this.rescan()), rescanMs);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.rearmTimer);
    clearInterval(this.rescanTimer);
    for (const t of this.undecodableDue.values()) clearTimeout(t);
    this.undecodableDue.clear();
    await this.watcher?.close();
    this.watcher = undefined;
    this.queued.clear();
    this.fromRescan.clear();
    while (this.busy.size) await Promise.allSettled([...this.busy]);
    this.state.set('stopped');
    this.sink.complete();
  }

  private makeRoot(dir: string, ino: number | undefined): Root {
    const onAck = this.options.onAck ?? { action: 'move' };
    const under = (p: string) => (isAbsolute(p) ? p : join(dir, p));
    return {
      dir,
      real: dir,
      ino,
      processedDir: onAck.action === 'move' ? under(onAck.dir ?? 'processed') : undefined,
      failedDir: under(this.options.failedDir ?? 'failed'),
    };
  }

  /** The folders to watch now, each with its inode (undefined: missing), glob entries expanded. */
  private async resolveRoots(): Promise<Root[]> {
    const roots: Root[] = [];
    for (const spec of this.specs) {
      const dirs = isGlob(spec) ? await expandFolderGlob(spec) : [spec];
      if (dirs.length === 0) roots.push(this.makeRoot(spec, undefined));
      for (const dir of dirs) {
        const st = await stat(dir).catch(() => undefined);
        roots.push(this.makeRoot(dir, st?.isDirectory() ? st.ino : undefined));
      }
    }
    return roots;
  }

  /** (Re)creates the watcher over every folder that exists now. */
  private async arm(roots: Root[]): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
    const present: Root[] = [];
    for (const root of roots) {
      if (root.ino === undefined) continue;
      root.real = await realpath(root.dir).catch(() => root.dir);
      present.push(root);
    }
    this.roots = roots;
    if (!this.running) return;
    const scanInitial = this.armedOnce || (this.options.scanAtStart ?? true);
    this.armedOnce = true;
    const missing = roots.filter((r) => r.ino === undefined).map((r) => r.dir);
    if (present.length === 0) {
      this.state.set('down', `folder missing: ${missing.join(', ')}`);
      return;
    }
    const stableMs = this.options.stableMs ?? 500;
    const watcher = (this.options.watchFactory ?? watch)(
      present.map((r) => r.dir),
      {
        ignoreInitial: !scanInitial,
        followSymlinks: false,
        usePolling: this.options.usePolling ?? false,
        awaitWriteFinish: { stabilityThreshold: stableMs, pollInterval: this.options.pollMs ?? Math.min(100, stableMs) },
        ignored: (path: string) => this.ignoredByWatcher(path),
      },
    );
    watcher.on('add', (path) => this.enqueue(path));
    watcher.on('change', (path) => this.enqueue(path));
    watcher.on('unlink', (path) => this.kept.delete(path));
    // A name that is not UTF-8 reaches only the raw events (as U+FFFD), never 'add': list that folder as bytes.
    watcher.on('raw', (_event, file, details) => {
      const dir = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (typeof file === 'string' && file.includes('\uFFFD') && dir) this.undecodableSoon(dir, 0);
    });
    watcher.on('error', (err) => this.state.set('down', `watch error: ${String(err)}`));
    this.watcher = watcher;
    this.scanned = false;
    await new Promise<void>((r) => watcher.once('ready', () => r()));
    this.scanned = true;
    if (scanInitial) for (const root of present) void this.track(this.renameUndecodable(root.dir, true).then(() => undefined));
    this.state.set(missing.length ? 'down' : 'up', missing.length ? `folder missing: ${missing.join(', ')}` : undefined);
  }

  /** Deleted, recreated or replaced folders: rebuild the watcher so events keep coming. */
  private async checkRoots(): Promise<void> {
    if (!this.running || this.checking) return;
    this.checking = true;
    try {
      const now = await this.resolveRoots();
      const key = (rs: Root[]) => rs.map((r) => `${r.dir}\0${r.ino ?? '-'}`).sort().join('\n');
      if (this.running && key(now) !== key(this.roots)) await this.track(this.arm(now));
    } finally {
      this.checking = false;
    }
  }

  /**
   * Lists the folders and queues the files the watcher missed: present, wanted, not queued, read or kept, and
   * unchanged since the previous rescan also found them untaken. Runs one at a time.
   */
  private async rescan(): Promise<void> {
    if (!this.running || this.rescanning || !this.scanned) return;
    this.rescanning = true;
    // The watcher reports a file once it held still for stableMs; a file younger than that plus a margin is its.
    const graceMs = (this.options.stableMs ?? 500) + 2000;
    try {
      const untaken = new Map<string, string>();
      for (const root of this.roots) {
        if (root.ino === undefined) continue;
        for (const { path, sig, changedAt } of await this.listUntaken(root)) {
          if (this.presentAtStart.has(`${path}\0${sig}`)) continue;
          untaken.set(path, sig);
          if (this.untakenAtLastRescan.get(path) !== sig || Date.now() - changedAt < graceMs || !this.running) continue;
          this.fromRescan.add(path);
          this.enqueue(path);
        }
      }
      this.untakenAtLastRescan = untaken;
      for (const root of this.roots) if (root.ino !== undefined) await this.renameUndecodable(root.dir, true);
    } finally {
      this.rescanning = false;
    }
  }

  /** Wanted files under root that the adapter holds in no way (queued, in flight, kept), with their size:mtime. */
  private async listUntaken(root: Root): Promise<Array<{ path: string; sig: string; changedAt: number }>> {
    const found: Array<{ path: string; sig: string; changedAt: number }> = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const path = join(dir, e.name);
        if (this.ignoredByWatcher(path)) continue;
        if (e.isDirectory()) {
          // Symlinked folders are not entered (Dirent of a link is not a directory), as the watcher does not follow them.
          if (depth < 64) await walk(path, depth + 1);
          continue;
        }
        if (!this.isWanted(relative(root.dir, path)) || this.queued.has(path) || this.inFlight.has(path)) continue;
        const st = await lstat(path).catch(() => undefined);
        if (!st) continue;
        const sig = `${st.size}:${Math.round(st.mtimeMs)}`;
        if (this.kept.get(path) === `file:${path}:${sig}`) continue;
        if (st.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isDirectory()) continue;
        found.push({ path, sig, changedAt: Math.max(st.mtimeMs, st.ctimeMs) });
      }
    };
    await walk(root.dir, 1);
    return found;
  }

  private undecodableSoon(dir: string, delayMs: number): void {
    if (!this.running || this.undecodableDue.has(dir)) return;
    const timer = setTimeout(() => {
      this.undecodableDue.delete(dir);
      void this.track(this.renameUndecodable(dir, false).then(() => undefined));
    }, delayMs);
    this.undecodableDue.set(dir, timer);
  }

  /**
   * Lists dir as bytes and renames each file whose name is not valid UTF-8 to its escaped form, once it held still
   * for stableMs (seen unchanged by two listings); one not yet still is listed again later. Deep: sub-folders too.
   */
  private async renameUndecodable(dir: string, deep: boolean, depth = 1): Promise<boolean> {
    if (!this.running) return false;
    const stableMs = this.options.stableMs ?? 500;
    const entries = await readdir(Buffer.from(dir), { withFileTypes: true, encoding: 'buffer' }).catch(() => []);
    let waiting = false;
    for (const e of entries) {
      const name = e.name as unknown as Buffer;
      if (isUtf8Name(name)) {
        const sub = join(dir, name.toString('utf8'));
        if (deep && e.isDirectory() && depth < 64 && !this.ignoredByWatcher(sub)) waiting = (await this.renameUndecodable(sub, deep, depth + 1)) || waiting;
        continue;
      }
      if (e.isDirectory()) continue;
      // Temporary names (a writer's `.part` it will rename on close) and names the patterns do not want are left
      // alone, judged by their escaped form: renaming them would break the writer or read what is not wanted.
      const escaped = escapeUndecodable(name);
      const root = this.rootOf(join(dir, escaped));
      if (!root || this.ignoredByWatcher(join(dir, escaped)) || !this.isWanted(relative(root.dir, join(dir, escaped)))) continue;
      const from = Buffer.concat([Buffer.from(dir + sep), name]);
      const key = `${dir}\0${name.toString('hex')}`;
      const st = await lstat(from).catch(() => undefined);
      if (!st) continue;
      const sig = `${st.size}:${Math.round(st.mtimeMs)}`;
      if (this.undecodableSeen.get(key) !== sig || Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < stableMs) {
        this.undecodableSeen.set(key, sig);
        waiting = true;
        continue;
      }
      this.undecodableSeen.delete(key);
      const to = await freeName(join(dir, escaped));
      const reason = 'file name is not valid UTF-8: renamed to its escaped form (each other byte as %XX) so it can be read';
      try {
        await rename(from, to);
        this.options.onRenamed?.(join(dir, escaped), to, reason);
      } catch (err) {
        this.options.onRefused?.(join(dir, escaped), `file name is not valid UTF-8 and it cannot be renamed: ${String(err)}`);
      }
    }
    if (waiting) this.undecodableSoon(dir, stableMs + (this.options.pollMs ?? 100));
    return waiting;
  }

  private ignoredByWatcher(path: string): boolean {
    for (const root of this.roots) {
      if (path === root.dir) return false;
      if (isInside(path, root.failedDir) || (root.processedDir && isInside(path, root.processedDir))) return true;
      if (isInside(path, root.dir)) {
        const rel = relative(root.dir, path);
        if (this.markSuffix && path.endsWith(this.markSuffix)) return true;
        return this.isIgnored(rel) || this.isIgnored(basename(path));
      }
    }
    return false;
  }

  private rootOf(path: string): Root | undefined {
    return this.roots.find((r) => isInside(path, r.dir));
  }

  private enqueue(path: string): void {
    if (!this.running || this.inFlight.has(path)) return;
    const root = this.rootOf(path);
    if (!root) return;
    const rel = relative(root.dir, path);
    if (!this.isWanted(rel) || this.ignoredByWatcher(path)) return;
    if (!this.scanned) this.fromInitialScan.add(path);
    this.queued.add(path);
    this.pump();
  }

  private pump(): void {
    const max = this.options.maxInFlight ?? 256;
    while (this.running && !this.pausedNow && this.queued.size && this.inFlight.size < max) {
      const path = this.queued.values().next().value as string;
      this.queued.delete(path);
      this.inFlight.add(path);
      void this.track(
        this.consider(path).then(
          (emitted) => {
            if (!emitted) this.release(path);
          },
          (err: unknown) => {
            this.release(path);
            this.options.onRefused?.(path, `unexpected error: ${String(err)}`);
          },
        ),
      );
    }
  }

  private release(path: string): void {
    this.inFlight.delete(path);
    this.pump();
  }

  private track(p: Promise<void>): Promise<void> {
    this.busy.add(p);
    void p.finally(() => this.busy.delete(p));
    return p;
  }

  /** Reads and emits the file, or refuses/skips it; true when emitted (the slot is freed on ack/reject). */
  private async consider(path: string): Promise<boolean> {
    const rescued = this.fromRescan.delete(path);
    const root = this.rootOf(path);
    if (!root) return false;
    const link = await lstat(path).catch(() => undefined);
    if (!link) return false; // gone meanwhile (renamed by its writer, deleted)
    let target = path;
    if (link.isSymbolicLink()) {
      const real = await realpath(path).catch(() => undefined);
      if (!real || !isInside(real, root.real)) {
        const why = `symbolic link points outside the watched folder ${root.dir}${real ? ` (to ${real})` : ''}; not followed`;
        return this.refuseOrEmit(root, path, link, 'symlink-outside-folder', why);
      }
      target = real;
    }
    // chokidar applies awaitWriteFinish only after its initial scan: files found at start, and files the rescan
    // found, get the same check here.
    const st: Stats | undefined = this.fromInitialScan.delete(path) || rescued
      ? await this.awaitStable(target)
      : await stat(target).catch(() => undefined);
    if (!st) return false;
    if (!st.isFile()) {
      // A fifo would block the read forever and a device may never end: neither is opened.
      if (st.isDirectory()) return false;
      return this.refuseOrEmit(root, path, st, 'not-a-regular-file', 'not a regular file (a fifo, socket or device); not read');
    }
    const max = this.options.maxFileBytes ?? 64 * 1024 * 1024;
    if (st.size > max) {
      return this.refuseOrEmit(root, path, st, 'input-too-large', `file has ${st.size} bytes, more than the ${max} allowed (maxFileBytes); not read`);
    }
    const dedupKey = `file:${path}:${st.size}:${Math.round(st.mtimeMs)}`;
    if (this.kept.get(path) === dedupKey) return false;
    const before = await this.options.alreadyProcessed?.(dedupKey);
    if (before) {
      // Recorded before a crash, but not yet moved: finish the tidy-up only.
      if (before === 'failed') await this.moveToFailed(root, path, 'recorded as rejected before a restart (see the store)');
      else await this.dispose(root, path, dedupKey);
      return false;
    }
    // Read through one descriptor opened without following links and checked against st: the path may have been
    // swapped (for a link to a secret, a fifo) since it was looked at (adapters/safe-read.ts).
    const read = await readCheckedFile(target, { expected: st, maxBytes: max, deadlineMs: this.options.readDeadlineMs, insideDir: root.real });
    if (read.kind === 'gone' || read.kind === 'changed') return false;
    if (read.kind === 'refused') return this.refuseOrEmit(root, path, st, read.code, read.why);
    const payload = read.payload;
    if (!this.running) return false;
    this.emitFile(root, path, payload, dedupKey);
    if (rescued) {
      this.rescuedCount++;
      this.options.onRescued?.(path);
    }
    return true;
  }

  private emitFile(root: Root, path: string, payload: Buffer, dedupKey: string, refused?: RawInput['refused']): void {
    let settled = false;
    const settle = async (how: () => Promise<void>) => {
      if (settled) return;
      settled = true;
      try {
        await how();
      } finally {
        this.release(path);
      }
    };
    this.sink.emit({
      adapter: this.name,
      source: path,
      ...(this.options.instrument ? { instrument: this.options.instrument } : {}),
      receivedAt: new Date().toISOString(),
      formatHint: basename(path),
      payload,
      dedupKey,
      ...(refused ? { refused } : {}),
      ack: () => settle(() => this.dispose(root, path, dedupKey)),
      reject: (reason: string) => settle(() => this.moveToFailed(root, path, reason)),
    });
  }

  /**
   * A file that is not read: moved to failed/ at once, or (emitRefusals) emitted unread so the pipeline records why.
   * True when emitted.
   */
  private async refuseOrEmit(root: Root, path: string, st: Stats, code: string, why: string): Promise<boolean> {
    if (!this.options.emitRefusals || !this.running) {
      await this.refuse(root, path, why);
      return false;
    }
    const dedupKey = `file:${path}:${st.size}:${Math.round(st.mtimeMs)}`;
    const before = await this.options.alreadyProcessed?.(dedupKey);
    if (before) {
      await this.moveToFailed(root, path, 'recorded as refused before a restart (see the store)');
      return false;
    }
    this.emitFile(root, path, Buffer.alloc(0), dedupKey, { code, message: why });
    return true;
  }

  /** Stats of the file once its size and mtime have held still for stableMs; undefined when it vanished. */
  private async awaitStable(path: string): Promise<Stats | undefined> {
    const stableMs = this.options.stableMs ?? 500;
    const pollMs = this.options.pollMs ?? Math.min(100, stableMs);
    let prev = await stat(path).catch(() => undefined);
    for (;;) {
      if (!prev?.isFile() || !this.running) return prev;
      await new Promise((r) => setTimeout(r, Math.max(pollMs, stableMs - (Date.now() - prev!.mtimeMs))));
      const cur = await stat(path).catch(() => undefined);
      if (!cur) return undefined;
      if (cur.size === prev.size && cur.mtimeMs === prev.mtimeMs && Date.now() - cur.mtimeMs >= stableMs) return cur;
      prev = cur;
    }
  }

  /** The configured ack action: move, mark or keep. Idempotent: a vanished file is fine. */
  private async dispose(root: Root, path: string, dedupKey: string): Promise<void> {
    const onAck = this.options.onAck ?? { action: 'move' };
    if (onAck.action === 'keep') {
      this.kept.set(path, dedupKey);
      return;
    }
    if (await this.leadsOutside(root, path)) return;
    if (onAck.action === 'mark') {
      // The marked name is ignored by the watcher: nothing to remember.
      await moveFile(path, await freeName(path + this.markSuffix));
      return;
    }
    const dest = join(root.processedDir ?? join(root.dir, 'processed'), relative(root.dir, path));
    if (await this.destLeadsOutside(root, path, dest)) return;
    await moveFile(path, await freeName(dest));
  }

  private async moveToFailed(root: Root, path: string, reason: string): Promise<void> {
    if (await this.leadsOutside(root, path)) return;
    if (await this.destLeadsOutside(root, path, join(root.failedDir, relative(root.dir, path)))) return;
    const dest = await freeName(join(root.failedDir, relative(root.dir, path)));
    const moved = await moveFile(path, dest);
    if (moved) {
      // Beside the file as <name>.error.txt; a name too long for the suffix gets a shortened note name, and the note
      // names the file it is about.
      // Created, never opened if there ('wx': O_EXCL, which also refuses a symlink): a link planted in failed/ under
      // the note's name would otherwise have the note written over whatever it points to (the token, a dotfile).
      const text = `${new Date().toISOString()} ${this.name}: ${path}\nmoved to: ${dest}\n${reason}\n`;
      for (let i = 0; i < 100; i++) {
        const note = join(dirname(dest), fitName(i === 0 ? basename(dest) : `${basename(dest)}-${i}`, ERROR_SUFFIX));
        try {
          await writeFile(note, text, { flag: 'wx' });
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
    }
  }

  /**
   * True (and reported) when a folder on the path now leads outside the watched folder: a sub-folder swapped for a
   * link after the file was seen. A move by that path would take the file of the same name from wherever the link
   * points (the data folder's token into failed/), so the file is left where it is. A swap between this check and
   * the rename remains possible; the watched folder's own permissions are the real boundary (docs/SECURITY.md).
   */
  private async leadsOutside(root: Root, path: string): Promise<boolean> {
    const real = await realpath(dirname(path)).catch(() => undefined);
    if (real === undefined || isInside(real, root.real)) return false;
    this.options.onRefused?.(path, `a folder on its way now leads outside the watched folder (to ${real}); not moved`);
    return true;
  }

  /**
   * True (and reported) when processed/ or failed/ inside the watched folder now leads elsewhere (replaced by a link to
   * the data folder by someone who may write to the folder): moving there would plant inbox files outside it. A folder
   * configured elsewhere is the operator's choice and not checked.
   */
  private async destLeadsOutside(root: Root, src: string, dest: string): Promise<boolean> {
    // A vanished file is not moved at all (moveFile): its folder must not be recreated here either.
    if (!isInside(dest, root.dir) || !(await lstat(src).catch(() => undefined))) return false;
    const folder = dirname(dest);
    await mkdir(folder, { recursive: true }).catch(() => undefined);
    const real = await realpath(folder).catch(() => undefined);
    if (real !== undefined && isInside(real, root.real)) return false;
    this.options.onRefused?.(dest, `${folder} leads outside the watched folder${real ? ` (to ${real})` : ''}; the file is left where it is`);
    return true;
  }

  private async refuse(root: Root, path: string, reason: string): Promise<void> {
    await this.moveToFailed(root, path, reason);
    this.options.onRefused?.(path, reason);
  }
}

function isGlob(path: string): boolean {
  return picomatch.scan(path).isGlob;
}

/**
 * The folders matching a glob such as /data/*\/export: walks from the glob's static base, as deep as the glob has
 * levels (at most 8 for **), never into symlinked folders.
 */
async function expandFolderGlob(spec: string): Promise<string[]> {
  const { base, glob } = picomatch.scan(spec);
  const matches = picomatch(glob, { dot: false });
  const maxDepth = glob.includes('**') ? 8 : glob.split('/').length;
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > maxDepth) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const full = join(dir, e.name);
      if (matches(relative(base, full))) found.push(full);
      await walk(full, depth + 1);
    }
  };
  await walk(base, 1);
  return found.sort();
}

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** dest, or dest with -1, -2, ... before the extension when taken. */
async function freeName(dest: string): Promise<string> {
  const taken = async (p: string) => (await lstat(p).catch(() => undefined)) !== undefined;
  if (!(await taken(dest))) return dest;
  const dot = basename(dest).lastIndexOf('.');
  const stem = dot > 0 ? dest.slice(0, dest.length - (basename(dest).length - dot)) : dest;
  const ext = dot > 0 ? dest.slice(stem.length) : '';
  for (let i = 1; ; i++) {
    const candidate = join(dirname(dest), fitName(basename(`${stem}-${i}`), ext));
    if (!(await taken(candidate))) return candidate;
  }
}

/** Renames (copying across file systems); false when the source is already gone. Moves links, not their targets. */
async function moveFile(src: string, dest: string): Promise<boolean> {
  // Checked first so a late ack for a deleted folder does not recreate it through mkdir.
  const link = await lstat(src).catch(() => undefined);
  if (!link) return false;
  await mkdir(dirname(dest), { recursive: true });
  try {
    await rename(src, dest);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code !== 'EXDEV') throw err;
    if (link.isSymbolicLink()) await symlink(await readlink(src), dest);
    else await copyFile(src, dest, fsConstants.COPYFILE_EXCL);
    await unlink(src);
    return true;
  }
}
