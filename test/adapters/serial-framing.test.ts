import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { createFramer, frameAll, FramingTransform, jcampLabel, type FrameEvent, type SerialFraming } from '../../adapters/serial-framing.ts';

const text = (evs: FrameEvent[]) => evs.map((e) => (e.kind === 'frame' ? e.frame.toString('latin1') : `<${e.reason}>`));

/** Feeds data in the given chunk sizes (cycled) and collects everything the framer gives. */
function feedInChunks(framing: SerialFraming, data: Buffer, sizes: number[], max?: number): FrameEvent[] {
  const framer = createFramer(framing, max);
  const out: FrameEvent[] = [];
  let i = 0;
  let k = 0;
  while (i < data.length) {
    const n = Math.max(1, sizes[k++ % sizes.length]);
    out.push(...framer.push(data.subarray(i, i + n)));
    i += n;
  }
  return out;
}

const JDX_A = '##TITLE=a\n##JCAMP-DX=4.24\n##XYDATA=(X++(Y..Y))\n1 2 3\n##END=\n';
const JDX_B = '##TITLE=b\r\n##XYPOINTS=(XY..XY)\r\n1,2\r\n## END =\r\n';
const JDX_LINK = '##TITLE=outer\n##BLOCKS=2\n##TITLE=in1\n##END=\n##TITLE=in2\n##END=\n##END=\n';

describe('line framing', () => {
  it('gives one frame per line, strips CR, skips blank lines', () => {
    expect(text(frameAll({ kind: 'line' }, Buffer.from('1,2,3\r\n\n  \n4;5;6\n7 8')))).toEqual(['1,2,3', '4;5;6']);
  });

  it('uses a custom delimiter', () => {
    expect(text(frameAll({ kind: 'line', delimiter: '|' }, Buffer.from('1 2|3 4|')))).toEqual(['1 2', '3 4']);
  });

  it('drops an oversize line once and resumes at the next line', () => {
    const data = Buffer.from('1,2\n' + '9'.repeat(50) + '\n3,4\n');
    expect(text(feedInChunks({ kind: 'line' }, data, [7], 20))).toEqual(['1,2', '<oversize>', '3,4']);
    expect(text(frameAll({ kind: 'line' }, data, 20))).toEqual(['1,2', '<oversize>', '3,4']);
  });

  it('never holds more than the frame limit for an endless line', () => {
    const framer = createFramer({ kind: 'line' }, 100);
    for (let i = 0; i < 100; i++) framer.push(Buffer.alloc(64, 0x31));
    expect(framer.pending).toBeLessThanOrEqual(164);
  });
});

describe('marker framing', () => {
  const stx: SerialFraming = { kind: 'markers', start: '\u0002', end: '\u0003' };

  it('takes the payload between markers and ignores noise outside', () => {
    expect(text(frameAll(stx, Buffer.from('noise\u00021,2,3\u0003junk\u00024,5\u0003')))).toEqual(['1,2,3', '4,5']);
  });

  it('handles multi-byte markers split across reads', () => {
    const f: SerialFraming = { kind: 'markers', start: '<spectrum>', end: '</spectrum>' };
    const data = Buffer.from('xx<spectrum>1 2 3</spectrum>yy<spectrum>4</spectrum>');
    for (const size of [1, 2, 3, 5, 11]) expect(text(feedInChunks(f, data, [size]))).toEqual(['1 2 3', '4']);
  });

  it('reports a frame cut short by a new start marker', () => {
    expect(text(frameAll(stx, Buffer.from('\u0002half\u0002whole\u0003')))).toEqual(['<truncated>', 'whole']);
  });

  it('drops an oversize frame and finds the next one', () => {
    const data = Buffer.from('\u0002' + 'x'.repeat(40) + '\u0003\u0002ok\u0003');
    expect(text(feedInChunks(stx, data, [4], 16))).toEqual(['<oversize>', 'ok']);
  });
});

describe('JCAMP-DX framing', () => {
  it('normalizes labels as the standard says', () => {
    expect(jcampLabel('## End = ')).toBe('END');
    expect(jcampLabel('##JCAMP-DX=4.24')).toBe('JCAMPDX');
    expect(jcampLabel('1 2 3')).toBeUndefined();
  });

  it('frames whole blocks, CRLF and spaced labels included, and drops noise between them', () => {
    expect(text(frameAll({ kind: 'jcamp' }, Buffer.from('garbage\n' + JDX_A + 'more\n' + JDX_B)))).toEqual([JDX_A, JDX_B]);
  });

  it('keeps a compound (LINK) file with nested blocks as one frame', () => {
    expect(text(frameAll({ kind: 'jcamp' }, Buffer.from(JDX_LINK + JDX_A)))).toEqual([JDX_LINK, JDX_A]);
  });

  it('drops an oversize block including its nested blocks', () => {
    const big = '##TITLE=big\n##TITLE=inner\n' + '1 2 3 4 5\n'.repeat(20) + '##END=\n##END=\n';
    expect(text(feedInChunks({ kind: 'jcamp' }, Buffer.from(big + JDX_A), [13], 120))).toEqual(['<oversize>', JDX_A]);
  });
});

describe('framing is independent of how reads split the stream', () => {
  const cases: Array<[string, SerialFraming, string]> = [
    ['line', { kind: 'line' }, '1,2,3\r\n4,5,6\n\n7,8\n'],
    ['markers', { kind: 'markers', start: '<s>', end: '</s>' }, 'a<s>1 2</s>b<s>3</s><s>4 5 6</s>'],
    ['jcamp', { kind: 'jcamp' }, JDX_A + 'noise\n' + JDX_LINK + JDX_B],
  ];
  for (const [name, framing, data] of cases) {
    it(name, () => {
      const whole = text(frameAll(framing, Buffer.from(data)));
      expect(whole.length).toBeGreaterThan(1);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 12 }), (sizes) => {
          expect(text(feedInChunks(framing, Buffer.from(data), sizes))).toEqual(whole);
        }),
        { numRuns: 200 },
      );
    });
  }
});

describe('FramingTransform', () => {
  it('turns a byte stream into frame events', async () => {
    const src = Readable.from([Buffer.from('1,2\n3'), Buffer.from(',4\n')]);
    const got: FrameEvent[] = [];
    for await (const ev of src.pipe(new FramingTransform({ kind: 'line' }))) got.push(ev as FrameEvent);
    expect(text(got)).toEqual(['1,2', '3,4']);
  });

  it('refuses a bad configuration', () => {
    expect(() => createFramer({ kind: 'markers', start: '', end: 'x' })).toThrow(RangeError);
    expect(() => createFramer({ kind: 'line' }, 0)).toThrow(RangeError);
  });
});
