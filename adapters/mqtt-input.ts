/**
 * MQTT input (MQTT 5): subscriptions with QoS 1 on a persistent session (fixed clientId, clean start off, session
 * expiry > 0), so spectra published while the daemon is away wait at the broker.
 *
 * Delayed acknowledgement: the PUBACK for a message is sent only when the pipeline calls ack() (after the store
 * commit). An un-acked message is redelivered by the broker after a reconnect. mqtt.js sends the PUBACK from the
 * callback of client.handleMessage and will not read the next packet until that callback runs, so waiting there would
 * let only one spectrum in at a time and starve micro-batching. Instead handleMessage releases the packet pump at once
 * with an error (which mqtt.js takes as "do not PUBACK") and this adapter sends the PUBACK itself later. PUBACKs go
 * out in the order the messages arrived (MQTT 5, 4.6: a receiver MUST acknowledge in order), so an early ack waits for
 * earlier messages; how many un-acked messages the broker sends at once is bounded by receiveMaximum.
 *
 * Shared subscriptions ($share/<group>/<filter>) let several daemons split one topic: each message goes to one of
 * them.
 */
import { createHash } from 'node:crypto';
import mqtt, { type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Observable } from 'rxjs';
import type { z } from 'zod';
import type { mqttInputSchema } from '../config/schema.ts';
import { isInstrumentName, type AdapterState } from '../core/messages.ts';
import { AdapterStateTracker, InputSink } from './adapter-state.ts';
import { baseClientOptions, describeError, type MqttConnectionOptions } from './mqtt-common.ts';
import type { InputAdapter, RawInput } from './types.ts';

/**
 * The MQTT input's options: the config's keys (config/schema.ts `mqttInputSchema`: topics, qos, clean,
 * sessionExpirySec, protocolVersion, instrument, instrumentTopicLevel, ...), as the YAML names them, plus what only
 * code passes. Absent keys fall back to the adapter's own defaults, given below where they matter.
 */
export interface MqttInputOptions
  extends MqttConnectionOptions,
    Readonly<Omit<z.input<typeof mqttInputSchema>, 'type' | 'name' | 'format' | 'passwordFile' | 'clientId' | 'topics' | 'tls'>> {
  readonly name: string;
  /** Required and fixed: the broker keeps the session (and un-acked messages) under this id. */
  readonly clientId: string;
  /** Topic filters; '$share/<group>/<filter>' for a shared subscription. */
  readonly topics: readonly string[];
  /** Un-acked QoS 1 messages the broker may send at once (default 256; mosquitto also caps it by max_inflight_messages). */
  readonly receiveMaximum?: number;
  /** Longest wait in start() for the first subscription or the first failure (default 10 s). */
  readonly startWaitMs?: number;
  /** How long stop() waits for the pipeline to settle messages it already has (default 5 s). */
  readonly stopGraceMs?: number;
  /**
   * Largest packet the broker may send (MQTT 5 Maximum Packet Size; default 64 MiB, the readers' own limit): a larger
   * message is dropped by the broker instead of being buffered here whole.
   */
  readonly maxMessageBytes?: number;
}

/** A marker error: tells mqtt.js to go on with the next packet without sending the PUBACK. */
const DEFERRED_ACK = new Error('PUBACK deferred until the pipeline acknowledges');

/** MQTT 5 PUBACK reason codes used here. */
const PUBACK_SUCCESS = 0x00;
const PUBACK_PAYLOAD_FORMAT_INVALID = 0x99;

interface PendingAck {
  readonly messageId: number;
  reasonCode: number | undefined;
}

/** What the pipeline's parser should expect, from the MQTT 5 content type or the first bytes of the payload. */
export function sniffPayloadFormat(payload: Buffer, contentType?: string): string {
  if (contentType) return contentType;
  let i = 0;
  while (i < payload.length && (payload[i] === 0x20 || payload[i] === 0x09 || payload[i] === 0x0a || payload[i] === 0x0d || payload[i] === 0xef || payload[i] === 0xbb || payload[i] === 0xbf)) i++;
  if (payload[i] === 0x7b) return 'application/json';
  if (payload[i] === 0x23 && payload[i + 1] === 0x23) return 'chemical/x-jcamp-dx';
  return 'text/plain';
}

export class MqttInput implements InputAdapter {
  readonly name: string;
  private readonly state: AdapterStateTracker;
  private readonly sink = new InputSink<RawInput>();
  private client: MqttClient | undefined;
  /** Bumped on every (re)connect: a PUBACK is only valid on the connection its PUBLISH came in on. */
  private generation = 0;
  private acks: PendingAck[] = [];
  private subscribed = false;
  private stopping = false;
  private pausedNow = false;
  /**
   * Messages that arrived while paused: not emitted and not acknowledged. The broker sends at most receiveMaximum
   * un-acknowledged messages, so this stays small and the rest wait at the broker in the session.
   */
  private held: Array<{ raw: RawInput; generation: number }> = [];

  constructor(private readonly options: MqttInputOptions) {
    this.name = options.name;
    this.state = new AdapterStateTracker(options.name, 'mqtt-in');
    if (!options.clientId) throw new RangeError(`mqtt input ${options.name}: a fixed clientId is required for a persistent session`);
    if (options.topics.length === 0) throw new RangeError(`mqtt input ${options.name}: no topics given`);
  }

  get inputs$(): Observable<RawInput> {
    return this.sink.output$;
  }

  get state$(): Observable<AdapterState> {
    return this.state.state$;
  }

  /** Backpressure: hold new messages unacknowledged (the broker stops sending at receiveMaximum) until resume(). */
  pause(): void {
    this.pausedNow = true;
  }

  resume(): void {
    if (!this.pausedNow) return;
    this.pausedNow = false;
    const held = this.held;
    this.held = [];
    // Messages of an earlier connection are redelivered by the broker on this one: emitting them would only duplicate.
    for (const h of held) if (h.generation === this.generation && !this.stopping) this.sink.emit(h.raw);
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  /** Messages held back by pause(). */
  get heldCount(): number {
    return this.held.length;
  }

  /** Messages received and not yet acknowledged to the broker. */
  get unacked(): number {
    return this.acks.length;
  }

  async start(): Promise<void> {
    if (this.client) return;
    this.state.set('starting');
    const o = this.options;
    const v5 = (o.protocolVersion ?? 5) === 5;
    const client = mqtt.connect(o.url, {
      ...baseClientOptions(o),
      protocolVersion: v5 ? 5 : 4,
      clientId: o.clientId,
      clean: o.clean ?? false,
      manualConnect: true,
      resubscribe: false, // subscribe() below runs on every connect that comes without a session
      ...(v5
        ? {
            properties: {
              // MQTT 5 ends a session at disconnect unless it is given an expiry.
              sessionExpiryInterval: o.clean ? 0 : (o.sessionExpirySec ?? 7 * 24 * 3600),
              receiveMaximum: o.receiveMaximum ?? 256,
              maximumPacketSize: o.maxMessageBytes ?? 64 * 1024 * 1024,
            },
          }
        : {}),
    });
    if (typeof client['_sendPacket'] !== 'function') {
      // Guards an mqtt.js upgrade that renames its internal send: without it no PUBACK could ever be sent.
      throw new Error(`mqtt input ${this.name}: this mqtt.js has no _sendPacket; delayed PUBACK needs mqtt 5.x`);
    }
    client.handleMessage = (packet, done) => this.onPublish(packet, done);
    client.on('connect', (connack) => void this.onConnect(connack));
    client.on('close', () => this.state.set('down', 'disconnected from broker'));
    client.on('error', (err) => this.state.set('down', describeError(err)));
    this.client = client;
    client.connect();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, o.startWaitMs ?? 10_000);
      // Up, or a first failure (refused login, no broker): either way the daemon goes on; reconnects continue.
      const sub = this.state.state$.subscribe((s) => {
        if (s.state === 'up' || s.state === 'down') finish();
      });
      function finish() {
        clearTimeout(timer);
        queueMicrotask(() => sub.unsubscribe());
        resolve();
      }
    });
  }

  /**
   * Stops emitting at once, gives the pipeline up to stopGraceMs to settle what it already has (so a clean shutdown
   * does not cause redeliveries), then disconnects. Whatever is not acknowledged by then is redelivered on the next
   * start. The session and its subscriptions stay at the broker.
   */
  async stop(): Promise<void> {
    const client = this.client;
    if (!client || this.stopping) return;
    this.stopping = true;
    const deadline = Date.now() + (this.options.stopGraceMs ?? 5000);
    while (this.acks.length && client.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.client = undefined;
    this.generation++;
    this.acks = [];
    this.held = [];
    await client.endAsync();
    this.state.set('stopped');
    this.sink.complete();
  }

  private async onConnect(connack: IConnackPacket): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.generation++;
    this.acks = [];
    this.held = [];
    if (!connack.sessionPresent || !this.subscribed) {
      try {
        const grants = await client.subscribeAsync(
          this.options.topics.map((t) => t),
          // QoS 2 is subscribed as 1: a delayed acknowledgement cannot be held across a restart in the QoS 2
          // handshake (mqtt.js keeps its state in memory), and QoS 1 plus the store's dedupKey ledger already gives
          // each spectrum once. 0: no acknowledgement and no redelivery. Absent: 1.
          { qos: this.options.qos === 0 ? 0 : 1 },
        );
        const refused = grants.filter((g) => g.qos > 2);
        if (refused.length) {
          this.state.set('down', `subscription refused: ${refused.map((g) => g.topic).join(', ')}`);
          return;
        }
        this.subscribed = true;
      } catch (err) {
        this.state.set('down', `subscribe failed: ${describeError(err)}`);
        return;
      }
    }
    this.state.set('up');
  }

  private onPublish(packet: IPublishPacket, done: (err?: Error) => void): void {
    const topic = packet.topic.toString();
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (this.stopping) {
      // Not emitted and not acknowledged: the broker keeps it for the next start.
      done(packet.qos > 0 ? DEFERRED_ACK : undefined);
      return;
    }
    const generation = this.generation;
    let pending: PendingAck | undefined;
    if (packet.qos > 0 && packet.messageId !== undefined) {
      pending = { messageId: packet.messageId, reasonCode: undefined };
      this.acks.push(pending);
    }
    const settle = async (reasonCode: number) => {
      if (!pending || pending.reasonCode !== undefined) return;
      pending.reasonCode = reasonCode;
      // A PUBACK for an earlier connection would acknowledge some other message: the broker redelivers this one
      // instead, and the store ledger recognises it by its dedupKey.
      if (generation === this.generation) this.flushAcks();
    };
    const props = packet.properties;
    const given = props?.userProperties?.['dedup-key'];
    const userKey = Array.isArray(given) ? given[0] : given;
    // Without a key the same payload on the same topic is the same measurement (a redelivery); a publisher that
    // repeats a measurement on purpose sends a dedup-key per measurement (docs/ADAPTERS.md). The publisher's key lives
    // in its own namespace, so it cannot name (and suppress) a file input's key.
    const dedupKey =
      userKey !== undefined && userKey.length > 0 && userKey.length <= MAX_DEDUP_KEY
        ? `mqtt-key:${userKey}`
        : `mqtt:${topic}:${createHash('sha256').update(payload).digest('hex').slice(0, 32)}`;
    const fromTopic = this.options.instrument === undefined ? this.instrumentFromTopic(topic) : undefined;
    const instrument = this.options.instrument ?? (fromTopic !== undefined && isInstrumentName(fromTopic) ? fromTopic : undefined);
    const refused = refusalOf(userKey, fromTopic, this.options.instrumentTopicLevel);
    const raw: RawInput = {
      adapter: this.name,
      source: topic,
      ...(instrument ? { instrument } : {}),
      receivedAt: new Date().toISOString(),
      formatHint: sniffPayloadFormat(payload, props?.contentType),
      payload,
      dedupKey,
      ...(refused ? { refused } : {}),
      ack: () => settle(PUBACK_SUCCESS),
      reject: () => settle(PUBACK_PAYLOAD_FORMAT_INVALID),
    };
    // Only a QoS 1 message can wait (the broker keeps it until PUBACK); QoS 0 would be lost, so it goes on to the store.
    if (this.pausedNow && pending) this.held.push({ raw, generation });
    else this.sink.emit(raw);
    // QoS 0 has nothing to acknowledge: plain done. QoS 1: go on reading packets, PUBACK later.
    done(pending ? DEFERRED_ACK : undefined);
  }

  private instrumentFromTopic(topic: string): string | undefined {
    const level = this.options.instrumentTopicLevel;
    if (level === undefined) return undefined;
    const part = topic.split('/')[level];
    return part || undefined;
  }

  /** Sends the PUBACKs at the head of the queue that are settled, in arrival order. */
  private flushAcks(): void {
    const client = this.client;
    while (client && this.acks.length && this.acks[0].reasonCode !== undefined) {
      const { messageId, reasonCode } = this.acks.shift()!;
      // _sendPacket is mqtt.js's own path for PUBACKs (handlers/publish.ts); there is no public API for a late one.
      client['_sendPacket']({ cmd: 'puback', messageId, reasonCode });
    }
  }
}

/** Longest dedup-key user property taken (characters); a longer one is refused, not cut (cut keys could collide). */
const MAX_DEDUP_KEY = 200;

/** Why a message is recorded as rejected before it is parsed: an instrument name or a dedup-key the rules refuse. */
function refusalOf(userKey: string | undefined, fromTopic: string | undefined, level: number | undefined): RawInput['refused'] {
  if (fromTopic !== undefined && !isInstrumentName(fromTopic)) {
    const shown = fromTopic.length > 60 ? `${fromTopic.slice(0, 60)}... (${fromTopic.length} characters)` : fromTopic;
    return {
      code: 'bad-instrument-name',
      message: `instrument name ${JSON.stringify(shown)} (topic level ${level}) must be 1-64 letters, digits, _ . - starting with a letter or digit`,
    };
  }
  if (userKey !== undefined && (userKey.length === 0 || userKey.length > MAX_DEDUP_KEY)) {
    return { code: 'bad-dedup-key', message: `the dedup-key user property must be 1-${MAX_DEDUP_KEY} characters, got ${userKey.length}` };
  }
  return undefined;
}
