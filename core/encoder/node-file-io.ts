import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import type { FileIO } from './file-io.ts';

/** FileIO on the local file system; writes go to a temp file renamed into place, so a crash never leaves half a file. */
export const nodeFileIO: FileIO = {
  async readFile(path) {
    return new Uint8Array(await readFile(path));
  },
  async writeFile(path, data) {
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, data);
    await rename(tmp, path);
  },
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  async exists(path) {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  },
};
