/**
 * Minimal protobuf wire-format writer for building an ONNX ModelProto.
 *
 * Why hand-written: the ONNX exporter only needs to emit a handful of message
 * kinds (ModelProto, GraphProto, NodeProto, TensorProto, ...), never to parse
 * them, so varints, length-delimited fields and packed floats cover it; this is
 * smaller than pulling protobufjs plus a compiled onnx.proto schema.
 * Wire format reference: https://protobuf.dev/programming-guides/encoding/
 */

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Appends protobuf fields to a growing byte buffer; `finish()` returns the bytes. */
export class ProtobufWriter {
  /** Small fields go byte by byte into `pending`; large byte fields (weights) are kept as views, copied once in finish(). */
  private parts: Uint8Array[] = [];
  private pending: number[] = [];

  private flushPending(): void {
    if (this.pending.length) {
      this.parts.push(Uint8Array.from(this.pending));
      this.pending = [];
    }
  }

  /** Varint of a non-negative or negative integer; negatives use 10-byte two's complement like int64. */
  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.pending.push(Number((v & 0x7fn) | 0x80n));
      v >>= 7n;
    }
    this.pending.push(Number(v));
  }

  private tag(field: number, wireType: number): void {
    if (!Number.isInteger(field) || field < 1) {
      throw new RangeError(`protobuf field number must be a positive integer, got ${field}`);
    }
    this.varint((field << 3) | wireType);
  }

  /** int32/int64/enum/bool field. */
  int(field: number, value: number | bigint): this {
    if (typeof value === 'number' && !Number.isInteger(value)) {
      throw new RangeError(`protobuf integer field ${field} got non-integer ${value}`);
    }
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  /** Raw bytes field (also used for embedded messages). */
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(data.length);
    if (data.length < 64) {
      for (const b of data) this.pending.push(b);
    } else {
      this.flushPending();
      this.parts.push(data);
    }
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  /** Embedded message built by its own writer. */
  message(field: number, inner: ProtobufWriter): this {
    return this.bytes(field, inner.finish());
  }

  /** Single float (fixed32, little-endian IEEE 754). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.pushFloat32(value);
    return this;
  }

  /** Packed repeated float: one length-delimited field holding 4 bytes per value. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    const buf = new Uint8Array(values.length * 4);
    const view = new DataView(buf.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.bytes(field, buf);
  }

  /** Packed repeated int64 (e.g. TensorProto.dims, AttributeProto.ints). */
  packedInts(field: number, values: ArrayLike<number>): this {
    const inner = new ProtobufWriter();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isInteger(values[i])) {
        throw new RangeError(`protobuf packed integer field ${field} got non-integer ${values[i]}`);
      }
      inner.varint(values[i]);
    }
    return this.bytes(field, inner.finish());
  }

  private pushFloat32(value: number): void {
    const tmp = new DataView(new ArrayBuffer(4));
    tmp.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.pending.push(tmp.getUint8(i));
  }

  finish(): Uint8Array {
    this.flushPending();
    const out = new Uint8Array(this.parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
