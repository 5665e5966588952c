import { describe, expect, it } from 'vitest';
import { AdapterStateTracker, Backoff, InputSink } from '../../adapters/adapter-state.ts';
import { describeError, topicSegment } from '../../adapters/mqtt-common.ts';
import type { AdapterState } from '../../core/messages.ts';

describe('Backoff', () => {
  it('doubles up to the cap and starts over after reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('refuses nonsense settings', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 500, maxMs: 100 })).toThrow(RangeError);
  });
});

describe('AdapterStateTracker', () => {
  it('replays the current state to late subscribers and folds repeats', () => {
    const t = new AdapterStateTracker('inbox', 'folder');
    t.set('starting');
    t.set('up');
    t.set('up');
    const seen: AdapterState[] = [];
    t.state$.subscribe((s) => seen.push(s));
    t.set('down', 'folder missing');
    t.set('down', 'folder missing');
    t.set('down', 'still missing');
    expect(seen.map((s) => `${s.state}:${s.detail ?? ''}`)).toEqual(['up:', 'down:folder missing', 'down:still missing']);
    expect(seen[0]).toMatchObject({ name: 'inbox', kind: 'folder' });
    expect(Number.isNaN(Date.parse(seen[0].since))).toBe(false);
  });
});

describe('InputSink', () => {
  it('holds what arrives before the first subscriber and then streams live', () => {
    const sink = new InputSink<number>();
    sink.emit(1);
    sink.emit(2);
    const got: number[] = [];
    sink.output$.subscribe((n) => got.push(n));
    sink.emit(3);
    expect(got).toEqual([1, 2, 3]);
    let completed = false;
    sink.output$.subscribe({ complete: () => (completed = true) });
    sink.complete();
    expect(completed).toBe(true);
  });
});

describe('MQTT helpers', () => {
  it('makes instrument names safe topic levels', () => {
    expect(topicSegment('raman-1')).toBe('raman-1');
    expect(topicSegment('a/b+c#d\u0000e')).toBe('a_b_c_d_e');
    expect(topicSegment('  ')).toBe('_');
  });

  it('keeps passwords in URLs out of error text', () => {
    expect(describeError(new Error('connect failed mqtt://user:secret@host:1883'))).toBe('connect failed mqtt://***@host:1883');
  });
});
