import { describe, expect, it } from 'vitest';
import { SpectrumInputError } from '../../core/errors.ts';
import { decodeNpy, encodeNpy } from '../../core/npy.ts';

/** Builds a .npy file by hand from the format description, independently of core/npy.ts. */
function npyFile(dict: string, data: Uint8Array, major = 1): Buffer {
  const prefix = major === 1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict.padEnd(total - prefix - 1, ' ') + '\n';
  const preamble = Buffer.alloc(prefix);
  Buffer.from('\x93NUMPY', 'latin1').copy(preamble);
  preamble[6] = major;
  if (major === 1) preamble.writeUInt16LE(header.length, 8);
  else preamble.writeUInt32LE(header.length, 8);
  return Buffer.concat([preamble, Buffer.from(header, 'latin1'), data]);
}

const le = (values: number[], kind: 'f4' | 'f8' | 'i4' | 'i8'): Uint8Array => {
  const size = kind.endsWith('8') ? 8 : 4;
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (kind === 'f4') out.writeFloatLE(v, i * 4);
    else if (kind === 'f8') out.writeDoubleLE(v, i * 8);
    else if (kind === 'i4') out.writeInt32LE(v, i * 4);
    else out.writeBigInt64LE(BigInt(v), i * 8);
  });
  return out;
};

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpectrumInputError);
    expect((err as SpectrumInputError).code).toBe(code);
    return;
  }
  throw new Error(`expected SpectrumInputError ${code}`);
}

describe('encodeNpy', () => {
  it('writes exactly the bytes numpy writes (format 1.0, 64-byte aligned header)', () => {
    const expected = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", le([0, 1, 2, 3, 4, 5], 'f4'));
    const actual = encodeNpy(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3]);
    expect(actual.equals(expected)).toBe(true);
    expect(actual.length).toBe(128 + 24);
  });

  it('writes 1-d shapes with the trailing comma and int32/float64 dtypes', () => {
    expect(encodeNpy(new Int32Array([7, -8]), [2]).equals(npyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", le([7, -8], 'i4')))).toBe(true);
    expect(encodeNpy(new Float64Array([2.5]), []).equals(npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", le([2.5], 'f8')))).toBe(true);
  });

  it('writes a subarray view from its own offset, not the whole backing buffer', () => {
    const whole = new Float32Array([9, 1, 2, 9]);
    const decoded = decodeNpy(encodeNpy(whole.subarray(1, 3), [2]));
    expect([...decoded.data]).toEqual([1, 2]);
  });

  it('switches to format 2.0 when the header outgrows 65535 bytes', () => {
    const shape = Array.from({ length: 25000 }, () => 1);
    const buf = encodeNpy(new Float32Array([4]), shape);
    expect(buf[6]).toBe(2);
    expect((12 + buf.readUInt32LE(8)) % 64).toBe(0);
    const back = decodeNpy(buf);
    expect(back.shape).toEqual(shape);
    expect([...back.data]).toEqual([4]);
  });

  it('refuses a shape that does not match the data', () => {
    expect(() => encodeNpy(new Float32Array(6), [4, 2])).toThrow(RangeError);
    expect(() => encodeNpy(new Float32Array(6), [-2, -3])).toThrow(RangeError);
  });
});

describe('decodeNpy', () => {
  it('round-trips float32, float64 and int32 arrays', () => {
    const f32 = Float32Array.from({ length: 30 }, (_, i) => Math.fround(Math.sin(i) * 1e3));
    const back = decodeNpy(encodeNpy(f32, [5, 6]));
    expect(back.dtype).toBe('float32');
    expect(back.shape).toEqual([5, 6]);
    expect(back.data).toEqual(f32);
    const f64 = Float64Array.from([Math.PI, -0, 1e-300, Number.MAX_VALUE]);
    expect(decodeNpy(encodeNpy(f64, [4])).data).toEqual(f64);
    const i32 = Int32Array.from([2147483647, -2147483648, 0]);
    expect(decodeNpy(encodeNpy(i32, [3, 1])).data).toEqual(i32);
  });

  it('reads hand-built files in formats 1.0, 2.0 and 3.0, with double quotes and extra spaces', () => {
    const v1 = decodeNpy(npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", le([1.5, 2.5, -3], 'f8')));
    expect(v1).toEqual({ data: new Float64Array([1.5, 2.5, -3]), shape: [3], dtype: 'float64' });
    const v2 = decodeNpy(npyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", le([5, 6], 'i4'), 2));
    expect(v2.shape).toEqual([1, 2]);
    expect([...v2.data]).toEqual([5, 6]);
    const v3 = decodeNpy(npyFile('{"shape": ( 2 , ),"fortran_order":False,"descr":"<f4"}', le([1, 2], 'f4'), 3));
    expect([...v3.data]).toEqual([1, 2]);
  });

  it('narrows int64 labels (numpy default) to int32 and says so', () => {
    const back = decodeNpy(npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", le([0, 499, -1], 'i8')));
    expect(back.dtype).toBe('int64');
    expect(back.data).toEqual(new Int32Array([0, 499, -1]));
    expectCode(() => decodeNpy(npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", le([2 ** 40], 'i8'))), 'npy-int64-range');
  });

  it('reads zero-size arrays', () => {
    const back = decodeNpy(encodeNpy(new Float32Array(0), [0, 5000]));
    expect(back.shape).toEqual([0, 5000]);
    expect(back.data.length).toBe(0);
  });

  it('rejects what it cannot read faithfully, with specific codes', () => {
    const dict = (descr: string, fortran = 'False', shape = '(2,)') => `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
    const twoF4 = le([1, 2], 'f4');
    expectCode(() => decodeNpy(Buffer.from('PK\x03\x04 not npy at all')), 'npy-bad-magic');
    expectCode(() => decodeNpy(Buffer.alloc(4)), 'npy-bad-magic');
    const v9 = npyFile(dict("'<f4'"), twoF4);
    v9[6] = 9;
    expectCode(() => decodeNpy(v9), 'npy-unsupported-version');
    expectCode(() => decodeNpy(npyFile(dict("'<f4'", 'True'), twoF4)), 'npy-fortran-order');
    expectCode(() => decodeNpy(npyFile(dict("'>f4'"), twoF4)), 'npy-unsupported-dtype');
    expectCode(() => decodeNpy(npyFile(dict("'<c16'"), twoF4)), 'npy-unsupported-dtype');
    expectCode(() => decodeNpy(npyFile(dict("[('a', '<f4')]"), twoF4)), 'npy-unsupported-dtype');
    expectCode(() => decodeNpy(npyFile(dict("'<f4'", 'False', '[2]'), twoF4)), 'npy-bad-header');
    expectCode(() => decodeNpy(npyFile(dict("'<f4'", 'False', '(2.5,)'), twoF4)), 'npy-bad-header');
    expectCode(() => decodeNpy(npyFile(dict("'<f4'", 'Maybe'), twoF4)), 'npy-bad-header');
    expectCode(() => decodeNpy(npyFile(dict("'<f4'", 'False', '(3,)'), twoF4)), 'npy-truncated');
    expectCode(() => decodeNpy(npyFile(dict("'<f4'", 'False', '(1,)'), twoF4)), 'npy-size-mismatch');
    const cut = npyFile(dict("'<f4'"), twoF4).subarray(0, 40);
    expectCode(() => decodeNpy(cut), 'npy-truncated');
  });
});
