import { lstat, readdir, rename } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { escapeUndecodable, isUtf8Name } from '../file-names.ts';
import { freeName } from './file-moves.ts';
import { fileSignature } from './file-identity.ts';
import { stableMsOf, type FolderInputOptions } from './options.ts';
import type { Root, WatchedFolders } from './watched-folders.ts';

/**
 * File names that are not valid UTF-8 (Latin-1 names from older Windows software), which Node's string paths cannot
 * name and the watcher never reports: found by listing folders as bytes and, once such a file held still for
 * stableMs (seen unchanged by two listings), renamed in place to its escaped UTF-8 form (`Messung_\xe4.jdx` ->
 * `Messung_%E4.jdx`, adapters/file-names.ts); the renamed file is then read as any other.
 */
export class UndecodableNames {
  /** Files with undecodable names seen by the last byte listing of their folder: key -> size:mtime. */
  private readonly seen = new Map<string, string>();
  /** Folders whose byte listing is due (raw watcher events with U+FFFD, or a name not yet stable). */
  private readonly due = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly options: FolderInputOptions,
    private readonly folders: WatchedFolders,
    private readonly isRunning: () => boolean,
    private readonly track: (p: Promise<void>) => Promise<void>,
  ) {}

  /**
   * Before the watcher's first scan: chokidar never gets ready over a name that is not UTF-8 and whose U+FFFD form is
   * longer than 255 bytes (ENAMETOOLONG), so names found at start are renamed first (they are seen twice, stableMs
   * apart, only when there are any).
   */
  async renameBeforeFirstScan(present: readonly Root[]): Promise<void> {
    let waiting = false;
    for (const root of present) waiting = (await this.renameIn(root.dir, true)) || waiting;
    if (waiting) {
      await new Promise((r) => setTimeout(r, stableMsOf(this.options) + (this.options.pollMs ?? 100)));
      for (const root of present) await this.renameIn(root.dir, true);
    }
  }

  /** Lists dir as bytes after delayMs (once at a time per folder). */
  soon(dir: string, delayMs: number): void {
    if (!this.isRunning() || this.due.has(dir)) return;
    const timer = setTimeout(() => {
      this.due.delete(dir);
      void this.track(this.renameIn(dir, false).then(() => undefined));
    }, delayMs);
    this.due.set(dir, timer);
  }

  /** Cancels the listings that are due (at stop). */
  cancel(): void {
    for (const t of this.due.values()) clearTimeout(t);
    this.due.clear();
  }

  /**
   * Lists dir as bytes and renames each file whose name is not valid UTF-8 to its escaped form, once it held still
   * for stableMs (seen unchanged by two listings); one not yet still is listed again later. Deep: sub-folders too.
   * True when some file is not yet still.
   */
  async renameIn(dir: string, deep: boolean, depth = 1): Promise<boolean> {
    if (!this.isRunning()) return false;
    const { folders } = this;
    const stableMs = stableMsOf(this.options);
    const entries = await readdir(Buffer.from(dir), { withFileTypes: true, encoding: 'buffer' }).catch(() => []);
    let waiting = false;
    for (const e of entries) {
      const name = e.name as unknown as Buffer;
      if (isUtf8Name(name)) {
        const sub = join(dir, name.toString('utf8'));
        if (deep && e.isDirectory() && depth < 64 && !folders.isIgnored(sub)) waiting = (await this.renameIn(sub, deep, depth + 1)) || waiting;
        continue;
      }
      if (e.isDirectory()) continue;
      // Temporary names (a writer's `.part` it will rename on close) and names the patterns do not want are left
      // alone, judged by their escaped form: renaming them would break the writer or read what is not wanted.
      const escaped = escapeUndecodable(name);
      const root = folders.rootOf(join(dir, escaped));
      if (!root || folders.isIgnored(join(dir, escaped)) || !folders.isWanted(relative(root.dir, join(dir, escaped)))) continue;
      const from = Buffer.concat([Buffer.from(dir + sep), name]);
      const key = `${dir}\0${name.toString('hex')}`;
      const st = await lstat(from).catch(() => undefined);
      if (!st) continue;
      const sig = fileSignature(st);
      if (this.seen.get(key) !== sig || Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < stableMs) {
        this.seen.set(key, sig);
        waiting = true;
        continue;
      }
      this.seen.delete(key);
      const to = await freeName(join(dir, escaped));
      const reason = 'file name is not valid UTF-8: renamed to its escaped form (each other byte as %XX) so it can be read';
      try {
        await rename(from, to);
        this.options.onRenamed?.(join(dir, escaped), to, reason);
      } catch (err) {
        this.options.onRefused?.(join(dir, escaped), `file name is not valid UTF-8 and it cannot be renamed: ${String(err)}`);
      }
    }
    if (waiting) this.soon(dir, stableMs + (this.options.pollMs ?? 100));
    return waiting;
  }
}
