import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import picomatch from 'picomatch';
import { DEFAULT_IGNORE, ERROR_SUFFIX, type FolderInputOptions } from './options.ts';
import { isGlob, isInside } from './paths.ts';

/** One watched folder. */
export interface Root {
  /** As configured, made absolute. */
  readonly dir: string;
  /** With symlinks resolved: what "inside the folder" means. */
  real: string;
  /** undefined: the folder is missing now. */
  ino: number | undefined;
  readonly processedDir: string | undefined;
  readonly failedDir: string;
}

/**
 * The folders an input watches and which paths it wants: configured entries (an entry may be a glob over folders,
 * e.g. /data/*\/export) resolved to the folders present now, each with its processed/ and failed/ folders, and the
 * patterns, ignore globs and mark suffix that decide whether a path inside them is read.
 */
export class WatchedFolders {
  /** The folders watched now: literal ones (present or not) plus the current matches of glob entries. */
  roots: Root[] = [];
  /** The suffix of marked files (after: 'mark'); such names are never read again. */
  readonly markSuffix: string | undefined;
  /** Folders as configured, absolute. */
  private readonly specs: readonly string[];
  private readonly wanted: (rel: string) => boolean;
  private readonly ignoredName: (rel: string) => boolean;

  constructor(private readonly options: FolderInputOptions) {
    this.markSuffix = options.after === 'mark' ? (options.markSuffix ?? '.processed') : undefined;
    this.specs = options.paths.map((f) => resolve(f));
    const patterns = options.patterns?.length ? [...options.patterns] : ['**/*'];
    this.wanted = picomatch(patterns, { dot: false });
    this.ignoredName = picomatch([...(options.ignore ?? DEFAULT_IGNORE), `**/*${ERROR_SUFFIX}`], { dot: true });
  }

  /** Creates the literal folders that are missing (not glob entries). */
  async createMissing(): Promise<void> {
    for (const spec of this.specs) {
      if (!isGlob(spec)) await mkdir(spec, { recursive: true });
    }
  }

  /** The folders to watch now, each with its inode (undefined: missing), glob entries expanded. */
  async resolve(): Promise<Root[]> {
    const roots: Root[] = [];
    for (const spec of this.specs) {
      const dirs = isGlob(spec) ? await expandFolderGlob(spec) : [spec];
      if (dirs.length === 0) roots.push(this.makeRoot(spec, undefined));
      for (const dir of dirs) {
        const st = await stat(dir).catch(() => undefined);
        roots.push(this.makeRoot(dir, st?.isDirectory() ? st.ino : undefined));
      }
    }
    return roots;
  }

  /** The watched folders that exist now. */
  present(): Root[] {
    return this.roots.filter((r) => r.ino !== undefined);
  }

  rootOf(path: string): Root | undefined {
    return this.roots.find((r) => isInside(path, r.dir));
  }

  /** The patterns want this path (relative to its watched folder). */
  isWanted(rel: string): boolean {
    return this.wanted(rel);
  }

  /** Never read nor listed: processed/ and failed/, marked files, temporary names, notes. */
  isIgnored(path: string): boolean {
    for (const root of this.roots) {
      if (path === root.dir) return false;
      if (isInside(path, root.failedDir) || (root.processedDir && isInside(path, root.processedDir))) return true;
      if (isInside(path, root.dir)) {
        const rel = relative(root.dir, path);
        if (this.markSuffix && path.endsWith(this.markSuffix)) return true;
        return this.ignoredName(rel) || this.ignoredName(basename(path));
      }
    }
    return false;
  }

  /** True when two resolutions name the same folders with the same inodes (nothing to re-arm). */
  static same(a: readonly Root[], b: readonly Root[]): boolean {
    const key = (rs: readonly Root[]) => rs.map((r) => `${r.dir}\0${r.ino ?? '-'}`).sort().join('\n');
    return key(a) === key(b);
  }

  private makeRoot(dir: string, ino: number | undefined): Root {
    const after = this.options.after ?? 'move';
    const under = (p: string) => (isAbsolute(p) ? p : join(dir, p));
    return {
      dir,
      real: dir,
      ino,
      processedDir: after === 'move' ? under(this.options.processedDir ?? 'processed') : undefined,
      failedDir: under(this.options.failedDir ?? 'failed'),
    };
  }
}

/**
 * The folders matching a glob such as /data/*\/export: walks from the glob's static base, as deep as the glob has
 * levels (at most 8 for **), never into symlinked folders.
 */
async function expandFolderGlob(spec: string): Promise<string[]> {
  const { base, glob } = picomatch.scan(spec);
  const matches = picomatch(glob, { dot: false });
  const maxDepth = glob.includes('**') ? 8 : glob.split('/').length;
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > maxDepth) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const full = join(dir, e.name);
      if (matches(relative(base, full))) found.push(full);
      await walk(full, depth + 1);
    }
  };
  await walk(base, 1);
  return found.sort();
}
