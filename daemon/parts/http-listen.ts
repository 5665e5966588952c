import type { Logger } from 'pino';
import type { ResolvedConfig } from '../../config/load.ts';
import type { OutputsPart } from './outputs.ts';
import type { DaemonPart, DaemonPhase } from './part.ts';

/**
 * The HTTP API starts listening last, once everything it reports on runs, and closes first: the daemon turns
 * 'stopping' and the dashboards' sockets are closed before the server, which would otherwise wait out their timeout.
 */
export class HttpListenPart implements DaemonPart {
  readonly name = 'http';
  private address?: string;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
    private readonly outputs: OutputsPart,
    private readonly phase: DaemonPhase,
  ) {}

  /** http://host:port the API listens on. */
  get url(): string | undefined {
    return this.address;
  }

  async start(): Promise<void> {
    const http = this.outputs.http;
    if (!http) return;
    this.address = await http.listen({ host: this.config.http.host, port: this.config.http.port });
    this.log.info({ url: this.address }, 'HTTP API listening');
  }

  async stop(): Promise<void> {
    this.phase.value = 'stopping';
    // Dashboards first: their websockets and long-polls are never idle, so they would hold the close for its timeout.
    this.outputs.socketActions?.closeClients();
    await this.outputs.http?.close();
  }
}
