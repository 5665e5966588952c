import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * A second `spectrad run` on a taken HTTP port must say so in one line and exit before its inputs start: otherwise it
 * takes files from a folder the running daemon may also watch, then dies (found in the operator walkthrough).
 */
describe('spectrad run on an HTTP address already in use', () => {
  it('exits with code 2 and a one-line reason, leaving the watched folder untouched', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-port-'));
    const inbox = path.join(dir, 'inbox');
    mkdirSync(inbox);
    const file = path.join(inbox, 'waiting.csv');
    writeFileSync(file, '1,2,3\n');
    try {
      const result = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
        execFile(
          process.execPath,
          [path.resolve('bin/spectrad.js'), 'run', '--http', `127.0.0.1:${port}`, '--data', path.join(dir, 'data'), '--watch', inbox],
          { timeout: 60_000 },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
        );
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
      expect(result.stderr).toMatch(/--http HOST:PORT/);
      // no wasm runtime dump, just the reason
      expect(result.stderr.length).toBeLessThan(2000);
      expect(existsSync(file)).toBe(true);
      expect(existsSync(path.join(inbox, 'processed'))).toBe(false);
    } finally {
      blocker.close();
    }
  }, 90_000);
});
