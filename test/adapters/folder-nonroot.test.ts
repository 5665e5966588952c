import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/daemon-process.ts';
import { makeTempDir, stopAllServers } from '../../support/servers.ts';

/**
 * The folder input as a non-root user, as it runs in production (the systemd unit's `User=spectrad`): a file it may
 * not read (mode 000, or written by another user with 0600) is refused into failed/ with the reason, the others are
 * read, nothing hangs or crashes. Run as root (CI containers), the probe runs as `nobody` through setpriv; run as
 * another user, it runs as that user.
 */
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

afterAll(() => stopAllServers());

function probe(dir: string, secret?: string): { uid: number; got: Array<{ source: string; bytes: number; payload: string }>; refused: Array<{ path: string; reason: string }> } {
  const cmd = [process.execPath, join(REPO_ROOT, 'bin/run-ts.js'), join(REPO_ROOT, 'test/adapters/support/folder-probe.ts'), dir, '2500', ...(secret ? [secret] : [])];
  const argv = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...cmd] : cmd;
  const out = execFileSync(argv[0], argv.slice(1), { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: dir } });
  return JSON.parse(out.trim().split('\n').at(-1)!) as ReturnType<typeof probe>;
}

describe('folder input as a non-root user', () => {
  it('refuses a file it may not read into failed/ with the reason, and reads the rest', () => {
    const dir = makeTempDir('nonroot');
    writeFileSync(join(dir, 'ok.jdx'), '##TITLE=ok\n##END=\n');
    writeFileSync(join(dir, 'denied.jdx'), '##TITLE=denied\n##END=\n');
    if (asRoot) {
      chownSync(dir, NOBODY, NOBODY);
      chownSync(join(dir, 'ok.jdx'), NOBODY, NOBODY);
      chmodSync(join(dir, 'denied.jdx'), 0o600); // root's file in the daemon user's inbox
    } else {
      chmodSync(join(dir, 'denied.jdx'), 0o000);
    }
    const seen = probe(dir);
    expect(seen.uid).not.toBe(0);
    expect(seen.got.map((g) => g.source)).toEqual([join(dir, 'ok.jdx')]);
    expect(existsSync(join(dir, 'processed', 'ok.jdx'))).toBe(true);
    expect(seen.refused.map((r) => r.path)).toEqual([join(dir, 'denied.jdx')]);
    expect(seen.refused[0].reason).toMatch(/EACCES|permission/i);
    expect(readdirSync(join(dir, 'failed')).sort()).toEqual(['denied.jdx', 'denied.jdx.error.txt']);
    expect(readFileSync(join(dir, 'failed', 'denied.jdx.error.txt'), 'utf8')).toMatch(/EACCES|permission/i);
  });

  it("does not read the daemon user's own secret through a file swapped for a link to it", () => {
    const dir = makeTempDir('nonroot');
    const data = makeTempDir('nonroot-data');
    const secret = join(data, 'http-token');
    writeFileSync(secret, 'nonroot-secret-token-42');
    chmodSync(secret, 0o600);
    writeFileSync(join(dir, 'sample.jdx'), '##TITLE=innocent\n##END=\n');
    if (asRoot) for (const p of [dir, join(dir, 'sample.jdx'), data, secret]) chownSync(p, NOBODY, NOBODY);
    const seen = probe(dir, secret);
    expect(seen.uid).not.toBe(0);
    expect(seen.got.every((g) => !g.payload.includes('nonroot-secret-token-42'))).toBe(true);
    expect(seen.refused.map((r) => r.reason).join('\n')).toMatch(/symbolic link/);
    expect(readdirSync(join(dir, 'failed'))).toContain('sample.jdx');
  });
});
