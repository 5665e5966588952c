import './styles.css';
import { createApi } from './api.ts';
import { askForToken, clearToken, getToken, onAuthChange } from './auth.ts';
import type { AppContext } from './context.ts';
import { frameThrottle, h, replace } from './dom.ts';
import { backfill, connectLive } from './live.ts';
import { SpectrumSource } from './spectra.ts';
import { Store } from './store.ts';
import { mountAlerts } from './views/alerts.ts';
import { mountHistory } from './views/history.ts';
import { mountLabel } from './views/label.ts';
import { mountLive } from './views/live.ts';
import { mountInstrumentHealth } from './views/instrument-health.ts';
import { mountRetrain } from './views/retrain.ts';
import { openSpectrumDialog } from './views/spectrum-dialog.ts';
import { installShortcuts, openShortcutHelp } from './shortcuts.ts';

/** Boot: header and navigation, hash routing between the views, the live socket and the health poll. */

const HEALTH_EVERY_MS = 5000;
const TRENDS_EVERY_MS = 15_000;

type Route = 'live' | 'alerts' | 'history' | 'label' | 'retrain' | 'instruments';
const ROUTES: ReadonlyArray<{ route: Route; label: string }> = [
  { route: 'live', label: 'Live' },
  { route: 'alerts', label: 'Alerts' },
  { route: 'history', label: 'History' },
  { route: 'label', label: 'Label' },
  { route: 'retrain', label: 'Models' },
  { route: 'instruments', label: 'Instruments' },
];

const api = createApi();
const store = new Store();
const spectra = new SpectrumSource(api);

const ctx: AppContext = {
  api,
  store,
  spectra,
  openSpectrum: (id) => openSpectrumDialog(ctx, id),
  labelResults: (ids) => ctx.navigate(`#/label?ids=${ids.map(encodeURIComponent).join(',')}`),
  navigate: (hash) => {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};

const app = document.getElementById('app') as HTMLElement;
const main = h('main', { class: 'view', id: 'view' });
const alertBadge = h('span', { class: 'badge', 'data-role': 'alert-count', hidden: true });
const nav = h('nav', { class: 'tabs', 'aria-label': 'Views' }, ROUTES.map(({ route: r, label }) =>
  h('a', { href: `#/${r}`, 'data-route': r }, label, r === 'alerts' ? alertBadge : null)));
const conn = h('span', { class: 'conn', 'data-role': 'connection' });
const model = h('span', { class: 'model muted', 'data-role': 'model-version' });
const authBtn = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'auth' });
const keysBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'data-action': 'shortcuts', title: 'Keyboard shortcuts (?)', 'aria-label': 'Keyboard shortcuts', onclick: openShortcutHelp }, '⌨ ?');
const readOnly = h('span', { class: 'read-only muted', 'data-role': 'read-only', title: 'Viewing needs no token. Labelling, acknowledging alerts and retraining ask for the operator token: with npm start it is in data/http-token.' }, 'read-only');
const banner = h('div', { class: 'banner', role: 'alert', hidden: true });
/** The page's heading, for screen readers and the document outline: the view shown. */
const heading = h('h1', { class: 'sr-only' }, 'spectrad');
/**
 * The one live region: short sentences about what changed (connection, new open alerts), never the feed itself, so a
 * screen reader is not made to read every arriving result.
 */
const announcer = h('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite', 'data-role': 'announcer' });
function announce(text: string): void {
  announcer.textContent = text;
}

// The heading sits in the header (the banner landmark), so that no content of the page is outside a landmark.
replace(app,
  h('header', { class: 'topbar' },
    heading,
    h('a', { class: 'brand', href: '#/live' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '∿'), 'spectrad'),
    nav,
    h('span', { class: 'spacer' }),
    model, conn, readOnly, keysBtn, authBtn),
  banner,
  announcer,
  main);

function renderAuth(): void {
  const signedIn = Boolean(getToken());
  authBtn.textContent = signedIn ? 'Sign out' : 'Sign in';
  authBtn.title = signedIn ? 'Forget the operator token in this tab' : 'Enter the operator token to label, acknowledge and retrain';
  authBtn.dataset.signedIn = String(signedIn);
  readOnly.hidden = signedIn;
}
authBtn.addEventListener('click', () => {
  if (getToken()) clearToken();
  else void askForToken('Labelling, acknowledging alerts and retraining need the operator token.');
});
onAuthChange(renderAuth);
renderAuth();

function renderConnection(): void {
  const labels = { live: 'live', connecting: 'connecting…', offline: 'offline' } as const;
  conn.textContent = labels[store.connection];
  conn.dataset.state = store.connection;
  conn.title = store.connection === 'live' ? 'Receiving results as they happen' : 'Not connected to the daemon; retrying';
  if (store.connection !== 'connecting') announce(store.connection === 'live' ? 'Connected to the daemon.' : 'Lost the connection to the daemon; retrying.');
}
store.on('connection', renderConnection);
renderConnection();

function renderHealth(): void {
  const hl = store.health;
  // Which daemon this page shows, on a site with several: the node id before the model.
  model.textContent = [hl?.node ? `node ${hl.node}` : '', hl?.modelVersion ? `model ${hl.modelVersion}` : ''].filter(Boolean).join(' · ');
  if (store.healthError) {
    banner.hidden = false;
    banner.textContent = `The daemon is not answering (${store.healthError}). Showing what this page received; retrying every ${HEALTH_EVERY_MS / 1000} s.`;
  } else if (hl && hl.status !== 'ok' && hl.status !== 'unknown') {
    banner.hidden = false;
    // Degraded says why: which adapters are down, and what they report.
    const down = hl.adapters.filter((a) => a.state === 'down');
    banner.textContent = hl.status === 'degraded' && down.length
      ? `Degraded: ${down.map((a) => `${a.kind} "${a.name}" is down${a.detail ? ` (${a.detail})` : ''}`).join('; ')}.`
      : `Daemon status: ${hl.status}.`;
  } else {
    banner.hidden = true;
  }
}
store.on('health', renderHealth);

let announcedOpen: number | undefined;
function renderAlertBadge(): void {
  const n = store.unacknowledgedCount();
  if (announcedOpen !== undefined && n > announcedOpen) announce(`${n} open alert${n === 1 ? '' : 's'}.`);
  announcedOpen = n;
  alertBadge.hidden = n === 0;
  alertBadge.textContent = n > 999 ? '999+' : String(n);
  alertBadge.title = `${n} open alert${n === 1 ? '' : 's'}`;
  // The count in the tab title reaches operators who are looking at another tab.
  document.title = document.title.replace(/^\(\d+\+?\) /, '');
  if (n) document.title = `(${alertBadge.textContent}) ${document.title}`;
}
store.on('alerts', renderAlertBadge);
// A label given or undone on any dashboard changes those spectra's records and the class references.
store.on('labels', () => {
  spectra.forgetSpectra(store.lastLabelChange?.spectrumIds ?? []);
  spectra.forgetReferences();
});

let unmount: (() => void) | undefined;
function route(): void {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const name = (ROUTES.some((r) => r.route === path) ? path : 'live') as Route;
  nav.querySelectorAll('a').forEach((a) => a.classList.toggle('active', a.dataset.route === name));
  unmount?.();
  document.title = `spectrad · ${ROUTES.find((r) => r.route === name)?.label}`;
  heading.textContent = `spectrad: ${ROUTES.find((r) => r.route === name)?.label}`;
  renderAlertBadge();
  switch (name) {
    case 'alerts': unmount = mountAlerts(ctx, main); break;
    case 'history': unmount = mountHistory(ctx, main, query); break;
    case 'label': unmount = mountLabel(ctx, main, query); break;
    case 'retrain': unmount = mountRetrain(ctx, main); break;
    case 'instruments': unmount = mountInstrumentHealth(ctx, main); break;
    default: unmount = mountLive(ctx, main);
  }
}
window.addEventListener('hashchange', route);

/**
 * Phones show tables as cards (styles.css, below 700 px): each cell carries its column's name as data-label, copied
 * here from the header whenever a view renders rows, so no view has to repeat its headers.
 */
const labelCells = frameThrottle(() => {
  for (const table of Array.from(main.querySelectorAll('table'))) {
    const heads = Array.from(table.querySelectorAll('thead th'), (th) => th.textContent?.trim() ?? '');
    if (!heads.length) continue;
    for (const row of Array.from(table.querySelectorAll<HTMLTableRowElement>('tbody tr'))) {
      if (row.dataset.labelled === String(heads.length)) continue;
      row.dataset.labelled = String(heads.length);
      Array.from(row.cells).forEach((td, i) => {
        if (td.colSpan === 1 && heads[i] !== undefined) td.dataset.label = heads[i];
      });
    }
  }
});
new MutationObserver(labelCells).observe(main, { childList: true, subtree: true });

async function pollHealth(): Promise<void> {
  try {
    const [health, reports] = await Promise.all([api.health(), api.instrumentHealth().catch(() => undefined)]);
    store.setInstrumentReports(reports);
    store.setHealth(health);
  } catch (e) {
    store.setHealth(undefined, e instanceof Error ? e.message : String(e));
  }
}

/** The last hour in one-minute buckets, for the tiles' sparklines and the Instruments charts. */
async function pollTrends(): Promise<void> {
  try {
    store.setTrends(await api.trends(60, 60));
  } catch {
    // An older daemon without trends: the tiles show no sparkline.
  }
}

async function boot(): Promise<void> {
  installShortcuts(ctx);
  route();
  connectLive(store, api);
  await Promise.all([
    pollHealth(),
    backfill(store, api),
  ]);
  setInterval(() => void pollHealth(), HEALTH_EVERY_MS);
  void pollTrends();
  setInterval(() => void pollTrends(), TRENDS_EVERY_MS);
}

void boot();
