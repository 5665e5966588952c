import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import { loadEncoder } from '../../core/encoder/model-files.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { startDaemon, type Daemon } from '../../daemon/run.ts';
import { modelRegistryOf } from '../../daemon/models/daemon-models.ts';
import { dropFile, jcampText } from '../../support/daemon-process.ts';
import { sleep, waitFor } from '../../support/servers.ts';

/**
 * A model produced by the real retrain path (worker thread) and promoted, then rolled back, goes through the same
 * inference selection as the model at start: onnx under auto (its outputs within 1e-4 of the tfjs model's), tfjs
 * when forced; spectra arriving during the switch are all answered, and no result of the old model follows one of
 * the new. Waits are generous and nothing is timed: this must pass at a machine load of 15-20.
 */
const TOKEN = 'engine-token';
const classes = [5, 60, 222, 401];
const roots: string[] = [];
const daemons: Daemon[] = [];

afterAll(async () => {
  for (const d of daemons) await d.stop().catch(() => undefined);
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function startWith(inference: 'auto' | 'tfjs'): Promise<{ daemon: Daemon; inbox: string; results: ResultMessage[] }> {
  const root = mkdtempSync(path.join(tmpdir(), `spectrad-engine-${inference}-`));
  roots.push(root);
  const inbox = path.join(root, 'inbox');
  mkdirSync(inbox);
  const config = parseConfig(
    [
      `dataDir: ${root}/data`,
      'instrument: raman-e',
      `model: { inference: ${inference} }`,
      'inputs:',
      `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 50 }`,
      `http: { host: 127.0.0.1, port: 0, token: ${TOKEN} }`,
      `library: { demo: true, demoClasses: [${classes.join(', ')}], demoPerClass: 5 }`,
      'pipeline: { batchSize: 4, windowMs: 5 }',
    ].join('\n'),
    path.join(root, 'spectrad.yaml'),
    { env: {} },
  );
  const daemon = await startDaemon(config, { logger: pino({ level: 'silent' }) });
  daemons.push(daemon);
  const results: ResultMessage[] = [];
  daemon.pipeline.results$.subscribe((r) => results.push(r));
  return { daemon, inbox, results };
}

async function api(daemon: Daemon, method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(daemon.url! + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Trains a candidate through the real worker path and waits until it is kept. */
async function retrain(daemon: Daemon): Promise<void> {
  expect((await api(daemon, 'POST', '/api/retrain', { epochs: 1 })).status).toBe(202);
  const done = await waitFor('candidate kept', async () => {
    const s = (await api(daemon, 'GET', '/api/retrain')).json as { state: string };
    return ['kept', 'promoted', 'failed', 'cancelled'].includes(s.state) ? s : undefined;
  }, 240_000, 250);
  expect(done.state).toBe('kept');
}

/** Runs `call` while spectra keep arriving; every one dropped must get its result. */
async function whileFeeding(inbox: string, results: ResultMessage[], tag: string, call: () => Promise<unknown>): Promise<ResultMessage[]> {
  const names: string[] = [];
  let feeding = true;
  const feeder = (async () => {
    while (feeding || names.length < 6) {
      const name = `${tag}-${names.length}.jdx`;
      names.push(name);
      dropFile(inbox, name, jcampText(name, classes[names.length % classes.length], names.length % 9));
      await sleep(120);
    }
  })();
  try {
    await call();
  } finally {
    feeding = false;
    await feeder;
  }
  return waitFor(`all ${tag} spectra answered`, () => {
    const got = names.map((n) => results.find((r) => path.basename(r.source) === n));
    return got.every((r) => r !== undefined) ? (got as ResultMessage[]) : undefined;
  }, 120_000, 100);
}

/**
 * In commit order the model versions change at most once, from `from` to `to`: no result of the old model after the
 * first of the new (a spectrum may be answered wholly before or wholly after the switch, so [from], [to] are fine).
 */
function expectOneSwitch(answered: ResultMessage[], results: ResultMessage[], from: string, to: string): void {
  const ordered = results.filter((r) => answered.includes(r)).map((r) => r.modelVersion);
  const runs = ordered.filter((v, i) => i === 0 || v !== ordered[i - 1]);
  expect([[from], [to], [from, to]]).toContainEqual(runs);
}

/** Largest |stored embedding - tfjs embedding| over the library: the engine in use against the tfjs model itself. */
async function maxDifferenceFromTfjs(daemon: Daemon, dir: string, modelVersion: string): Promise<number> {
  const tfjs = await loadEncoder(dir);
  try {
    const refs = daemon.store.references();
    expect(refs.length).toBe(classes.length * 5);
    expect(refs.every((r) => r.modelVersion === modelVersion && r.embedding)).toBe(true);
    const points = tfjs.grid.points;
    const x = new Float32Array(refs.length * points);
    refs.forEach((r, i) => x.set(r.vector.subarray(0, points), i * points));
    const e = await tfjs.embed(x, refs.length);
    let diff = 0;
    refs.forEach((r, i) => {
      for (let j = 0; j < tfjs.dim; j++) diff = Math.max(diff, Math.abs(r.embedding![j] - e[i * tfjs.dim + j]));
    });
    return Number.isNaN(diff) ? Infinity : diff;
  } finally {
    tfjs.dispose();
  }
}

describe.each([
  { inference: 'auto' as const, engine: 'onnx' },
  { inference: 'tfjs' as const, engine: 'tfjs' },
])('a promoted model runs on the configured inference engine ($inference)', ({ inference, engine }) => {
  it(`promote and rollback switch to ${engine} models with outputs equal to tfjs and no spectrum dropped`, async () => {
    const { daemon, inbox, results } = await startWith(inference);
    expect(daemon.health().inference).toBe(engine);
    const v1 = daemon.health().modelVersion!;
    await retrain(daemon);
    const registry = modelRegistryOf(daemon.config);
    const v2 = registry.get('v2')!;

    const promoted = await whileFeeding(inbox, results, 'promote', async () => {
      const answer = await api(daemon, 'POST', '/api/models/v2/promote?force=true');
      expect(answer.status).toBe(200);
    });
    const v2Model = daemon.health().modelVersion!;
    expect(v2Model).not.toBe(v1);
    expect(daemon.health().inference).toBe(engine);
    const status = (await api(daemon, 'GET', '/api/retrain')).json as { activeVersion: string; inference?: { engine: string; reason: string } };
    expect(status.activeVersion).toBe('v2');
    expect(status.inference?.engine).toBe(engine);
    expect(status.inference?.reason).toMatch(inference === 'auto' ? /self-check passed/ : /forced/);
    expect((await api(daemon, 'GET', '/api/health')).json).toMatchObject({ modelVersion: v2Model, inference: engine });
    // The library was re-embedded by the engine now in use; tfjs on the same model gives the same embeddings.
    expect(await maxDifferenceFromTfjs(daemon, v2.dir, v2Model)).toBeLessThanOrEqual(1e-4);
    expect(promoted.every((r) => r.status !== 'rejected')).toBe(true);
    expectOneSwitch(promoted, results, v1, v2Model);
    const after = await whileFeeding(inbox, results, 'after', async () => undefined);
    expect(after.every((r) => r.modelVersion === v2Model)).toBe(true);
    expect(after.filter((r) => r.status === 'identified' || r.status === 'low-confidence').length).toBeGreaterThan(0);

    const rolled = await whileFeeding(inbox, results, 'rollback', async () => {
      expect((await api(daemon, 'POST', '/api/models/rollback')).status).toBe(200);
    });
    expect(daemon.health().modelVersion).toBe(v1);
    expect(daemon.health().inference).toBe(engine);
    expectOneSwitch(rolled, results, v2Model, v1);
    const back = await whileFeeding(inbox, results, 'back', async () => undefined);
    expect(back.every((r) => r.modelVersion === v1)).toBe(true);
    expect(await maxDifferenceFromTfjs(daemon, registry.get('v1')!.dir, v1)).toBeLessThanOrEqual(1e-4);
  }, 420_000);
});
