import { map, of, throwError, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { batchWorker } from '../../pipelines/operators.ts';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const joined = (batch: string[]) => of([batch.join('')]);

describe('batchWorker (marble)', () => {
  it('emits a batch as soon as it is full', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc-def|');
      expectObservable(source.pipe(batchWorker(joined, { maxSize: 3, windowMs: 100, bound: 10 }))).toBe('--x---y|', { x: 'abc', y: 'def' });
    });
  });

  it('emits a partial batch when the window since its oldest item has passed', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('ab 10ms c 20ms d 1ms |');
      // a@0 b@1 -> window of 5 from a; c@12 -> alone at 17; d@33 -> source completes at 35: drained at once.
      expectObservable(source.pipe(batchWorker(joined, { maxSize: 10, windowMs: 5, bound: 10 }))).toBe('5ms x 11ms y 17ms (z|)', {
        x: 'ab',
        y: 'c',
        z: 'd',
      });
    });
  });

  it('isolates a failing batch: its items get error results and the stream goes on', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc-def 10ms ghi|');
      const work = (batch: string[]) => (batch.includes('e') ? throwError(() => new Error('bad e')) : joined(batch));
      const out = source.pipe(
        batchWorker(work, { maxSize: 3, windowMs: 100, bound: 10, onBatchError: (batch, err) => batch.map((b) => `${b}:${(err as Error).message}`) }),
      );
      expectObservable(out).toBe('--x---(def) 8ms z|', { x: 'abc', d: 'd:bad e', e: 'e:bad e', f: 'f:bad e', z: 'ghi' });
    });
  });

  it('also isolates a worker that throws synchronously', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const work = (batch: string[]) => {
        if (batch[0] === 'b') throw new Error('sync');
        return joined(batch);
      };
      const out = cold('abc|').pipe(batchWorker(work, { maxSize: 1, windowMs: 0, bound: 3, onBatchError: () => ['!'] }));
      expectObservable(out).toBe('xyz|', { x: 'a', y: '!', z: 'c' });
    });
  });

  it('never holds more than the bound while the worker is slow: overflow is handed back, pressure signalled', () => {
    const overflow: string[] = [];
    const pressure: boolean[] = [];
    let maxBatch = 0;
    scheduler().run(({ cold, expectObservable }) => {
      const slow = (batch: string[]) => {
        maxBatch = Math.max(maxBatch, batch.length);
        return timer(10).pipe(map(() => [batch.join('')]));
      };
      const out = cold('abcdefgh|').pipe(
        batchWorker(slow, {
          maxSize: 2,
          windowMs: 0,
          bound: 4,
          onOverflow: (item) => overflow.push(item),
          onPressure: (high) => pressure.push(high),
        }),
      );
      // a starts at once; b..e fill the queue of 4 by frame 4; f, g, h overflow; batches of 2 follow every 10 frames.
      expectObservable(out).toBe('10ms x 9ms y 9ms (z|)', { x: 'a', y: 'bc', z: 'de' });
    });
    expect(overflow).toEqual(['f', 'g', 'h']);
    expect(pressure).toEqual([true, false]);
    expect(maxBatch).toBe(2);
  });

  it('errors instead of silently growing when the queue is full and nothing keeps overflow', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const slow = (batch: string[]) => timer(10).pipe(map(() => [batch.join('')]));
      expectObservable(cold('abcd|').pipe(batchWorker(slow, { maxSize: 1, windowMs: 0, bound: 2 }))).toBe(
        '---#',
        undefined,
        new Error('batchWorker queue is full (2) and no onOverflow handler keeps the item'),
      );
    });
  });

  it('reports idle after the last batch so spilled work can be fed again', () => {
    const idle: number[] = [];
    const ts = scheduler();
    ts.run(({ cold, expectObservable }) => {
      const out = cold('ab 10ms c|').pipe(batchWorker(joined, { maxSize: 2, windowMs: 3, bound: 4, onIdle: () => idle.push(ts.now()) }));
      expectObservable(out).toBe('-x 11ms (y|)', { x: 'ab', y: 'c' });
    });
    expect(idle).toEqual([1, 13]);
  });

  it('rejects a bound smaller than a batch', () => {
    expect(() => batchWorker(joined, { maxSize: 8, windowMs: 0, bound: 4 })).toThrow(RangeError);
  });
});
