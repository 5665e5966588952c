import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { portableCommand, portablePath } from '../../bench/support/portable-path.ts';

describe('portablePath: what a results file names', () => {
  const root = path.resolve('/repo/checkout');
  it('keeps a path inside the checkout relative to it', () => {
    expect(portablePath('models/default', root)).toBe('models/default');
    expect(portablePath(path.join(root, 'models', 'ir-fold0'), root)).toBe('models/ir-fold0');
  });
  it('names a directory outside the checkout MODELS/<name>, never the machine path', () => {
    expect(portablePath('/srv/runs/hB/models/challenge-seed1', root)).toBe('MODELS/challenge-seed1');
    expect(portablePath('../saved/mixtures-seed1', root)).toBe('MODELS/mixtures-seed1');
  });
  it('rewrites the absolute paths of a command line and leaves the rest', () => {
    expect(portableCommand('npm run bench:daemon --', ['--only', 'daemon', '--model', '/srv/runs/seed-model', '--rate', '120'], root)).toBe(
      'npm run bench:daemon -- --only daemon --model MODELS/seed-model --rate 120',
    );
    expect(portableCommand('npm run bench:operator --', [], root)).toBe('npm run bench:operator --');
  });
});
