/**
 * Real servers for tests: mosquitto, victoria-metrics, influxd (InfluxDB 1.x), PostgreSQL 15, nats-server (JetStream) and socat pty pairs, each on a free loopback port or in a
 * temporary folder, with stop/start/restart for outage tests. A missing binary is a test failure, never a skip:
 * run scripts/ensure-test-servers.sh to install them.
 *
 * Every process started here is tracked; call stopAllServers() in afterAll (and a process 'exit' hook kills any
 * survivor) so no test leaks a server.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BINARIES = {
  mosquitto: '/usr/sbin/mosquitto',
  mosquittoPasswd: '/usr/bin/mosquitto_passwd',
  victoriaMetrics: '/usr/bin/victoria-metrics',
  influxd: '/usr/bin/influxd',
  socat: '/usr/bin/socat',
  postgresBin: '/usr/lib/postgresql/15/bin',
  natsServer: '/usr/sbin/nats-server',
} as const;

/** Throws (so the test fails) when a server binary is not installed. */
export function requireBinary(path: string): string {
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    throw new Error(`${path} is not installed or not executable; run scripts/ensure-test-servers.sh (Debian packages)`);
  }
}

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort when a test file crashes before its afterAll: never leave a broker behind.
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `spectrad-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** Stops every server this process started and removes their temporary folders. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((c) => killAndWait(c)));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until check() is truthy; fails with what it was waiting for. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await sleep(everyMs);
  }
}

export function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function killAndWait(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

/** A child process that can be stopped and started again with the same arguments (same port, same data). */
class ManagedProcess {
  private child: ChildProcess | undefined;
  private log = '';

  constructor(
    private readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly ready: () => Promise<boolean>,
    private readonly readyTimeoutMs = 15_000,
    private readonly spawnOptions: Pick<SpawnOptions, 'uid' | 'gid' | 'env'> = {},
    /**
     * An early exit whose log matches is spawned again until the ready deadline: PostgreSQL started right after its
     * postmaster was SIGKILLed refuses while the old backends still hold its shared memory, which they release
     * once they notice (later on a loaded machine).
     */
    private readonly respawnIf?: RegExp,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.running) return;
    requireBinary(this.command);
    this.spawnChild();
    await waitFor(`${this.name} to be ready`, async () => {
      if (!this.running) {
        if (this.respawnIf?.test(this.log)) {
          this.spawnChild();
          return false;
        }
        throw new Error(`${this.name} exited early (code ${this.child?.exitCode}): ${this.log}`);
      }
      return this.ready();
    }, this.readyTimeoutMs);
  }

  private spawnChild(): void {
    this.log = '';
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'], ...this.spawnOptions });
    const keep = (b: Buffer) => {
      this.log = (this.log + b.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    track(child);
    this.child = child;
  }

  /** Graceful stop (SIGTERM), or a crash (SIGKILL) for outage tests. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child) await killAndWait(this.child, signal);
    this.child = undefined;
  }

  recentLog(): string {
    return this.log;
  }
}

export interface TestServer {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  readonly running: boolean;
}

function wrap(proc: ManagedProcess, port: number, url: string): TestServer {
  return {
    port,
    url,
    start: () => proc.start(),
    stop: (signal) => proc.stop(signal),
    restart: async () => {
      await proc.stop();
      await proc.start();
    },
    get running() {
      return proc.running;
    },
  };
}

/**
 * A port from freePort() can be taken by another test process before the server binds it; the server then exits at
 * once. Try again with a new port (a missing binary still fails at the first attempt).
 */
async function retryOnPortRace<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      if (i >= attempts || !/exited early/.test(String(err))) throw err;
    }
  }
}

export interface MosquittoOptions {
  /** With auth, anonymous clients are refused and this user/password is the only login. */
  auth?: { username: string; password: string };
  /** Outgoing QoS 1 messages in flight per client before the broker queues (mosquitto's default is 20). */
  maxInflight?: number;
  /** Log notices too (connects, session expiry), for tests that wait for what the broker did. */
  logNotices?: boolean;
}

export interface Mosquitto extends TestServer {
  readonly dataDir: string;
  /** The end of the broker's log (errors and warnings; notices with logNotices). */
  recentLog(): string;
}

/** mosquitto on a free loopback port with persistence in a temporary folder (sessions survive a restart). */
export function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  return retryOnPortRace(() => startMosquittoOnce(options));
}

async function startMosquittoOnce(options: MosquittoOptions): Promise<Mosquitto> {
  requireBinary(BINARIES.mosquitto);
  const dir = makeTempDir('mosquitto');
  const port = await freePort();
  const lines = [
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${options.auth ? 'false' : 'true'}`,
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_interval 1',
    `max_inflight_messages ${options.maxInflight ?? 100}`,
    'max_queued_messages 100000',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    ...(options.logNotices ? ['log_type notice'] : []),
  ];
  // Started as root, mosquitto drops to user 'mosquitto', which cannot write the temporary folder.
  if (process.getuid?.() === 0) lines.push('user root');
  if (options.auth) {
    requireBinary(BINARIES.mosquittoPasswd);
    const pwFile = join(dir, 'passwd');
    writeFileSync(pwFile, '');
    const made = spawnSync(BINARIES.mosquittoPasswd, ['-b', pwFile, options.auth.username, options.auth.password]);
    if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr.toString()}`);
    lines.push(`password_file ${pwFile}`);
  }
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  const proc = new ManagedProcess('mosquitto', BINARIES.mosquitto, ['-c', conf], () => tcpAccepts(port));
  await proc.start();
  return Object.assign(wrap(proc, port, `mqtt://127.0.0.1:${port}`), { dataDir: dir, recentLog: () => proc.recentLog() });
}

export interface VictoriaMetrics extends TestServer {
  /** Makes just-written points searchable at once (VictoriaMetrics buffers for about a second). */
  forceFlush(): Promise<void>;
  /** Raw series from /api/v1/export for a series selector, one parsed JSON line each. */
  exportSeries(selector: string): Promise<ExportedSeries[]>;
}

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface VictoriaMetricsOptions {
  /** A Prometheus scrape config (YAML text): VictoriaMetrics scrapes its targets itself (-promscrape.config). */
  promscrapeConfig?: string;
}

export function startVictoriaMetrics(options: VictoriaMetricsOptions = {}): Promise<VictoriaMetrics> {
  return retryOnPortRace(() => startVictoriaMetricsOnce(options));
}

async function startVictoriaMetricsOnce(options: VictoriaMetricsOptions): Promise<VictoriaMetrics> {
  requireBinary(BINARIES.victoriaMetrics);
  const dir = makeTempDir('vm');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const health = async () => {
    try {
      const res = await fetch(`${url}/health`);
      return res.ok;
    } catch {
      return false;
    }
  };
  const scrape: string[] = [];
  if (options.promscrapeConfig !== undefined) {
    const file = join(makeTempDir('vm-scrape'), 'promscrape.yaml');
    writeFileSync(file, options.promscrapeConfig);
    // latencyOffset 0: a query sees samples scraped a moment ago (by default the last 30 s are hidden).
    scrape.push(`-promscrape.config=${file}`, '-promscrape.config.strictParse', '-search.latencyOffset=0s');
  }
  const proc = new ManagedProcess(
    'victoria-metrics',
    BINARIES.victoriaMetrics,
    [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-retentionPeriod=1d', '-loggerLevel=ERROR', ...scrape],
    health,
    30_000,
  );
  await proc.start();
  return Object.assign(wrap(proc, port, url), {
    async forceFlush() {
      const res = await fetch(`${url}/internal/force_flush`);
      if (!res.ok) throw new Error(`force_flush answered ${res.status}`);
    },
    async exportSeries(selector: string) {
      const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(selector)}`);
      if (!res.ok) throw new Error(`export answered ${res.status}: ${await res.text()}`);
      const text = await res.text();
      return text
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as ExportedSeries);
    },
  });
}

export interface Influxd extends TestServer {
  /** Runs an InfluxQL statement (CREATE DATABASE, SELECT ...) and returns the parsed answer. */
  query(q: string, db?: string): Promise<InfluxQueryAnswer>;
}

export interface InfluxQueryAnswer {
  results: Array<{ series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }>; error?: string }>;
}

/**
 * InfluxDB 1.x (Debian's influxdb package: v1 HTTP API only) on free loopback ports (HTTP and the RPC bind address)
 * with its meta, data and WAL folders in a temporary folder; no reporting, no self-monitoring.
 */
export interface InfluxdOptions {
  /** With auth, this admin user is created first and every write and query must log in (HTTP basic). */
  auth?: { username: string; password: string };
}

export function startInfluxd(options: InfluxdOptions = {}): Promise<Influxd> {
  return retryOnPortRace(() => startInfluxdOnce(options));
}

async function startInfluxdOnce(options: InfluxdOptions): Promise<Influxd> {
  requireBinary(BINARIES.influxd);
  const dir = makeTempDir('influxd');
  const port = await freePort();
  const rpcPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${dir}/meta"`,
      '[data]',
      `  dir = "${dir}/data"`,
      `  wal-dir = "${dir}/wal"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      `  auth-enabled = ${options.auth ? 'true' : 'false'}`,
      '[monitor]',
      '  store-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
    ].join('\n') + '\n',
  );
  const ping = async () => {
    try {
      return (await fetch(`${url}/ping`)).status === 204;
    } catch {
      return false;
    }
  };
  const proc = new ManagedProcess('influxd', BINARIES.influxd, ['-config', conf], ping, 30_000);
  await proc.start();
  const login = options.auth ? { authorization: `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` } : undefined;
  if (options.auth) {
    // The first user may be created without logging in, and must be an admin.
    const q = `CREATE USER "${options.auth.username}" WITH PASSWORD '${options.auth.password}' WITH ALL PRIVILEGES`;
    const res = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
    if (!res.ok) throw new Error(`influxd: creating the admin user answered ${res.status}: ${await res.text()}`);
  }
  return Object.assign(wrap(proc, port, url), {
    async query(q: string, db?: string) {
      const body = new URLSearchParams({ q, ...(db ? { db } : {}), epoch: 'ms' });
      const res = await fetch(`${url}/query`, { method: 'POST', body, ...(login ? { headers: login } : {}) });
      if (!res.ok) throw new Error(`influxd /query answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as InfluxQueryAnswer;
    },
  });
}

export interface PtyPair {
  /** The adapter's end (a symlink to /dev/pts/N, like a USB serial device node). */
  readonly a: string;
  /** The instrument's end: write frames here. */
  readonly b: string;
  start(): Promise<void>;
  /** Closing the pair makes both device nodes disappear, as when a USB adapter is unplugged. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  readonly running: boolean;
}

/** A connected pair of pseudo-terminals from socat: bytes written to b arrive at a and back. */
export async function startPtyPair(): Promise<PtyPair> {
  requireBinary(BINARIES.socat);
  const dir = makeTempDir('pty');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const proc: ManagedProcess = new ManagedProcess(
    'socat',
    BINARIES.socat,
    ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    async (): Promise<boolean> => existsSync(a) && existsSync(b) && /starting data transfer loop/.test(proc.recentLog()),
  );
  await proc.start();
  return {
    a,
    b,
    start: () => proc.start(),
    stop: async (signal) => {
      await proc.stop(signal);
      // socat unlinks its links on a clean exit; after SIGKILL they dangle, as a vanished device would.
      rmSync(a, { force: true });
      rmSync(b, { force: true });
    },
    restart: async () => {
      await proc.stop();
      rmSync(a, { force: true });
      rmSync(b, { force: true });
      await proc.start();
    },
    get running() {
      return proc.running;
    },
  };
}

export interface Postgres extends TestServer {
  /** The cluster's superuser (trust authentication on loopback; tests only). */
  readonly user: string;
  readonly dataDir: string;
  /** Creates an empty database and returns its connection string (postgres://user@127.0.0.1:port/name). */
  createDatabase(name: string): Promise<string>;
  /** Connection string of a database in this cluster (the default database is "postgres"). */
  urlFor(database: string): string;
}

/**
 * PostgreSQL 15 (Debian's postgresql package) in a temporary cluster on a free loopback port: initdb with trust
 * authentication, no fsync (a test cluster outlives no machine crash; a killed server still recovers from its WAL),
 * unix socket in the cluster folder. PostgreSQL refuses to run as root, so as root the cluster belongs to the
 * Debian "postgres" user and the server runs as that user.
 */
export function startPostgres(): Promise<Postgres> {
  return retryOnPortRace(() => startPostgresOnce());
}

async function startPostgresOnce(): Promise<Postgres> {
  const bin = (name: string) => requireBinary(join(BINARIES.postgresBin, name));
  const dir = makeTempDir('pg');
  const user = 'spectrad';
  const ids: Pick<SpawnOptions, 'uid' | 'gid'> = {};
  if (process.getuid?.() === 0) {
    const who = spawnSync('id', ['-u', 'postgres']);
    const group = spawnSync('id', ['-g', 'postgres']);
    if (who.status !== 0) throw new Error('running as root needs the Debian "postgres" user (install the postgresql package)');
    ids.uid = Number(who.stdout.toString().trim());
    ids.gid = Number(group.stdout.toString().trim());
    chownSync(dir, ids.uid, ids.gid);
  }
  const data = join(dir, 'data');
  const init = spawnSync(bin('initdb'), ['-D', data, '-U', user, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], {
    ...ids,
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const proc: ManagedProcess = new ManagedProcess(
    'postgres',
    bin('postgres'),
    ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off', '-c', 'max_connections=200'],
    async (): Promise<boolean> => (await tcpAccepts(port)) && /ready to accept connections/.test(proc.recentLog()),
    30_000,
    ids,
    /pre-existing shared memory block/,
  );
  await proc.start();
  const urlFor = (database: string) => `postgres://${user}@127.0.0.1:${port}/${database}`;
  return Object.assign(wrap(proc, port, urlFor('postgres')), {
    user,
    dataDir: data,
    urlFor,
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`test database name ${name} must be a plain identifier`);
      const made = spawnSync(bin('createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', user, name], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`createdb ${name} failed: ${made.stderr}`);
      return urlFor(name);
    },
  });
}

export interface NatsServer extends TestServer {
  /** The MQTT listener's port when started with { mqtt: true } (instruments publish here; JetStream stores it). */
  readonly mqttPort: number | undefined;
  readonly dataDir: string;
}

/** nats-server 2.9 (Debian) with JetStream in a temporary folder on free loopback ports, optionally with its MQTT listener. */
export function startNatsServer(options: { mqtt?: boolean } = {}): Promise<NatsServer> {
  return retryOnPortRace(() => startNatsServerOnce(options));
}

async function startNatsServerOnce(options: { mqtt?: boolean }): Promise<NatsServer> {
  requireBinary(BINARIES.natsServer);
  const dir = makeTempDir('nats');
  const port = await freePort();
  const mqttPort = options.mqtt ? await freePort() : undefined;
  const conf = join(dir, 'nats.conf');
  const lines = [
    `host: 127.0.0.1`,
    `port: ${port}`,
    // JetStream and the MQTT listener both need a server name.
    `server_name: spectrad_test_${port}`,
    `jetstream { store_dir: "${join(dir, 'js')}" }`,
  ];
  if (mqttPort !== undefined) lines.push(`mqtt { host: 127.0.0.1, port: ${mqttPort} }`);
  writeFileSync(conf, lines.join('\n') + '\n');
  const proc = new ManagedProcess(
    'nats-server',
    BINARIES.natsServer,
    ['-c', conf],
    async () => (await tcpAccepts(port)) && (mqttPort === undefined || (await tcpAccepts(mqttPort))),
  );
  await proc.start();
  return Object.assign(wrap(proc, port, `nats://127.0.0.1:${port}`), { mqttPort, dataDir: dir });
}
