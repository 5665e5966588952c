/**
 * `npm run reliability:outages [-- --hold S] [-- --n N]`: every outage of support/reliability/outage-harness.ts
 * against one real daemon, with longer outages than the test suite (default 20 s each, 30 spectra per outage) so the
 * reconnect backoff and the replay of a real backlog show in the figures; prints a table and writes
 * bench/results/reliability-outages.json. Exits 1 when anything was lost or doubled or an alert was missing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stopAllServers } from '../../support/servers.ts';
import { diskFull, OUTAGE_SCENARIOS, startOutageRig, type OutageFigures } from '../../support/reliability/outage-harness.ts';

const { values } = parseArgs({
  options: {
    hold: { type: 'string', default: '20' },
    n: { type: 'string', default: '30' },
    out: { type: 'string', default: 'bench/results/reliability-outages.json' },
  },
});
const holdMs = Number(values.hold) * 1000;
const n = Number(values.n);
if (!(holdMs >= 0 && Number.isInteger(n) && n >= 1)) throw new RangeError(`bad --hold ${values.hold} or --n ${values.n}`);

const started = Date.now();
const rig = await startOutageRig();
const figures: OutageFigures[] = [];
try {
  for (const scenario of OUTAGE_SCENARIOS) {
    const f = await scenario(rig, { n: scenario === diskFull ? Math.max(1, Math.round(n / 3)) : n, holdMs });
    console.log(JSON.stringify(f));
    figures.push(f);
  }
} finally {
  await rig.close();
  await stopAllServers();
}

const alertsOk = (f: OutageFigures) => Object.values(f.alerts).every(Boolean) && f.alerts.downAlerts === 1;
const header = ['outage', 'fed', 'stored', 'delivered', 'lost', 'dup', 'buffered', 'replayed', 'down s', 'recovery s', 'alert raised+cleared'];
const rows = figures.map((f) => [f.adapter, f.fed, f.stored, f.delivered, f.lost, f.duplicated, f.buffered, f.replayed, f.downtimeS, f.recoveryS, alertsOk(f) ? 'yes' : JSON.stringify(f.alerts)].map(String));
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
mkdirSync(path.dirname(values.out), { recursive: true });
writeFileSync(
  values.out,
  JSON.stringify({ test: 'outages', at: new Date().toISOString(), holdS: holdMs / 1000, perOutage: n, seconds: Math.round((Date.now() - started) / 1000), figures }, null, 2) + '\n',
);
console.log(`wrote ${values.out}`);
process.exitCode = figures.every((f) => f.lost === 0 && f.duplicated === 0 && f.stored === f.fed && alertsOk(f)) ? 0 : 1;
