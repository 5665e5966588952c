import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * Stats of the file once its size and mtime have held still for stableMs; undefined when it vanished. Stops waiting
 * (and returns the last stats) once isRunning() turns false. chokidar applies its own awaitWriteFinish only after its
 * initial scan: files found at start, and files the rescan found, are checked with this instead.
 */
export async function awaitStable(path: string, stableMs: number, pollMs: number, isRunning: () => boolean): Promise<Stats | undefined> {
  let prev = await stat(path).catch(() => undefined);
  for (;;) {
    if (!prev?.isFile() || !isRunning()) return prev;
    await new Promise((r) => setTimeout(r, Math.max(pollMs, stableMs - (Date.now() - prev!.mtimeMs))));
    const cur = await stat(path).catch(() => undefined);
    if (!cur) return undefined;
    if (cur.size === prev.size && cur.mtimeMs === prev.mtimeMs && Date.now() - cur.mtimeMs >= stableMs) return cur;
    prev = cur;
  }
}
