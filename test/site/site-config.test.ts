/** site.postgres.* in the config: the URL is a secret (inline, urlFile, SPECTRAD_SITE_URL(_FILE)), never echoed in errors. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../config/load.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-site-config-'));
const file = path.join(dir, 'spectrad.yaml');
const parse = (yaml: string, env: NodeJS.ProcessEnv = {}) => parseConfig(yaml, file, { env, cwd: dir });

describe('site.postgres config', () => {
  it('is off by default: a single node', () => {
    expect(parse('').site.postgres).toMatchObject({ url: undefined, pollMs: 5000, catchUpTimeoutS: 30 });
  });

  it('takes the URL inline, from a file, or from the environment (which wins)', () => {
    expect(parse("site: { postgres: { url: 'postgres://a:pw@db/site' } }").site.postgres.url).toBe('postgres://a:pw@db/site');
    writeFileSync(path.join(dir, 'site-url'), 'postgresql://b:pw@db:5433/site?sslmode=verify-full\n');
    expect(parse('site: { postgres: { urlFile: site-url, pollMs: 1000 } }').site.postgres).toMatchObject({ url: 'postgresql://b:pw@db:5433/site?sslmode=verify-full', pollMs: 1000, urlFile: undefined });
    expect(parse("site: { postgres: { url: 'postgres://a@db/site' } }", { SPECTRAD_SITE_URL: 'postgres://c@db/other' }).site.postgres.url).toBe('postgres://c@db/other');
    expect(parse('', { SPECTRAD_SITE_URL_FILE: path.join(dir, 'site-url') }).site.postgres.url).toMatch(/^postgresql:\/\/b:pw@db:5433/);
  });

  it('refuses a value that is not a PostgreSQL URL without repeating it', () => {
    const bad = (env: NodeJS.ProcessEnv) => {
      try {
        parse('', env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        const text = JSON.stringify((err as ConfigError).problems) + (err as Error).message;
        expect(text).toContain('site.postgres.url');
        expect(text).not.toContain('hunter2');
        return;
      }
      throw new Error('accepted');
    };
    bad({ SPECTRAD_SITE_URL: 'mysql://root:hunter2@db/site' });
    expect(() => parse("site: { postgres: { url: 'http://x:hunter2@db' } }")).toThrow(ConfigError);
    expect(() => parse("site: { postgres: { url: 'postgres://db/site', urlFile: site-url } }")).toThrow(/inline or as a file/);
    expect(() => parse('site: { postgres: { pollMs: 10 } }')).toThrow(ConfigError);
  });
});
