/** What the MQTT input and output share: how to reach and log in to the broker, and safe topic segments. */
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { z } from 'zod';
import type { mqttOutputSchema, mqttTlsSchema } from '../config/schema.ts';

/** TLS towards the broker (config/schema.ts `mqttTlsSchema`): PEM files, read at connect time. */
type MqttTlsOptions = Readonly<z.input<typeof mqttTlsSchema>>;

/**
 * How to reach and log in to the broker: the config's keys (url, username, password, clientId, tls; the password
 * already read from its file or the environment by config/load.ts), plus timings only code sets.
 */
export interface MqttConnectionOptions extends Readonly<Pick<z.input<typeof mqttOutputSchema>, 'url' | 'username' | 'password' | 'clientId'>> {
  readonly tls?: MqttTlsOptions;
  /** Delay between reconnect attempts (default 1000 ms). */
  readonly reconnectPeriodMs?: number;
  readonly connectTimeoutMs?: number;
  readonly keepaliveSec?: number;
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
