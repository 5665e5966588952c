import { h } from '../dom.ts';
import { formatFraction, formatLatency, formatScore, formatSimilarity, formatTime, shortSource } from '../format.ts';
import { statusLabel, statusTone } from '../status.ts';
import type { ResultMessage } from '../types.ts';

/** The answer for one spectrum, large enough to read from across the lab. */

export function statusPill(status: string): HTMLElement {
  return h('span', { class: `pill st-${statusTone(status)}`, 'data-status': status }, statusLabel(status));
}

export function scoreBar(score: number, tone: string): HTMLElement {
  const pct = Math.max(0, Math.min(100, score * 100));
  return h('span', { class: `bar st-${tone}`, title: formatScore(score) }, h('span', { class: 'bar-fill', style: `width:${pct.toFixed(1)}%` }));
}

/** The one-line name of the answer: the class, the mixture's components, or what went wrong. */
export function answerTitle(r: ResultMessage): string {
  switch (r.status) {
    case 'identified':
    case 'low-confidence':
      return r.class ?? r.candidates[0]?.class ?? '—';
    case 'mixture':
      // A residual no class explains is part of the answer, not a footnote: the named parts are not all of it.
      return ((r.components ?? []).map((c) => c.class).join(' + ') || 'Mixture') + (r.unknownComponent ? ' + unknown part' : '');
    case 'unknown':
      return 'Not in the library';
    case 'rejected':
      return r.error?.code ? `Input rejected: ${r.error.code}` : 'Input rejected';
    default:
      return r.class ?? r.status;
  }
}

/** 'labelled' chip with the class an operator gave: shown wherever a labelled spectrum's answer is listed. */
export function labelChip(r: ResultMessage): HTMLElement | null {
  if (!r.label) return null;
  const who = r.label.by ? ` by ${r.label.by}` : '';
  return h('span', { class: 'pill st-label', 'data-role': 'label', title: `Labelled as ${r.label.class}${who}, ${formatTime(r.label.at)}` }, 'labelled');
}

/** What an operator said the spectrum is, over the model's own answer (which stays below as what the model said). */
function labelNote(r: ResultMessage): HTMLElement | null {
  if (!r.label) return null;
  return h('div', { class: 'label-note', 'data-role': 'label-note' },
    labelChip(r),
    h('span', null, ' Labelled as ', h('b', { class: 'cls' }, r.label.class), r.label.by ? ` by ${r.label.by}` : '', `, ${formatTime(r.label.at)}.`),
    h('span', { class: 'muted' }, ' The model said:'));
}

export function renderAnswer(r: ResultMessage, actions: HTMLElement[] = []): HTMLElement {
  const tone = statusTone(r.status);
  const body: HTMLElement[] = [];
  if (r.status === 'mixture' && r.components?.length) {
    body.push(h('table', { class: 'components', 'aria-label': 'Mixture components' },
      h('thead', null, h('tr', null, h('th', null, 'Component'), h('th', null, 'Share'), h('th', null, 'Score'))),
      h('tbody', null, r.components.map((c) => h('tr', { 'data-class': c.class },
        h('td', { class: 'cls' }, c.class),
        h('td', { class: 'share' }, scoreBar(c.fraction, 'mix'), h('span', { class: 'num' }, formatFraction(c.fraction))),
        h('td', { class: 'num' }, formatScore(c.score)),
      )))));
    if (r.unknownComponent) body.push(h('p', { class: 'note st-warn' }, 'Part of this spectrum is not explained by any library class.'));
    if (r.fitQuality !== undefined) {
      body.push(h('p', { class: 'muted fit-quality', 'data-role': 'fit-quality', title: "Share of the spectrum's signal the components explain" }, `Fit quality: ${formatFraction(r.fitQuality)} of the signal explained`));
    }
  }
  if (r.status === 'rejected' && r.error) {
    body.push(h('div', { class: 'error-box', role: 'note' }, h('code', null, r.error.code), ' ', r.error.message));
  }
  // The file broke its format's rules in a way the reader could repair: say so, so a repaired file is not taken for a clean one.
  for (const w of r.warnings ?? []) {
    body.push(h('p', { class: 'note st-warn format-warning', role: 'note' }, 'File read with a warning: ', h('code', null, w.code), ' ', w.message));
  }
  if ((r.status === 'unknown' || r.status === 'low-confidence' || r.status === 'identified') && r.candidates.length) {
    body.push(candidateTable(r));
  }
  if (r.predictionSet && r.status !== 'rejected') body.push(predictionSetNote(r));
  if (r.decidedBy === 'peaks') {
    body.push(h('p', { class: 'muted', 'data-role': 'decided-by' }, 'Decided by the peaks: the top two classes are near-duplicates the embedding cannot tell apart.'));
  }
  return h('article', { class: `answer st-${tone}${r.label ? ' labelled' : ''}`, 'data-result-id': r.id, 'data-status': r.status },
    labelNote(r),
    h('header', { class: 'answer-head' },
      statusPill(r.status),
      h('span', { class: 'answer-score num', title: 'Calibrated confidence' }, r.status === 'rejected' ? '' : formatScore(r.score))),
    h('h2', { class: 'answer-title' }, answerTitle(r)),
    r.status !== 'rejected' ? scoreBar(r.score, tone) : null,
    body,
    h('dl', { class: 'facts' },
      fact('Instrument', r.instrument),
      fact('Source', shortSource(r.source), r.source),
      fact('Received', formatTime(r.receivedAt)),
      fact('Latency', formatLatency(r.latencyMs)),
      r.modelVersion ? fact('Model', r.modelVersion) : null),
    actions.length ? h('div', { class: 'answer-actions' }, actions) : null,
  );
}

/** The candidates as the answer rule lists them: best confidence first, with the evidence behind each. */
function candidateTable(r: ResultMessage): HTMLElement {
  const shown = r.candidates.slice(0, 5);
  const spectral = shown.some((c) => c.spectralMatch !== undefined);
  return h('table', { class: 'candidates', 'aria-label': r.status === 'unknown' ? 'Closest classes' : 'Candidates' },
    h('thead', null, h('tr', null,
      h('th', null, r.status === 'unknown' ? 'Closest classes' : 'Candidates'),
      h('th', { title: 'Calibrated probability that this class is the answer' }, 'Confidence'),
      h('th', { title: "Embedding similarity: cosine of the spectrum to the class's nearest reference" }, 'Similarity'),
      spectral ? h('th', { title: "Spectral match (hit-quality index) against the class's references" }, 'Spectral match') : null)),
    h('tbody', null, shown.map((c) => h('tr', { 'data-class': c.class },
      h('td', { class: 'cls' }, c.class),
      h('td', { class: 'num' }, formatScore(c.score)),
      h('td', { class: 'num muted' }, formatSimilarity(c.similarity)),
      spectral ? h('td', { class: 'num muted' }, formatSimilarity(c.spectralMatch)) : null))));
}

/** The conformal prediction set: what the truth is among, at the configured coverage. */
function predictionSetNote(r: ResultMessage): HTMLElement {
  const set = r.predictionSet ?? [];
  const coverage = r.coverage !== undefined ? `${Math.round(r.coverage * 100)}%` : '';
  const text = set.length === 0 ? 'none: not like any library class' : set.length === 1 ? `${set[0]} alone` : set.join(', ');
  return h('p', { class: 'prediction-set', 'data-role': 'prediction-set', title: `The classes that hold the true one with probability ${coverage}` },
    h('span', { class: 'muted' }, `Prediction set (${coverage}): `), h('span', { class: 'cls' }, text));
}

function fact(label: string, value: string, title?: string): HTMLElement {
  return h('div', null, h('dt', null, label), h('dd', { title: title ?? value }, value));
}
