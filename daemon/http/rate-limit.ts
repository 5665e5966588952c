/**
 * Per-client request limits of the HTTP API (@fastify/rate-limit, keyed by the client's address): a generous bound on
 * every route, stricter ones on the state-changing routes and on uploads to /api/identify, and the strictest on
 * failed authentication, so guessing the write token is slowed to a few tries a minute. Answers 429 with
 * Retry-After (seconds). GET /api/health is never limited: monitors and the dashboard poll it.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface RateLimitOptions {
  /** The window every limit counts in (fixed windows per client). */
  readonly windowMs: number;
  /** Requests per client per window, all read routes and static files together (not /api/health). */
  readonly requests: number;
  /** Authenticated requests per client per window on each state-changing route (enroll, undo, acknowledge, retrain, promote). */
  readonly writes: number;
  /** POST /api/identify uploads per client per window (each one parses and encodes a file). */
  readonly uploads: number;
  /** Wrong or missing tokens on writing routes per client per window; beyond it those routes answer 429 to it. */
  readonly authFailures: number;
  /** Client addresses never limited (e.g. a trusted automation host). */
  readonly allowList: readonly string[];
}

export type RouteLimitKind = 'read' | 'write' | 'upload' | 'health';

/**
 * What a route passes as `config.rateLimit`: undefined for the shared bound of all reads, false for none, or a limit
 * of its own (the plugin counts a route with its own options in a store of its own: per route and client).
 */
export type RouteRateLimit = undefined | false | { max: number; timeWindow: number };

export interface RateLimits {
  route(kind: RouteLimitKind): RouteRateLimit;
  /** ms until this client may try a token again; 0 when it may now. */
  authBlockedForMs(req: FastifyRequest): number;
  /** Counts a failed authentication of this client. */
  authFailed(req: FastifyRequest): void;
}

/** Registers the plugin on app (before its routes: it attaches to routes as they are added). */
export async function registerRateLimits(app: FastifyInstance, o: RateLimitOptions): Promise<RateLimits> {
  const allowed = new Set(o.allowList);
  await app.register(rateLimit, {
    global: true,
    max: o.requests,
    timeWindow: o.windowMs,
    allowList: [...o.allowList],
    // Thrown into the server's error handler, which answers {error: {code, message}} with this status.
    errorResponseBuilder: (_req, context) => ({
      statusCode: 429,
      code: 'rate-limited',
      message: `too many requests from this client: at most ${context.max} per ${Math.round(o.windowMs / 1000)} s here; retry in ${context.after}`,
    }),
  });
  const failures = new FailureWindow(o.authFailures, o.windowMs);
  const key = (req: FastifyRequest) => req.ip;
  return {
    route: (kind) => {
      switch (kind) {
        case 'health':
          return false;
        case 'write':
          return { max: o.writes, timeWindow: o.windowMs };
        case 'upload':
          return { max: o.uploads, timeWindow: o.windowMs };
        case 'read':
          return undefined;
      }
    },
    authBlockedForMs: (req) => (allowed.has(key(req)) ? 0 : failures.blockedForMs(key(req))),
    authFailed: (req) => {
      if (!allowed.has(key(req))) failures.add(key(req));
    },
  };
}

/**
 * Counts events per key in fixed windows and says how long a key that reached the maximum must wait. Holds at most
 * maxKeys keys (oldest dropped first), so a flood from many addresses cannot grow it without bound.
 */
export class FailureWindow {
  private readonly entries = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  add(key: string, now = Date.now()): void {
    const e = this.entries.get(key);
    if (e && now < e.resetAt) {
      e.count++;
      return;
    }
    this.entries.delete(key);
    this.entries.set(key, { count: 1, resetAt: now + this.windowMs });
    if (this.entries.size > this.maxKeys) this.prune(now);
  }

  blockedForMs(key: string, now = Date.now()): number {
    const e = this.entries.get(key);
    if (!e || now >= e.resetAt || e.count < this.max) return 0;
    return e.resetAt - now;
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(now: number): void {
    for (const [k, e] of this.entries) if (now >= e.resetAt) this.entries.delete(k);
    // Still too many live keys: drop the oldest (Map keeps insertion order, and add() re-inserts on a new window).
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxKeys) break;
      this.entries.delete(k);
    }
  }
}
