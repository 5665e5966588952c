/** What the MQTT input and output share: how to reach and log in to the broker, and safe topic segments. */
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';

/** TLS towards the broker: PEM files, read at connect time. */
export interface MqttTlsOptions {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Refuse a broker certificate that does not verify (default true). */
  readonly rejectUnauthorized?: boolean;
  readonly servername?: string;
}

export interface MqttConnectionOptions {
  /** mqtt://host:1883, mqtts://..., ws://... */
  readonly url: string;
  readonly username?: string;
  /** From the environment in production (config holds the variable name, not the secret). */
  readonly password?: string;
  readonly clientId?: string;
  /** Delay between reconnect attempts (default 1000 ms). */
  readonly reconnectPeriodMs?: number;
  readonly connectTimeoutMs?: number;
  readonly keepaliveSec?: number;
  readonly tls?: MqttTlsOptions;
}

export function baseClientOptions(o: MqttConnectionOptions): IClientOptions {
  return {
    protocolVersion: 5,
    reconnectPeriod: o.reconnectPeriodMs ?? 1000,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    keepalive: o.keepaliveSec ?? 30,
    ...(o.clientId ? { clientId: o.clientId } : {}),
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.tls ? tlsClientOptions(o.tls) : {}),
  };
}

function tlsClientOptions(t: MqttTlsOptions): IClientOptions {
  return {
    rejectUnauthorized: t.rejectUnauthorized ?? true,
    ...(t.caFile ? { ca: readFileSync(t.caFile) } : {}),
    ...(t.certFile ? { cert: readFileSync(t.certFile) } : {}),
    ...(t.keyFile ? { key: readFileSync(t.keyFile) } : {}),
    ...(t.servername ? { servername: t.servername } : {}),
  };
}

/**
 * An instrument name as one topic level: MQTT wildcards (+ #), the level separator and control characters would
 * change which subscribers see the message, so they become '_'.
 */
export function topicSegment(name: string): string {
  // Control characters are refused by brokers in topic names; matching them is the point here.
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[+#/\u0000-\u001f\u007f]/g, '_').trim();
  return cleaned.length ? cleaned : '_';
}

/** Error text for logs and adapter state without the password (URLs may carry user:pass@). */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\/\/[^/@\s]*@/g, '//***@');
}
