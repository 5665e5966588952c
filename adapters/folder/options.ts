import type { ChokidarOptions, FSWatcher } from 'chokidar';
import type { z } from 'zod';
import type { folderInputSchema } from '../../config/schema.ts';

/**
 * The folder input's options: the config's keys (config/schema.ts `folderInputSchema`, where each is documented and
 * given its default), as the YAML names them, plus what only code passes (hooks, test knobs). Defaulted keys are
 * optional here; the adapter falls back to its own default when one is absent (`patterns`: every file at any depth).
 */
export interface FolderInputOptions extends Readonly<Omit<z.input<typeof folderInputSchema>, 'type' | 'name' | 'format' | 'paths' | 'patterns'>> {
  readonly name: string;
  /** Folders to watch, or globs such as `/data/*\/export`; processedDir and failedDir resolve against each. */
  readonly paths: readonly string[];
  /** Globs (picomatch) relative to each folder; default every file at any depth. */
  readonly patterns?: readonly string[];
  /** The suffix of renamed files when `after` is 'mark' (default '.processed'); such names are never read again. */
  readonly markSuffix?: string;
  /** Globs for names that are never read: temporary names of writers that rename on close. */
  readonly ignore?: readonly string[];
  /** How often a file's size is polled while it settles (default min(100, stabilityMs)). */
  readonly pollMs?: number;
  /**
   * The store ledger: what became of an input with this key before. true or 'processed': committed (the file is
   * moved/marked as on ack); 'failed': recorded as rejected (the file goes to failed/); false/undefined: new.
   */
  readonly alreadyProcessed?: (dedupKey: string) => LedgerAnswer | Promise<LedgerAnswer>;
  /** A file whose read takes longer (a stalled share) is refused into failed/ (default 30 000 ms). */
  readonly readDeadlineMs?: number;
  /** Files read and waiting for ack at once (default 256). */
  readonly maxInFlight?: number;
  /** How often a missing or replaced folder is looked for (default 1000 ms). */
  readonly rearmCheckMs?: number;
  /** Create missing folders at start (default true; not for glob entries). */
  readonly createMissing?: boolean;
  /** Told about files refused without being emitted (symlink escape, too large, unreadable). */
  readonly onRefused?: (path: string, reason: string) => void;
  /**
   * Emit refused files (too large, symlink out of the folder, fifo or device) as inputs carrying `refused` and an
   * empty payload, so the pipeline records the refusal in the store; reject() then moves them to failed/. Default
   * false: refused files go straight to failed/ and onRefused.
   */
  readonly emitRefusals?: boolean;
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

/** How long a file must hold still to count as complete (stabilityMs, default 500 ms). */
export function stableMsOf(options: FolderInputOptions): number {
  return options.stabilityMs ?? 500;
}
