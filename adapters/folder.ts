/**
 * Folder input: watches several folders (chokidar 4) for spectrum files matching glob patterns and emits each
 * complete file once. A composition of the modules in adapters/folder/:
 *
 * - `watched-folders.ts`: the folders (glob entries expanded), their processed/ and failed/, which paths are wanted.
 * - `folder-watcher.ts`: the watcher; complete files only (the size held still for stableMs); temporary names used by
 *   rename-on-close writers (*.tmp, *.part, .~*, ...) ignored until renamed; files already present at start picked
 *   up (they arrived while the daemon was down); a folder deleted and recreated is watched again (re-armed).
 * - `read-slots.ts`: at most maxInFlight files read and waiting for ack at once, pause/resume for backpressure.
 * - `file-intake.ts`: one file to one input: symlinks never followed out of the watched folder, fifos and oversized
 *   files refused, exactly once (the dedup key is path + size + mtime, `file-identity.ts`; the store ledger answers
 *   alreadyProcessed(key), and a file it already recorded is only tidied away again, never re-emitted), the bytes
 *   read safely (adapters/safe-read.ts).
 * - `file-disposal.ts`: moved/marked/kept only when the pipeline calls ack() (after the store commit); reject() moves
 *   it to failed/ with a .error.txt beside it (a note name too long for the suffix is shortened).
 * - `missed-files.ts`: a periodic rescan takes any file the watcher never reported.
 * - `undecodable-names.ts`: names that are not valid UTF-8 renamed in place to their escaped UTF-8 form.
 */
import { relative } from 'node:path';
import type { Observable } from 'rxjs';
import type { AdapterState } from '../core/messages.ts';
import { AdapterStateTracker, InputSink } from './adapter-state.ts';
import { FileDisposal } from './folder/file-disposal.ts';
import { FileIntake } from './folder/file-intake.ts';
import { FolderWatcher } from './folder/folder-watcher.ts';
import { MissedFiles } from './folder/missed-files.ts';
import type { FolderInputOptions } from './folder/options.ts';
import { ReadSlots } from './folder/read-slots.ts';
import { TaskSet } from './folder/tasks.ts';
import { UndecodableNames } from './folder/undecodable-names.ts';
import { WatchedFolders } from './folder/watched-folders.ts';
import type { InputAdapter, RawInput } from './types.ts';

export { DEFAULT_IGNORE, ERROR_SUFFIX, type FolderInputOptions, type LedgerAnswer } from './folder/options.ts';

export class FolderInput implements InputAdapter {
  readonly name: string;
  private readonly state: AdapterStateTracker;
  private readonly sink = new InputSink<RawInput>();
  private readonly tasks = new TaskSet();
  private readonly folders: WatchedFolders;
  private readonly disposal: FileDisposal;
  private readonly slots: ReadSlots;
  private readonly undecodable: UndecodableNames;
  private readonly watcher: FolderWatcher;
  private readonly missed: MissedFiles;
  private readonly intake: FileIntake;
  private running = false;

  constructor(private readonly options: FolderInputOptions) {
    this.name = options.name;
    this.state = new AdapterStateTracker(options.name, 'folder');
    if (options.paths.length === 0) throw new RangeError(`folder input ${options.name}: no folders given`);
    const isRunning = () => this.running;
    const track = (p: Promise<void>) => this.tasks.track(p);
    const folders = (this.folders = new WatchedFolders(options));
    const disposal = (this.disposal = new FileDisposal(options, folders.markSuffix));
    const slots = (this.slots = new ReadSlots(options.maxInFlight ?? 256, isRunning, (path) => this.take(path)));
    this.undecodable = new UndecodableNames(options, folders, isRunning, track);
    this.watcher = new FolderWatcher(options, {
      folders, state: this.state, undecodable: this.undecodable, isRunning, track,
      onFile: (path) => this.enqueue(path),
      onGone: (path) => disposal.forget(path),
    });
    this.missed = new MissedFiles(options, {
      folders, slots, disposal, isRunning,
      watcherReady: () => this.watcher.ready,
      enqueue: (path) => this.enqueue(path),
      afterRescan: async (present) => {
        for (const root of present) await this.undecodable.renameIn(root.dir, true);
      },
    });
    this.intake = new FileIntake(options, {
      folders, disposal, isRunning,
      emit: (input) => this.sink.emit(input),
      release: (path) => slots.release(path),
      fromInitialScan: (path) => this.watcher.takeFromInitialScan(path),
      fromRescan: (path) => this.missed.takeQueued(path),
      rescued: (path) => this.missed.countRescued(path),
    });
  }

  get inputs$(): Observable<RawInput> {
    return this.sink.output$;
  }

  get state$(): Observable<AdapterState> {
    return this.state.state$;
  }

  /** Backpressure: read no new files (they stay in the folder) until resume(); files already read go on. */
  pause(): void {
    this.slots.pause();
  }

  resume(): void {
    this.slots.resume();
  }

  get paused(): boolean {
    return this.slots.paused;
  }

  /** Files the periodic rescan found and emitted because the watcher had missed them, since start. */
  get rescued(): number {
    return this.missed.rescued;
  }

  /** Files waiting for a slot plus files waiting for ack: the adapter's share of the queue depth. */
  get queueDepth(): number {
    return this.slots.depth;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.state.set('starting');
    const scanAtStart = this.options.scanAtStart ?? true;
    if (this.options.createMissing ?? true) await this.folders.createMissing();
    const roots = await this.folders.resolve();
    const rescanMs = this.options.rescanMs ?? 30_000;
    if (rescanMs > 0 && !scanAtStart) await this.missed.notePresentAtStart(roots);
    if (scanAtStart) {
      this.folders.roots = roots; // what is inside which folder, and its processed/ and failed/, for the listing
      await this.undecodable.renameBeforeFirstScan(roots.filter((r) => r.ino !== undefined));
    }
    await this.watcher.start(roots);
    if (rescanMs > 0) this.missed.start(rescanMs, (p) => this.tasks.track(p));
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.watcher.stopTimer();
    this.missed.stopTimer();
    this.undecodable.cancel();
    await this.watcher.close();
    this.slots.clearQueued();
    this.missed.clearQueued();
    await this.tasks.settled();
    this.state.set('stopped');
    this.sink.complete();
  }

  /** A wanted file reported by the watcher or the rescan: queued for a read slot. */
  private enqueue(path: string): void {
    if (!this.running || this.slots.isInFlight(path)) return;
    const root = this.folders.rootOf(path);
    if (!root) return;
    if (!this.folders.isWanted(relative(root.dir, path)) || this.folders.isIgnored(path)) return;
    this.watcher.noteTaken(path);
    this.slots.add(path);
  }

  /** A file given a read slot: the slot is freed when nothing was emitted, else on the input's ack or reject. */
  private take(path: string): void {
    void this.tasks.track(
      this.intake.consider(path).then(
        (emitted) => {
          if (!emitted) this.slots.release(path);
        },
        (err: unknown) => {
          this.slots.release(path);
          this.options.onRefused?.(path, `unexpected error: ${String(err)}`);
        },
      ),
    );
  }
}
