import { lstat, mkdir, realpath, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fitName } from '../file-names.ts';
import { freeName, moveFile } from './file-moves.ts';
import { ERROR_SUFFIX, type FolderInputOptions } from './options.ts';
import { isInside } from './paths.ts';
import type { Root } from './watched-folders.ts';

/**
 * Where a file goes once the pipeline is done with it: on ack the configured action (move to processed/, mark with a
 * suffix, or keep), on reject failed/ with a `.error.txt` note beside it. Every move is idempotent (a vanished file is
 * fine) and never follows a folder that now leads outside the watched folder.
 */
export class FileDisposal {
  /**
   * Files acknowledged and left in place ('keep'): path -> key, so a repeated event for the unchanged file is not a
   * new spectrum. One entry per file present (removed on unlink), so it does not grow with the daemon's uptime.
   */
  private readonly kept = new Map<string, string>();

  constructor(
    private readonly options: FolderInputOptions,
    private readonly markSuffix: string | undefined,
  ) {}

  /** True when this file, unchanged (same key), was acknowledged and kept in place. */
  isKept(path: string, dedupKey: string): boolean {
    return this.kept.get(path) === dedupKey;
  }

  /** The file is gone: a new file of that name is new. */
  forget(path: string): void {
    this.kept.delete(path);
  }

  /** The configured ack action: move, mark or keep. Idempotent: a vanished file is fine. */
  async dispose(root: Root, path: string, dedupKey: string): Promise<void> {
    const after = this.options.after ?? 'move';
    if (after === 'keep') {
      this.kept.set(path, dedupKey);
      return;
    }
    if (await this.leadsOutside(root, path)) return;
    if (after === 'mark') {
      // The marked name is ignored by the watcher: nothing to remember.
      await moveFile(path, await freeName(path + this.markSuffix));
      return;
    }
    const dest = join(root.processedDir ?? join(root.dir, 'processed'), relative(root.dir, path));
    if (await this.destLeadsOutside(root, path, dest)) return;
    await moveFile(path, await freeName(dest));
  }

  async moveToFailed(root: Root, path: string, reason: string): Promise<void> {
    if (await this.leadsOutside(root, path)) return;
    if (await this.destLeadsOutside(root, path, join(root.failedDir, relative(root.dir, path)))) return;
    const dest = await freeName(join(root.failedDir, relative(root.dir, path)));
    const moved = await moveFile(path, dest);
    if (moved) await writeFailureNote(dest, `${new Date().toISOString()} ${this.options.name}: ${path}\nmoved to: ${dest}\n${reason}\n`);
  }

  /** A file refused unread: into failed/, and the adapter's onRefused told. */
  async refuse(root: Root, path: string, reason: string): Promise<void> {
    await this.moveToFailed(root, path, reason);
    this.options.onRefused?.(path, reason);
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
}

/**
 * Beside the moved file as <name>.error.txt; a name too long for the suffix gets a shortened note name, and the note
 * names the file it is about. Created, never opened if there ('wx': O_EXCL, which also refuses a symlink): a link
 * planted in failed/ under the note's name would otherwise have the note written over whatever it points to (the
 * token, a dotfile).
 */
async function writeFailureNote(dest: string, text: string): Promise<void> {
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
