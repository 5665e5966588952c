import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFramer, type FrameEvent, type SerialFraming } from '../../adapters/serial-framing.ts';
import { FRAMINGS, framingProperty, parserProperties } from '../../support/reliability/fuzz-properties.ts';

/**
 * Property-based fuzzing of the serial framing (line and marker modes, JCAMP-DX blocks) and of the MQTT payloads and
 * parsers as the daemon calls them: fixed run counts here; `npm run reliability:fuzz` runs many more.
 */
describe('serial framing fuzzing (fixed runs)', () => {
  for (const { name, framing } of FRAMINGS) {
    it(`${name}: never throws, stays within its frame limit, frames independent of read splits`, () => {
      fc.assert(framingProperty(framing, 64), { numRuns: 300, seed: 7 });
    });
  }
});

describe('parser and MQTT payload fuzzing (fixed runs)', () => {
  for (const [name, property] of Object.entries(parserProperties())) {
    it(`${name}: only SpectrumInputError`, () => {
      fc.assert(property, { numRuns: 200, seed: 11 });
    });
  }
});

describe('framing regressions found by the fuzzing', () => {
  const split = (framing: SerialFraming, data: string, at: number[], max: number) => {
    const f = createFramer(framing, max);
    const events: FrameEvent[] = [];
    let prev = 0;
    for (const cut of [...at, data.length]) {
      events.push(...f.push(Buffer.from(data.slice(prev, cut), 'latin1')));
      prev = cut;
    }
    return events.filter((e) => e.kind === 'frame').map((e) => e.frame.toString('latin1'));
  };

  it('equal markers stay in phase after an oversize frame dropped before its end arrived', () => {
    const data = `|${'y'.repeat(40)}|noise|ok|`;
    expect(split({ kind: 'markers', start: '|', end: '|' }, data, [], 16)).toEqual(['ok']);
    expect(split({ kind: 'markers', start: '|', end: '|' }, data, [20], 16)).toEqual(['ok']);
  });

  it('jcamp: the middle of an endless noise line is not taken for a line start', () => {
    const data = ` ${'y'.repeat(40)}##TITLE=a\n##END=\n##TITLE=b\n##END=\n`;
    expect(split({ kind: 'jcamp' }, data, [], 32)).toEqual(['##TITLE=b\n##END=\n']);
    expect(split({ kind: 'jcamp' }, data, [41], 32)).toEqual(['##TITLE=b\n##END=\n']);
  });
});
