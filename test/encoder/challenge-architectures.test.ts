import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../core/engine/index.ts';
import { buildEncoderModel, embeddingDim, getArchitecture, LogCompress } from '../../core/encoder/architectures.ts';
import { SpectrumInputError } from '../../core/errors.ts';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const shapesOf = (model: tf.LayersModel) =>
  model.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => `${l.getClassName()}:${JSON.stringify(l.outputShape)}`);

describe('LogCompress', () => {
  it('maps 0 to 0, +-1 to +-1, and lifts a 0.5 % peak to log(6)/log(1001) at floor 1e-3', () => {
    const layer = new LogCompress({ floor: 1e-3 });
    const out = (layer.apply(tf.tensor1d([0, 1, -1, 0.005, -0.005, 0.5])) as tf.Tensor).arraySync() as number[];
    const f = (y: number) => (Math.sign(y) * Math.log1p(Math.abs(y) / 1e-3)) / Math.log1p(1e3);
    expect(out).toEqual([0, 1, -1, 0.005, -0.005, 0.5].map((y) => expect.closeTo(f(y), 5)));
    expect(out[3]).toBeGreaterThan(0.25);
  });

  it('keeps order: a larger input gives a larger output', () => {
    const xs = Array.from({ length: 50 }, (_, i) => -1 + (2 * i) / 49);
    const out = (new LogCompress().apply(tf.tensor1d(xs)) as tf.Tensor).arraySync() as number[];
    for (let i = 1; i < out.length; i++) expect(out[i]).toBeGreaterThan(out[i - 1]);
  });

  it('refuses a floor outside (0, 1) with a SpectrumInputError', () => {
    expect(() => new LogCompress({ floor: 0 })).toThrow(SpectrumInputError);
    expect(() => new LogCompress({ floor: 2 })).toThrow(SpectrumInputError);
  });

  it('round-trips through model.json (registered by class name, floor kept)', async () => {
    const model = buildEncoderModel(getArchitecture('tiny-log'), 5);
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    expect(JSON.stringify(artifacts!.modelTopology)).toContain('"floor":0.001');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const x = tf.randomUniform([2, 5000, 1], 0, 1, 'float32', 2);
    const [a, b] = [model, loaded].map((m) => m.predict(x) as tf.Tensor);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()).map((v) => expect.closeTo(v, 6)));
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.dispose();
  });
});

describe('challenge-set architectures', () => {
  it('wide: tiny\u2019s layout with kernels 25 and 15', () => {
    const model = buildEncoderModel(getArchitecture('wide'), 1);
    expect(shapesOf(model)).toEqual([
      'AveragePooling1D:[null,1250,1]', 'Conv1D:[null,1250,32]', 'MaxPooling1D:[null,312,32]', 'LeakyReLU:[null,312,32]', 'BatchNormalization:[null,312,32]',
      'Conv1D:[null,312,64]', 'MaxPooling1D:[null,78,64]', 'LeakyReLU:[null,78,64]', 'BatchNormalization:[null,78,64]',
      'Flatten:[null,4992]', 'Dense:[null,128]', 'Dense:[null,64]', 'L2Normalize:[null,64]',
    ]);
    // conv 25*32+32, 15*32*64+64; BN 4 per channel; dense 4992*128+128, 128*64+64
    expect(model.countParams()).toBe(832 + 30784 + 4 * 96 + 639104 + 8256);
    model.dispose();
  });

  it('wide-log, tiny-log, wide-log-mild: LogCompress first, then exactly wide / tiny', () => {
    for (const [logName, plainName] of [['wide-log', 'wide'], ['tiny-log', 'tiny'], ['wide-log-mild', 'wide']]) {
      const withLog = buildEncoderModel(getArchitecture(logName), 1);
      const plain = buildEncoderModel(getArchitecture(plainName), 1);
      expect(shapesOf(withLog)).toEqual(['LogCompress:[null,5000,1]', ...shapesOf(plain)]);
      expect(withLog.countParams()).toBe(plain.countParams());
      expect(embeddingDim(getArchitecture(logName))).toBe(64);
      withLog.dispose();
      plain.dispose();
    }
  });

  it('deep: four conv blocks down to a 78-step map', () => {
    const model = buildEncoderModel(getArchitecture('deep'), 1);
    const shapes = shapesOf(model);
    expect(shapes.filter((s) => s.startsWith('Conv1D'))).toEqual(['Conv1D:[null,1250,32]', 'Conv1D:[null,625,32]', 'Conv1D:[null,312,64]', 'Conv1D:[null,156,64]']);
    expect(shapes.slice(-4)).toEqual(['Flatten:[null,4992]', 'Dense:[null,128]', 'Dense:[null,64]', 'L2Normalize:[null,64]']);
    model.dispose();
  });

  it('a minor peak moves wide-log\u2019s embedding more than wide\u2019s (relative to a main-peak change)', () => {
    // Two spectra differing only by a 0.5 % peak, and two differing by 5 % of the main peak's height.
    const points = 5000;
    const peak = (at: number, h: number, y: Float32Array) => {
      for (let i = Math.max(0, at - 10); i < Math.min(points, at + 11); i++) y[i] += h * Math.exp(-((i - at) ** 2) / 8);
    };
    const base = new Float32Array(points);
    peak(3000, 1, base);
    peak(700, 0.7, base);
    const minor = Float32Array.from(base);
    peak(1800, 0.005, minor);
    const major = Float32Array.from(base);
    for (let i = 600; i < 800; i++) major[i] *= 0.95;
    const ratio = (name: string) => {
      const model = buildEncoderModel(getArchitecture(name), 7);
      const e = model.predict(tf.tensor3d([...base, ...minor, ...major], [3, points, 1])) as tf.Tensor2D;
      const [b, m, M] = e.arraySync();
      const d = (u: number[], v: number[]) => Math.hypot(...u.map((x, i) => x - v[i]));
      model.dispose();
      e.dispose();
      return d(b, m) / d(b, M);
    };
    expect(ratio('wide-log')).toBeGreaterThan(3 * ratio('wide'));
  });
});
