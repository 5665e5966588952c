import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { parseConfig, type ResolvedConfig } from '../../../config/load.ts';
import { startDaemon, type Daemon } from '../../../daemon/run.ts';
import { DaemonProcess, writeDaemonConfig } from '../../../support/daemon-process.ts';
import { freePort } from '../../../support/servers.ts';
import { buildDashboard } from './build.ts';

/**
 * The one way the browser tests start a real daemon: a temporary folder (its watched `inbox/`, its `data/`), the
 * dashboard built from its sources, and a config that serves that build on a free loopback port with a token, a
 * socket.io output, a watched folder and a small demo library. The daemon runs in the test's process
 * (startDashboardDaemon: the test can reach its store) or as `spectrad run` in a child process
 * (startDashboardDaemonProcess: the product as users start it).
 */
export interface DashboardDaemonOptions {
  /** Names the temporary folder (spectrad-<name>-XXXXXX). */
  readonly name: string;
  /** http.token: the operator's token for the writing routes; none: the routes refuse every write (or autoToken). */
  readonly token?: string;
  /** The top-level instrument (for inputs that name none); the schema's default when absent. */
  readonly instrument?: string;
  /** The watched folder `inbox/` as the input named `inbox`; false: no input at all. */
  readonly inbox?: false | { readonly instrument?: string; readonly stabilityMs?: number };
  /** Benchmark classes of the demo library (default 3, 17, 42, 99, 250). */
  readonly demoClasses?: readonly number[];
  /** Reference spectra per demo class (default 5; undefined in the options object: the schema's default). */
  readonly demoPerClass?: number;
  readonly logLevel?: string;
  /** The whole config as YAML instead of the lines above (the README walkthrough runs the embedded default). */
  readonly yaml?: (at: ConfigPlaces) => string;
}

/** Where the config must point: the test's folder, its watched folder, the free port and the fresh build. */
export interface ConfigPlaces {
  readonly root: string;
  readonly inbox: string;
  readonly port: number;
  readonly dashboardDir: string;
}

const DEFAULTS = { inbox: { instrument: 'raman-1', stabilityMs: 50 }, demoClasses: [3, 17, 42, 99, 250], demoPerClass: 5 } as const;

/** The config's YAML lines (paths quoted as JSON strings, valid YAML wherever the temporary folder is). */
function dashboardConfigLines(o: DashboardDaemonOptions, at: ConfigPlaces): string[] {
  const inbox = o.inbox === undefined ? DEFAULTS.inbox : o.inbox;
  const demoPerClass = 'demoPerClass' in o ? o.demoPerClass : DEFAULTS.demoPerClass;
  const q = JSON.stringify;
  return [
    `dataDir: ${q(path.join(at.root, 'data'))}`,
    ...(o.instrument ? [`instrument: ${o.instrument}`] : []),
    ...(o.logLevel ? [`logLevel: ${o.logLevel}`] : []),
    ...(inbox
      ? [
          'inputs:',
          `  - { type: folder, name: inbox, ${inbox.instrument ? `instrument: ${inbox.instrument}, ` : ''}paths: [${q(at.inbox)}], stabilityMs: ${inbox.stabilityMs ?? DEFAULTS.inbox.stabilityMs} }`,
        ]
      : []),
    'outputs: [{ type: socketio }]',
    `http: { host: 127.0.0.1, port: ${at.port}, ${o.token ? `token: ${o.token}, ` : ''}dashboardDir: ${q(at.dashboardDir)} }`,
    `library: { demo: true, demoClasses: [${(o.demoClasses ?? DEFAULTS.demoClasses).join(', ')}]${demoPerClass === undefined ? '' : `, demoPerClass: ${demoPerClass}`} }`,
  ];
}

interface Prepared {
  readonly root: string;
  readonly inbox: string;
  readonly url: string;
  readonly built: Awaited<ReturnType<typeof buildDashboard>>;
  readonly yaml: string;
  remove(): void;
}

/** The folder, the build and a fixed port (a restarted daemon answers where the open page left it). */
async function prepare(o: DashboardDaemonOptions): Promise<Prepared> {
  const root = mkdtempSync(path.join(tmpdir(), `spectrad-${o.name}-`));
  const inbox = path.join(root, 'inbox');
  mkdirSync(inbox);
  try {
    const built = await buildDashboard();
    const port = await freePort();
    const at = { root, inbox, port, dashboardDir: built.dir };
    const yaml = o.yaml ? o.yaml(at) : dashboardConfigLines(o, at).join('\n') + '\n';
    return {
      root, inbox, url: `http://127.0.0.1:${port}`, built, yaml,
      remove: () => {
        built.remove();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/** A daemon in this process, stopped and started again as often as the test likes on the same config. */
export interface DashboardDaemon {
  readonly root: string;
  /** The watched folder (exists even without an input watching it). */
  readonly inbox: string;
  readonly url: string;
  readonly config: ResolvedConfig;
  /** The daemon's warnings and errors (pino JSON lines, every life): what a check of a failed or hung step reads. */
  readonly log: readonly string[];
  /** The running daemon; throws while stopped. */
  readonly daemon: Daemon;
  start(): Promise<Daemon>;
  stop(): Promise<void>;
  /** Stops the daemon and removes the build and the folder. */
  close(): Promise<void>;
}

export async function startDashboardDaemon(o: DashboardDaemonOptions): Promise<DashboardDaemon> {
  const p = await prepare(o);
  const config = parseConfig(p.yaml, path.join(p.root, 'spectrad.yaml'), { env: {} });
  let current: Daemon | undefined;
  const log: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void log.push(line) });
  const env: DashboardDaemon = {
    root: p.root, inbox: p.inbox, url: p.url, config, log,
    get daemon(): Daemon {
      if (!current) throw new Error('the daemon is stopped');
      return current;
    },
    async start() {
      if (current) throw new Error('the daemon is already running');
      current = await startDaemon(config, { logger });
      return current;
    },
    async stop() {
      const d = current;
      current = undefined;
      await d?.stop();
    },
    async close() {
      await env.stop();
      p.remove();
    },
  };
  try {
    await env.start();
  } catch (err) {
    p.remove();
    throw err;
  }
  return env;
}

/** `spectrad run --config <root>/spectrad.yaml` as a child process, ready. */
export interface DashboardDaemonProcess {
  readonly root: string;
  readonly inbox: string;
  readonly url: string;
  readonly process: DaemonProcess;
  close(): Promise<void>;
}

export async function startDashboardDaemonProcess(o: DashboardDaemonOptions, readyTimeoutMs = 150_000): Promise<DashboardDaemonProcess> {
  const p = await prepare(o);
  const daemon = new DaemonProcess(writeDaemonConfig(p.root, [p.yaml.trimEnd()]), p.url, path.join(p.root, 'daemon.log'));
  const close = async () => {
    await daemon.kill('SIGTERM', 10_000);
    p.remove();
  };
  try {
    daemon.start();
    await daemon.waitReady(readyTimeoutMs);
  } catch (err) {
    await close();
    throw err;
  }
  return { root: p.root, inbox: p.inbox, url: p.url, process: daemon, close };
}
