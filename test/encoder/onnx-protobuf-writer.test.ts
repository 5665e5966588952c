import { describe, expect, it } from 'vitest';
import { ProtobufWriter } from '../../core/encoder/onnx/protobuf-writer.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// Expected bytes are the worked examples of the protobuf encoding guide
// (https://protobuf.dev/programming-guides/encoding/), not output of this writer.
describe('ProtobufWriter', () => {
  it('encodes a varint field (field 1 = 150 -> 08 96 01)', () => {
    expect(hex(new ProtobufWriter().int(1, 150).finish())).toBe('089601');
  });

  it('encodes a string field (field 2 = "testing")', () => {
    expect(hex(new ProtobufWriter().string(2, 'testing').finish())).toBe('120774657374696e67');
  });

  it('encodes an embedded message (field 3 = {1: 150})', () => {
    const inner = new ProtobufWriter().int(1, 150);
    expect(hex(new ProtobufWriter().message(3, inner).finish())).toBe('1a03089601');
  });

  it('encodes packed repeated ints (field 4 = [3, 270, 86942])', () => {
    expect(hex(new ProtobufWriter().packedInts(4, [3, 270, 86942]).finish())).toBe('2206038e029ea705');
  });

  it('encodes negative int64 as a 10-byte varint', () => {
    expect(hex(new ProtobufWriter().int(1, -1).finish())).toBe('08ffffffffffffffffff01');
  });

  it('encodes floats little-endian, single and packed', () => {
    expect(hex(new ProtobufWriter().float(1, 1).finish())).toBe('0d0000803f');
    expect(hex(new ProtobufWriter().packedFloats(2, [1, -2]).finish())).toBe('12080000803f000000c0');
  });

  it('rejects invalid field numbers and non-integer ints', () => {
    expect(() => new ProtobufWriter().int(0, 1)).toThrow(RangeError);
    expect(() => new ProtobufWriter().int(1, 1.5)).toThrow(RangeError);
    expect(() => new ProtobufWriter().packedInts(1, [2.5])).toThrow(RangeError);
  });
});
