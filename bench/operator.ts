/**
 * `npm run bench:operator`: what an operator gets from `npm start`. The daemon itself on the embedded default
 * (config/default.yaml: folder input, bundled model, demo library built at first start), fed JCAMP-DX files (x in
 * points) in its inbox, every answer read back from its HTTP API:
 *  - singles: the benchmark's published test split (classes 0-499, 9 fixed variants each; --quick: every 15th);
 *  - mixtures: seeded mixtures of 2-4 test spectra of distinct classes, random weights 0.5-1.5, scaled to max 1, the
 *    component count not given.
 * Counted: identified right / wrong, low-confidence, unknown, mixture; alerts per 1000 known spectra (the daemon's own
 * alerts, read from /api/alerts); answers whose class is not the top of their candidate list, lists not sorted by
 * score; prediction-set coverage and mean size, identified answers whose class is not in their set and unknown ones with a
 * non-empty set; mixtures exactly right; p50/p99 latency (arrival to result, as the
 * daemon records it), start-up time and peak resident memory.
 * --absent: the same daemon with its demo library limited to classes 0-399; test spectra of the absent classes
 * 400-499 and as many of known classes: how often absent ones come back unknown or as some library class.
 *
 *   npm run bench:operator [-- --quick] [-- --singles N] [-- --mixtures N] [-- --absent] [-- --out FILE]
 *
 * Files are fed in chunks of --chunk (default 32, one micro-batch), each chunk's answers awaited before the next,
 * so latency is the daemon's own and not a backlog's. Prints a table, writes bench/results/operator.json.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { generateTestSplit, loadDefinition } from '../core/benchmark/index.ts';
import { createRng } from '../core/math/rng.ts';
import { toJcamp } from '../core/formats/index.ts';
import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import { createSpectrum } from '../core/spectrum.ts';
import { DaemonProcess } from '../support/daemon-process.ts';
import { freePort, makeTempDir, sleep } from '../support/servers.ts';
import { loadAverage, percentile, procStatusMb, REPO_ROOT } from './support/daemon-bench.ts';
import { portableCommand } from './support/portable-path.ts';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    singles: { type: 'string' },
    mixtures: { type: 'string' },
    absent: { type: 'boolean', default: false },
    chunk: { type: 'string', default: '32' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench/results/operator.json') },
  },
  strict: true,
});

interface Query {
  readonly file: string;
  readonly truth: readonly number[];
  readonly y: Float32Array;
  /** A known single spectrum (its class in the library). */
  readonly kind: 'single' | 'absent' | 'mixture';
}

const def = loadDefinition('benchmark');
const test = generateTestSplit(def, { classes: Array.from({ length: 500 }, (_, i) => i) });
const P = test.points;
const rowOf = (cls: number, v: number) => test.x.subarray((cls * 9 + v) * P, (cls * 9 + v + 1) * P);

/** Every step-th row of the test split, among the given classes. */
function singles(classes: readonly number[], count: number, kind: Query['kind']): Query[] {
  const rows = classes.flatMap((c) => Array.from({ length: 9 }, (_, v) => [c, v] as const));
  const step = Math.max(1, rows.length / count);
  return Array.from({ length: Math.min(count, rows.length) }, (_, i) => {
    const [c, v] = rows[Math.floor(i * step)];
    return { file: `${kind}-${String(i).padStart(5, '0')}-c${c}.jdx`, truth: [c], y: rowOf(c, v), kind };
  });
}

function mixtures(count: number, seed: number): Query[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, i) => {
    const m = 2 + (i % 3);
    const classes = new Set<number>();
    while (classes.size < m) classes.add(rng.int(0, 500));
    const sum = new Float32Array(P);
    for (const c of classes) {
      const y = rowOf(c, rng.int(0, 9));
      const w = rng.uniform(0.5, 1.5);
      for (let p = 0; p < P; p++) sum[p] += w * y[p];
    }
    let max = 0;
    for (const v of sum) max = Math.max(max, Math.abs(v));
    const truth = [...classes];
    return { file: `mixture-${String(i).padStart(5, '0')}-c${truth.join('+')}.jdx`, truth, y: sum.map((v) => v / max), kind: 'mixture' as const };
  });
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return (await res.json()) as T;
}

/** Every result the daemon holds, through the paged API. */
async function allResults(url: string): Promise<ResultMessage[]> {
  const out: ResultMessage[] = [];
  let cursor: string | undefined;
  do {
    const page = await getJson<{ items: ResultMessage[]; nextCursor?: string }>(`${url}/api/results?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** The newest alerts (the API lists at most 1000, newest first): read after every chunk, so none is missed. */
async function recentAlerts(url: string): Promise<AlertMessage[]> {
  return (await getJson<{ items: AlertMessage[] }>(`${url}/api/alerts?limit=1000`)).items;
}

interface RunReport {
  readonly protocol: string;
  readonly config: Record<string, unknown>;
  readonly startupS: number;
  readonly peakRssMb: number;
  readonly rows: Record<string, unknown>[];
}

async function runDaemon(protocol: string, queries: readonly Query[], demoClasses?: readonly number[]): Promise<RunReport> {
  const dir = makeTempDir('operator');
  const inbox = join(dir, 'inbox');
  const staging = join(dir, 'staging');
  mkdirSync(inbox, { recursive: true });
  mkdirSync(staging, { recursive: true });
  const port = await freePort();
  // The embedded default, with only its paths and port moved (and the demo classes for --absent).
  const config = parseYaml(readFileSync(join(REPO_ROOT, 'config/default.yaml'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  config.dataDir = join(dir, 'data');
  config.inputs[0].paths = [inbox];
  config.http.port = port;
  config.logLevel = 'warn';
  if (demoClasses) config.library = { ...config.library, demoClasses: [...demoClasses] };
  const configFile = join(dir, 'spectrad.yaml');
  writeFileSync(configFile, toYaml(config));
  const url = `http://127.0.0.1:${port}`;
  const daemon = new DaemonProcess(configFile, url, join(dir, 'daemon.log'));
  const t0 = performance.now();
  daemon.start();
  try {
    await daemon.waitReady(30 * 60_000);
    const startupS = (performance.now() - t0) / 1000;
    console.log(`${protocol}: daemon ready in ${startupS.toFixed(1)} s (peak RSS ${procStatusMb(daemon.pid!, 'VmHWM').toFixed(0)} MB)`);
    const chunk = Number(opts.chunk);
    let done = 0;
    const alerts = new Map<string, AlertMessage>();
    for (let start = 0; start < queries.length; start += chunk) {
      const part = queries.slice(start, start + chunk);
      for (const q of part) {
        const text = toJcamp(createSpectrum({ y: Array.from(q.y, (v) => Math.round(v * 1e5) / 1e5), xUnit: 'index', meta: { title: q.file } }));
        // Written aside and renamed in complete, as instruments do.
        writeFileSync(join(staging, q.file), text);
        renameSync(join(staging, q.file), join(inbox, q.file));
      }
      done += part.length;
      const deadline = Date.now() + 10 * 60_000;
      for (;;) {
        const h = await daemon.health();
        if (h && h.counts.results >= done) break;
        if (!daemon.running) throw new Error(`daemon exited: ${daemon.recentLog()}`);
        if (Date.now() > deadline) throw new Error(`only ${h?.counts.results} of ${done} answers after 10 min`);
        await sleep(50);
      }
      for (const a of await recentAlerts(url)) alerts.set(a.id, a);
      if ((start / chunk) % 20 === 0) console.log(`${protocol}: ${done} / ${queries.length} answered`);
    }
    const peakRssMb = procStatusMb(daemon.pid!, 'VmHWM');
    const results = await allResults(url);
    const byFile = new Map(queries.map((q) => [q.file, q]));
    const answered = new Map<string, ResultMessage>();
    for (const r of results) {
      const name = r.source.split('/').pop() ?? r.source;
      if (byFile.has(name)) answered.set(name, r);
    }
    const alerted = new Set([...alerts.values()].map((a) => a.resultId).filter((id): id is string => id !== undefined));
    return { protocol, config: { demoClasses: demoClasses ? `${demoClasses[0]}-${demoClasses[demoClasses.length - 1]}` : 'all' }, startupS, peakRssMb, rows: score(queries, answered, alerted) };
  } finally {
    await daemon.kill('SIGTERM');
  }
}

function score(queries: readonly Query[], answered: ReadonlyMap<string, ResultMessage>, alerted: ReadonlySet<string>): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const kind of ['single', 'absent', 'mixture'] as const) {
    const qs = queries.filter((q) => q.kind === kind);
    if (!qs.length) continue;
    const c = {
      answered: 0, identifiedRight: 0, identifiedWrong: 0, lowConfidence: 0, lowConfidenceRight: 0, unknown: 0, unknownTopRight: 0,
      mixture: 0, mixtureExact: 0, mixtureCountRight: 0, alerts: 0, namedNotTop: 0, unsorted: 0, setCovered: 0, setSize: 0, setSingleton: 0,
      decidedByPeaks: 0, identifiedNotInSet: 0, unknownWithSet: 0,
    };
    const latencies: number[] = [];
    // The answers that missed (a known spectrum not identified right, an absent one not unknown, a mixture not exactly
    // right): truth and answer, so a run says which classes a gate still lets through.
    const misses: { truth: string; status: string; class?: string; components?: string }[] = [];
    for (const q of qs) {
      const r = answered.get(q.file);
      if (!r) continue;
      c.answered++;
      const parts = (r.components ?? []).map((x) => x.class);
      const exact = r.status === 'mixture' && parts.length === q.truth.length && parts.every((p) => q.truth.map(String).includes(p));
      const hit = kind === 'absent' ? r.status === 'unknown' : kind === 'mixture' ? exact : r.status === 'identified' && r.class === String(q.truth[0]);
      if (!hit) misses.push({ truth: q.truth.join('+'), status: r.status, ...(r.class === undefined ? {} : { class: r.class }), ...(parts.length ? { components: parts.join('+') } : {}) });
      latencies.push(r.latencyMs);
      const truth = new Set(q.truth.map(String));
      const top = r.candidates[0]?.class;
      if (r.class !== undefined && r.class !== top) c.namedNotTop++;
      if (r.candidates.some((x, i) => i > 0 && x.score > r.candidates[i - 1].score)) c.unsorted++;
      if (alerted.has(r.id)) c.alerts++;
      if (r.decidedBy === 'peaks') c.decidedByPeaks++;
      const set = r.predictionSet ?? [];
      c.setSize += set.length;
      if (set.length === 1) c.setSingleton++;
      if (q.kind !== 'mixture' && set.some((s) => truth.has(s))) c.setCovered++;
      // The operator rule (docs/CALIBRATION.md): an identified answer's class is in its set, an unknown one's set is empty.
      if (r.status === 'identified' && (r.class === undefined || !set.includes(r.class))) c.identifiedNotInSet++;
      if (r.status === 'unknown' && set.length > 0) c.unknownWithSet++;
      if (r.status === 'identified') {
        if (r.class !== undefined && truth.has(r.class)) c.identifiedRight++;
        else c.identifiedWrong++;
      } else if (r.status === 'low-confidence') {
        c.lowConfidence++;
        if (r.class !== undefined && truth.has(r.class)) c.lowConfidenceRight++;
      } else if (r.status === 'unknown') {
        c.unknown++;
        if (top !== undefined && truth.has(top)) c.unknownTopRight++;
      } else if (r.status === 'mixture') {
        c.mixture++;
        const parts = (r.components ?? []).map((x) => x.class);
        if (parts.length === truth.size) c.mixtureCountRight++;
        if (parts.length === truth.size && parts.every((p) => truth.has(p))) c.mixtureExact++;
      }
    }
    latencies.sort((a, b) => a - b);
    const n = c.answered;
    const pct = (v: number) => Math.round((10000 * v) / Math.max(n, 1)) / 100;
    const byM =
      kind === 'mixture'
        ? Object.fromEntries(
            [2, 3, 4].map((m) => {
              const of = qs.filter((q) => q.truth.length === m);
              const exact = of.filter((q) => {
                const r = answered.get(q.file);
                const parts = (r?.components ?? []).map((x) => x.class);
                return r?.status === 'mixture' && parts.length === m && parts.every((p) => q.truth.map(String).includes(p));
              }).length;
              return [`m${m}`, `${exact}/${of.length}`];
            }),
          )
        : {};
    rows.push({
      queries: kind,
      sent: qs.length,
      ...c,
      identifiedRightPct: pct(c.identifiedRight),
      identifiedWrongPct: pct(c.identifiedWrong),
      unknownPct: pct(c.unknown),
      lowConfidencePct: pct(c.lowConfidence),
      mixturePct: pct(c.mixture),
      mixtureExactPct: pct(c.mixtureExact),
      alertsPer1000: Math.round((10000 * c.alerts) / Math.max(n, 1)) / 10,
      setCoveragePct: kind === 'mixture' ? undefined : pct(c.setCovered),
      meanSetSize: Math.round((1000 * c.setSize) / Math.max(n, 1)) / 1000,
      ...byM,
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      misses,
    });
  }
  return rows;
}

const quick = opts.quick;
const singleCount = Number(opts.singles ?? (quick ? 300 : 4500));
const mixtureCount = Number(opts.mixtures ?? (quick ? 60 : 300));
const seed = Number(opts.seed);
const all = Array.from({ length: 500 }, (_, i) => i);
const reports: RunReport[] = [];
const loadBefore = loadAverage();
const started = new Date().toISOString();
if (opts.absent) {
  const known = Array.from({ length: 400 }, (_, i) => i);
  const absent = Array.from({ length: 100 }, (_, i) => 400 + i);
  const n = quick ? 150 : 900;
  reports.push(await runDaemon('library 0-399', [...singles(absent, n, 'absent'), ...singles(known, n, 'single')], known));
} else {
  reports.push(await runDaemon('embedded default', [...singles(all, singleCount, 'single'), ...mixtures(mixtureCount, seed)]));
}

for (const rep of reports) {
  console.log(`\n${rep.protocol}: start-up ${rep.startupS.toFixed(1)} s, peak RSS ${rep.peakRssMb.toFixed(0)} MB`);
  console.table(
    rep.rows.map((r) => ({
      queries: r.queries,
      n: r.answered,
      'right %': r.identifiedRightPct,
      'wrong %': r.identifiedWrongPct,
      'low-conf %': r.lowConfidencePct,
      'unknown %': r.unknownPct,
      'mixture %': r.mixturePct,
      'mix exact %': r.mixtureExactPct,
      'alerts/1000': r.alertsPer1000,
      'set cov %': r.setCoveragePct,
      'set size': r.meanSetSize,
      'named!=top': r.namedNotTop,
      'id∉set/unk∋set': `${String(r.identifiedNotInSet)}/${String(r.unknownWithSet)}`,
      unsorted: r.unsorted,
      'p99 ms': r.latencyP99Ms,
    })),
  );
}
const out = resolve(opts.out);
writeFileSync(
  out,
  JSON.stringify({ when: started, command: portableCommand('npm run bench:operator --', process.argv.slice(2)), loadAverageAtStart: loadBefore, loadAverageAtEnd: loadAverage(), reports }, null, 2) + '\n',
);
console.log(`wrote ${out}`);
process.exit(0);
