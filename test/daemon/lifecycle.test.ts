import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../../daemon/lifecycle.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('Lifecycle', () => {
  it('starts in order and stops in reverse, once, even when a step fails or hangs', async () => {
    const events: string[] = [];
    const lc = new Lifecycle(silent);
    const step = (name: string, stop?: () => Promise<void>) =>
      lc.add(name, async () => void events.push(`start ${name}`), stop ?? (async () => void events.push(`stop ${name}`)), 100);
    step('store');
    step('model', async () => {
      events.push('stop model (fails)');
      throw new Error('boom');
    });
    step('pipeline', () => new Promise<void>(() => events.push('stop pipeline (hangs)')));
    step('inputs');
    await lc.start();
    await Promise.all([lc.stop(), lc.stop()]);
    expect(events).toEqual([
      'start store',
      'start model',
      'start pipeline',
      'start inputs',
      'stop inputs',
      'stop pipeline (hangs)',
      'stop model (fails)',
      'stop store',
    ]);
  });

  it('rolls back what started when a later step fails to start', async () => {
    const events: string[] = [];
    const lc = new Lifecycle(silent);
    lc.add('store', async () => void events.push('start store'), async () => void events.push('stop store'));
    lc.add('model', async () => {
      throw new Error('no model');
    }, async () => void events.push('stop model'));
    lc.add('http', async () => void events.push('start http'));
    await expect(lc.start()).rejects.toThrow('no model');
    expect(events).toEqual(['start store', 'stop store']);
  });
});
