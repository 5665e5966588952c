import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpectrumInputError } from '../errors.ts';
import { MODEL_CARD } from './model-files.ts';

/**
 * Models shipped with spectrad under models/<name> (default: the synthetic benchmark; raman-532, ir: RRUFF minerals),
 * so `--model raman-532` and `model.dir: raman-532` in a config name one without a path.
 */
export const BUNDLED_MODELS_DIR = fileURLToPath(new URL('../../models', import.meta.url));

/** Names of the bundled models (folders of models/ holding a model card), sorted. */
export function bundledModelNames(root = BUNDLED_MODELS_DIR): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, d.name, MODEL_CARD)))
    .map((d) => d.name)
    .sort();
}

const isDirectory = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * A --model value as a model directory: an existing directory (relative to `base`) is taken as it is; otherwise a
 * bare name (no path separator) names a bundled model. Anything else is a clear error listing the bundled names.
 */
export function resolveModelRef(ref: string, base = process.cwd(), root = BUNDLED_MODELS_DIR): string {
  const asPath = path.resolve(base, ref);
  const bare = ref !== '' && !/[\\/]/.test(ref) && ref !== '.' && ref !== '..';
  // A bare name that is also a folder here counts as that folder only when it holds a model.
  if (isDirectory(asPath) && (!bare || existsSync(path.join(asPath, MODEL_CARD)))) return asPath;
  if (bare && existsSync(path.join(root, ref, MODEL_CARD))) return path.join(root, ref);
  const names = bundledModelNames(root);
  throw new SpectrumInputError(
    'unknown-model',
    `no model "${ref}": not a model directory${bare ? ' and not a bundled model' : ''}; bundled models: ${names.length ? names.join(', ') : '(none)'}`,
    { field: 'model', file: ref },
  );
}
