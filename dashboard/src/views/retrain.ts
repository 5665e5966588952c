import { ApiError } from '../api.ts';
import { askForToken, clearToken, requireToken } from '../auth.ts';
import type { AppContext } from '../context.ts';
import { h, replace, toast } from '../dom.ts';
import { formatTime } from '../format.ts';
import type { RetrainStatus } from '../types.ts';

const POLL_MS = 2000;
const RUNNING = new Set(['queued', 'training', 'evaluating']);

/** Metrics where a smaller number is the better model. */
const LOWER_IS_BETTER = /loss|error|unknown.?rate|false|latency|eer/i;

/**
 * Retraining: the state and progress of a background training run, the held-out numbers before and after, the
 * kept model versions with rollback. Polls GET /api/retrain (and takes 'retrain' socket events); when the daemon
 * has no such endpoint it says so instead of showing empty numbers.
 */
export function mountRetrain(ctx: AppContext, host: HTMLElement): () => void {
  const { api, store } = ctx;
  const body = h('div', { class: 'retrain-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const startBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'retrain', onclick: () => void start() }, 'Retrain now');
  const cancelBtn = h('button', { type: 'button', class: 'btn', 'data-action': 'cancel-retrain', hidden: true, onclick: () => void cancel() }, 'Cancel');
  const rollbackBtn = h('button', { type: 'button', class: 'btn', 'data-action': 'rollback', hidden: true, onclick: () => void rollback() }, 'Roll back');
  host.replaceChildren(h('section', { class: 'card' },
    h('header', { class: 'card-head' }, h('h2', null, 'Models and retraining'), h('span', { class: 'spacer' }), rollbackBtn, cancelBtn, startBtn),
    body));
  let notOffered = false;

  async function poll(): Promise<void> {
    try {
      store.setRetrain(await api.retrainStatus());
      notOffered = false;
    } catch (e) {
      notOffered = e instanceof ApiError && e.notOffered;
      if (!notOffered) replace(body, h('p', { class: 'form-error' }, `Could not read the retraining state: ${e instanceof Error ? e.message : String(e)}`));
      else render();
    }
  }

  async function withToken(why: string, action: (token: string) => Promise<void>): Promise<boolean> {
    let token = await requireToken(why);
    if (!token) {
      toast('Not started: retraining needs the operator token.', { tone: 'bad' });
      return false;
    }
    try {
      await action(token);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.refused) {
        clearToken();
        token = await askForToken(why, 'The daemon refused that token.');
        if (!token) return false;
        await action(token);
        return true;
      }
      throw e;
    }
  }

  async function start(): Promise<void> {
    try {
      if (await withToken('Retraining runs in the background; the new model is used only if it is not worse.', (t) => api.startRetrain(t))) {
        toast('Retraining started.', { tone: 'ok' });
        void poll();
      }
    } catch (e) {
      toast(`Could not start retraining: ${e instanceof Error ? e.message : String(e)}`, { tone: 'bad' });
    }
  }

  async function act(why: string, action: (token: string) => Promise<void>, done: string, failed: string): Promise<void> {
    try {
      if (await withToken(why, action)) {
        toast(done, { tone: 'ok' });
        void poll();
      }
    } catch (e) {
      toast(`${failed}: ${e instanceof Error ? e.message : String(e)}`, { tone: 'bad' });
    }
  }

  const cancel = () => act('Cancels the retraining run; no candidate is kept.', (t) => api.cancelRetrain(t), 'Retraining cancelled.', 'Could not cancel');
  const rollback = async () => {
    const s = store.retrain;
    const to = s?.rollbackTo;
    if (!to) return;
    // Switching models changes every answer from now on, for every operator: never on one click.
    if (!window.confirm(`Roll back from ${s.activeVersion ?? 'the active model'} to ${to}?\n\nThe library is embedded again with ${to} and every spectrum from then on is identified by it.`)) return;
    await act(`Switches identification back to ${to}.`, (t) => api.rollbackModel(t), `Rolled back to ${to}.`, 'Could not roll back');
  };

  async function activate(version: string): Promise<void> {
    const s = store.retrain;
    const v = s?.versions.find((x) => x.version === version);
    const compared = v ? comparison(v, s?.versions ?? []) : '';
    if (!window.confirm(`Promote ${version}${s?.activeVersion ? ` in place of ${s.activeVersion}` : ''}?${compared ? `\n\n${compared}.` : ''}\n\nThe library is embedded again with ${version} and every spectrum from then on is identified by it.`)) return;
    // The daemon promotes only a version at least as good on the held-out spectra; the operator may insist.
    const promote = async (t: string) => {
      try {
        await api.activateModel(version, t);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 'model-worse')) throw e;
        if (!window.confirm(`${e.message}\n\nPromote ${version} anyway?`)) throw new Error('kept the current model');
        await api.activateModel(version, t, true);
      }
    };
    await act(`Switches identification to model ${version}.`, promote, `Model ${version} is active.`, 'Could not switch model');
  }

  function render(): void {
    if (notOffered) {
      startBtn.disabled = true;
      replace(body, h('div', { class: 'empty-state', 'data-role': 'retrain-missing' },
        h('p', null, 'This daemon does not report retraining yet.'),
        h('p', { class: 'muted' }, 'Labelled spectra are enrolled at once without retraining; once the daemon offers GET /api/retrain, progress and before/after numbers appear here.')));
      return;
    }
    const s = store.retrain;
    if (!s) return;
    startBtn.disabled = RUNNING.has(s.state);
    cancelBtn.hidden = !RUNNING.has(s.state);
    // Offered only when the daemon has a version to return to (it answers 409 otherwise).
    rollbackBtn.hidden = !s.rollbackTo;
    rollbackBtn.textContent = s.rollbackTo ? `Roll back to ${s.rollbackTo}` : 'Roll back';
    replace(body, renderStatus(s, (v) => void activate(v)));
  }

  const off = store.on('retrain', render);
  void poll();
  const timer = setInterval(() => void poll(), POLL_MS);
  return () => {
    off();
    clearInterval(timer);
  };
}

function renderStatus(s: RetrainStatus, activate: (version: string) => void): HTMLElement {
  const pct = s.progress !== undefined ? Math.round(s.progress * 100) : undefined;
  const running = RUNNING.has(s.state);
  // What the last run trained on (the whole labelled library, not only the labels added since), then what is new.
  const trained = [...s.versions].reverse().find((v) => v.baseVersion && v.metrics?.references !== undefined);
  const labels = [
    trained ? `${trained.version} was fine-tuned from ${trained.baseVersion} on ${trained.metrics?.references} labelled spectra${trained.metrics?.heldOut !== undefined ? `, with ${trained.metrics.heldOut} more held out to compare the two` : ''}.` : '',
    s.labelsSinceLast !== undefined
      ? `${s.labelsSinceLast} spectra labelled since the last run${s.threshold ? ` (a run starts by itself at ${s.threshold})` : ''}; a run trains on every labelled spectrum in the library.`
      : '',
  ].filter(Boolean).join(' ');
  const metricNames = [...new Set([...Object.keys(s.before?.metrics ?? {}), ...Object.keys(s.after?.metrics ?? {})])];
  return h('div', { class: 'retrain', 'data-state': s.state },
    h('div', { class: 'retrain-state' },
      h('span', { class: `pill st-${s.state === 'failed' ? 'bad' : s.state === 'promoted' ? 'ok' : running ? 'mix' : s.state === 'kept' ? 'warn' : 'idle'}` }, s.state),
      s.message ? h('span', null, s.message) : null,
      s.activeVersion ? h('span', { class: 'muted' }, `active model ${s.activeVersion}`) : null),
    pct !== undefined && (running || s.state === 'kept' || s.state === 'promoted') ? h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct },
      h('div', { class: 'progress-fill', style: `width:${pct}%` }),
      h('span', { class: 'progress-text' }, `${pct}%${s.epoch !== undefined && s.epochs ? ` · epoch ${s.epoch} of ${s.epochs}` : ''}`)) : null,
    labels ? h('p', { class: 'muted', 'data-role': 'training-data' }, labels) : null,
    metricNames.length ? h('table', { class: 'metrics' },
      h('thead', null, h('tr', null, h('th', null, 'On the same held-out spectra'), h('th', null, `Before${s.before?.modelVersion ? ` (${s.before.modelVersion})` : ''}`), h('th', null, `After${s.after?.modelVersion ? ` (${s.after.modelVersion})` : ''}`), h('th', null, 'Change'))),
      h('tbody', null, metricNames.map((m) => {
        const b = s.before?.metrics[m];
        const a = s.after?.metrics[m];
        const d = a !== undefined && b !== undefined ? a - b : undefined;
        const better = d === undefined || d === 0 ? undefined : LOWER_IS_BETTER.test(m) ? d < 0 : d > 0;
        return h('tr', { 'data-metric': m },
          h('td', null, m), h('td', { class: 'num' }, fmt(b)), h('td', { class: 'num' }, fmt(a)),
          h('td', { class: `num ${better === undefined ? '' : better ? 'st-ok better' : 'st-bad worse'}` }, d === undefined ? '—' : `${d > 0 ? '+' : ''}${fmt(d)}`));
      }))) : null,
    s.versions.length ? h('div', null,
      h('h3', null, 'Model versions'),
      h('table', { class: 'versions' },
        h('thead', null, h('tr', null, h('th', null, 'Version'), h('th', null, 'Created'), h('th', null, 'Accuracy'), h('th', null, 'Action'))),
        h('tbody', null, s.versions.map((v) => h('tr', { 'data-version': v.version, class: v.active ? 'active' : '' },
          h('td', null, h('code', null, v.version), v.active ? h('span', { class: 'pill st-ok' }, 'active') : null,
            v.modelVersion ? h('div', { class: 'muted small', title: 'what results carry as modelVersion' }, v.modelVersion) : null),
          h('td', { class: 'num' }, formatTime(v.createdAt)),
          h('td', { class: 'muted', 'data-role': 'version-accuracy' }, comparison(v, s.versions) || Object.entries(v.metrics ?? {}).map(([k, x]) => describeMetric(k, x)).join(' · ')),
          h('td', null, v.active ? null : h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'activate', onclick: () => activate(v.version) }, 'Promote')))))))
      : null);
}

/**
 * A version's accuracy in words that compare like with like: a retrained version against the model it came from, both
 * measured on the same held-out spectra; the shipped model's model-card figure is marked as measured elsewhere, so
 * it is never read against a retraining hold-out.
 */
export function comparison(v: { version: string; baseVersion?: string; metrics?: Readonly<Record<string, number>> }, all: ReadonlyArray<{ version: string }>): string {
  const m = v.metrics ?? {};
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  if (m.accuracy === undefined) return '';
  if (v.baseVersion && m.accuracyBefore !== undefined) {
    const d = (m.accuracy - m.accuracyBefore) * 100;
    const n = m.heldOut !== undefined ? ` ${m.heldOut}` : '';
    return `${pct(m.accuracy)} against ${v.baseVersion}'s ${pct(m.accuracyBefore)} on the same${n} held-out spectra (${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(1)} points)`;
  }
  const later = all.some((x) => x.version !== v.version);
  return `${pct(m.accuracy)} on its own model-card test set${later ? '; compare versions by the retraining rows, which measure both on the same spectra' : ''}`;
}

/** A version's metric in words: the daemon reports shares as 0..1 and counts as integers. */
export function describeMetric(key: string, value: number): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  switch (key) {
    case 'accuracy': return `held-out accuracy ${pct(value)}`;
    case 'accuracyBefore': return `before ${pct(value)}`;
    case 'heldOut': return `${value} held-out spectra`;
    case 'references': return `${value} references`;
    default: return `${key} ${fmt(value)}`;
  }
}

function fmt(v: number | undefined): string {
  if (v === undefined) return '—';
  if (Number.isInteger(v)) return String(v); // counts (held-out spectra, references) and exact 0 / 1
  return Math.abs(v) < 1 ? v.toFixed(4) : v.toFixed(2);
}
