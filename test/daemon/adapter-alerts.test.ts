import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adapterAlertMessage, shortenPaths } from '../../daemon/run.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';

/** Adapter alerts: worded for operators, and closed by the store when their adapter is up again. */
const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-adapter-alerts-'));
const store = new Store(path.join(dir, 'db'));
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('adapter alerts', () => {
  it('read as words with the server path cut to its last part', () => {
    const msg = adapterAlertMessage({ kind: 'folder', name: 'inbox', state: 'down', detail: 'ENOENT: no such file or directory, watch /srv/lab/spectra/inbox' });
    expect(msg).toBe('Folder input inbox is down: ENOENT: no such file or directory, watch …/inbox');
    expect(adapterAlertMessage({ kind: 'mqtt-in', name: 'broker', state: 'up' })).toBe('MQTT input broker is back');
    expect(shortenPaths('C:\\data\\in\\a.jdx and mqtt topic lab/raman')).toBe('…/a.jdx and mqtt topic lab/raman');
  });

  it('close themselves when the adapter comes back, and only that adapter’s', () => {
    const at = new Date().toISOString();
    const down = { id: ulid(), kind: 'adapter-down' as const, instrument: 'raman-1', at, message: 'down' };
    const other = { id: ulid(), kind: 'adapter-down' as const, instrument: 'ir-2', at, message: 'down' };
    store.addAlert(down, { adapter: 'inbox' });
    store.addAlert(other, { adapter: 'serial-ir' });
    expect(store.alertCounts().openByKind['adapter-down']).toBe(2);
    const closed = store.resolveAdapterAlerts('inbox', 'closed: inbox came back');
    expect(closed.map((a) => a.id)).toEqual([down.id]);
    expect(closed[0].note).toBe('closed: inbox came back');
    expect(store.alertCounts().openByInstrument).toEqual({ 'ir-2': 1 });
    expect(store.resolveAdapterAlerts('inbox', 'again')).toEqual([]);
  });
});
