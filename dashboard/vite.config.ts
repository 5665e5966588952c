import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * The operator dashboard: plain TypeScript, bundled to dashboard/dist, which the daemon serves at /.
 * `npm run dev:dashboard` serves it with hot reload and forwards the API and socket.io to a daemon on :8080.
 */
export default defineConfig({
  root: here,
  // Relative asset URLs so the page also works when the daemon serves it under a prefix.
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/socket.io': { target: 'http://127.0.0.1:8080', ws: true },
    },
  },
});
