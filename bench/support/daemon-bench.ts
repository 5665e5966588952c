/**
 * What bench:daemon and bench:soak share: the spectra they feed, the daemon's config, the daemon process with its
 * `pipeline stats` log lines (and, in the soak, the heap probe's lines), pacing, and the small statistics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { generateTestSplit, loadDefinition } from '../../core/benchmark/index.ts';
import { toJcamp } from '../../core/formats/index.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import { sleep, waitFor } from '../../support/servers.ts';
import { portablePath } from './portable-path.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const BUNDLED_MODEL = join(REPO_ROOT, 'models/default');
/** Files are renamed into the inbox complete; the daemon still waits this long for a stable size. */
export const FILE_STABLE_MS = 200;

export interface Payloads {
  /** JCAMP-DX text for the folder input. */
  readonly jcamp: string[];
  /** `{y, meta}` JSON for the MQTT input. */
  readonly json: string[];
}

/** Benchmark spectra (fixed test split) as JCAMP-DX and MQTT JSON, one variant of each of 20 classes. */
export function makePayloads(): Payloads {
  const ds = generateTestSplit(loadDefinition('benchmark'), { classes: Array.from({ length: 20 }, (_, i) => i * 25) });
  const jcamp: string[] = [];
  const json: string[] = [];
  for (let i = 0; i < ds.n; i += 9) {
    const y = Array.from(ds.x.subarray(i * ds.points, (i + 1) * ds.points), (v) => Math.round(v * 1e5) / 1e5);
    jcamp.push(toJcamp(createSpectrum({ y, meta: { title: `class ${ds.y[i]}` } })));
    json.push(JSON.stringify({ y, meta: { title: `class ${ds.y[i]}` } }));
  }
  return { jcamp, json };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Least-squares slope of y over x (non-finite y left out). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const pts = xs.map((x, i) => [x, ys[i]] as const).filter(([, y]) => Number.isFinite(y));
  const n = pts.length;
  if (n < 2) return NaN;
  const mx = pts.reduce((a, [x]) => a + x, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  return sxx > 0 ? sxy / sxx : NaN;
}

export const round2 = (v: number): number => Math.round(v * 100) / 100;

export function loadAverage(): number[] {
  return loadavg().map(round2);
}

/** A memory figure of a process in MB from /proc/PID/status: VmRSS (resident now) or VmHWM (its peak); NaN if gone. */
export function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Resident memory of a process in MB, from /proc. */
export function rssMb(pid: number = process.pid): number {
  return procStatusMb(pid, 'VmRSS');
}

/** CPU time (ms) a process used so far, user + system, all threads, from /proc/PID/stat (clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/**
 * Calls send() perSecond times a second for the given time, in 10 ms ticks so that high rates are not limited by
 * timer resolution and a late tick catches up. Returns how many were sent.
 */
export async function paced(perSecond: number, seconds: number, send: (i: number) => void): Promise<number> {
  const start = performance.now();
  const total = Math.round(perSecond * seconds);
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * perSecond) + 1);
    while (sent < due) send(sent++);
    await sleep(10);
  }
  return sent;
}

/** The model a run used: its card's architecture and version, and the inference engine the daemon chose. */
export interface ModelInfo {
  readonly dir: string;
  readonly architecture: string;
  readonly version: string;
  readonly testKnnAccuracy?: number;
  /** onnx or tfjs, as the daemon logged at load (`model loaded`). */
  readonly engine?: string;
}

export function readModelCard(dir: string): Omit<ModelInfo, 'engine'> {
  const card = JSON.parse(readFileSync(join(dir, 'model-card.json'), 'utf8')) as {
    version: string;
    architecture: { name: string };
    metrics?: { testKnnAccuracy?: number };
  };
  return { dir: portablePath(dir), architecture: card.architecture.name, version: card.version, testKnnAccuracy: card.metrics?.testKnnAccuracy };
}

export interface BenchDaemonConfig {
  readonly dir: string;
  readonly instrument: string;
  readonly inbox: string;
  readonly brokerUrl: string;
  readonly clientId: string;
  readonly httpPort: number;
  readonly modelDir: string;
  readonly queueBound?: number;
  readonly statsIntervalS?: number;
  /** Folder rescan period (ms); the daemon's default when not given. */
  readonly rescanMs?: number;
}

/** The daemon both benchmarks run: a folder and an MQTT input, an MQTT output, the demo library of 500 classes. */
export function writeBenchConfig(c: BenchDaemonConfig): string {
  const lines = [
    `instrument: ${c.instrument}`,
    `dataDir: ${join(c.dir, 'data')}`,
    'logLevel: info',
    'inputs:',
    '  - type: folder',
    '    name: inbox',
    `    paths: [${c.inbox}]`,
    `    stabilityMs: ${FILE_STABLE_MS}`,
    ...(c.rescanMs !== undefined ? [`    rescanMs: ${c.rescanMs}`] : []),
    '  - type: mqtt',
    '    name: mqtt',
    `    url: ${c.brokerUrl}`,
    // Spectra go to spectrad/<instrument>/spectrum/<key>: a few instruments, as at a site, and a key per spectrum
    // to count it by at the far end (the result's source is the topic).
    '    topics: [spectrad/+/spectrum/#]',
    `    clientId: ${c.clientId}`,
    'outputs:',
    '  - type: mqtt',
    `    url: ${c.brokerUrl}`,
    'http:',
    '  host: 127.0.0.1',
    `  port: ${c.httpPort}`,
    'model:',
    `  dir: ${c.modelDir}`,
    'library:',
    '  demo: true',
    'pipeline:',
    `  statsIntervalS: ${c.statsIntervalS ?? 1}`,
    ...(c.queueBound !== undefined ? [`  queueBound: ${c.queueBound}`] : []),
  ];
  const file = join(c.dir, 'spectrad.yaml');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export interface StageTotal {
  items: number;
  ms: number;
  cpuMs: number;
}
export type StageSnapshot = Record<string, StageTotal>;

/** The daemon's `pipeline stats` log line (every pipeline.statsIntervalS). */
export interface PipelineStatsLine {
  inMemory: number;
  ingesting: number;
  spilled: boolean;
  pressured: boolean;
  pressureEvents: number;
  rssMb: number;
  heapMb: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  stages?: StageSnapshot;
}

/** A line of bench/support/heap-probe.mjs: memory right after a forced full collection. */
export interface HeapProbeLine {
  at: number;
  gcMs: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  rssMb: number;
  mallocedMb: number;
  nativeContexts: number;
  detachedContexts: number;
}

export interface BenchDaemonOptions {
  readonly configFile: string;
  readonly httpPort: number;
  /** V8 CPU profile into this folder (--cpu-prof). */
  readonly cpuProfileDir?: string;
  /** Force a full GC and log the surviving heap every this many seconds (--expose-gc + heap-probe.mjs); 0: never. */
  readonly heapProbeS?: number;
  /** Heap snapshots into this folder on SIGUSR2 (--heapsnapshot-signal; see BenchDaemon.heapSnapshot). */
  readonly snapshotDir?: string;
  /** Longest wait for the daemon's health to answer (it builds the demo library on first start). */
  readonly readyTimeoutMs?: number;
  /** Every JSON log line of the daemon, as it arrives (bench:startup-memory). */
  readonly onLogLine?: (entry: Record<string, unknown>) => void;
  /** Called with the child's pid as soon as it is spawned (to sample it while it starts). */
  readonly onSpawn?: (pid: number) => void;
  /** Another checkout whose bin/spectrad.js to run (bench:startup-memory --baseline); default this one. */
  readonly root?: string;
}

/** `spectrad run` as a child process, with its stats and heap-probe lines parsed as they come. */
export class BenchDaemon {
  /** The latest `pipeline stats` line and when it arrived. */
  stats: { at: number; line: PipelineStatsLine | undefined } = { at: 0, line: undefined };
  readonly heap: HeapProbeLine[] = [];
  /** From the `model loaded` line. */
  engine: string | undefined;
  private stderr = '';
  private partial = '';

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    private readonly onLogLine?: (entry: Record<string, unknown>) => void,
  ) {
    child.stdout?.on('data', (b: Buffer) => this.onStdout(b));
    child.stderr?.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-4000)));
  }

  static async start(o: BenchDaemonOptions): Promise<BenchDaemon> {
    const nodeArgs = [
      ...(o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`] : []),
      ...(o.heapProbeS ? ['--expose-gc', '--import', new URL('./heap-probe.mjs', import.meta.url).href] : []),
      ...(o.snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${o.snapshotDir}`] : []),
    ];
    const root = o.root ?? REPO_ROOT;
    const child = spawn(process.execPath, [...nodeArgs, join(root, 'bin/spectrad.js'), 'run', '--config', o.configFile], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SPECTRAD_BENCH_HEAP_PROBE_S: String(o.heapProbeS ?? 0) },
    });
    const daemon = new BenchDaemon(child, `http://127.0.0.1:${o.httpPort}`, o.onLogLine);
    if (child.pid !== undefined) o.onSpawn?.(child.pid);
    try {
      await waitFor('daemon health', async () => (await fetch(`${daemon.url}/api/health`).catch(() => undefined))?.ok, o.readyTimeoutMs ?? 300_000, 500);
    } catch (err) {
      await daemon.stop();
      throw new Error(`${String(err)}\n${daemon.stderr}`);
    }
    return daemon;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The next stats line logged after now (the daemon logs one every statsIntervalS). */
  async freshStats(timeoutMs = 5000): Promise<PipelineStatsLine | undefined> {
    const asked = Date.now();
    await waitFor('a fresh pipeline stats line', () => this.stats.at > asked, timeoutMs, 100).catch(() => undefined);
    return this.stats.line;
  }

  async health(): Promise<{ queues?: Record<string, number>; outbox?: Record<string, number>; counts?: Record<string, number> }> {
    return (await (await fetch(`${this.url}/api/health`)).json()) as { queues?: Record<string, number>; outbox?: Record<string, number>; counts?: Record<string, number> };
  }

  /** Asks for a heap snapshot (needs snapshotDir); the daemon stops for the seconds it takes to write it. */
  heapSnapshot(): void {
    this.child.kill('SIGUSR2');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  private onStdout(b: Buffer): void {
    const lines = (this.partial + b.toString()).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (this.onLogLine && line.startsWith('{')) {
        try {
          this.onLogLine(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a JSON log line
        }
      }
      // Cheap string tests first: most lines are neither.
      const kind = line.includes('"pipeline stats"') ? 'stats' : line.includes('"bench heap probe"') ? 'heap' : line.includes('"model loaded"') ? 'model' : undefined;
      if (!kind) continue;
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (kind === 'stats') this.stats = { at: Date.now(), line: entry as unknown as PipelineStatsLine };
        else if (kind === 'heap') this.heap.push(entry as unknown as HeapProbeLine);
        else this.engine = typeof entry.inference === 'string' ? entry.inference : undefined;
      } catch {
        // a log line that merely mentions these words
      }
    }
  }
}
