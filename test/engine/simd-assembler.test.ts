/**
 * The tiny wasm binary writer behind our SIMD kernels: LEB128 encodings against known bytes, and a module that
 * WebAssembly itself accepts and runs (a kernel writing through the imported memory).
 */
import { describe, expect, it } from 'vitest';
import { assemble, I32, op, sleb, uleb } from '../../core/engine/wasm/simd/assembler.ts';
import { SIMD_MODULE_BYTES } from '../../core/engine/wasm/simd/kernels.ts';

describe('wasm assembler', () => {
  it('encodes LEB128 like the spec examples', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it('our kernel module validates', () => {
    expect(WebAssembly.validate(SIMD_MODULE_BYTES)).toBe(true);
  });

  it('a written function runs against the imported memory', () => {
    // splat(f32 at a) * 2 + 1 stored at b: loads, SIMD arithmetic and stores through the imported memory.
    const bytes = assemble([
      {
        name: 'f',
        params: 2,
        locals: [I32],
        body: [op.get(1), op.get(0), op.v128Load(), op.get(0), op.v128Load(), op.f32x4Add(), op.f32Const(1), op.f32x4Splat(), op.f32x4Add(), op.v128Store()],
      },
    ]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const f = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.f as (a: number, b: number) => void;
    const heap = new Float32Array(memory.buffer);
    heap.set([1, -2, 3.5, 0], 4);
    f(16, 64);
    expect(Array.from(heap.subarray(16, 20))).toEqual([3, -3, 8, 1]);
  });
});
