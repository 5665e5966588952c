import type { RawInput } from '../adapters/types.ts';
import type { PipelineLogger } from './ports.ts';

/**
 * Inputs acknowledged only after their results (RawInput.ackAfterResult: a shared work queue, where a job left
 * unacknowledged by a dead node goes to another node): held at the ingest commit, acknowledged once every spectrum
 * they added has its result committed.
 */
export class AcksAfterResult {
  /** Spectrum id -> its input and how many of that input's spectra still wait for a result. */
  private readonly waiting = new Map<string, { raw: RawInput; left: number }>();

  constructor(private readonly log: PipelineLogger) {}

  /** The input's spectra are committed as pending: acknowledge it when the last of them has its result. */
  hold(raw: RawInput, spectrumIds: readonly string[]): void {
    const entry = { raw, left: spectrumIds.length };
    for (const id of spectrumIds) this.waiting.set(id, entry);
  }

  /** These spectra's results are committed. */
  identified(spectrumIds: readonly string[]): void {
    for (const id of spectrumIds) {
      const entry = this.waiting.get(id);
      if (!entry) continue;
      this.waiting.delete(id);
      if (--entry.left > 0) continue;
      entry.raw
        .ack()
        .catch((err: unknown) => this.log.warn({ err, adapter: entry.raw.adapter, source: entry.raw.source }, 'acknowledging the input failed (its result is recorded)'));
    }
  }
}
