import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOrCreateTokenFile } from '../../daemon/http/token-file.ts';
import { loadConfig } from '../../config/load.ts';

describe('auto write token', () => {
  it('is created once, owner-only, and reused on the next start', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-token-')), 'data');
    const first = readOrCreateTokenFile(dir);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    const second = readOrCreateTokenFile(dir);
    expect(second).toEqual({ ...first, created: false });
  });

  it('replaces a file too short to be a token', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-token-'));
    writeFileSync(path.join(dir, 'http-token'), 'abc\n');
    const made = readOrCreateTokenFile(dir);
    expect(made.created).toBe(true);
    expect(readFileSync(made.file, 'utf8').trim()).toBe(made.token);
  });

  it('is on in the embedded default config', () => {
    expect(loadConfig({ env: {} }).http.autoToken).toBe(true);
  });
});
