import { SpectrumInputError, type InputLocation } from '../errors.ts';

/**
 * Stable error codes of the format readers. Callers (the daemon's rejection records, the inspect command, tests)
 * switch on these, so they never change meaning; new ones may be added.
 */
export type FormatErrorCode =
  // whole input
  | 'input-too-large'
  | 'empty-input'
  | 'binary-input'
  | 'unknown-format'
  | 'too-many-points'
  | 'too-many-blocks'
  | 'no-spectrum'
  // any format
  | 'bad-number'
  | 'non-finite'
  | 'non-monotonic-x'
  | 'too-few-points'
  // JCAMP-DX
  | 'jcamp-bad-label'
  | 'jcamp-no-block'
  | 'jcamp-missing-end'
  | 'jcamp-missing-field'
  | 'jcamp-bad-field'
  | 'jcamp-bad-char'
  | 'jcamp-dif-check'
  | 'jcamp-x-check'
  | 'jcamp-npoints-mismatch'
  | 'jcamp-deltax-mismatch'
  | 'jcamp-firsty-mismatch'
  | 'jcamp-unsupported'
  | 'jcamp-incomplete-tuple'
  | 'jcamp-blocks-mismatch'
  // delimited text
  | 'csv-columns'
  | 'csv-no-data'
  // JSON
  | 'json-syntax'
  | 'json-schema';

export function inputError(code: FormatErrorCode, message: string, where: InputLocation = {}): SpectrumInputError {
  return new SpectrumInputError(code, message, where);
}

/** A copy of the error located also in the given file/block (the error's own, finer location wins). */
export function locate(error: SpectrumInputError, where: InputLocation): SpectrumInputError {
  // The constructor prefixes the message with its location; an empty message gives exactly that prefix back.
  const prefix = new SpectrumInputError(error.code, '', error.where).message;
  const bare = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  const copy = new SpectrumInputError(error.code, bare, { ...where, ...error.where });
  return copy;
}
