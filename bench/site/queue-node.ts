/**
 * A site node for `npm run bench:site` on an engine the daemon's config does not offer: the real daemon
 * (`startDaemon`, the same composition root as `spectrad run`, same store, model and pipeline) with a queue input on
 * that engine attached beside its configured inputs. Used to measure the engines against each other.
 *
 *   node bin/run-ts.js bench/site/queue-node.ts --config FILE --engine nats|postgres --url URL --node ID [--lease-ms N]
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { NatsQueue } from '../../adapters/nats-queue.ts';
import { PgQueue } from './pg-queue.ts';
import { QueueInput } from '../../adapters/queue-input.ts';
import { loadConfig } from '../../config/load.ts';
import { startDaemon } from '../../daemon/run.ts';
import { abandonPendingOf } from '../../daemon/store/abandon-pending.ts';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    engine: { type: 'string' },
    url: { type: 'string' },
    node: { type: 'string' },
    'lease-ms': { type: 'string', default: '10000' },
    'max-in-flight': { type: 'string', default: '64' },
  },
});
const leaseMs = Number(values['lease-ms']);
const node = values.node ?? 'bench';
const config = loadConfig({ file: values.config, overrides: { nodeId: node } });
// What the daemon does for its configured queue inputs before reading back its pending set (daemon/parts/pipeline.ts).
if (existsSync(config.store.path)) {
  const db = new Database(config.store.path);
  abandonPendingOf(db, ['site-queue']);
  db.close();
}
const daemon = await startDaemon(config);
const queue =
  values.engine === 'nats'
    ? new NatsQueue({ url: values.url!, leaseMs: leaseMs, clientName: node })
    : new PgQueue({ url: values.url!, leaseMs, node });
const input = new QueueInput({
  name: 'site-queue',
  queue,
  instrumentTopicLevel: 1,
  maxInFlight: Number(values['max-in-flight']),
  extendEveryMs: Math.max(200, leaseMs / 4),
  onEvent: (e) => daemon.log.info({ queue: e }, `queue ${e.kind}`),
});
daemon.pipeline.attach(input.inputs$, input.name);
await input.start();
daemon.log.info({ engine: values.engine, node }, 'bench queue node up');

const stop = () => {
  void input
    .stop()
    .then(() => daemon.stop())
    .then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
