import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../core/engine/index.ts';
import { ARCHITECTURES, buildEncoderModel, embeddingDim, getArchitecture, SEED } from '../../core/encoder/architectures.ts';
import { L2Normalize } from '../../core/encoder/layers.ts';
import { SpectrumInputError } from '../../core/errors.ts';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('seed architecture (Vorozhtsov & Kitina 2024)', () => {
  it('has the paper\u2019s layers, shapes and parameter count', () => {
    const model = buildEncoderModel(SEED, 1);
    const shapes = model.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => `${l.getClassName()}:${JSON.stringify(l.outputShape)}`);
    expect(shapes).toEqual([
      'Conv1D:[null,5000,16]', 'MaxPooling1D:[null,2500,16]', 'LeakyReLU:[null,2500,16]', 'BatchNormalization:[null,2500,16]',
      'Conv1D:[null,2490,32]', 'MaxPooling1D:[null,1245,32]', 'LeakyReLU:[null,1245,32]', 'BatchNormalization:[null,1245,32]',
      'Conv1D:[null,1241,64]', 'MaxPooling1D:[null,620,64]', 'LeakyReLU:[null,620,64]', 'BatchNormalization:[null,620,64]',
      'Flatten:[null,39680]', 'Dense:[null,64]', 'L2Normalize:[null,64]',
    ]);
    // conv 16*21+16, 32*11*16+32, 64*5*32+64; BN 4 per channel; dense 39680*64+64
    expect(model.countParams()).toBe(352 + 5664 + 10304 + 4 * (16 + 32 + 64) + 2539584);
    model.dispose();
  });
});

describe('every architecture', () => {
  for (const arch of Object.values(ARCHITECTURES)) {
    it(`${arch.name}: unit-norm [n, ${embeddingDim(arch)}] output`, () => {
      const model = buildEncoderModel(arch, 3);
      const x = tf.randomUniform([2, arch.inputPoints, 1], 0, 1, 'float32', 1);
      const y = model.predict(x) as tf.Tensor;
      expect(y.shape).toEqual([2, embeddingDim(arch)]);
      for (const n of tf.norm(y, 2, 1).arraySync() as number[]) expect(n).toBeCloseTo(1, 5);
      tf.dispose([x, y]);
      model.dispose();
    });
  }

  it('draws the same initial weights from the same seed, other weights from another', () => {
    const arch = getArchitecture('tiny');
    const [a, b, c] = [3, 3, 4].map((seed) => buildEncoderModel(arch, seed));
    const kernels = (m: tf.LayersModel) => m.getWeights().filter((w) => w.shape.length > 1).map((w) => Array.from(w.dataSync()));
    expect(kernels(a)).toEqual(kernels(b));
    expect(kernels(a)[0]).not.toEqual(kernels(c)[0]);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('rejects an unknown name with a SpectrumInputError', () => {
    expect(() => getArchitecture('resnet')).toThrow(SpectrumInputError);
  });
});

describe('L2Normalize', () => {
  it('scales rows to unit norm and leaves a zero row at zero', () => {
    const layer = new L2Normalize();
    const out = layer.apply(tf.tensor2d([[3, 4], [0, 0]])) as tf.Tensor;
    expect(out.arraySync()).toEqual([[0.6, 0.8], [0, 0]].map((r) => r.map((v) => expect.closeTo(v, 6))));
  });

  it('serializes by class name with its config', () => {
    const config = new L2Normalize({ epsilon: 1e-9 }).getConfig();
    expect(config.epsilon).toBe(1e-9);
    expect(L2Normalize.className).toBe('L2Normalize');
  });
});
