import type { AlertKind, ResultStatus } from './types.ts';

/**
 * One colour family per answer, the same everywhere on the page (and in the CSS as .st-<tone>):
 * identified green, low-confidence amber, unknown and rejected red, mixture blue.
 */
export type Tone = 'ok' | 'warn' | 'bad' | 'mix' | 'idle';

const TONE: Record<ResultStatus, Tone> = {
  identified: 'ok',
  'low-confidence': 'warn',
  unknown: 'bad',
  rejected: 'bad',
  mixture: 'mix',
};

const LABEL: Record<ResultStatus, string> = {
  identified: 'Identified',
  'low-confidence': 'Low confidence',
  unknown: 'Unknown',
  rejected: 'Rejected',
  mixture: 'Mixture',
};

export const RESULT_STATUSES: readonly ResultStatus[] = ['identified', 'low-confidence', 'mixture', 'unknown', 'rejected'];

export function statusTone(status: string): Tone {
  return (TONE as Record<string, Tone>)[status] ?? 'idle';
}

export function statusLabel(status: string): string {
  return (LABEL as Record<string, string>)[status] ?? status;
}

const ALERT_TONE: Record<AlertKind, Tone> = {
  unknown: 'bad',
  'low-confidence': 'warn',
  rejected: 'bad',
  'adapter-down': 'bad',
  'adapter-up': 'ok',
  'library-quarantine': 'bad',
};

export function alertTone(kind: string): Tone {
  return (ALERT_TONE as Record<string, Tone>)[kind] ?? 'idle';
}

export function alertLabel(kind: string): string {
  switch (kind) {
    case 'unknown': return 'Unknown spectrum';
    case 'low-confidence': return 'Low confidence';
    case 'rejected': return 'Rejected input';
    case 'adapter-down': return 'Adapter down';
    case 'adapter-up': return 'Adapter back up';
    case 'library-quarantine': return 'Library class set aside';
    default: return kind;
  }
}

export function adapterTone(state: string): Tone {
  switch (state) {
    case 'up': return 'ok';
    case 'starting': return 'warn';
    case 'down': return 'bad';
    default: return 'idle';
  }
}

/**
 * The answers an operator may correct by labelling: unknown and low-confidence, and mixtures, because a compound the
 * library lacks often comes out as the nearest mixture of classes it has.
 */
export const LABELLABLE_STATUSES = ['unknown', 'low-confidence', 'mixture'] as const;

export function isLabellable(status: string): boolean {
  return (LABELLABLE_STATUSES as readonly string[]).includes(status);
}
