/**
 * SIMD kernels for the training step's per-channel and element-wise work (assembled into the module of
 * simd/kernels.ts, so they run in the tfjs backend's heap like the others):
 *
 * - batch-norm training: per-channel sums over the rows of a channels-last [rows, C] tensor (the batch moments and
 *   the two sums of the gradient), the normalisation y = (x - mean) * s + t, and the input gradient
 *   dx = dy * a + (x - mean) * b + c, each ONE pass instead of tfjs's chain of Mean/Sub/Square/Mul/Sum/Tile ops;
 * - LeakyReLU forward and gradient (the stock forward is a scalar loop);
 * - AdamW: m, v and the weight updated in one pass (tfjs: ~13 element-wise ops per variable).
 *
 * Sums are accumulated in float32 over blocks of BLOCK_ROWS rows, and the block sums added in float64, so a sum over
 * 80 000 rows (lite's first layer at batch 64) keeps float64-like accuracy where a plain float32 running sum would
 * drift by ~1e-4 relative. Every tensor here has C (channels) or its length a multiple of 4; callers check.
 */
import { type Bytes, type FunctionDef, I32, op, V128 } from './assembler.ts';

/** Rows per float32 partial sum before it is added to the float64 total. */
export const BLOCK_ROWS = 64;

/** A function with named parameters and locals (indices in declaration order: params, i32 locals, v128 locals). */
function define(name: string, params: readonly string[], i32s: readonly string[], v128s: readonly string[], body: (L: Record<string, number>) => Bytes[]): FunctionDef {
  const L: Record<string, number> = {};
  [...params, ...i32s, ...v128s].forEach((n, i) => {
    if (n in L) throw new Error(`${name}: duplicate local ${n}`);
    L[n] = i;
  });
  return { name, params: params.length, locals: [...i32s.map(() => I32), ...v128s.map(() => V128)], body: body(L) };
}

const zeroVector = (): Bytes[] => [op.f32Const(0), op.f32x4Splat()];
/** The v128 at base + offset (both locals). */
const loadAt = (base: number, offset: number): Bytes[] => [op.get(base), op.get(offset), op.i32Add(), op.v128Load()];
/** A float parameter passed as its i32 bit pattern, splatted. */
const splatBits = (param: number): Bytes[] => [op.get(param), op.f32ReinterpretI32(), op.f32x4Splat()];

/** for (q = 0; q < bytes; q += 16) body, skipped when bytes is 0. */
function byteLoop(q: number, bytes: Bytes[], body: Bytes[]): Bytes[] {
  return [
    op.i32(0), op.set(q),
    op.block(),
    ...bytes, op.i32Eqz(), op.brIf(0),
    op.loop(),
    ...body,
    op.get(q), op.i32(16), op.i32Add(), op.tee(q), ...bytes, op.i32LtU(), op.brIf(0),
    op.end(),
    op.end(),
  ];
}

/**
 * Rows of a [rows, C] tensor (cb = 4 C bytes per row): for each row (byte offset OFF) and each 4 channels (byte
 * offset J in the row) runs `inner` with P = OFF + J. Rows run up to END (a byte offset, set by the caller).
 */
function rowsLoop(L: Record<string, number>, inner: Bytes[]): Bytes[] {
  return [
    op.loop(), // each row
    op.i32(0), op.set(L.J),
    op.loop(), // each 4 channels
    op.get(L.OFF), op.get(L.J), op.i32Add(), op.set(L.P),
    ...inner,
    op.get(L.J), op.i32(16), op.i32Add(), op.tee(L.J), op.get(L.cb), op.i32LtU(), op.brIf(0),
    op.end(),
    op.get(L.OFF), op.get(L.cb), op.i32Add(), op.tee(L.OFF), op.get(L.END), op.i32LtU(), op.brIf(0),
    op.end(),
  ];
}

type SumKind = 'sum' | 'sumSqDev' | 'sumDyDev';

/**
 * Per-channel sums over rows into float64 totals `tot` (byte address; terms x C float64):
 * sum: sum x; sumSqDev: sum (x - center)^2; sumDyDev: sum dy (term 0) and sum dy * (x - center) (term 1).
 * `blk` is scratch for terms x C float32 block sums. Parameters (all i32 byte addresses or counts):
 * (x, dy, center, rows, cb, blk, tot).
 */
function channelSums(kind: SumKind): FunctionDef {
  const terms = kind === 'sumDyDev' ? 2 : 1;
  return define(kind, ['x', 'dy', 'center', 'rows', 'cb', 'blk', 'tot'], ['OFF', 'END', 'J', 'P', 'BLOCK_END', 'Q', 'TB'], ['V', 'G', 'B'], (L) => {
    const termBytes = (mult: number): Bytes[] => [op.get(L.cb), op.i32(terms * mult), op.i32Mul()];
    // blk[term * cb + J] += value (value on the stack after the address)
    const accumulate = (term: number, value: Bytes[]): Bytes[] => [
      op.get(L.blk), op.get(L.J), op.i32Add(), ...(term ? [op.get(L.cb), op.i32Add()] : []),
      op.get(L.blk), op.get(L.J), op.i32Add(), ...(term ? [op.get(L.cb), op.i32Add()] : []), op.v128Load(),
      ...value, op.f32x4Add(), op.v128Store(),
    ];
    const deviation: Bytes[] = kind === 'sum' ? [] : [op.get(L.V), op.get(L.center), op.get(L.J), op.i32Add(), op.v128Load(), op.f32x4Sub(), op.set(L.V)];
    const contributions: Bytes[] =
      kind === 'sum'
        ? accumulate(0, [op.get(L.V)])
        : kind === 'sumSqDev'
          ? accumulate(0, [op.get(L.V), op.get(L.V), op.f32x4Mul()])
          : [...loadAt(L.dy, L.P), op.set(L.G), ...accumulate(0, [op.get(L.G)]), ...accumulate(1, [op.get(L.G), op.get(L.V), op.f32x4Mul()])];
    return [
      ...byteLoop(L.Q, termBytes(2), [op.get(L.tot), op.get(L.Q), op.i32Add(), ...zeroVector(), op.v128Store()]),
      op.get(L.rows), op.get(L.cb), op.i32Mul(), op.set(L.END),
      op.i32(0), op.set(L.OFF),
      op.block(),
      op.get(L.END), op.i32Eqz(), op.brIf(0),
      op.loop(), // each block of rows
      ...byteLoop(L.Q, termBytes(1), [op.get(L.blk), op.get(L.Q), op.i32Add(), ...zeroVector(), op.v128Store()]),
      // BLOCK_END = min(OFF + BLOCK_ROWS * cb, END), and rowsLoop runs to it
      op.get(L.OFF), op.get(L.cb), op.i32(BLOCK_ROWS), op.i32Mul(), op.i32Add(), op.tee(L.P),
      op.get(L.END), op.get(L.P), op.get(L.END), op.i32LtU(), op.select(), op.set(L.BLOCK_END),
      // rowsLoop stops at END: swap END and BLOCK_END around it.
      op.get(L.END), op.get(L.BLOCK_END), op.set(L.END), op.set(L.BLOCK_END),
      ...rowsLoop(L, [...loadAt(L.x, L.P), op.set(L.V), ...deviation, ...contributions]),
      op.get(L.BLOCK_END), op.set(L.END),
      // fold the block: tot[2 Q .. 2 Q + 32) += float64(blk[Q .. Q + 16))
      ...byteLoop(L.Q, termBytes(1), [
        op.get(L.blk), op.get(L.Q), op.i32Add(), op.v128Load(), op.set(L.B),
        op.get(L.tot), op.get(L.Q), op.i32(2), op.i32Mul(), op.i32Add(), op.set(L.TB),
        op.get(L.TB), op.get(L.TB), op.v128Load(), op.get(L.B), op.f64x2PromoteLowF32x4(), op.f64x2Add(), op.v128Store(),
        op.get(L.TB), op.get(L.TB), op.v128Load(16), op.get(L.B), op.get(L.B), op.shuffle32([2, 3, 0, 1]), op.f64x2PromoteLowF32x4(), op.f64x2Add(), op.v128Store(16),
      ]),
      op.get(L.OFF), op.get(L.END), op.i32LtU(), op.brIf(0),
      op.end(),
      op.end(),
    ];
  });
}

/** Runs rowsLoop over all rows (END = rows * cb), skipping an empty tensor. */
function allRows(L: Record<string, number>, inner: Bytes[]): Bytes[] {
  return [
    op.get(L.rows), op.get(L.cb), op.i32Mul(), op.set(L.END),
    op.i32(0), op.set(L.OFF),
    op.block(),
    op.get(L.END), op.i32Eqz(), op.brIf(0),
    ...rowsLoop(L, inner),
    op.end(),
  ];
}

/** y = (x - mean) * scale + shift per channel: (x, mean, scale, shift, y, rows, cb). */
const bnApply = define('bnApply', ['x', 'mean', 'scale', 'shift', 'y', 'rows', 'cb'], ['OFF', 'END', 'J', 'P'], [], (L) =>
  allRows(L, [
    op.get(L.y), op.get(L.P), op.i32Add(),
    ...loadAt(L.x, L.P), ...loadAt(L.mean, L.J), op.f32x4Sub(), ...loadAt(L.scale, L.J), op.f32x4Mul(), ...loadAt(L.shift, L.J), op.f32x4Add(),
    op.v128Store(),
  ]),
);

/** dx = dy * a + (x - mean) * b + c per channel: (x, dy, mean, a, b, c, dx, rows, cb). */
const bnBackward = define('bnBackward', ['x', 'dy', 'mean', 'a', 'b', 'c', 'dx', 'rows', 'cb'], ['OFF', 'END', 'J', 'P'], [], (L) =>
  allRows(L, [
    op.get(L.dx), op.get(L.P), op.i32Add(),
    ...loadAt(L.dy, L.P), ...loadAt(L.a, L.J), op.f32x4Mul(),
    ...loadAt(L.x, L.P), ...loadAt(L.mean, L.J), op.f32x4Sub(), ...loadAt(L.b, L.J), op.f32x4Mul(), op.f32x4Add(),
    ...loadAt(L.c, L.J), op.f32x4Add(),
    op.v128Store(),
  ]),
);

/** y = x < 0 ? alpha x : x (NaN stays NaN, as cpu): (x, y, bytes, alphaBits). */
const leakyRelu = define('leakyRelu', ['x', 'y', 'bytes', 'alpha'], ['Q'], ['A', 'V'], (L) => [
  ...splatBits(L.alpha), op.set(L.A),
  ...byteLoop(L.Q, [op.get(L.bytes)], [
    ...loadAt(L.x, L.Q), op.set(L.V),
    op.get(L.y), op.get(L.Q), op.i32Add(),
    op.get(L.V), op.get(L.A), op.f32x4Mul(), op.get(L.V), op.get(L.V), ...zeroVector(), op.f32x4Lt(), op.v128Bitselect(),
    op.v128Store(),
  ]),
]);

/** dx = x > 0 ? dy : alpha dy (tfjs-core's LeakyRelu gradient rule): (x, dy, dx, bytes, alphaBits). */
const leakyReluGrad = define('leakyReluGrad', ['x', 'dy', 'dx', 'bytes', 'alpha'], ['Q'], ['A', 'G'], (L) => [
  ...splatBits(L.alpha), op.set(L.A),
  ...byteLoop(L.Q, [op.get(L.bytes)], [
    ...loadAt(L.dy, L.Q), op.set(L.G),
    op.get(L.dx), op.get(L.Q), op.i32Add(),
    op.get(L.G), op.get(L.G), op.get(L.A), op.f32x4Mul(), ...loadAt(L.x, L.Q), ...zeroVector(), op.f32x4Gt(), op.v128Bitselect(),
    op.v128Store(),
  ]),
]);

/** Order of the float32 constants AdamW reads from `consts`. */
export const ADAMW_CONSTS = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'correction1', 'correction2', 'epsilon', 'lr', 'lrTimesDecay'] as const;

/**
 * One AdamW step per element, same formula and order as core/training/adamw.ts's composed ops:
 * m' = m b1 + g (1 - b1); v' = v b2 + g^2 (1 - b2); w' = (w - lr (m' / c1) / (sqrt(v' / c2) + eps)) - w lr decay.
 * (w, g, m, v, consts, wOut, mOut, vOut, bytes).
 */
const adamw = define('adamw', ['w', 'g', 'm', 'v', 'consts', 'wOut', 'mOut', 'vOut', 'bytes'], ['Q'], ['B1', 'OB1', 'B2', 'OB2', 'C1', 'C2', 'EPS', 'LR', 'LRWD', 'G', 'M', 'V', 'W'], (L) => [
  ...['B1', 'OB1', 'B2', 'OB2', 'C1', 'C2', 'EPS', 'LR', 'LRWD'].map((name, i) => [...op.get(L.consts), ...op.v128Load32Splat(4 * i), ...op.set(L[name])]),
  ...byteLoop(L.Q, [op.get(L.bytes)], [
    ...loadAt(L.g, L.Q), op.set(L.G),
    ...loadAt(L.m, L.Q), op.get(L.B1), op.f32x4Mul(), op.get(L.G), op.get(L.OB1), op.f32x4Mul(), op.f32x4Add(), op.set(L.M),
    ...loadAt(L.v, L.Q), op.get(L.B2), op.f32x4Mul(), op.get(L.G), op.get(L.G), op.f32x4Mul(), op.get(L.OB2), op.f32x4Mul(), op.f32x4Add(), op.set(L.V),
    op.get(L.mOut), op.get(L.Q), op.i32Add(), op.get(L.M), op.v128Store(),
    op.get(L.vOut), op.get(L.Q), op.i32Add(), op.get(L.V), op.v128Store(),
    ...loadAt(L.w, L.Q), op.set(L.W),
    op.get(L.wOut), op.get(L.Q), op.i32Add(),
    op.get(L.W),
    op.get(L.M), op.get(L.C1), op.f32x4Div(), op.get(L.V), op.get(L.C2), op.f32x4Div(), op.f32x4Sqrt(), op.get(L.EPS), op.f32x4Add(), op.f32x4Div(),
    op.get(L.LR), op.f32x4Mul(), op.f32x4Sub(),
    op.get(L.W), op.get(L.LRWD), op.f32x4Mul(), op.f32x4Sub(),
    op.v128Store(),
  ]),
]);

export const TRAINING_FUNCTIONS: readonly FunctionDef[] = [channelSums('sum'), channelSums('sumSqDev'), channelSums('sumDyDev'), bnApply, bnBackward, leakyRelu, leakyReluGrad, adamw];

export interface TrainingSimdKernels {
  /** tot (float64 x C) = per-channel sums of x [rows, C]; blk: scratch of C float32. cb = 4 C. */
  sum(x: number, dy: number, center: number, rows: number, cb: number, blk: number, tot: number): void;
  /** tot (float64 x C) = per-channel sums of (x - center)^2. */
  sumSqDev(x: number, dy: number, center: number, rows: number, cb: number, blk: number, tot: number): void;
  /** tot (float64 x 2C) = per-channel sums of dy, then of dy (x - center); blk: scratch of 2C float32. */
  sumDyDev(x: number, dy: number, center: number, rows: number, cb: number, blk: number, tot: number): void;
  bnApply(x: number, mean: number, scale: number, shift: number, y: number, rows: number, cb: number): void;
  bnBackward(x: number, dy: number, mean: number, a: number, b: number, c: number, dx: number, rows: number, cb: number): void;
  /** bytes: a multiple of 16; alphaBits: the float32 alpha's bit pattern. */
  leakyRelu(x: number, y: number, bytes: number, alphaBits: number): void;
  leakyReluGrad(x: number, dy: number, dx: number, bytes: number, alphaBits: number): void;
  adamw(w: number, g: number, m: number, v: number, consts: number, wOut: number, mOut: number, vOut: number, bytes: number): void;
}

/** The bit pattern of a float32, for kernels that take float parameters as i32. */
export function f32Bits(v: number): number {
  return new Int32Array(Float32Array.of(v).buffer)[0];
}

export function bindTrainingKernels(exports: WebAssembly.Exports): TrainingSimdKernels {
  const get = <K extends keyof TrainingSimdKernels>(k: K) => exports[k] as TrainingSimdKernels[K];
  return {
    sum: get('sum'),
    sumSqDev: get('sumSqDev'),
    sumDyDev: get('sumDyDev'),
    bnApply: get('bnApply'),
    bnBackward: get('bnBackward'),
    leakyRelu: get('leakyRelu'),
    leakyReluGrad: get('leakyReluGrad'),
    adamw: get('adamw'),
  };
}
