/**
 * A minimal WebAssembly binary writer for our few SIMD kernels: one imported memory (the tfjs wasm backend's heap,
 * so kernels read and write tensors in place), functions of i32 parameters with i32/v128 locals, no results.
 * There is no compiler for wasm on the build machines and none is needed at run time: the kernels are short
 * instruction lists (simd/kernels.ts), encoded here once at start. Only the opcodes the kernels use are named.
 */

export type Bytes = number[];

/** Unsigned LEB128. */
export function uleb(n: number): Bytes {
  const out: Bytes = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
export function sleb(n: number): Bytes {
  const out: Bytes = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const vec = (items: Bytes[]): Bytes => [...uleb(items.length), ...items.flat()];
const name = (s: string): Bytes => vec([...new TextEncoder().encode(s)].map((b) => [b]));
const section = (id: number, body: Bytes): Bytes => [id, ...uleb(body.length), ...body];

export const I32 = 0x7f;
export const V128 = 0x7b;

const simd = (op: number): Bytes => [0xfd, ...uleb(op)];
const memarg = (offset = 0): Bytes => [0, ...uleb(offset)];

/** Instruction encoders (the subset the kernels use). */
export const op = {
  block: (): Bytes => [0x02, 0x40],
  loop: (): Bytes => [0x03, 0x40],
  end: (): Bytes => [0x0b],
  br: (depth: number): Bytes => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Bytes => [0x0d, ...uleb(depth)],
  get: (local: number): Bytes => [0x20, ...uleb(local)],
  set: (local: number): Bytes => [0x21, ...uleb(local)],
  tee: (local: number): Bytes => [0x22, ...uleb(local)],
  i32: (n: number): Bytes => [0x41, ...sleb(n)],
  i32Add: (): Bytes => [0x6a],
  i32Sub: (): Bytes => [0x6b],
  i32Mul: (): Bytes => [0x6c],
  i32LtU: (): Bytes => [0x49],
  i32Eqz: (): Bytes => [0x45],
  i32GtU: (): Bytes => [0x4b],
  i32And: (): Bytes => [0x71],
  /** The bits of an i32 as an f32 (float parameters travel as their bit patterns: every parameter is an i32). */
  f32ReinterpretI32: (): Bytes => [0xbe],
  /** [a, b, cond] -> cond ? a : b */
  select: (): Bytes => [0x1b],
  v128Load: (offset = 0): Bytes => [...simd(0x00), ...memarg(offset)],
  v128Store: (offset = 0): Bytes => [...simd(0x0b), ...memarg(offset)],
  /** Loads one f32 and splats it to four lanes. */
  v128Load32Splat: (offset = 0): Bytes => [...simd(0x09), ...memarg(offset)],
  /** i8x16.shuffle picking four 32-bit lanes (0-3 from the first operand, 4-7 from the second). */
  shuffle32: (lanes: readonly [number, number, number, number]): Bytes => [...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])],
  i32x4Splat: (): Bytes => simd(0x11),
  f32x4Splat: (): Bytes => simd(0x13),
  f32Const: (v: number): Bytes => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)],
  i32x4Eq: (): Bytes => simd(0x37),
  f32x4Lt: (): Bytes => simd(0x43),
  f32x4Gt: (): Bytes => simd(0x44),
  v128And: (): Bytes => simd(0x4e),
  v128Bitselect: (): Bytes => simd(0x52),
  f32x4Add: (): Bytes => simd(0xe4),
  f32x4Sub: (): Bytes => simd(0xe5),
  f32x4Mul: (): Bytes => simd(0xe6),
  f32x4Div: (): Bytes => simd(0xe7),
  f32x4Sqrt: (): Bytes => simd(0xe3),
  f64x2Add: (): Bytes => simd(0xf0),
  /** Lanes 0 and 1 of an f32x4 widened to an f64x2. */
  f64x2PromoteLowF32x4: (): Bytes => simd(0x5f),
};

export interface FunctionDef {
  readonly name: string;
  /** Number of i32 parameters. */
  readonly params: number;
  /** Extra locals after the parameters, in order. */
  readonly locals: readonly number[];
  readonly body: readonly Bytes[];
}

/** A module importing `env.memory` and exporting the given functions (each (i32 x params) -> ()). */
export function assemble(functions: readonly FunctionDef[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vec(Array.from({ length: f.params }, () => [I32])), 0]);
  const imports = vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]]);
  const funcs = vec(functions.map((_, i) => uleb(i)));
  const exports = vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]));
  const bodies = functions.map((f) => {
    const locals = vec(f.locals.map((t) => [1, t]));
    const code = [...locals, ...f.body.flat(), 0x0b];
    return [...uleb(code.length), ...code];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, vec(bodies)),
  ]);
}
