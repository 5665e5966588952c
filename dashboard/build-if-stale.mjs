// Builds dashboard/dist when it is missing or older than its sources; run before `npm start` (prestart).
// Plain JavaScript so it needs nothing but Node. Without vite (a production install with --omit=dev) and without a
// built dashboard it warns and lets the daemon start anyway: the API works without the page.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const built = join(here, 'dist', 'index.html');

function newestSource(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newestSource(join(path, name))), 0);
}

const sources = ['src', 'index.html', 'vite.config.ts'].map((p) => join(here, p)).filter((p) => existsSync(p));
const stale = !existsSync(built) || sources.some((p) => newestSource(p) > statSync(built).mtimeMs);
const force = process.argv.includes('--force');

if (stale || force) {
  let vite;
  try {
    vite = await import('vite');
  } catch {
    console.warn(existsSync(built)
      ? 'spectrad: dashboard sources changed but vite is not installed; serving the existing dashboard/dist'
      : 'spectrad: dashboard/dist is missing and vite is not installed (npm ci installs it); the dashboard will not be served');
    process.exit(0);
  }
  const t0 = Date.now();
  await vite.build({ configFile: join(here, 'vite.config.ts'), logLevel: 'warn' });
  console.log(`spectrad: dashboard built into dashboard/dist in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
