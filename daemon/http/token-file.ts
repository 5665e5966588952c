import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The write token of a daemon whose config names none but asks for one (`http.autoToken`, on in the embedded
 * default): created once in the data folder, readable only by its owner, and reused on every start — as Jupyter
 * does — so an operator can label from the dashboard after `npm start` without editing any config. The token itself
 * is never logged; the log names the file.
 */
export function readOrCreateTokenFile(dataDir: string): { token: string; file: string; created: boolean } {
  const file = path.join(dataDir, 'http-token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, file, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, file, created: true };
}

/** Replaces the token file's content (a site's shared token), readable only by its owner. */
export function writeTokenFile(dataDir: string, token: string): string {
  const file = path.join(dataDir, 'http-token');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}
