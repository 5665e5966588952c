import { SpectrumInputError } from '../errors.ts';

/**
 * Parses a class selection as the CLI takes it: "A-B" (inclusive), single indices, or a comma list of both
 * ("0-99,250,300-309"). Returns the indices in the order written; rejects duplicates and classes that do not exist.
 */
export function parseClassList(text: string, classCount: number): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const parts = text.split(',').map((p) => p.trim());
  for (const part of parts) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) {
      throw new SpectrumInputError('bad-class-list', `"${part}" is not a class index or range A-B (e.g. 0-99,250)`, { field: 'classes' });
    }
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new SpectrumInputError('bad-class-list', `range ${part} runs backwards`, { field: 'classes' });
    if (to >= classCount) {
      throw new SpectrumInputError('bad-class-list', `class ${to} does not exist (classes 0-${classCount - 1})`, { field: 'classes' });
    }
    for (let c = from; c <= to; c++) {
      if (seen.has(c)) throw new SpectrumInputError('bad-class-list', `class ${c} is selected twice`, { field: 'classes' });
      seen.add(c);
      out.push(c);
    }
  }
  return out;
}
