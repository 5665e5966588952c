import type { AlertView } from './types.ts';

/**
 * An alert's message as an operator reads it. Current daemons already write words; alerts stored by older ones read
 * like log lines ("unknown compound in /srv/inbox/a.jdx (best: x)", "score 0.0044"): server paths become the file
 * name and raw scores are left out.
 */
export function alertText(a: Pick<AlertView, 'message'>): string {
  return a.message
    .replace(/(?:[A-Za-z]:)?(?:[\\/][^\s\\/:'"()]+){2,}/g, (p) => p.split(/[\\/]/).pop() ?? p)
    .replace(/\s*\(score [-+0-9.eE]+\)/g, '')
    .replace(/^unknown compound in (\S+) \(best: ([^)]+)\)$/, '$1: not in the library (closest: $2)')
    .replace(/^low confidence: (.+?) for (\S+)$/, '$2: probably $1, but the match is weak')
    .replace(/^rejected (\S+): /, 'Could not read $1: ');
}
