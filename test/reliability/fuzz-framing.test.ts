import fc from 'fast-check';
import { describe, it } from 'vitest';
import { FRAMINGS, framingProperty, parserProperties } from './fuzz-properties.ts';

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
