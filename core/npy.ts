import { SpectrumInputError } from './errors.ts';

/**
 * NumPy .npy files (format 1.0/2.0/3.0; https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * the interchange format of the benchmark data sets and embeddings. Little-endian, C order only.
 */
export type NpyDtype = 'float32' | 'float64' | 'int32' | 'int64';
export type NpyData = Float32Array | Float64Array | Int32Array;

export interface NpyArray {
  data: NpyData;
  shape: number[];
  /** As stored in the file; int64 is decoded into an Int32Array (values outside int32 are rejected). */
  dtype: NpyDtype;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ALIGN = 64;

const DESCR: Record<string, { dtype: NpyDtype; size: number }> = {
  '<f4': { dtype: 'float32', size: 4 },
  '<f8': { dtype: 'float64', size: 8 },
  '<i4': { dtype: 'int32', size: 4 },
  '<i8': { dtype: 'int64', size: 8 },
};

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function descrOf(data: NpyData): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int32Array) return '<i4';
  throw new TypeError('encodeNpy: data must be a Float32Array, Float64Array or Int32Array');
}

function shapeLiteral(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Encodes a C-order array as .npy bytes (format 1.0, or 2.0 when the header needs more than 65535 bytes). */
export function encodeNpy(data: NpyData, shape: number[]): Buffer {
  if (!littleEndianHost) throw new Error('encodeNpy: big-endian hosts are not supported');
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(`encodeNpy: shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  if (elementCount(shape) !== data.length) {
    throw new RangeError(`encodeNpy: shape [${shape.join(', ')}] holds ${elementCount(shape)} elements but data has ${data.length}`);
  }
  const dict = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  let major = 1;
  let prefix = MAGIC.length + 2 + 2;
  let padded = Math.ceil((prefix + dict.length + 1) / ALIGN) * ALIGN - prefix;
  if (padded > 0xffff) {
    major = 2;
    prefix = MAGIC.length + 2 + 4;
    padded = Math.ceil((prefix + dict.length + 1) / ALIGN) * ALIGN - prefix;
  }
  const header = dict.padEnd(padded - 1, ' ') + '\n';
  const out = Buffer.alloc(prefix + padded + data.byteLength);
  MAGIC.copy(out, 0);
  out[6] = major;
  out[7] = 0;
  if (major === 1) out.writeUInt16LE(padded, 8);
  else out.writeUInt32LE(padded, 8);
  out.write(header, prefix, 'latin1');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, prefix + padded);
  return out;
}

/** The header is a Python dict literal; each key's value has a fixed form, so a pattern per key is enough. */
const FIELD_PATTERN = {
  descr: /['"]descr['"]\s*:\s*(['"][^'"]*['"]|\[)/,
  fortran_order: /['"]fortran_order['"]\s*:\s*(\w+)/,
  shape: /['"]shape['"]\s*:\s*(\([^)]*\))/,
} as const;

function headerField(header: string, key: keyof typeof FIELD_PATTERN): string | undefined {
  return FIELD_PATTERN[key].exec(header)?.[1];
}

function parseShape(literal: string | undefined): number[] {
  const m = literal === undefined ? null : /^\(([^)]*)\)$/.exec(literal);
  if (!m) throw new SpectrumInputError('npy-bad-header', `shape ${literal ?? '(missing)'} is not a tuple`, { field: 'shape' });
  const parts = m[1].split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  return parts.map((p) => {
    if (!/^\d+L?$/.test(p)) throw new SpectrumInputError('npy-bad-header', `shape entry "${p}" is not a non-negative integer`, { field: 'shape' });
    return Number.parseInt(p, 10);
  });
}

/** Decodes .npy bytes; anything it cannot represent faithfully is a SpectrumInputError with a specific code. */
export function decodeNpy(buf: Buffer): NpyArray {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) {
    throw new SpectrumInputError('npy-bad-magic', 'not a .npy file: it does not start with \\x93NUMPY');
  }
  const major = buf[6];
  if (major < 1 || major > 3) {
    throw new SpectrumInputError('npy-unsupported-version', `.npy format version ${major}.${buf[7]} is not supported (1.0, 2.0, 3.0 are)`);
  }
  const prefix = major === 1 ? 10 : 12;
  if (buf.length < prefix) throw new SpectrumInputError('npy-truncated', 'file ends inside the .npy preamble');
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  if (buf.length < prefix + headerLen) {
    throw new SpectrumInputError('npy-truncated', `header of ${headerLen} bytes runs past the end of the file (${buf.length} bytes)`);
  }
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', prefix, prefix + headerLen).trim();

  const descrLiteral = headerField(header, 'descr');
  const fortran = headerField(header, 'fortran_order');
  const shape = parseShape(headerField(header, 'shape'));
  const descrMatch = descrLiteral === undefined ? null : /^['"]([^'"]*)['"]$/.exec(descrLiteral);
  if (!descrMatch) {
    throw new SpectrumInputError('npy-unsupported-dtype', `dtype ${descrLiteral ?? '(missing)'} is not a simple dtype (structured arrays are not supported)`, { field: 'descr' });
  }
  const spec = DESCR[descrMatch[1]];
  if (!spec) {
    throw new SpectrumInputError('npy-unsupported-dtype', `dtype '${descrMatch[1]}' is not supported; expected little-endian float32, float64, int32 or int64 (<f4, <f8, <i4, <i8)`, { field: 'descr' });
  }
  if (fortran === 'True') {
    throw new SpectrumInputError('npy-fortran-order', 'array is stored in Fortran (column-major) order; save it C-contiguous (np.ascontiguousarray)', { field: 'fortran_order' });
  }
  if (fortran !== 'False') throw new SpectrumInputError('npy-bad-header', `fortran_order ${fortran ?? '(missing)'} is not True or False`, { field: 'fortran_order' });

  const count = elementCount(shape);
  const start = prefix + headerLen;
  const expectedBytes = count * spec.size;
  const actualBytes = buf.length - start;
  if (actualBytes < expectedBytes) {
    throw new SpectrumInputError('npy-truncated', `shape (${shape.join(', ')}) of ${spec.dtype} needs ${expectedBytes} data bytes but the file holds ${actualBytes}`);
  }
  if (actualBytes > expectedBytes) {
    throw new SpectrumInputError('npy-size-mismatch', `${actualBytes - expectedBytes} bytes follow the ${expectedBytes} data bytes that shape (${shape.join(', ')}) needs`);
  }
  // Copy into a fresh buffer: the data offset inside a pooled Buffer need not be aligned for a typed array view.
  const bytes = buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + expectedBytes);
  switch (spec.dtype) {
    case 'float32':
      return { data: new Float32Array(bytes), shape, dtype: 'float32' };
    case 'float64':
      return { data: new Float64Array(bytes), shape, dtype: 'float64' };
    case 'int32':
      return { data: new Int32Array(bytes), shape, dtype: 'int32' };
    case 'int64': {
      const wide = new BigInt64Array(bytes);
      const narrow = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const value = wide[i];
        if (value < -2147483648n || value > 2147483647n) {
          throw new SpectrumInputError('npy-int64-range', `int64 value ${value} does not fit in int32`, { index: i });
        }
        narrow[i] = Number(value);
      }
      return { data: narrow, shape, dtype: 'int64' };
    }
  }
}
