import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../core/engine/index.ts';
import { buildEncoderModel } from '../../core/encoder/architectures.ts';
import { memoryFileIO } from '../../core/encoder/file-io.ts';
import { embedRows, MODEL_FORMAT, saveModelDir } from '../../core/encoder/model-files.ts';
import { knnAccuracy, normalizeRows, train, type TrainOptions } from '../../core/training/index.ts';
import { POINTS, TEST_ARCH, tinyProblem } from './tiny-problem.ts';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const trainSet = tinyProblem(12, 1);
const valSet = tinyProblem(6, 2);
const base: TrainOptions = {
  train: trainSet,
  val: valSet,
  arch: TEST_ARCH,
  epochs: 12,
  batch: { p: 6, k: 4 },
  lr: 1e-2,
  seed: 5,
  augment: { maxShift: 2, maxBroaden: 0, intensityJitter: 0, noise: 0.005, baseline: 0, probability: 0.5 },
};

async function accuracyOf(model: tf.LayersModel): Promise<number> {
  const tr = normalizeRows(trainSet.x, trainSet.n, POINTS);
  const va = normalizeRows(valSet.x, valSet.n, POINTS);
  return knnAccuracy(await embedRows(model, tr, trainSet.n, POINTS, 16), trainSet.y, await embedRows(model, va, valSet.n, POINTS, 16), valSet.y, 3);
}

describe('train on a tiny synthetic problem', () => {
  it('learns height patterns that an untrained encoder cannot separate', async () => {
    const untrained = buildEncoderModel(TEST_ARCH, 5);
    const before = await accuracyOf(untrained);
    untrained.dispose();
    const progress: string[] = [];
    const result = await train({ ...base, onProgress: (p) => progress.push(p.kind) });
    const after = await accuracyOf(result.model);
    // untrained: about 0.6 on this problem; trained: 0.97 (one miss of 36)
    expect(before).toBeLessThan(0.75);
    expect(after).toBeGreaterThanOrEqual(0.9);
    expect(after).toBeGreaterThan(before + 0.25);
    expect(result.bestValAccuracy).toBe(after);
    expect(result.history.length).toBe(12);
    expect(result.history[result.history.length - 1].loss).toBeLessThan(result.history[0].loss);
    expect(progress.filter((k) => k === 'epoch').length).toBe(12);
    expect(progress.filter((k) => k === 'step').length).toBe(12 * 3);
    result.model.dispose();
  });

  it('repeats exactly with a seed, and a resumed run ends where the uninterrupted one does', async () => {
    const io = memoryFileIO();
    const short = { ...base, epochs: 3, lr: 3e-3 };
    const whole = await train(short);
    // The same 3-epoch run interrupted after epoch 2 (the schedule must be the same, so not fewer epochs).
    const ctl = new AbortController();
    const first = await train({
      ...short,
      outDir: '/run',
      io,
      signal: ctl.signal,
      onProgress: (p) => {
        if (p.kind === 'epoch' && p.record.epoch === 1) ctl.abort();
      },
    });
    expect(first.stoppedBecause).toBe('aborted');
    expect(first.history.length).toBe(2);
    const resumed = await train({ ...short, outDir: '/run', io, resumeFrom: '/run/checkpoint' });
    expect(resumed.history.length).toBe(3);
    const a = whole.model.getWeights().map((w) => Array.from(w.dataSync()));
    const b = resumed.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(b).toEqual(a);
    expect(resumed.history.map((h) => h.valAccuracy)).toEqual(whole.history.map((h) => h.valAccuracy));
    for (const r of [whole, first, resumed]) r.model.dispose();
  });

  it('starts from the weights of a model directory (background retraining)', async () => {
    const io = memoryFileIO();
    const donor = buildEncoderModel(TEST_ARCH, 99);
    await saveModelDir(donor, { format: MODEL_FORMAT, version: 'donor', createdAt: '', architecture: TEST_ARCH, embeddingDim: 16, inputGrid: { points: POINTS, xStart: 0, xEnd: POINTS - 1, xUnit: 'index' }, preprocessing: '', engine: { backend: 'wasm', tfjs: tf.version.tfjs } }, '/donor', io);
    // a vanishing learning rate: the run must end where it started, i.e. at the donor's kernels
    const result = await train({ ...base, epochs: 1, lr: 1e-12, weightDecay: 0, initialWeights: '/donor', io });
    const kernel = (m: tf.LayersModel) => Array.from(m.getWeights()[0].dataSync());
    const fresh = buildEncoderModel(TEST_ARCH, base.seed);
    kernel(result.model).forEach((v, i) => expect(v).toBeCloseTo(kernel(donor)[i], 6));
    expect(kernel(result.model)).not.toEqual(kernel(fresh));
    [donor, fresh, result.model].forEach((m) => m.dispose());
  });

  it('stops early at the target accuracy', async () => {
    const result = await train({ ...base, epochs: 30, targetAccuracy: 0.5 });
    expect(result.stoppedBecause).toBe('target');
    expect(result.epochsRun).toBeLessThan(30);
    result.model.dispose();
  });

  it('rejects data that does not fit the architecture', async () => {
    await expect(train({ ...base, arch: { ...TEST_ARCH, inputPoints: 64 } })).rejects.toThrow(/64 points/);
    await expect(train({ ...base, arch: 'no-such-arch' })).rejects.toThrow(/unknown architecture/);
  });
});
