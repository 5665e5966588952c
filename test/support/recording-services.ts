import type { ApiServices } from '../../daemon/http/services.ts';
import type { Store } from '../../daemon/store/store.ts';

/**
 * The HTTP API's services over a real store, with the actions that would reach the pipeline or library only recorded
 * in `calls` ('identify', 'enroll', 'undo', 'ack'): for tests of the HTTP layer itself (access, limits).
 */
export function recordingServices(store: Store, calls: string[]): ApiServices {
  return {
    store,
    health: () => ({ status: 'ok', ready: true, uptimeS: 1, adapters: [], queueDepth: 0, queueBound: 1, queues: {}, outbox: {}, counts: {} }),
    async identifyUpload() {
      calls.push('identify');
      return [];
    },
    async enroll(req) {
      calls.push('enroll');
      return { class: req.name, created: true, added: 1, enrollmentId: 'e1' };
    },
    async undoEnrollment() {
      calls.push('undo');
      return { removed: 1 };
    },
    rawCurve: () => undefined,
    gridX: () => undefined,
    alertAcknowledged: () => calls.push('ack'),
  };
}
