import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import { defaultInstrumentTopicLevel } from '../../daemon/adapters.ts';

describe('MQTT input instrument from the topic', () => {
  it('defaults to level 1 for the documented spectrad/<instrument>/... layout, also under $share', () => {
    expect(defaultInstrumentTopicLevel(['spectrad/+/spectrum'])).toBe(1);
    expect(defaultInstrumentTopicLevel(['$share/site/spectrad/+/spectrum', 'spectrad/+/raw'])).toBe(1);
  });

  it('has no default for other layouts', () => {
    expect(defaultInstrumentTopicLevel(['lab/+/spectrum'])).toBeUndefined();
    expect(defaultInstrumentTopicLevel(['spectrad/+/spectrum', 'lab/#'])).toBeUndefined();
    expect(defaultInstrumentTopicLevel(['spectrad/ir-1/spectrum'])).toBeUndefined();
  });

  it('takes instrumentTopicLevel from the config and refuses a bad one with its key', () => {
    const yaml = (level: number) =>
      ['inputs:', '  - type: mqtt', '    url: mqtt://127.0.0.1:1883', '    topics: [lab/hall/+/spectra]', `    instrumentTopicLevel: ${level}`].join('\n');
    const input = parseConfig(yaml(2), 'test.yaml').inputs[0];
    expect(input.type === 'mqtt' && input.instrumentTopicLevel).toBe(2);
    expect(() => parseConfig(yaml(-1), 'test.yaml')).toThrow(/instrumentTopicLevel/);
  });
});
