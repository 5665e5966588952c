/* global setInterval, performance */
// Preloaded into the daemon by the benchmarks only (`node --expose-gc --import <this file> bin/spectrad.js run`):
// every SPECTRAD_BENCH_HEAP_PROBE_S seconds it forces a full garbage collection and prints one JSON line with the
// heap that survived it. Heap used between collections swings with allocation and says little about growth; the
// heap after a full collection is what the process really holds, so a leak shows as a rising line here.
import { getHeapStatistics } from 'node:v8';

const everyS = Number(process.env.SPECTRAD_BENCH_HEAP_PROBE_S ?? '10');
const mb = (b) => Math.round((b / 1048576) * 100) / 100;

if (typeof globalThis.gc === 'function' && everyS > 0) {
  const timer = setInterval(() => {
    const t0 = performance.now();
    globalThis.gc();
    const gcMs = Math.round((performance.now() - t0) * 10) / 10;
    const m = process.memoryUsage();
    const h = getHeapStatistics();
    process.stdout.write(
      JSON.stringify({
        msg: 'bench heap probe',
        at: Date.now(),
        gcMs,
        heapUsedMb: mb(m.heapUsed),
        heapTotalMb: mb(m.heapTotal),
        externalMb: mb(m.external),
        arrayBuffersMb: mb(m.arrayBuffers),
        rssMb: mb(m.rss),
        mallocedMb: mb(h.malloced_memory),
        nativeContexts: h.number_of_native_contexts,
        detachedContexts: h.number_of_detached_contexts,
      }) + '\n',
    );
  }, everyS * 1000);
  timer.unref();
}
