import { h } from './dom.ts';
import type { AlertView } from './types.ts';
import { alertText } from './alert-text.ts';
import { alertLabel } from './status.ts';

/**
 * Opt-in sound and desktop notifications for new open alerts, per browser (localStorage): an operator at another
 * window or across the room still learns of an unknown sample. Off until asked for; the desktop part needs the
 * browser's permission.
 */
const KEY = 'spectrad.notify';

interface Prefs {
  sound: boolean;
  desktop: boolean;
}

export function loadPrefs(): Prefs {
  try {
    const p = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Prefs>;
    return { sound: p.sound === true, desktop: p.desktop === true };
  } catch {
    return { sound: false, desktop: false };
  }
}

function savePrefs(p: Prefs): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(p));
  } catch {
    // Storage disabled: the choice holds for this page.
  }
}

let prefs = loadPrefs();

/** The two checkboxes of the Alerts header. */
export function notificationSettings(): { element: HTMLElement } {
  const sound = h('input', { type: 'checkbox', 'data-action': 'notify-sound', checked: prefs.sound, onchange: (e) => {
    prefs = { ...prefs, sound: (e.target as HTMLInputElement).checked };
    savePrefs(prefs);
    if (prefs.sound) beep();
  } });
  const desktop = h('input', { type: 'checkbox', 'data-action': 'notify-desktop', checked: prefs.desktop, onchange: async (e) => {
    const box = e.target as HTMLInputElement;
    if (box.checked && typeof Notification !== 'undefined' && Notification.permission !== 'granted') {
      const answer = await Notification.requestPermission().catch(() => 'denied' as NotificationPermission);
      if (answer !== 'granted') box.checked = false;
    }
    prefs = { ...prefs, desktop: box.checked };
    savePrefs(prefs);
  } });
  const supportsDesktop = typeof Notification !== 'undefined';
  return {
    element: h('span', { class: 'notify-prefs' },
      h('label', { class: 'check', title: 'A short tone for each new open alert (this browser only)' }, sound, ' Sound'),
      supportsDesktop ? h('label', { class: 'check', title: 'A desktop notification for each new open alert (this browser only)' }, desktop, ' Desktop') : null),
  };
}

/** Called for each alert that arrives live. */
export function notifyAlert(a: AlertView): void {
  if (a.acknowledgedAt || a.kind === 'adapter-up') return;
  if (prefs.sound) beep();
  if (prefs.desktop && typeof Notification !== 'undefined' && Notification.permission === 'granted') {
    try {
      new Notification(`spectrad: ${alertLabel(a.kind)}`, { body: `${a.instrument ? `${a.instrument}: ` : ''}${alertText(a)}`, tag: a.id });
    } catch {
      // Some browsers allow notifications only from a service worker: the sound and the badge remain.
    }
  }
}

let audio: AudioContext | undefined;
let lastBeep = 0;

/** One short tone; a burst of alerts makes one sound a second, not a buzz. */
function beep(): void {
  const now = Date.now();
  if (now - lastBeep < 1000) return;
  lastBeep = now;
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch {
    // No audio output: nothing to do.
  }
}
