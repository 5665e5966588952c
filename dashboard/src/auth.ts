import { h } from './dom.ts';

/**
 * The operator's token for state-changing actions (labelling, acknowledging, retraining). Read-only use needs none.
 * Asked once and kept in sessionStorage: it lives as long as the tab and never outlasts the browser session.
 */
const KEY = 'spectrad.token';
const listeners = new Set<(signedIn: boolean) => void>();

export function getToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) || undefined;
  } catch {
    return undefined;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token);
  listeners.forEach((fn) => fn(true));
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
  listeners.forEach((fn) => fn(false));
}

export function onAuthChange(fn: (signedIn: boolean) => void): void {
  listeners.add(fn);
}

/**
 * The token, asking for it first when there is none. Resolves undefined when the operator cancels: callers then
 * refuse the action without sending anything.
 */
export function requireToken(why: string): Promise<string | undefined> {
  const existing = getToken();
  if (existing) return Promise.resolve(existing);
  return askForToken(why);
}

export function askForToken(why: string, problem?: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const input = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true, placeholder: 'paste the operator token', 'aria-label': 'Token' });
    const dialog = h('dialog', { class: 'dialog signin', 'aria-labelledby': 'signin-title' });
    const finish = (token: string | undefined): void => {
      dialog.close();
      dialog.remove();
      if (token) setToken(token);
      resolve(token);
    };
    const form = h('form', { method: 'dialog', onsubmit: (e) => { e.preventDefault(); finish(input.value.trim() || undefined); } },
      h('h2', { id: 'signin-title' }, 'Sign in to make changes'),
      h('p', { class: 'muted' }, why),
      problem ? h('p', { class: 'form-error', role: 'alert' }, problem) : null,
      h('label', { class: 'field' }, h('span', null, 'Operator token'), input),
      h('p', { class: 'hint', 'data-role': 'token-hint' },
        'Started with ', h('code', null, 'npm start'), '? The token is in ', h('code', null, 'data/http-token'), ' (', h('code', null, 'cat data/http-token'),
        '); otherwise ', h('code', null, 'http.token'), ' in the daemon config or ', h('code', null, '<dataDir>/http-token'), '. Kept for this browser tab only; viewing needs no token.'),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', 'data-action': 'cancel', onclick: () => finish(undefined) }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'sign-in' }, 'Sign in')),
    );
    dialog.appendChild(form);
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); finish(undefined); });
    document.body.appendChild(dialog);
    dialog.showModal();
    input.focus();
  });
}
