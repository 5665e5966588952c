/**
 * The real daemon as a child process (`node bin/spectrad.js run --config FILE`), for tests and reliability runs that
 * must kill it (SIGKILL), restart it and watch it from outside: its HTTP API, its store file and its log.
 *
 * Also the spectra those runs feed: benchmark spectra as JCAMP-DX text, JSON payloads and serial lines, each carrying
 * a unique title so every input can be counted at the far end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { generateTestSplit, loadDefinition } from '../core/benchmark/index.ts';
import { toJcamp } from '../core/formats/index.ts';
import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import { createSpectrum } from '../core/spectrum.ts';
import { sleep, waitFor } from './servers.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

const alive = new Set<ChildProcess>();
let exitHook = false;
/** Last resort when a test file dies before its cleanup: never leave a daemon behind. */
function track(child: ChildProcess): void {
  alive.add(child);
  child.once('exit', () => alive.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of alive) c.kill('SIGKILL');
  });
}

/** Writes a YAML config (one line per entry) and returns its path. */
export function writeDaemonConfig(dir: string, lines: readonly string[]): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'spectrad.yaml');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export interface HealthAnswer {
  status: string;
  ready: boolean;
  adapters: Array<{ name: string; kind: string; state: string; detail?: string }>;
  outbox: Record<string, number>;
  queueDepth: number;
  counts: { spectra: number; pending: number; results: number; rejected: number; identified: number; duplicates: number };
}

/**
 * One daemon, started and killed as often as a test likes with the same config (same data dir, same port). Its
 * stdout/stderr (pino JSON lines) are appended to `logFile` across lives, so a run can be read afterwards.
 */
export class DaemonProcess {
  private child: ChildProcess | undefined;
  lives = 0;

  constructor(
    readonly configFile: string,
    /** http://127.0.0.1:PORT of the API (the config must name that port). */
    readonly url: string,
    readonly logFile: string,
    /** Wraps the command, e.g. ['unshare', '-rm', ...]; default none. */
    private readonly wrapper: readonly string[] = [],
    /** The script and its arguments after `node` (default `bin/spectrad.js run --config <configFile>`). */
    private readonly script?: readonly string[],
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get exitCode(): number | string | null | undefined {
    return this.child?.exitCode ?? this.child?.signalCode;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.running) throw new Error('daemon already running');
    this.lives++;
    appendFileSync(this.logFile, `{"harness":"life ${this.lives} starts","at":"${new Date().toISOString()}"}\n`);
    const argv = [process.execPath, ...(this.script ?? [path.join(REPO_ROOT, 'bin/spectrad.js'), 'run', '--config', this.configFile])];
    const [cmd, ...args] = [...this.wrapper, ...argv];
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => appendFileSync(this.logFile, b);
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    track(child);
    this.child = child;
  }

  /** Kills (SIGKILL: a crash; SIGTERM: a clean stop) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  /** The end of the log, for failure messages. */
  recentLog(chars = 2000): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-chars);
    } catch {
      return '(no log)';
    }
  }

  async health(): Promise<HealthAnswer | undefined> {
    try {
      const res = await fetch(`${this.url}/api/health`, { signal: AbortSignal.timeout(5000) });
      return (await res.json()) as HealthAnswer;
    } catch {
      return undefined;
    }
  }

  /** Waits for GET /api/health to say ready (and optionally for a predicate on it); fails at once if the daemon exits. */
  async waitReady(timeoutMs = 90_000, check: (h: HealthAnswer) => boolean = () => true): Promise<HealthAnswer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) {
        await sleep(200); // let the last output reach the log
        throw new Error(`daemon exited (code ${this.exitCode}): ${this.recentLog()}`);
      }
      const h = await this.health();
      if (h?.ready && check(h)) return h;
      if (Date.now() > deadline) throw new Error(`daemon not ready after ${timeoutMs} ms (last health ${JSON.stringify(h)}): ${this.recentLog()}`);
      await sleep(200);
    }
  }

  async alerts(limit = 500): Promise<AlertMessage[]> {
    const res = await fetch(`${this.url}/api/alerts?limit=${limit}`);
    if (!res.ok) throw new Error(`GET /api/alerts answered ${res.status}`);
    return ((await res.json()) as { items: AlertMessage[] }).items;
  }
}

/** Read-only view of a daemon's store file from outside the process (WAL: reads see every committed row). */
export function readStore<T>(dbFile: string, read: (db: Database.Database) => T): T {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

export interface StoredResultRow {
  readonly id: string;
  readonly source: string;
  readonly message: string;
}

export function storedResults(dbFile: string): StoredResultRow[] {
  return readStore(dbFile, (db) =>
    db.prepare<[], StoredResultRow>('SELECT r.spectrum_id AS id, s.source AS source, r.message AS message FROM results r JOIN spectra s ON s.id = r.spectrum_id').all(),
  );
}

// ---- spectra to feed ---------------------------------------------------------------------------------------------

const cache = new Map<number, { x: Float32Array; points: number }>();

/** Variant v (0..8) of benchmark class cls from the fixed test split. */
export function benchmarkY(cls: number, v: number): Float32Array {
  let data = cache.get(cls);
  if (!data) {
    data = generateTestSplit(loadDefinition('benchmark'), { classes: [cls] });
    cache.set(cls, data);
  }
  const variants = data.x.length / data.points;
  const i = v % variants;
  return data.x.subarray(i * data.points, (i + 1) * data.points);
}

export function jcampText(title: string, cls = 17, v = 0): string {
  return toJcamp(createSpectrum({ y: benchmarkY(cls, v), xUnit: 'index', yUnit: 'arbitrary', meta: { title } }));
}

/** The MQTT input's JSON payload `{y, meta}`; 4 significant digits keep it near 30 kB. */
export function jsonPayload(title: string, cls = 17, v = 0): string {
  const y = Array.from(benchmarkY(cls, v), (a) => Number(a.toPrecision(4)));
  return JSON.stringify({ y, meta: { title } });
}

/** One serial 'line' frame: the y values separated by commas, ended by a newline. */
export function serialLine(cls = 17, v = 0): string {
  return Array.from(benchmarkY(cls, v), (a) => a.toPrecision(4)).join(',') + '\n';
}

/** Written under a dot name, then renamed: the watcher never sees a half file (what a careful instrument does). */
export function dropFile(dir: string, name: string, content: string): void {
  const tmp = path.join(dir, `.part-${name}`);
  writeFileSync(tmp, content);
  renameSync(tmp, path.join(dir, name));
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<void> {
  await waitFor(what, check, timeoutMs, everyMs);
}

export { sleep };

/** Parses a result message from its stored or published JSON. */
export function parseResult(text: string | Buffer): ResultMessage {
  return JSON.parse(text.toString()) as ResultMessage;
}
