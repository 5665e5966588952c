import type { WorkQueue } from '../../adapters/work-queue.ts';

/**
 * A work queue that counts its claims under way. A paused queue input with none open takes no new job until resumed,
 * so a test can hand a job to another node without a fixed wait for the input's pull to end.
 */
export function countingClaims<Q extends WorkQueue>(q: Q): Q & { readonly claiming: number } {
  let claiming = 0;
  const claim: WorkQueue['claim'] = async (...args) => {
    claiming++;
    try {
      return await q.claim(...args);
    } finally {
      claiming--;
    }
  };
  return new Proxy(q, { get: (t, p) => (p === 'claim' ? claim : p === 'claiming' ? claiming : Reflect.get(t, p, t)) }) as Q & { readonly claiming: number };
}
