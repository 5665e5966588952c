import type { Stats } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { readCheckedFile } from '../safe-read.ts';
import type { RawInput } from '../types.ts';
import { dedupKeyOf } from './file-identity.ts';
import type { FileDisposal } from './file-disposal.ts';
import { stableMsOf, type FolderInputOptions } from './options.ts';
import { isInside } from './paths.ts';
import { awaitStable } from './stable-file.ts';
import type { Root, WatchedFolders } from './watched-folders.ts';

export interface FileIntakeDeps {
  readonly folders: WatchedFolders;
  readonly disposal: FileDisposal;
  readonly isRunning: () => boolean;
  /** Hands a read (or refused) file to the adapter's stream. */
  readonly emit: (input: RawInput) => void;
  /** The file's slot is free again (after ack/reject of an emitted file). */
  readonly release: (path: string) => void;
  /** True (once) when the path came from the watcher's initial scan, which awaitWriteFinish does not guard. */
  readonly fromInitialScan: (path: string) => boolean;
  /** True (once) when the path was queued by the rescan; counted as rescued when emitted. */
  readonly fromRescan: (path: string) => boolean;
  readonly rescued: (path: string) => void;
}

/**
 * One file from its name to an emitted input: links that leave the watched folder, fifos, devices and files over
 * maxFileBytes are refused; a file found at start or by the rescan must hold still first; the ledger decides whether
 * it is new (one recorded before a crash is only tidied away); the bytes are read through adapters/safe-read.ts.
 * The input's ack()/reject() dispose of the file and free its slot.
 */
export class FileIntake {
  constructor(
    private readonly options: FolderInputOptions,
    private readonly deps: FileIntakeDeps,
  ) {}

  /** Reads and emits the file, or refuses/skips it; true when emitted (the slot is freed on ack/reject). */
  async consider(path: string): Promise<boolean> {
    const { folders, disposal } = this.deps;
    const rescued = this.deps.fromRescan(path);
    const root = folders.rootOf(path);
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
    const stableMs = stableMsOf(this.options);
    const st: Stats | undefined = this.deps.fromInitialScan(path) || rescued
      ? await awaitStable(target, stableMs, this.options.pollMs ?? Math.min(100, stableMs), this.deps.isRunning)
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
    const dedupKey = dedupKeyOf(path, st);
    if (disposal.isKept(path, dedupKey)) return false;
    const before = await this.options.alreadyProcessed?.(dedupKey);
    if (before) {
      // Recorded before a crash, but not yet moved: finish the tidy-up only.
      if (before === 'failed') await disposal.moveToFailed(root, path, 'recorded as rejected before a restart (see the store)');
      else await disposal.dispose(root, path, dedupKey);
      return false;
    }
    // Read through one descriptor opened without following links and checked against st: the path may have been
    // swapped (for a link to a secret, a fifo) since it was looked at (adapters/safe-read.ts).
    const read = await readCheckedFile(target, { expected: st, maxBytes: max, deadlineMs: this.options.readDeadlineMs, insideDir: root.real });
    if (read.kind === 'gone' || read.kind === 'changed') return false;
    if (read.kind === 'refused') return this.refuseOrEmit(root, path, st, read.code, read.why);
    const payload = read.payload;
    if (!this.deps.isRunning()) return false;
    this.emitFile(root, path, payload, dedupKey);
    if (rescued) this.deps.rescued(path);
    return true;
  }

  private emitFile(root: Root, path: string, payload: Buffer, dedupKey: string, refused?: RawInput['refused']): void {
    const { disposal } = this.deps;
    let settled = false;
    const settle = async (how: () => Promise<void>) => {
      if (settled) return;
      settled = true;
      try {
        await how();
      } finally {
        this.deps.release(path);
      }
    };
    this.deps.emit({
      adapter: this.options.name,
      source: path,
      ...(this.options.instrument ? { instrument: this.options.instrument } : {}),
      receivedAt: new Date().toISOString(),
      formatHint: basename(path),
      payload,
      dedupKey,
      ...(refused ? { refused } : {}),
      ack: () => settle(() => disposal.dispose(root, path, dedupKey)),
      reject: (reason: string) => settle(() => disposal.moveToFailed(root, path, reason)),
    });
  }

  /**
   * A file that is not read: moved to failed/ at once, or (emitRefusals) emitted unread so the pipeline records why.
   * True when emitted.
   */
  private async refuseOrEmit(root: Root, path: string, st: Stats, code: string, why: string): Promise<boolean> {
    const { disposal } = this.deps;
    if (!this.options.emitRefusals || !this.deps.isRunning()) {
      await disposal.refuse(root, path, why);
      return false;
    }
    const dedupKey = dedupKeyOf(path, st);
    const before = await this.options.alreadyProcessed?.(dedupKey);
    if (before) {
      await disposal.moveToFailed(root, path, 'recorded as refused before a restart (see the store)');
      return false;
    }
    this.emitFile(root, path, Buffer.alloc(0), dedupKey, { code, message: why });
    return true;
  }
}
