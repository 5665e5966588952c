import { constants as fsConstants } from 'node:fs';
import { copyFile, lstat, mkdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fitName } from '../file-names.ts';

/** dest, or dest with -1, -2, ... before the extension when taken. */
export async function freeName(dest: string): Promise<string> {
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
export async function moveFile(src: string, dest: string): Promise<boolean> {
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
