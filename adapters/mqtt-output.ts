/**
 * MQTT output: results on <prefix>/<instrument>/result and alerts on <prefix>/<instrument>/alert (QoS 1, JSON shaped
 * by core/messages.ts and docs/RESULT-SCHEMA.json); the bridge's own state retained on <prefix>/bridge/<node>/state
 * ('online', or 'offline' from the last will when the daemon dies) and each adapter's state retained on
 * <prefix>/bridge/<node>/adapters/<name>, as zigbee2mqtt does. The node level keeps the daemons of one site from
 * overwriting each other's retained state.
 *
 * publishResult resolves only after the broker's PUBACK. While the broker is unreachable it throws
 * OutputUnavailableError at once instead of queueing inside mqtt.js: the daemon's outbox owns buffering and replay.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Observable } from 'rxjs';
import type { AdapterState, AlertMessage, ResultMessage } from '../core/messages.ts';
import { AdapterStateTracker } from './adapter-state.ts';
import type { z } from 'zod';
import type { mqttOutputSchema } from '../config/schema.ts';
import { OutputUnavailableError } from './errors.ts';
import { baseClientOptions, describeError, topicSegment, type MqttConnectionOptions } from './mqtt-common.ts';
import type { OutputAdapter } from './types.ts';

/**
 * The MQTT output's options: the config's keys (config/schema.ts `mqttOutputSchema`: topicPrefix, qos, retain and the
 * connection), as the YAML names them, plus what only code passes. Absent keys fall back to the schema's defaults.
 */
export interface MqttOutputOptions
  extends MqttConnectionOptions,
    Readonly<Omit<z.input<typeof mqttOutputSchema>, 'type' | 'name' | 'passwordFile' | 'tls'>> {
  readonly name: string;
  /** This daemon's node id: the level under <prefix>/bridge/ that holds its retained state. */
  readonly node: string;
  /** A publish without PUBACK by then fails and goes back to the outbox (default 10 s). */
  readonly publishTimeoutMs?: number;
  /** Longest wait in start() for the first connection or the first failure (default 10 s). */
  readonly startWaitMs?: number;
}

export interface BridgeState {
  readonly state: 'online' | 'offline';
  readonly at?: string;
  readonly node?: string;
}

export class MqttOutput implements OutputAdapter {
  readonly name: string;
  private readonly state: AdapterStateTracker;
  private readonly prefix: string;
  private client: MqttClient | undefined;
  /** The latest state of every adapter, sent again on each (re)connect: changes made while disconnected are not lost. */
  private readonly adapterStates = new Map<string, AdapterState>();

  constructor(private readonly options: MqttOutputOptions) {
    this.name = options.name;
    this.state = new AdapterStateTracker(options.name, 'mqtt-out');
    this.prefix = options.topicPrefix ?? 'spectrad';
    if (!this.prefix || /[+#]/.test(this.prefix)) throw new RangeError(`mqtt output ${options.name}: bad topic prefix '${this.prefix}'`);
    if (!options.node) throw new RangeError(`mqtt output ${options.name}: a node id is required`);
  }

  get state$(): Observable<AdapterState> {
    return this.state.state$;
  }

  topicFor(instrument: string, kind: 'result' | 'alert'): string {
    return `${this.prefix}/${topicSegment(instrument)}/${kind}`;
  }

  get bridgeStateTopic(): string {
    return `${this.bridgePrefix}/state`;
  }

  adapterStateTopic(adapter: string): string {
    return `${this.bridgePrefix}/adapters/${topicSegment(adapter)}`;
  }

  private get bridgePrefix(): string {
    return `${this.prefix}/bridge/${topicSegment(this.options.node)}`;
  }

  async start(): Promise<void> {
    if (this.client) return;
    this.state.set('starting');
    const offline: BridgeState = { state: 'offline', node: this.options.node };
    const client = mqtt.connect(this.options.url, {
      ...baseClientOptions(this.options),
      clean: true,
      will: { topic: this.bridgeStateTopic, payload: Buffer.from(JSON.stringify(offline)), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => {
      const online: BridgeState = { state: 'online', at: new Date().toISOString(), node: this.options.node };
      client.publish(this.bridgeStateTopic, JSON.stringify(online), { qos: 1, retain: true });
      for (const s of this.adapterStates.values()) client.publish(this.adapterStateTopic(s.name), JSON.stringify(s), { qos: 1, retain: true });
      this.state.set('up');
    });
    client.on('close', () => this.state.set('down', 'disconnected from broker'));
    client.on('error', (err) => this.state.set('down', describeError(err)));
    await new Promise<void>((resolve) => {
      // Connected, or a first failure (refused login, no broker): the daemon goes on either way; reconnects continue.
      const timer = setTimeout(done, this.options.startWaitMs ?? 10_000);
      client.once('connect', done);
      client.once('error', done);
      client.once('close', done);
      function done() {
        clearTimeout(timer);
        client.off('connect', done);
        client.off('error', done);
        client.off('close', done);
        resolve();
      }
    });
  }

  publishResult(result: ResultMessage): Promise<void> {
    return this.publish(this.topicFor(result.instrument, 'result'), JSON.stringify(result), this.options.retain ?? false, this.options.qos ?? 1);
  }

  publishAlert(alert: AlertMessage): Promise<void> {
    return this.publish(this.topicFor(alert.instrument, 'alert'), JSON.stringify(alert), this.options.retain ?? false, this.options.qos ?? 1);
  }

  /**
   * Retained, so a dashboard that subscribes later sees every adapter's current state. While disconnected the state
   * is only kept: the next connect publishes every adapter's latest state.
   */
  publishAdapterState(state: AdapterState): Promise<void> {
    this.adapterStates.set(state.name, state);
    if (!this.client?.connected) return Promise.resolve();
    return this.publish(this.adapterStateTopic(state.name), JSON.stringify(state), true, 1);
  }

  /** Says 'offline' (retained) and disconnects cleanly. */
  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    if (client.connected) {
      const offline: BridgeState = { state: 'offline', at: new Date().toISOString(), node: this.options.node };
      await withTimeout(client.publishAsync(this.bridgeStateTopic, JSON.stringify(offline), { qos: 1, retain: true }), 2000).catch(() => undefined);
    }
    await client.endAsync();
    this.state.set('stopped');
  }

  private async publish(topic: string, body: string, retain: boolean, qos: 0 | 1 | 2): Promise<void> {
    const client = this.client;
    if (!client?.connected) {
      throw new OutputUnavailableError(this.name, `not connected to ${redactUrl(this.options.url)}`);
    }
    try {
      await withTimeout(client.publishAsync(topic, body, { qos, retain }), this.options.publishTimeoutMs ?? 10_000);
    } catch (err) {
      throw new OutputUnavailableError(this.name, `publish to ${topic} failed: ${describeError(err)}`, { cause: err });
    }
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@\s]*@/, '//***@');
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no acknowledgement within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
