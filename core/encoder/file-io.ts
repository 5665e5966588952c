/**
 * The file access model directories and checkpoints need, as callbacks: core code stays free of direct I/O and
 * tests or other stores (memory, object storage) can stand in. nodeFileIO in ./node-file-io.ts is the default.
 */
export interface FileIO {
  readFile(path: string): Promise<Uint8Array>;
  /** Writes the whole file; implementations should make it appear atomically (temp file + rename). */
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  /** Creates the directory and its parents; no error when it exists. */
  mkdir(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** An in-memory FileIO (tests, dry runs). */
export function memoryFileIO(files = new Map<string, Uint8Array>()): FileIO & { files: Map<string, Uint8Array> } {
  return {
    files,
    async readFile(path) {
      const f = files.get(path);
      if (!f) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return f;
    },
    async writeFile(path, data) {
      files.set(path, typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data));
    },
    async mkdir() {},
    async exists(path) {
      if (files.has(path)) return true;
      const prefix = path.endsWith('/') ? path : `${path}/`;
      for (const k of files.keys()) if (k.startsWith(prefix)) return true;
      return false;
    },
  };
}
