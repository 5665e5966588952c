import { defineConfig, type Plugin } from 'vite';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * The operator dashboard: plain TypeScript, bundled to dashboard/dist, which the daemon serves at /.
 * `npm run dev:dashboard` serves it with hot reload and forwards the API and socket.io to a daemon on :8080.
 */
/**
 * Writes .br and .gz beside every text asset of the build, once, at their best settings: the daemon serves them as
 * they are (@fastify/static preCompressed), so no request pays for compression and no compression plugin is needed.
 */
function precompress(): Plugin {
  let outDir = '';
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)]));
  return {
    name: 'spectrad-precompress',
    apply: 'build',
    configResolved(config) {
      // outDir is relative to the config's root (dashboard/), not to the folder the build was started from.
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|json|txt)$/.test(file)) continue;
        const raw = readFileSync(file);
        if (raw.length < 1024) continue;
        writeFileSync(`${file}.br`, brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } }));
        writeFileSync(`${file}.gz`, gzipSync(raw, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root: here,
  // Relative asset URLs so the page also works when the daemon serves it under a prefix.
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No public source map: the bundle ships alone (the dev server has its own maps).
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
  plugins: [precompress()],
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/socket.io': { target: 'http://127.0.0.1:8080', ws: true },
    },
  },
});
