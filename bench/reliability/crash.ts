/**
 * `npm run reliability:crash [-- --kills N] [-- --seed S]`: the crash harness (support/reliability/crash-harness.ts)
 * with >= 20 SIGKILLs of the real daemon while a folder and MQTT are fed; prints a table and writes
 * bench/results/reliability-crash.json. Exits 1 when anything was lost, stored twice or published under two ids.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stopAllServers } from '../../support/servers.ts';
import { runCrashHarness } from '../../support/reliability/crash-harness.ts';

const { values } = parseArgs({ options: { kills: { type: 'string', default: '20' }, seed: { type: 'string', default: '7' }, out: { type: 'string', default: 'bench/results/reliability-crash.json' } } });
const kills = Number(values.kills);
const seed = Number(values.seed);
if (!(Number.isInteger(kills) && kills >= 1 && Number.isInteger(seed))) throw new RangeError(`bad --kills ${values.kills} or --seed ${values.seed}`);

try {
  const f = await runCrashHarness({ kills, seed, progress: (l) => console.log(l) });
  const rows: Array<[string, string | number]> = [
    ['kills (SIGKILL)', f.kills],
    ['files fed (folder)', f.fedFiles],
    ['messages fed (MQTT, PUBACKed by the broker)', f.fedMqtt],
    ['stored results', f.storedResults],
    ['files in processed/', f.processedFiles],
    ['lost', f.lost],
    ['stored twice', f.duplicatedStored],
    ['result messages on MQTT', f.mqttMessages],
    ['distinct result ids on MQTT', f.mqttDistinctIds],
    ['redelivered downstream (same id)', f.mqttRedelivered],
    ['redeliveries with a different body', f.redeliveriesDiffering],
    ['inputs published under another id than stored', f.unstableIds],
    ['stored but never published', f.unpublished],
    ['inputs redelivered by their source, recognised by the ledger', f.ledgerRecognised],
    ['downtime per crash: restart to ready, median (s)', f.restartToReadyMedianS],
    ['lives killed before they were ready', f.killedBeforeReady],
    ['drain after the last restart (s)', f.drainSeconds],
    ['wall time (s)', f.seconds],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  mkdirSync(path.dirname(values.out), { recursive: true });
  writeFileSync(values.out, JSON.stringify({ test: 'crash (folder + MQTT)', at: new Date().toISOString(), ...f }, null, 2) + '\n');
  console.log(`wrote ${values.out}`);
  const ok = f.lost === 0 && f.duplicatedStored === 0 && f.unstableIds === 0 && f.unpublished === 0 && f.redeliveriesDiffering === 0 && f.processedFiles === f.fedFiles;
  process.exitCode = ok ? 0 : 1;
} finally {
  await stopAllServers();
}
