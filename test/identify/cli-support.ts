import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildEncoderModel, type ArchitectureSpec } from '../../core/encoder/architectures.ts';
import { INPUT_PREPROCESSING, MODEL_FORMAT, saveModelDir } from '../../core/encoder/model-files.ts';
import type { InputGrid } from '../../core/encoder/types.ts';

/** What the `spectrad` subprocess tests of library / identify share: running the CLI and an untrained model fixture. */
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'bin/spectrad.js');

/** Runs the CLI; resolves with stdout, stderr and the exit code (non-zero does not throw). */
export async function spectrad(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: root, timeout: 180_000 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

/** Writes an untrained encoder (seed 1) on `grid` as a model directory; the engine must be initialised first. */
export async function saveUntrainedModel(dir: string, version: string, arch: ArchitectureSpec, grid: InputGrid): Promise<void> {
  const m = buildEncoderModel(arch, 1);
  await saveModelDir(
    m,
    {
      format: MODEL_FORMAT,
      version,
      createdAt: new Date().toISOString(),
      architecture: arch,
      embeddingDim: 64,
      inputGrid: grid,
      preprocessing: INPUT_PREPROCESSING,
      engine: { backend: 'cpu', tfjs: '4.22.0' },
    },
    dir,
  );
  m.dispose();
}
