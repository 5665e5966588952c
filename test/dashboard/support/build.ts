import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const configFile = fileURLToPath(new URL('../../../dashboard/vite.config.ts', import.meta.url));

/**
 * Builds the dashboard from its sources into a fresh temporary folder, so the browser tests always see the code
 * under test and never race another test run (or `npm start`) writing dashboard/dist.
 */
export async function buildDashboard(): Promise<{ dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'spectrad-dashboard-'));
  const { build } = await import('vite');
  await build({ configFile, logLevel: 'error', build: { outDir: dir, emptyOutDir: true, sourcemap: false } });
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`vite build wrote no index.html into ${dir}`);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
