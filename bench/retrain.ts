/**
 * The daemon's identification latency while a background retraining runs, and across a model switch.
 *
 * The daemon runs in this process (real HTTP API, watched folder) on the bundled model with a demo library; JCAMP-DX
 * spectra are renamed into its inbox at a steady rate throughout. Phases, measured side by side in one run:
 *  - idle: no training;
 *  - retrain: POST /api/retrain (worker thread) until the candidate is kept;
 *  - idle-after: no training again (brackets the run: the load of a shared machine drifts);
 *  - switch: POST /api/models/:v/promote?force=true then /api/models/rollback (re-embed the library, switch between
 *    micro-batches) with spectra arriving; also checks that no result carries the old model after the first result
 *    of the new one (per switch).
 * Latency is the results' latencyMs (arrival in the daemon -> result), p50/p95/max per phase.
 * Per phase also the longest gap between consecutive results and the longest event-loop stall (perf_hooks).
 * Usage: npm run bench:retrain [-- --quick] [-- --rate R] [-- --epochs N] [-- --classes N --per-class M] [-- --out FILE]. Writes bench/results/retrain.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { parseConfig } from '../config/load.ts';
import type { ResultMessage } from '../core/messages.ts';
import { startDaemon } from '../daemon/run.ts';
import { dropFile, jcampText } from '../support/daemon-process.ts';
import { makeTempDir, sleep, waitFor } from '../support/servers.ts';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const rate = Number(arg('rate') ?? 5);
const epochs = Number(arg('epochs') ?? (quick ? 2 : 5));
const idleS = quick ? 8 : 20;
// The promotion's calibration grows with the library: --classes 500 --per-class 3 is the embedded default's demo.
const classCount = Number(arg('classes') ?? (quick ? 10 : 40));
const classes = Array.from({ length: classCount }, (_, i) => Math.floor((i * 500) / classCount));
const perClass = Number(arg('per-class') ?? (quick ? 5 : 10));

const root = makeTempDir('spectrad-bench-retrain-');
const inbox = join(root, 'inbox');
mkdirSync(inbox, { recursive: true });
const token = 'bench';
const config = parseConfig(
  [
    `dataDir: ${root}/data`,
    'instrument: bench',
    'inputs:',
    `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 20 }`,
    `http: { host: 127.0.0.1, port: 0, token: ${token} }`,
    `library: { demo: true, demoClasses: [${classes.join(', ')}], demoPerClass: ${perClass} }`,
    'pipeline: { batchSize: 8, windowMs: 5 }',
  ].join('\n'),
  join(root, 'spectrad.yaml'),
  { env: {} },
);
// The daemon's 'model switched' lines carry where each switch spent its time (load+export+self-check, re-embed,
// library+calibration, swap); everything else it logs is dropped.
const switchLogs: Array<Record<string, unknown>> = [];
const logger = pino({ level: 'info' }, { write: (line: string) => { if (line.includes('"model switched"') || line.includes('"calibration steps on the main thread"') || line.includes('calibration worker failed')) switchLogs.push(JSON.parse(line) as Record<string, unknown>); } });
const daemon = await startDaemon(config, { logger });
const base = daemon.url!;
const post = async (url: string, body?: unknown) =>
  (await fetch(base + url, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })).json() as Promise<Record<string, unknown>>;

let phase = 'warm-up';
// The main thread's longest stall per phase: a promotion that calibrates on the identification path shows here.
const loop = monitorEventLoopDelay({ resolution: 10 });
const loopMaxMs: Record<string, number> = {};
const enterPhase = (next: string) => {
  loopMaxMs[phase] = Math.max(loopMaxMs[phase] ?? 0, loop.max / 1e6);
  loop.reset();
  phase = next;
};
loop.enable();
const seen: Array<{ phase: string; latencyMs: number; modelVersion: string; at: number }> = [];
daemon.pipeline.results$.subscribe((r: ResultMessage) => seen.push({ phase, latencyMs: r.latencyMs, modelVersion: r.modelVersion, at: Date.now() }));

// Pre-render the files once: the feeder must not compete with the daemon for the CPU more than an instrument would.
const files = Array.from({ length: 30 }, (_, i) => jcampText(`bench ${i}`, classes[i % classes.length], i % 9));
let feeding = true;
let fed = 0;
const feeder = (async () => {
  while (feeding) {
    dropFile(inbox, `s${fed}.jdx`, files[fed % files.length]);
    fed++;
    await sleep(1000 / rate);
  }
})();

await sleep(3000);
enterPhase('idle');
await sleep(idleS * 1000);

enterPhase('retrain');
const t0 = Date.now();
const started = await post('/api/retrain', { epochs });
if (started.error) throw new Error(JSON.stringify(started));
const done = await waitFor('retrain done', async () => {
  const s = (await (await fetch(`${base}/api/retrain`)).json()) as { state: string; before?: unknown; after?: unknown };
  return ['kept', 'promoted', 'failed', 'cancelled'].includes(s.state) ? s : undefined;
}, 30 * 60_000, 500);
const retrainS = (Date.now() - t0) / 1000;

enterPhase('switch');
const switches: Array<{ to: string; ms: number; modelVersion: string; inference?: string; steps?: unknown; maxGapMs: number; stallPrepareMs: number; stallAfterMs: number }> = [];
for (const call of ['/api/models/v2/promote?force=true', '/api/models/rollback']) {
  // The event-loop stall split in two: while the new model is prepared (up to the answer), and its first 3 s in use.
  enterPhase('switch');
  const s0 = Date.now();
  const answer = await post(call);
  const s1 = Date.now();
  const stallPrepareMs = Math.round(loop.max / 1e6);
  enterPhase('switch');
  await sleep(3000);
  const stallAfterMs = Math.round(loop.max / 1e6);
  // Longest wait between consecutive results from the call until 3 s after its answer: the switch's own gap.
  const around = seen.filter((s) => s.at >= s0 && s.at <= Date.now());
  const gap = around.slice(1).reduce((m, s, i) => Math.max(m, s.at - around[i].at), 0);
  switches.push({ to: String(answer.version), ms: s1 - s0, modelVersion: String(answer.modelVersion), inference: daemon.health().inference, steps: switchLogs.findLast((l) => l.msg === 'model switched')?.ms, maxGapMs: gap, stallPrepareMs, stallAfterMs });
}
// A second quiet phase brackets the run: on a shared machine the load drifts, and this shows by how much.
enterPhase('idle-after');
await sleep(idleS * 1000);
feeding = false;
await feeder;
await sleep(2000);
enterPhase('done');
await daemon.stop();

// In commit order the versions must run old, promoted, old again (the rollback): more runs mean a result of one model
// came after the first result of the next, i.e. a batch mixed models around a switch.
const sw = seen.filter((s) => s.phase === 'switch' || s.phase === 'idle-after').map((s) => s.modelVersion);
const runs = sw.filter((v, i) => i === 0 || v !== sw[i - 1]);
const mixed = Math.max(0, runs.length - 3);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const rows = ['idle', 'retrain', 'switch', 'idle-after'].map((p) => {
  const inPhase = seen.filter((s) => s.phase === p);
  const l = inPhase.map((s) => s.latencyMs);
  // Longest wait between consecutive results (spectra arrive every 1000/rate ms): a stall shows as one long gap.
  const gaps = inPhase.slice(1).map((s, i) => s.at - inPhase[i].at);
  return { phase: p, results: l.length, p50Ms: pct(l, 50), p95Ms: pct(l, 95), maxMs: Math.max(...l), maxGapMs: Math.max(0, ...gaps), eventLoopMaxMs: Math.round(loopMaxMs[p] ?? NaN) };
});
const out = {
  at: new Date().toISOString(),
  rate,
  library: { classes: classes.length, perClass },
  epochs,
  retrainWallS: Math.round(retrainS * 10) / 10,
  retrain: done,
  switches,
  switchLogs,
  phases: rows,
  fed,
  results: seen.length,
  versionRunsAcrossSwitches: runs,
  resultsMixedAfterSwitch: mixed,
  note: 'one run on the shared 2-core build machine; compare phases with each other, not with other runs',
};
console.table(rows);
console.table(switches.map((s) => ({ to: s.to, inference: s.inference, ms: s.ms, maxGapMs: s.maxGapMs, ...(s.steps as Record<string, unknown> | undefined) })));
console.log(`retrain ${out.retrainWallS} s for ${epochs} epochs; switches ${switches.map((s) => `${s.to} ${s.ms} ms`).join(', ')}; fed ${fed}, results ${seen.length}, mixed ${mixed}`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(arg('out') ?? 'bench/results/retrain.json', JSON.stringify(out, null, 2) + '\n');
process.exit(0);
