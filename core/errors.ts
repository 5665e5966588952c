/** Where in an input a problem sits, as precisely as the reader knows it. */
export interface InputLocation {
  readonly file?: string;
  readonly block?: number;
  readonly line?: number;
  readonly field?: string;
  readonly index?: number;
}

/**
 * Every rejection of user or instrument input is a SpectrumInputError: a stable machine-readable code, a message
 * that says what and why, and where. The daemon records it and carries on; nothing else is thrown for bad input.
 */
export class SpectrumInputError extends Error {
  override readonly name = 'SpectrumInputError';
  constructor(
    readonly code: string,
    message: string,
    readonly where: InputLocation = {},
  ) {
    super(formatLocation(where) + message);
  }
}

function formatLocation(where: InputLocation): string {
  const parts: string[] = [];
  if (where.file) parts.push(where.file);
  if (where.block !== undefined) parts.push(`block ${where.block}`);
  if (where.line !== undefined) parts.push(`line ${where.line}`);
  if (where.field) parts.push(`field ${where.field}`);
  if (where.index !== undefined) parts.push(`point ${where.index}`);
  return parts.length ? `${parts.join(', ')}: ` : '';
}
