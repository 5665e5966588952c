import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';

/**
 * Labs run spectrad commercially: every package we ship must carry a permissive licence. Dev tools may also be
 * weak-copyleft (MPL, used unmodified by the build). jcampconverter >= 11 is CC-BY-NC-SA and must never come in.
 */
const PERMISSIVE = new Set(['MIT', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', 'Apache-2.0', '0BSD', 'BlueOak-1.0.0', 'CC0-1.0', 'Unlicense', 'WTFPL']);
const DEV_ALSO = new Set(['MPL-2.0', 'Python-2.0', 'CC-BY-4.0']);

interface LockEntry {
  version?: string;
  license?: string;
  dev?: boolean;
}

/** Accepts an SPDX expression when some OR-branch is all-permissive. */
function licenceAllowed(expr: string, allowed: Set<string>): boolean {
  const clean = expr.replace(/[()]/g, ' ').trim();
  return clean.split(/\s+OR\s+/).some((branch) => branch.split(/\s+AND\s+/).every((id) => allowed.has(id.trim())));
}

function licenceOf(path: string, entry: LockEntry): string | undefined {
  if (entry.license) return entry.license;
  const pkgFile = `${path}/package.json`;
  if (!existsSync(pkgFile)) return undefined;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { license?: string };
  if (pkg.license) return pkg.license;
  for (const name of ['LICENSE', 'LICENSE.md', 'LICENSE.txt']) {
    const file = `${path}/${name}`;
    if (existsSync(file) && /Permission is hereby granted, free of charge/.test(readFileSync(file, 'utf8'))) return 'MIT';
  }
  return undefined;
}

describe('dependency licences', () => {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> };
  const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));

  it('the SPDX check accepts permissive expressions and refuses others', () => {
    expect(licenceAllowed('(MIT OR WTFPL)', PERMISSIVE)).toBe(true);
    expect(licenceAllowed('Apache-2.0 AND MIT', PERMISSIVE)).toBe(true);
    expect(licenceAllowed('CC-BY-NC-SA-4.0', PERMISSIVE)).toBe(false);
    expect(licenceAllowed('GPL-3.0-only OR CC-BY-NC-4.0', PERMISSIVE)).toBe(false);
  });

  it('every shipped package is permissively licensed', () => {
    const bad = entries
      .filter(([, e]) => !e.dev)
      .map(([path, e]) => [path, licenceOf(path, e)] as const)
      .filter(([, l]) => !l || !licenceAllowed(l, PERMISSIVE));
    expect(bad).toEqual([]);
  });

  it('every dev tool is permissive or weak-copyleft', () => {
    const both = new Set([...PERMISSIVE, ...DEV_ALSO]);
    const bad = entries
      .filter(([, e]) => e.dev)
      .map(([path, e]) => [path, licenceOf(path, e)] as const)
      .filter(([, l]) => !l || !licenceAllowed(l, both));
    expect(bad).toEqual([]);
  });

  it('jcampconverter, if present, is the last MIT release or older', () => {
    for (const [path, e] of entries) {
      if (path.endsWith('node_modules/jcampconverter')) {
        const major = Number((e.version ?? '0').split('.')[0]);
        expect(major, `jcampconverter ${e.version} is CC-BY-NC-SA`).toBeLessThanOrEqual(10);
      }
    }
  });
});
