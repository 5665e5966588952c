/**
 * What a rejected file held, as numbered lines around the line its error names, so an operator sees the problem
 * without opening the instrument PC. Pure: tested in Node.
 */
export interface ExcerptLine {
  readonly n: number;
  readonly text: string;
  readonly bad: boolean;
}

export interface Excerpt {
  readonly lines: readonly ExcerptLine[];
  readonly totalLines: number;
  /** Lines left out before and after the window. */
  readonly before: number;
  readonly after: number;
}

/** The 1-based line a SpectrumInputError message names ("a.jdx, block 1, line 14: …"), if any. */
export function errorLine(message: string | undefined): number | undefined {
  const m = /\bline (\d+)\b/.exec(message ?? '');
  return m ? Number(m[1]) : undefined;
}

const MAX_CHARS_PER_LINE = 300;

export function payloadExcerpt(text: string, badLine?: number, window = 40): Excerpt {
  const all = text.split(/\r\n|\r|\n/);
  if (all.length > 1 && all[all.length - 1] === '') all.pop();
  const centre = badLine && badLine >= 1 && badLine <= all.length ? badLine : 1;
  const start = Math.max(1, Math.min(centre - Math.floor(window / 2), all.length - window + 1));
  const end = Math.min(all.length, start + window - 1);
  const lines: ExcerptLine[] = [];
  for (let n = start; n <= end; n++) {
    const raw = all[n - 1];
    lines.push({ n, text: raw.length > MAX_CHARS_PER_LINE ? `${raw.slice(0, MAX_CHARS_PER_LINE)}…` : raw, bad: n === badLine });
  }
  return { lines, totalLines: all.length, before: start - 1, after: all.length - end };
}
