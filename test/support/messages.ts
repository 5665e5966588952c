/** Realistic result and alert messages for output tests (every status, mixtures, rejections). */
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';

let seq = 0;

/** A time-sortable id in the spirit of the daemon's ids (not its implementation). */
export function testId(): string {
  seq++;
  return `${Date.now().toString(36).padStart(10, '0')}${seq.toString(36).padStart(6, '0')}`.toUpperCase();
}

export function identifiedResult(overrides: Partial<ResultMessage> = {}): ResultMessage {
  return {
    id: testId(),
    instrument: 'raman-1',
    source: '/srv/inbox/sample-17.jdx',
    receivedAt: new Date().toISOString(),
    status: 'identified',
    class: 'caffeine',
    score: 0.93,
    candidates: [
      { class: 'caffeine', score: 0.93, similarity: 0.98 },
      { class: 'theobromine', score: 0.05, similarity: 0.71 },
    ],
    latencyMs: 41.5,
    modelVersion: 'seed-1.0.0+3f2a9c',
    ...overrides,
  };
}

export function mixtureResult(overrides: Partial<ResultMessage> = {}): ResultMessage {
  return identifiedResult({
    status: 'mixture',
    class: undefined,
    score: 0.81,
    components: [
      { class: 'ethanol', score: 0.9, fraction: 0.6 },
      { class: 'acetone', score: 0.72, fraction: 0.4 },
    ],
    unknownComponent: false,
    ...overrides,
  });
}

export function rejectedResult(overrides: Partial<ResultMessage> = {}): ResultMessage {
  return identifiedResult({
    status: 'rejected',
    class: undefined,
    score: 0,
    candidates: [],
    error: { code: 'JCAMP_BAD_XYDATA', message: 'sample-17.jdx, line 12: expected a number, found "1.2.3"' },
    ...overrides,
  });
}

/** Without undefined-valued keys, as JSON would carry it. */
export function asJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function alertFor(result: ResultMessage, overrides: Partial<AlertMessage> = {}): AlertMessage {
  return {
    id: testId(),
    kind: 'unknown',
    instrument: result.instrument,
    at: new Date().toISOString(),
    message: `spectrum ${result.id} matches no library class`,
    resultId: result.id,
    ...overrides,
  };
}
