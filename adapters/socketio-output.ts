/**
 * socket.io output for the dashboard: events 'result', 'alert' and 'adapter-state' to every connected client; each new
 * client first gets the current state of every adapter.
 *
 * Attach it to the daemon's http.Server (fastify's .server) or hand it an existing socket.io Server. Authentication
 * for state-changing socket actions is the daemon's: pass a socket.io middleware as `middleware`, it runs on every
 * connection before any event. socket.io has no delivery acknowledgement for broadcasts, so publishResult resolves once
 * the event is handed to the connected clients; the dashboard catches up through the HTTP API after a reconnect.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { Server as IoServer, type Socket } from 'socket.io';
import type { Observable } from 'rxjs';
import type { z } from 'zod';
import type { socketioOutputSchema } from '../config/schema.ts';
import type { AdapterState, AlertMessage, ResultMessage } from '../core/messages.ts';
import { AdapterStateTracker } from './adapter-state.ts';
import type { OutputAdapter } from './types.ts';

export type SocketMiddleware = (socket: Socket, next: (err?: Error) => void) => void;

/** The socket.io output's options: the config's `path` (config/schema.ts `socketioOutputSchema`), plus what only code passes. */
export interface SocketIoOutputOptions extends Readonly<Omit<z.input<typeof socketioOutputSchema>, 'type' | 'name'>> {
  readonly name: string;
  /** The daemon's HTTP server to attach to, or a socket.io Server it already made (then `path` is that server's). */
  readonly server: HttpServer | IoServer;
  /** Runs for each connecting client: reject with next(new Error('unauthorized')). */
  readonly middleware?: SocketMiddleware;
  /**
   * Largest message a client may send (default 16 KiB): dashboards only listen, so anything bigger is abuse and the
   * client is disconnected before the message is buffered (socket.io's own default is 1 MB).
   */
  readonly maxClientMessageBytes?: number;
  /**
   * Checks each HTTP request of the endpoint (handshake, polling, WebSocket upgrade) before socket.io answers it:
   * returns why it is refused (the daemon checks Host and Origin), undefined to accept.
   */
  readonly allowRequest?: (req: IncomingMessage) => string | undefined;
}

/** The typed events a dashboard receives. */
export interface ServerToClientEvents {
  result: (result: ResultMessage) => void;
  alert: (alert: AlertMessage) => void;
  'adapter-state': (state: AdapterState) => void;
}

/** Nothing yet: state-changing actions (enrol a class, ...) go through the HTTP API; the daemon may add handlers. */
export type ClientToServerEvents = Record<string, never>;

export class SocketIoOutput implements OutputAdapter {
  readonly name: string;
  private readonly state: AdapterStateTracker;
  private io: IoServer<ClientToServerEvents, ServerToClientEvents> | undefined;
  private ownsServer = false;
  /** Set when the daemon stops: new handshakes are refused (403), so clients retry until the next daemon answers. */
  private closing = false;
  /** Last state per adapter, replayed to each new client so the dashboard starts complete. */
  private readonly adapterStates = new Map<string, AdapterState>();

  constructor(private readonly options: SocketIoOutputOptions) {
    this.name = options.name;
    this.state = new AdapterStateTracker(options.name, 'socketio');
  }

  get state$(): Observable<AdapterState> {
    return this.state.state$;
  }

  /** The socket.io server, for the daemon to add its own handlers. */
  get server(): IoServer | undefined {
    return this.io as IoServer | undefined;
  }

  async start(): Promise<void> {
    if (this.io) return;
    const given = this.options.server;
    if (given instanceof IoServer) {
      this.io = given as IoServer<ClientToServerEvents, ServerToClientEvents>;
    } else {
      this.io = new IoServer<ClientToServerEvents, ServerToClientEvents>(given, {
        path: this.options.path ?? '/socket.io',
        serveClient: false,
        maxHttpBufferSize: this.options.maxClientMessageBytes ?? 16 * 1024,
        // Refused while the daemon stops (so a page cannot hold its shutdown), then the Host/Origin guard.
        allowRequest: (req, callback) => {
          if (this.closing) return callback('the daemon is stopping', false);
          const refused = this.options.allowRequest?.(req);
          callback(refused ?? null, refused === undefined);
        },
      });
      this.ownsServer = true;
    }
    if (this.options.middleware) this.io.use(this.options.middleware);
    this.io.on('connection', (socket) => {
      for (const s of this.adapterStates.values()) socket.emit('adapter-state', s);
    });
    this.state.set('up');
  }

  async publishResult(result: ResultMessage): Promise<void> {
    this.io?.emit('result', result);
  }

  async publishAlert(alert: AlertMessage): Promise<void> {
    this.io?.emit('alert', alert);
  }

  async publishAdapterState(state: AdapterState): Promise<void> {
    this.adapterStates.set(state.name, state);
    this.io?.emit('adapter-state', state);
  }

  /** Connected dashboard clients. */
  get clients(): number {
    return this.io?.engine.clientsCount ?? 0;
  }

  /**
   * Closes every client connection now and refuses new ones: the daemon is stopping, and an open dashboard must not
   * hold the HTTP server's close (a websocket or a pending long-poll is never idle). The dashboards see the
   * disconnect and reconnect to the next daemon by themselves.
   */
  closeClients(): void {
    this.closing = true;
    const io = this.io;
    if (!io) return;
    io.disconnectSockets(true);
    io.engine.close();
  }

  /**
   * Disconnects the clients. The HTTP server stays up (io.close() would close it too): the daemon closes it after
   * draining the API.
   */
  async stop(): Promise<void> {
    const io = this.io;
    if (!io) return;
    this.io = undefined;
    io.disconnectSockets(true);
    if (this.ownsServer) io.engine.close();
    this.state.set('stopped');
  }
}

