/**
 * An output could not take a message now (broker or database down, no acknowledgement in time). The daemon's outbox
 * keeps the message and replays it later; nothing is lost. Distinct from SpectrumInputError, which is about bad input.
 */
export class OutputUnavailableError extends Error {
  override readonly name = 'OutputUnavailableError';
  constructor(
    readonly adapter: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${adapter}: ${message}`, options);
  }
}
