/**
 * The fuzzing properties, shared by the suite (fixed, small run counts: test/reliability/fuzz-*.test.ts) and the long
 * run (`npm run reliability:fuzz`, bench/reliability/fuzz.ts). Each property holds for every generated input:
 *
 * - parsers (JCAMP-DX, delimited text, JSON, MQTT payloads as the daemon hands them over): parsing succeeds or
 *   throws a SpectrumInputError, never anything else;
 * - serial framing (line, markers, jcamp): the framer never throws, never holds more than its frame limit, never
 *   emits a frame over it, and cuts the same frames however the bytes are split into reads.
 *
 * A property that fails throws with the input that broke it (fast-check shrinks it first).
 */
import fc from 'fast-check';
import { SpectrumInputError } from '../../core/errors.ts';
import { parseSpectrumFile } from '../../core/formats/index.ts';
import { sniffPayloadFormat } from '../../adapters/mqtt-input.ts';
import { createFramer, type FrameEvent, type SerialFraming } from '../../adapters/serial-framing.ts';

/** Parses like the daemon does; anything thrown that is not a SpectrumInputError fails the property. */
function parseOnlyInputErrors(input: Buffer | string, fileName?: string): void {
  try {
    parseSpectrumFile(input, fileName === undefined ? {} : { fileName, limits: { maxPoints: 200_000, maxBlocks: 50 } });
  } catch (error) {
    if (!(error instanceof SpectrumInputError)) {
      throw new Error(`parser threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} (not a SpectrumInputError)`);
    }
  }
}

const asdfChars = fc.constantFrom(...'0123456789@ABCDEFGHIabcdefghi%JKLMNOPQRjklmnopqrSTUVWXYZs?+-. ,'.split(''));
const jcampData = fc.array(asdfChars, { maxLength: 60 }).map((cs) => cs.join(''));
const jcampLine = fc.oneof(
  fc.constantFrom(
    '##TITLE=x', '##JCAMP-DX=4.24', '##JCAMP-DX=5.01', '##DATA TYPE=INFRARED SPECTRUM', '##XYDATA=(X++(Y..Y))', '##XYPOINTS=(XY..XY)',
    '##PEAK TABLE=(XY..XY)', '##NPOINTS=1e9', '##NPOINTS=16', '##NPOINTS=-1', '##NPOINTS=NaN', '##FIRSTX=0', '##LASTX=15', '##LASTX=0',
    '##DELTAX=1', '##XFACTOR=1', '##XFACTOR=0', '##YFACTOR=1e308', '##FIRSTY=10', '##END=', '##BLOCKS=1000000', '##DATA TYPE=LINK',
    '##NTUPLES=NMR SPECTRUM', '##VAR_NAME=FREQUENCY, SPECTRUM/REAL', '##VAR_DIM=16, 16', '##PAGE=N=1',
    '##DATA TABLE=(X++(R..R)), XYDATA', '##END NTUPLES=', '##XUNITS=1/CM', '##YUNITS=ABSORBANCE', '##$CUSTOM=\u0000',
  ),
  jcampData,
  fc.string({ maxLength: 40 }),
);
const csvCell = fc.oneof(fc.double(), fc.integer(), fc.constantFrom('NaN', 'Inf', '-Infinity', '1e999', '-', '', '1,5', '1.2.3', '0x10', '"1"'), fc.string({ maxLength: 6 }));
const spectrumJson = fc.record(
  {
    y: fc.oneof(fc.array(fc.oneof(fc.double(), fc.integer(), fc.constant(null), fc.string({ maxLength: 3 })), { maxLength: 40 }), fc.jsonValue({ maxDepth: 2 })),
    x: fc.oneof(fc.array(fc.double(), { maxLength: 40 }), fc.jsonValue({ maxDepth: 2 })),
    meta: fc.oneof(fc.dictionary(fc.constantFrom('title', 'xUnit', 'yUnit', 'instrument', 'sampleId', 'acquiredAt', '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 2 })), fc.jsonValue({ maxDepth: 2 })),
    xUnit: fc.oneof(fc.constantFrom('cm-1', 'nm', 'index', '2theta', 'bogus'), fc.jsonValue({ maxDepth: 1 })),
    spectra: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: [] },
);
const contentType = fc.option(fc.oneof(fc.constantFrom('application/json', 'text/csv', 'chemical/x-jcamp-dx', 'text/plain', 'application/octet-stream'), fc.string({ maxLength: 20 })), { nil: undefined });

/** Parser properties: name -> property. */
export function parserProperties(): Record<string, fc.IProperty<never>> {
  const props = {
    'bytes (any file name)': fc.property(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom(undefined, 'a.jdx', 'a.csv', 'a.json', 'a.txt'), (b, name) =>
      parseOnlyInputErrors(Buffer.from(b), name),
    ),
    'JCAMP-DX-shaped text (every compression character, hostile headers)': fc.property(fc.array(jcampLine, { maxLength: 40 }), fc.boolean(), (lines, crlf) =>
      parseOnlyInputErrors(lines.join(crlf ? '\r\n' : '\n'), 'f.jdx'),
    ),
    'JCAMP-DX-shaped text as UTF-16': fc.property(fc.array(jcampLine, { maxLength: 20 }), (lines) =>
      parseOnlyInputErrors(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines.join('\n'), 'utf16le')]), 'f.jdx'),
    ),
    'delimited text': fc.property(fc.array(fc.array(csvCell, { maxLength: 5 }), { maxLength: 60 }), fc.constantFrom(',', ';', '\t', ' '), (rows, sep) =>
      parseOnlyInputErrors(rows.map((r) => r.map(String).join(sep)).join('\n'), 'f.csv'),
    ),
    'JSON values': fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => parseOnlyInputErrors(JSON.stringify(v) ?? 'null', 'f.json')),
    'MQTT payloads as the daemon parses them (content type or sniffed format)': fc.property(
      fc.oneof(spectrumJson.map((o) => Buffer.from(JSON.stringify(o))), fc.array(spectrumJson, { maxLength: 4 }).map((a) => Buffer.from(JSON.stringify(a))), fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b))),
      contentType,
      (payload, ct) => parseOnlyInputErrors(payload, sniffPayloadFormat(payload, ct)),
    ),
  };
  return props as unknown as Record<string, fc.IProperty<never>>;
}

/** Splits bytes into reads at the given cut points, as a serial port delivers them. */
function chunks(data: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(data.subarray(prev, c));
    prev = c;
  }
  out.push(data.subarray(prev));
  return out;
}

const frames = (events: readonly FrameEvent[]) => events.filter((e) => e.kind === 'frame').map((e) => e.frame.toString('latin1'));

/** One framing's property: bounded, never throws, and the frames do not depend on how the bytes were split. */
export function framingProperty(framing: SerialFraming, maxFrameBytes: number): fc.IProperty<[Buffer, number[]]> {
  const pieces: string[] =
    framing.kind === 'line'
      ? [framing.delimiter ?? '\n', '\r', '1,2,3', ' ', 'x']
      : framing.kind === 'markers'
        ? [framing.start, framing.end, framing.start.slice(0, 1), 'abc', '\n']
        : ['##TITLE=a\n', '##END=\n', '##XYDATA=(X++(Y..Y))\n', '1 2 3\n', '##TITLE=b', '\n', 'noise'];
  const token = fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('latin1')), fc.constant('y'.repeat(maxFrameBytes + 3)));
  const stream = fc.array(token, { maxLength: 60 }).map((ts) => Buffer.from(ts.join(''), 'latin1'));
  const markerSlack = framing.kind === 'markers' ? Math.max(framing.start.length, framing.end.length) : 1;
  return fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), (data, cuts) => {
    const whole = createFramer(framing, maxFrameBytes).push(data);
    const framer = createFramer(framing, maxFrameBytes);
    const split: FrameEvent[] = [];
    for (const c of chunks(data, cuts)) {
      split.push(...framer.push(c));
      if (framer.pending > maxFrameBytes + markerSlack + 1) throw new Error(`framer holds ${framer.pending} bytes, over its limit ${maxFrameBytes}`);
    }
    for (const e of [...whole, ...split]) if (e.kind === 'frame' && e.frame.length > maxFrameBytes) throw new Error(`frame of ${e.frame.length} bytes over the limit`);
    const a = frames(whole);
    const b = frames(split);
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`frames depend on how reads were split: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    // And each frame parses like any other input: only SpectrumInputError.
    for (const f of split) if (f.kind === 'frame') parseOnlyInputErrors(f.frame, framing.kind === 'jcamp' ? 'serial.jdx' : framing.kind === 'line' ? 'serial.csv' : 'serial.txt');
  });
}

export const FRAMINGS: ReadonlyArray<{ readonly name: string; readonly framing: SerialFraming }> = [
  { name: 'line (LF)', framing: { kind: 'line' } },
  { name: 'line (CRLF)', framing: { kind: 'line', delimiter: '\r\n' } },
  { name: 'markers (STX/ETX)', framing: { kind: 'markers', start: '\u0002', end: '\u0003' } },
  { name: 'markers (<s> </s>)', framing: { kind: 'markers', start: '<s>', end: '</s>' } },
  { name: 'markers (same start and end)', framing: { kind: 'markers', start: '|', end: '|' } },
  { name: 'jcamp', framing: { kind: 'jcamp' } },
];
