import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpectrumInputError } from '../../core/errors.ts';
import { decodeNpy, encodeNpy } from '../../core/npy.ts';

/** `spectrad embed`: spectra in a .npy [n, points] to unit-norm float32 embeddings [n, dim]. */

export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/default', import.meta.url));

interface EmbedOptions {
  model: string;
  in: string;
  out: string;
  normalize: boolean;
  backend: string;
  engine: string;
  threads: string;
}

async function runEmbed(opts: EmbedOptions): Promise<void> {
  let raw: Buffer;
  try {
    raw = readFileSync(opts.in);
  } catch (err) {
    throw new SpectrumInputError('input-missing', `cannot read: ${(err as Error).message}`, { file: opts.in });
  }
  const arr = decodeNpy(raw);
  const { initEngine } = await import('../../core/engine/index.ts');
  await initEngine({ backend: opts.backend as 'auto', logger: (m) => process.stderr.write(m + '\n') });
  const { loadInferenceEncoder } = await import('../../core/engine/onnx.ts');
  const { normalizeRows } = await import('../../core/training/augment.ts');
  const { resolveModelRef } = await import('../../core/encoder/bundled-models.ts');
  const { encoder } = await loadInferenceEncoder(resolveModelRef(opts.model), { engine: opts.engine as 'auto', threads: Number(opts.threads), logger: (m) => process.stderr.write(m + '\n') });
  try {
    const points = encoder.grid.points;
    const shape = arr.shape.length === 1 ? [1, arr.shape[0]] : arr.shape;
    if (shape.length !== 2 || shape[1] !== points) {
      throw new SpectrumInputError('bad-shape', `expected spectra of shape [n, ${points}] (the model's grid), got [${arr.shape.join(', ')}]`, { file: opts.in });
    }
    if (!(arr.data instanceof Float32Array || arr.data instanceof Float64Array)) {
      throw new SpectrumInputError('bad-dtype', `expected float32 or float64 spectra, got ${arr.dtype}`, { file: opts.in });
    }
    const n = shape[0];
    let x: Float32Array = Float32Array.from(arr.data);
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) throw new SpectrumInputError('not-finite', `value ${x[i]} is not finite`, { file: opts.in, index: i });
    }
    if (opts.normalize) x = normalizeRows(x, n, points);
    const t0 = performance.now();
    const emb = await encoder.embed(x, n);
    writeFileSync(opts.out, encodeNpy(emb, [n, encoder.dim]));
    const ms = performance.now() - t0;
    process.stderr.write(`embed: ${n} spectra -> ${opts.out} [${n}, ${encoder.dim}] with ${encoder.version} (${(ms / Math.max(1, n)).toFixed(2)} ms/spectrum)\n`);
  } finally {
    encoder.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('embed')
    .description('Embed spectra from a .npy file ([n, points], float32/64) into unit-norm float32 embeddings [n, dim].')
    .option('--model <DIR|NAME>', 'model directory or bundled model name (default, raman-532, ir, ...)', DEFAULT_MODEL_DIR)
    .requiredOption('--in <file>', 'input .npy of spectra on the model grid')
    .requiredOption('--out <file>', 'output .npy of embeddings')
    .option('--no-normalize', 'the spectra are already scaled to max |y| = 1 (default: scale each row)')
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | wasm | cpu', 'auto')
    .option('--engine <name>', 'inference engine: auto (onnxruntime when it loads and matches tfjs) | tfjs | onnx', 'auto')
    .option('--threads <n>', 'onnxruntime intra-op threads', '1')
    .action(async (opts: EmbedOptions) => {
      try {
        await runEmbed(opts);
      } catch (err) {
        if (!(err instanceof SpectrumInputError)) throw err;
        process.stderr.write(`spectrad embed: ${err.message} [${err.code}]\n`);
        process.exitCode = 2;
      }
    });
}
