import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { SocketIoOutput } from '../../adapters/socketio-output.ts';
import type { OutputAdapter } from '../../adapters/types.ts';
import type { ResolvedConfig } from '../../config/load.ts';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import type { StageTimes } from '../../pipelines/stage-times.ts';
import { createOutputs } from '../adapters.ts';
import { createRequestGuard } from '../http/request-guard.ts';
import { buildHttpServer, DASHBOARD_BUILD_HINT, dashboardBuilt } from '../http/server.ts';
import type { ApiServices } from '../http/services.ts';
import { attachSocketActions } from '../http/socket-actions.ts';
import { readOrCreateTokenFile, writeTokenFile } from '../http/token-file.ts';
import { OutboxDispatcher } from '../outbox.ts';
import type { AdapterHealth } from './adapter-health.ts';
import type { DaemonPart } from './part.ts';
import type { SitePart } from './site-part.ts';
import type { StorePart } from './store-part.ts';

export interface OutputsPartDeps {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly version: string;
  readonly store: StorePart;
  readonly services: ApiServices;
  readonly adapterHealth: AdapterHealth;
  readonly stageTimes: StageTimes;
  /** Longest the outputs get at stop to deliver what is queued (the rest stays in the outbox for next time). */
  readonly flushTimeoutMs: number;
  /** The site (site.postgres.url): its results output joins the others, and its token is every node's. */
  readonly site?: SitePart;
}

/**
 * Where results go: the HTTP server (built here, listening last: HttpPart), the outputs (MQTT, InfluxDB, socket.io
 * on the HTTP server) each fed from the store's outbox by its own dispatcher, and the dashboards' socket actions.
 * Started before the pipeline, so every commit finds its dispatcher; flushed and stopped after the pipeline drained.
 */
export class OutputsPart implements DaemonPart {
  readonly name = 'outputs';
  private server?: FastifyInstance;
  private started: OutputAdapter[] = [];
  private readonly dispatchers: OutboxDispatcher[] = [];
  private actions?: ReturnType<typeof attachSocketActions>;

  constructor(private readonly deps: OutputsPartDeps) {}

  /** The HTTP server, when http.enabled (built at start, listening once HttpPart started). */
  get http(): FastifyInstance | undefined {
    return this.server;
  }

  get outputs(): readonly OutputAdapter[] {
    return this.started;
  }

  /** The dashboards' live feed and their actions (labelling, acknowledging) over socket.io. */
  get socketActions(): ReturnType<typeof attachSocketActions> | undefined {
    return this.actions;
  }

  /**
   * Another node's result or alert (on a site): shown live on this node's dashboards (socket.io outputs) only; the
   * other outputs carry this node's own, from its outbox.
   */
  showLive(kind: 'result', message: ResultMessage): void;
  showLive(kind: 'alert', message: AlertMessage): void;
  showLive(kind: 'result' | 'alert', message: ResultMessage | AlertMessage): void {
    for (const output of this.started) {
      if (!(output instanceof SocketIoOutput)) continue;
      const shown = kind === 'result' ? output.publishResult(message as ResultMessage) : output.publishAlert(message as AlertMessage);
      shown.catch(() => undefined);
    }
  }

  /** Something new waits in the outbox. */
  wake(): void {
    this.dispatchers.forEach((d) => d.wake());
  }

  async start(): Promise<void> {
    const { config, log, services, adapterHealth } = this.deps;
    const store = this.deps.store.store;
    // One guard for the API, the dashboard's files and socket.io: Host against the configured names (DNS
    // rebinding), Origin against the daemon's own and http.allowedOrigins (pages on other origins).
    const requestGuard = createRequestGuard({ bindHost: config.http.host, allowedHosts: config.http.allowedHosts, allowedOrigins: config.http.allowedOrigins });
    // The write token of the API, which socket.io actions also ask for (none without the API).
    let token: string | undefined;
    if (config.http.enabled) {
      token = config.http.token;
      if (token === undefined && config.http.autoToken) {
        const made = readOrCreateTokenFile(config.dataDir);
        token = made.token;
        // On a site one token labels on every node: the first node's, kept in PostgreSQL and in each token file.
        const shared = await this.deps.site?.token(token);
        if (shared !== undefined && shared !== token) {
          writeTokenFile(config.dataDir, shared);
          token = shared;
        }
        log.info({ file: made.file, created: made.created, site: shared !== undefined }, 'write access (labelling, enrollment) needs the token in this file');
      }
      if (!dashboardBuilt(config.http.dashboardDir)) log.warn({ dir: config.http.dashboardDir }, DASHBOARD_BUILD_HINT);
      this.server = await buildHttpServer(services, {
        token,
        uploadLimitBytes: config.http.uploadLimitBytes,
        dashboardDir: config.http.dashboardDir,
        rateLimit: config.http.rateLimit.enabled ? config.http.rateLimit : undefined,
        version: this.deps.version,
        logger: false,
        requestGuard,
      });
    }
    const allowSocketRequest = (req: IncomingMessage) => {
      const refused = requestGuard(req.headers);
      if (refused) log.warn({ code: refused.code, host: req.headers.host, origin: req.headers.origin }, 'socket.io request refused');
      return refused?.message;
    };
    this.started = [
      ...(await createOutputs(config.outputs, this.server?.server, () => services.health().queueDepth, log, config.node.id, allowSocketRequest)),
      ...(this.deps.site?.outputs() ?? []),
    ];
    store.setOutputs(this.started.map((o) => o.name));
    for (const output of this.started) {
      // States seen before the outputs existed (the store's): outputs that show adapter health hold them.
      adapterHealth.replayTo(output);
      adapterHealth.watch(output);
      try {
        await output.start();
      } catch (err) {
        // A broker that is down at start is an outage like any other: messages wait in the outbox.
        log.error({ err, output: output.name }, 'output failed to start; its messages wait in the store');
      }
      const d = new OutboxDispatcher(store, output, { log, stageTimes: this.deps.stageTimes });
      this.dispatchers.push(d);
      d.wake();
    }
    this.actions = attachSocketActions(this.started, {
      token,
      store,
      log,
      ...(config.http.rateLimit.enabled
        ? { authFailures: { max: config.http.rateLimit.authFailures, windowMs: config.http.rateLimit.windowMs, allowList: config.http.rateLimit.allowList } }
        : {}),
    });
  }

  async stop(): Promise<void> {
    const { log, flushTimeoutMs } = this.deps;
    await Promise.all(
      this.dispatchers.map(async (d) => {
        if (!(await d.flush(flushTimeoutMs))) log.warn({ output: d.output.name }, 'output not flushed in time; the rest stays in the outbox');
        d.stop();
        await d.idle();
      }),
    );
    for (const output of this.started) {
      try {
        await output.stop();
      } catch (err) {
        log.error({ err, output: output.name }, 'output stop failed');
      }
    }
  }
}
