import type { ChokidarOptions, FSWatcher } from 'chokidar';

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

export const DEFAULT_IGNORE = ['**/*.tmp', '**/*.part', '**/*.partial', '**/*.crdownload', '**/.~*', '**/~$*', '**/*.swp', '**/.*'];
export const ERROR_SUFFIX = '.error.txt';

/** How long a file must hold still to count as complete (default 500 ms). */
export function stableMsOf(options: FolderInputOptions): number {
  return options.stableMs ?? 500;
}
