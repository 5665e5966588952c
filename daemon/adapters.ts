import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import type { InputAdapter, OutputAdapter } from '../adapters/types.ts';
import type { FinishedWorkLedger } from '../adapters/work-queue.ts';
import type { InputConfig, OutputConfig } from '../config/schema.ts';
import type { PipelineLogger } from '../pipelines/ports.ts';
import type { Store } from './store/store.ts';

/** Builds the configured input adapters (loaded lazily: serialport and mqtt load only when configured). */
export async function createInputs(
  configs: readonly InputConfig[],
  store: Store,
  defaultInstrument: string,
  log: PipelineLogger,
  /** This daemon's node id: names its connection to the work queue. */
  node: string = hostname(),
  /** On a site: the ledger of finished queue jobs every node's queue inputs share. */
  ledger?: FinishedWorkLedger,
): Promise<InputAdapter[]> {
  const out: InputAdapter[] = [];
  for (const c of configs) {
    switch (c.type) {
      case 'folder': {
        const { FolderInput } = await import('../adapters/folder.ts');
        out.push(
          new FolderInput({
            ...c,
            instrument: c.instrument ?? defaultInstrument,
            alreadyProcessed: (key) => store.ledgerOutcome(key),
            createMissing: true,
            onRefused: (path, reason) => log.warn({ adapter: c.name, path, reason }, 'file refused'),
            emitRefusals: true,
            onRescued: (path) => log.warn({ adapter: c.name, path }, 'file found by the periodic rescan: the watcher had missed it'),
            onRenamed: (from, to, reason) => log.warn({ adapter: c.name, from, to, reason }, 'file renamed: its name was not valid UTF-8'),
          }),
        );
        break;
      }
      case 'serial': {
        const { SerialInput } = await import('../adapters/serial.ts');
        out.push(
          new SerialInput({
            ...c,
            instrument: c.instrument ?? defaultInstrument,
            onDropped: (e) => log.warn({ adapter: c.name, ...e }, 'serial bytes dropped'),
          }),
        );
        break;
      }
      case 'mqtt': {
        const { MqttInput } = await import('../adapters/mqtt-input.ts');
        out.push(
          new MqttInput({
            ...c,
            clientId: c.clientId ?? defaultMqttClientId(c.name),
            instrumentTopicLevel: c.instrumentTopicLevel ?? (c.instrument ? undefined : defaultInstrumentTopicLevel(c.topics)),
          }),
        );
        break;
      }
      case 'queue': {
        const [{ QueueInput }, { NatsQueue }] = await Promise.all([import('../adapters/queue-input.ts'), import('../adapters/nats-queue.ts')]);
        out.push(
          new QueueInput({
            ...c,
            queue: new NatsQueue({ ...c, clientName: `spectrad-${node}-${c.name}` }),
            ...(ledger ? { ledger } : {}),
            extendEveryMs: Math.max(250, Math.floor(c.leaseMs / 4)),
            instrumentTopicLevel: c.instrumentTopicLevel ?? (c.instrument ? undefined : defaultInstrumentTopicLevel(c.subjects.map((s) => s.replace(/\./g, '/').replace(/\*/g, '+')))),
            onEvent: (e) => {
              if (e.kind === 'redelivered') log.info({ adapter: c.name, queue: e }, 'queue redelivered: taking over a spectrum another node did not finish');
              else if (e.kind === 'already-finished') log.info({ adapter: c.name, queue: e }, 'queue job already finished on the site: acknowledged, not identified again');
              else if (e.kind === 'dead-letter') log.warn({ adapter: c.name, queue: e }, 'queue dead letter: a spectrum no node could finish');
              else log.warn({ adapter: c.name, queue: e }, 'queue error');
            },
          }),
        );
        break;
      }
    }
  }
  return out;
}

export async function createOutputs(
  configs: readonly OutputConfig[],
  httpServer: HttpServer | undefined,
  queueDepth: () => number,
  log: PipelineLogger,
  /** This daemon's node id: MQTT bridge topics and the Influx node tag. */
  node: string,
  /** Checks each socket.io request (Host, Origin); returns why it is refused. */
  allowSocketRequest?: (req: IncomingMessage) => string | undefined,
): Promise<OutputAdapter[]> {
  const out: OutputAdapter[] = [];
  for (const c of configs) {
    switch (c.type) {
      case 'mqtt': {
        const { MqttOutput } = await import('../adapters/mqtt-output.ts');
        out.push(new MqttOutput({ ...c, node }));
        break;
      }
      case 'influx': {
        const { InfluxOutput } = await import('../adapters/influx-output.ts');
        out.push(
          new InfluxOutput({ ...c, node, queueDepth }),
        );
        break;
      }
      case 'socketio': {
        if (!httpServer) {
          log.warn({ output: c.name }, 'socket.io output needs the HTTP server (http.enabled: true); skipped');
          break;
        }
        const { SocketIoOutput } = await import('../adapters/socketio-output.ts');
        out.push(new SocketIoOutput({ ...c, server: httpServer, allowRequest: allowSocketRequest }));
        break;
      }
    }
  }
  return out;
}

/** Files the folder inputs' periodic rescans found after the watcher missed them (GET /api/health counts.rescuedFiles). */
export function rescuedFiles(inputs: readonly InputAdapter[]): number {
  return inputs.reduce((n, i) => n + (('rescued' in i && typeof i.rescued === 'number') ? i.rescued : 0), 0);
}

/**
 * The documented topic layout `spectrad/<instrument>/spectrum` names the instrument at level 1: when every topic
 * follows it (directly or under `$share/<group>/`, which the broker strips from delivered topics), level 1 is used.
 */
export function defaultInstrumentTopicLevel(topics: readonly string[]): number | undefined {
  const plain = topics.map((t) => t.replace(/^\$share\/[^/]+\//, ''));
  return plain.length > 0 && plain.every((t) => /^spectrad\/\+\//.test(t)) ? 1 : undefined;
}

/**
 * Persistent MQTT sessions are keyed by clientId, so two machines with the same config must not share one: the broker
 * would kick one off each time the other connects. The hostname makes this fallback unique per machine; a loaded
 * config always names the client id (`<mqtt.clientId>-<name>`, default `spectrad-<node id>-<name>`).
 */
export function defaultMqttClientId(inputName: string, host: string = hostname()): string {
  const safeHost = host.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'host';
  return `spectrad-${safeHost}-${inputName}`;
}
