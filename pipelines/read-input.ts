import { SpectrumInputError } from '../core/errors.ts';
import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import type { Spectrum } from '../core/spectrum.ts';
import type { RawInput } from '../adapters/types.ts';
import type { PipelineDomain } from './domain.ts';
import type { IngestCommit, PendingSpectrum, PipelineLogger, ReceivedSpectrum } from './ports.ts';
import { instrumentName, type ResultMessages } from './result-messages.ts';
import type { StageTimes } from './stage-times.ts';

export interface ReadInputDeps {
  readonly domain: PipelineDomain;
  readonly messages: ResultMessages;
  readonly stageTimes: StageTimes;
  readonly log: PipelineLogger;
  readonly newId: () => string;
  /** Instrument for inputs that name none. */
  readonly defaultInstrument: string;
}

/** An input read: what to commit for it, and the spectra that then wait for identification. */
export interface ReadInput {
  readonly commit: IngestCommit;
  readonly pending: readonly PendingSpectrum[];
  /** 'processed' when some spectrum was accepted (the input is acknowledged), else 'failed' (rejected). */
  readonly outcome: 'processed' | 'failed';
}

/**
 * Parse, validate and preprocess one input: every block becomes a spectrum to commit, either accepted (with its
 * vector on the model grid) or rejected with a result and an alert saying why. Bad input never throws here: a
 * SpectrumInputError is the rejection's reason, anything else is logged as a fault and rejected too.
 */
export function readInput(raw: RawInput, deps: ReadInputDeps): ReadInput {
  const arrived = Date.parse(raw.receivedAt);
  const spectra: ReceivedSpectrum[] = [];
  const pending: PendingSpectrum[] = [];
  const results: ResultMessage[] = [];
  const alerts: AlertMessage[] = [];
  const base = {
    adapter: raw.adapter,
    source: raw.source,
    receivedAt: raw.receivedAt,
    formatHint: raw.formatHint,
    raw: raw.payload,
  };
  const reject = (id: string, block: number, instrument: string, error: SpectrumInputError | Error, title?: string) => {
    const code = error instanceof SpectrumInputError ? error.code : 'internal-error';
    spectra.push({ ...base, id, block, instrument, title, dedupKey: raw.dedupKey ? `${raw.dedupKey}#${block}` : undefined });
    const result = deps.messages.result({ id, instrument, source: raw.source, receivedAt: raw.receivedAt }, arrived, { code, message: error.message });
    results.push(result);
    alerts.push(deps.messages.alert(result)!);
  };

  let parts: Array<{ block: number; spectrum?: Spectrum; error?: Error }>;
  try {
    parts = deps.stageTimes.time('parse', 1, () => deps.domain.parse(raw));
  } catch (err) {
    if (!(err instanceof SpectrumInputError)) deps.log.error({ err, source: raw.source }, 'parser fault (recorded as rejected)');
    parts = [{ block: 0, error: err instanceof Error ? err : new Error(String(err)) }];
  }
  if (parts.length === 0) parts = [{ block: 0, error: new SpectrumInputError('no-spectrum', 'the input holds no spectrum') }];
  for (const part of parts) {
    const id = deps.newId();
    const instrument = instrumentName(raw.instrument ?? part.spectrum?.meta.instrument ?? deps.defaultInstrument);
    if (!part.spectrum) {
      reject(id, part.block, instrument, part.error ?? new SpectrumInputError('unreadable', 'the block could not be read'));
      continue;
    }
    let vector: Float32Array;
    try {
      const spectrum = part.spectrum;
      vector = deps.stageTimes.time('preprocess', 1, () => deps.domain.preprocess(spectrum));
    } catch (err) {
      if (!(err instanceof SpectrumInputError)) deps.log.error({ err, source: raw.source }, 'preprocessing fault (recorded as rejected)');
      reject(id, part.block, instrument, err instanceof Error ? err : new Error(String(err)), part.spectrum.meta.title);
      continue;
    }
    spectra.push({
      ...base,
      id,
      block: part.block,
      instrument,
      title: part.spectrum.meta.title,
      preprocessed: vector,
      dedupKey: raw.dedupKey ? `${raw.dedupKey}#${part.block}` : undefined,
    });
    const warnings = part.spectrum.meta.warnings;
    pending.push({ id, instrument, source: raw.source, receivedAt: raw.receivedAt, vector, ...(warnings?.length ? { warnings } : {}) });
  }

  const outcome = pending.length > 0 ? 'processed' : 'failed';
  const commit = { spectra, results, alerts, ledger: raw.dedupKey ? { key: raw.dedupKey, outcome, source: raw.source } as const : undefined };
  return { commit, pending, outcome };
}
