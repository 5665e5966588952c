/**
 * Reads an inbox file through one file descriptor opened without following links, so what is read is the file that
 * was checked: between the folder input's first look (lstat), its wait for the file to hold still and the read, a
 * local user who can write to the inbox could swap the file for a symbolic link (to the daemon's token, to /dev/zero)
 * or a FIFO, and a read by path would follow or block on whatever is there by then.
 *
 * - O_NOFOLLOW: a link in the last component fails the open (ELOOP) instead of being followed.
 * - Where the descriptor really points (/proc/self/fd on Linux, else the path's realpath) must lie inside the watched
 *   folder: O_NOFOLLOW does not cover the folders on the way, and a sub-folder swapped for a link to the data folder
 *   would otherwise open the data folder's file of the same name.
 * - O_NONBLOCK: opening a FIFO does not wait for a writer (the fstat below then refuses it).
 * - fstat on the descriptor: a regular file, the same device and inode as checked, the same size and mtime (else it
 *   changed meanwhile and is left for the watcher's next report).
 * - At most maxBytes + 1 bytes are read, within a deadline: a file that grows under the reader or a read that hangs
 *   (a stalled network share) is refused instead of holding a slot forever.
 */
import { constants, type Stats } from 'node:fs';
import { open, readlink, realpath } from 'node:fs/promises';
import { sep } from 'node:path';

export type SafeReadResult =
  | { readonly kind: 'read'; readonly payload: Buffer }
  /** Vanished, or changed since it was checked: not an error, the watcher reports it again. */
  | { readonly kind: 'gone' }
  | { readonly kind: 'changed' }
  | { readonly kind: 'refused'; readonly code: string; readonly why: string };

export interface SafeReadOptions {
  /** The stats the caller decided on (size, mtime, device, inode); the open file must match them. */
  readonly expected: Stats;
  readonly maxBytes: number;
  /** The whole open-stat-read must finish within this (default 30 s). */
  readonly deadlineMs?: number;
  /** The opened file must lie inside this folder (its real path). */
  readonly insideDir?: string;
}

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export async function readCheckedFile(path: string | Buffer, o: SafeReadOptions): Promise<SafeReadResult> {
  const deadlineMs = o.deadlineMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const work = readThrough(path, o);
  const late = new Promise<SafeReadResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ kind: 'refused', code: 'read-timeout', why: `reading took longer than ${deadlineMs} ms (a stalled share or device); not read` }),
      deadlineMs,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function readThrough(path: string | Buffer, o: SafeReadOptions): Promise<SafeReadResult> {
  let handle;
  try {
    handle = await open(path, FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'gone' };
    if (code === 'ELOOP' || code === 'EMLINK') {
      return { kind: 'refused', code: 'symlink-swapped', why: 'replaced by a symbolic link after it was checked; not followed' };
    }
    if (code === 'ENXIO') return { kind: 'refused', code: 'not-a-regular-file', why: 'not a regular file (a socket or device); not read' };
    return { kind: 'refused', code: 'unreadable', why: `cannot open: ${String(err)}` };
  }
  try {
    if (o.insideDir !== undefined) {
      const actual = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => realpath(path).catch(() => undefined));
      if (actual === undefined || !isInside(actual, o.insideDir)) {
        return { kind: 'refused', code: 'outside-folder', why: `leads outside the watched folder${actual ? ` (to ${actual})` : ''}: a folder on its way was swapped for a link; not read` };
      }
    }
    const st = await handle.stat();
    if (!st.isFile()) {
      return { kind: 'refused', code: 'not-a-regular-file', why: 'replaced by something that is not a regular file (a fifo, socket or device) after it was checked; not read' };
    }
    const e = o.expected;
    if (st.dev !== e.dev || st.ino !== e.ino || st.size !== e.size || Math.round(st.mtimeMs) !== Math.round(e.mtimeMs)) return { kind: 'changed' };
    if (st.size > o.maxBytes) return { kind: 'refused', code: 'input-too-large', why: `file has ${st.size} bytes, more than the ${o.maxBytes} allowed (maxFileBytes); not read` };
    // One byte more than expected tells a file that grew after the fstat from one that did not.
    const buf = Buffer.alloc(st.size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buf.length) return { kind: 'changed' };
    }
    if (got !== st.size) return { kind: 'changed' };
    return { kind: 'read', payload: buf.subarray(0, got) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') return { kind: 'refused', code: 'not-a-regular-file', why: 'not a regular file; not read' };
    return { kind: 'refused', code: 'unreadable', why: `cannot read: ${String(err)}` };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}
