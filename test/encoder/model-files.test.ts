import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../core/engine/index.ts';
import { buildEncoderModel, embeddingDim } from '../../core/encoder/architectures.ts';
import { memoryFileIO } from '../../core/encoder/file-io.ts';
import { loadEncoder, MODEL_FORMAT, saveModelDir, TfjsEncoder, type ModelCard } from '../../core/encoder/model-files.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { POINTS, TEST_ARCH, tinyProblem } from '../training/tiny-problem.ts';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const card: ModelCard = {
  format: MODEL_FORMAT,
  version: 'test-1',
  createdAt: '2026-01-01T00:00:00Z',
  architecture: TEST_ARCH,
  embeddingDim: embeddingDim(TEST_ARCH),
  inputGrid: { points: POINTS, xStart: 0, xEnd: POINTS - 1, xUnit: 'index' },
  preprocessing: 'max |y| = 1',
  engine: { backend: 'wasm', tfjs: tf.version.tfjs },
};

/** A model whose batch-norm statistics are not the defaults, so a load that lost them would show. */
function trainedLookingModel(): tf.LayersModel {
  const model = buildEncoderModel(TEST_ARCH, 11);
  const weights = model.getWeights().map((w, i) => tf.add(w, tf.randomUniform(w.shape, 0.1, 0.5, 'float32', i)));
  model.setWeights(weights);
  tf.dispose(weights);
  return model;
}

describe('model directory', () => {
  it('round-trips to identical embeddings, unit norm, with the card and weight hash', async () => {
    const io = memoryFileIO();
    const model = trainedLookingModel();
    const written = await saveModelDir(model, card, '/m', io);
    expect([...io.files.keys()].sort()).toEqual(['/m/model-card.json', '/m/model.json', '/m/weights.bin']);
    expect(written.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    const data = tinyProblem(3, 1);
    const direct = (model.predict(tf.tensor3d(data.x, [data.n, POINTS, 1])) as tf.Tensor).dataSync();
    const encoder = await loadEncoder('/m', io);
    expect(encoder.dim).toBe(16);
    expect(encoder.grid.points).toBe(POINTS);
    expect(encoder.version).toBe(`test-1@${written.weightsSha256!.slice(0, 12)}`);
    expect(encoder.card.architecture).toEqual(TEST_ARCH);
    const emb = await encoder.embed(data.x, data.n);
    expect(Array.from(emb)).toEqual(Array.from(direct));
    for (let r = 0; r < data.n; r++) expect(Math.hypot(...emb.subarray(r * 16, (r + 1) * 16))).toBeCloseTo(1, 5);
    // batching inside embed must not change the numbers
    const small = new TfjsEncoder(encoder.model, encoder.card, 4);
    expect(Array.from(await small.embed(data.x, data.n))).toEqual(Array.from(emb));
    const tensors = tf.memory().numTensors;
    await encoder.embed(data.x, data.n);
    expect(tf.memory().numTensors).toBe(tensors);
    encoder.dispose();
    model.dispose();
  });

  it('refuses weights that do not match the card, and a missing or foreign card', async () => {
    const io = memoryFileIO();
    const model = trainedLookingModel();
    await saveModelDir(model, card, '/m', io);
    model.dispose();
    const w = io.files.get('/m/weights.bin')!;
    w[10] ^= 0xff;
    await expect(loadEncoder('/m', io)).rejects.toMatchObject({ code: 'model-corrupt' });
    await expect(loadEncoder('/nothing', io)).rejects.toBeInstanceOf(SpectrumInputError);
    await io.writeFile('/m/model-card.json', JSON.stringify({ ...card, format: 'other/9' }));
    await expect(loadEncoder('/m', io)).rejects.toMatchObject({ code: 'model-format' });
  });

  it('rejects an embed batch of the wrong size', async () => {
    const io = memoryFileIO();
    const model = buildEncoderModel(TEST_ARCH, 1);
    await saveModelDir(model, card, '/m', io);
    model.dispose();
    const encoder = await loadEncoder('/m', io);
    await expect(encoder.embed(new Float32Array(POINTS + 1), 1)).rejects.toMatchObject({ code: 'bad-batch' });
    encoder.dispose();
  });
});
