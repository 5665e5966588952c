import { hostname, networkInterfaces } from 'node:os';

/**
 * Which requests the daemon answers at all, by their Host and Origin headers: binding to 127.0.0.1 keeps other hosts
 * out but not web pages in the operator's own browser.
 *
 * - Host: a DNS-rebinding page (evil.example resolving to 127.0.0.1) reaches the daemon with `Host: evil.example`; only
 *   the configured names are answered (default: the localhost names and the bound address; with a wildcard bind,
 *   this machine's name and addresses). The port is not compared: a reverse proxy may forward from another one.
 * - Origin: a page on any origin can open a WebSocket to the daemon (WebSockets have no same-origin rule) and receive
 *   every live result. A request that carries an Origin must come from the daemon's own origin (the origin whose
 *   host:port is the request's Host, which passed the first check) or from one listed in `allowedOrigins` (e.g. the
 *   dashboard's dev server, a reverse proxy's public https origin). A request without Origin is not from a page's
 *   cross-origin script (browsers send it on every WebSocket and cross-origin request), so it passes: curl, the MQTT
 *   bridge, socket.io-client in Node.
 */
export interface RequestGuardOptions {
  /** The address the HTTP server binds (http.host). */
  readonly bindHost: string;
  /** Extra Host names answered (http.allowedHosts), e.g. the name a reverse proxy forwards. '*' answers any. */
  readonly allowedHosts?: readonly string[];
  /** Extra origins answered (http.allowedOrigins), e.g. 'https://lab.example.org'. '*' allows any. */
  readonly allowedOrigins?: readonly string[];
}

export interface GuardedHeaders {
  readonly host?: string | string[];
  readonly origin?: string | string[];
}

export type GuardRefusal = { readonly code: 'forbidden-host' | 'forbidden-origin'; readonly message: string };

const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1', 'localhost.localdomain', 'ip6-localhost'];
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** The Host names answered by default: localhost names, the bound address, and with a wildcard bind this machine's names. */
function defaultAllowedHosts(bindHost: string): string[] {
  const names = new Set(LOCAL_NAMES);
  const bound = bareHost(bindHost);
  if (!WILDCARDS.has(bound)) names.add(bound);
  else {
    names.add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(a.address.toLowerCase());
  }
  return [...names];
}

export type RequestGuard = (headers: GuardedHeaders) => GuardRefusal | undefined;

export function createRequestGuard(o: RequestGuardOptions): RequestGuard {
  const extraHosts = (o.allowedHosts ?? []).map((h) => bareHost(h));
  const anyHost = extraHosts.includes('*');
  const hosts = new Set([...defaultAllowedHosts(o.bindHost), ...extraHosts]);
  const anyOrigin = (o.allowedOrigins ?? []).includes('*');
  const origins = new Set((o.allowedOrigins ?? []).filter((x) => x !== '*').map((x) => normalizeOrigin(x)));
  return (headers) => {
    const host = single(headers.host);
    if (host === undefined || (!anyHost && !hosts.has(bareHost(host)))) {
      return { code: 'forbidden-host', message: `Host ${JSON.stringify(host ?? '')} is not one of this daemon's names (http.allowedHosts)` };
    }
    const origin = single(headers.origin);
    if (origin === undefined || anyOrigin) return undefined;
    const normalized = normalizeOrigin(origin);
    if (origins.has(normalized)) return undefined;
    // Same origin: the page was served by this daemon under the Host it asks now.
    if (normalized !== 'null' && hostPortOf(normalized) === host.toLowerCase()) return undefined;
    return { code: 'forbidden-origin', message: `Origin ${JSON.stringify(origin)} is not allowed (the daemon's own origin or http.allowedOrigins)` };
  };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
}

/** 'Example.org:8080' -> 'example.org'; '[::1]:8080' -> '::1'. */
function bareHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colons = h.split(':').length - 1;
  return colons === 1 ? h.slice(0, h.indexOf(':')) : h;
}

function normalizeOrigin(origin: string): string {
  const o = origin.trim().toLowerCase();
  try {
    return new URL(o).origin;
  } catch {
    return o;
  }
}

/** 'http://localhost:8080' -> 'localhost:8080' (the Host header a same-origin request carries; default ports left out). */
function hostPortOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
