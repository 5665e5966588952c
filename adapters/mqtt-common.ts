/** What the MQTT input and output share: how to reach and log in to the broker, and safe topic segments. */
import type { IClientOptions } from 'mqtt';

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
