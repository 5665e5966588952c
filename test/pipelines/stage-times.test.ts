import { describe, expect, it } from 'vitest';
import { processCpuMs, STAGES, StageTimes } from '../../pipelines/stage-times.ts';

describe('StageTimes', () => {
  it('sums calls, items and time per stage and reports ms per item', () => {
    const t = new StageTimes();
    t.record('parse', 3, 1, 2);
    t.record('parse', 5, 1, 4);
    t.record('encode', 10, 4, 8);
    const s = t.snapshot();
    expect(s.parse).toEqual({ calls: 2, items: 2, ms: 8, cpuMs: 6, msPerItem: 4, cpuMsPerItem: 3 });
    expect(s.encode).toEqual({ calls: 1, items: 4, ms: 10, cpuMs: 8, msPerItem: 2.5, cpuMsPerItem: 2 });
    expect(s.identify).toBeUndefined();
  });

  it('times a synchronous step even when it throws', () => {
    const t = new StageTimes();
    expect(t.time('preprocess', 1, () => 42)).toBe(42);
    expect(() =>
      t.time('preprocess', 1, () => {
        throw new Error('bad spectrum');
      }),
    ).toThrow('bad spectrum');
    expect(t.snapshot().preprocess?.calls).toBe(2);
  });

  it('counts CPU time for a busy step, not for a waiting one', async () => {
    // A CPU clock the test controls: what the stage records must be the clock's advance during the step, not its wall
    // time. (Real process CPU also counts the runtime's other threads, so on a loaded machine a waiting step can show
    // CPU; that is why this claim is checked against a clock that only the busy step advances.)
    let cpu = 1_000;
    const t = new StageTimes(undefined, () => cpu);
    t.time('parse', 1, () => {
      cpu += 25;
    });
    await t.timeAsync('publish', 1, () => new Promise((r) => setTimeout(r, 30)));
    const s = t.snapshot();
    expect(s.parse!.cpuMs).toBe(25);
    expect(s.publish!.cpuMs).toBe(0);
    expect(s.publish!.ms).toBeGreaterThanOrEqual(20);
  });

  it('reads the process CPU clock by default', () => {
    const t = new StageTimes();
    const before = processCpuMs();
    // Spin until the process has burnt 20 ms of CPU (however long that takes under load; the deadline only stops a
    // broken clock from hanging the test).
    t.time('parse', 1, () => {
      const deadline = performance.now() + 10_000;
      while (processCpuMs() - before < 20 && performance.now() < deadline) {
        // spin
      }
    });
    expect(processCpuMs() - before).toBeGreaterThanOrEqual(20);
    expect(t.snapshot().parse!.cpuMs).toBeGreaterThanOrEqual(20);
  });

  it('times an asynchronous step until its promise settles', async () => {
    const t = new StageTimes();
    const value = await t.timeAsync('identify', 2, () => new Promise<string>((r) => setTimeout(() => r('done'), 30)));
    expect(value).toBe('done');
    // Timers may fire a little early on a loaded machine; 20 ms still proves the wait was counted.
    expect(t.snapshot().identify!.ms).toBeGreaterThanOrEqual(20);
    expect(t.snapshot().identify!.items).toBe(2);
  });

  it('lists its stages in pipeline order', () => {
    expect(STAGES.indexOf('parse')).toBeLessThan(STAGES.indexOf('commitIngest'));
    expect(STAGES.indexOf('encode')).toBeLessThan(STAGES.indexOf('commitResults'));
  });
});
