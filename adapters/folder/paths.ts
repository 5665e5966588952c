import { sep } from 'node:path';
import picomatch from 'picomatch';

/** True when path is dir or lies under it (both absolute, compared as text). */
export function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

export function isGlob(path: string): boolean {
  return picomatch.scan(path).isGlob;
}
