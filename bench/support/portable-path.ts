import path from 'node:path';

/**
 * How a results file names a model directory: relative to this checkout when inside it (`models/default`), else
 * `MODELS/<name>`, MODELS standing for a directory of the user's choice (docs/RESULTS.md), so what bench/results holds
 * reads the same on every machine and names no machine's paths.
 */
export function portablePath(p: string, root: string = process.cwd()): string {
  const abs = path.resolve(root, p);
  const rel = path.relative(root, abs);
  if (rel === '') return '.';
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  return `MODELS/${path.basename(abs)}`;
}

/** A command line for a results file: each argument that is a path outside the checkout named as portablePath does. */
export function portableCommand(command: string, args: readonly string[], root: string = process.cwd()): string {
  const shown = args.map((a) => (path.isAbsolute(a) ? portablePath(a, root) : a));
  return [command, ...shown].join(' ').trim();
}
