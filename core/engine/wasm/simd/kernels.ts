/**
 * Our own SIMD kernels, run inside the tfjs wasm backend's memory: a small module (simd/assembler.ts) imports the
 * backend's WebAssembly.Memory, so a kernel reads and writes tensors in place by heap address. Plain JS loops over
 * the heap run at ~5-6 ns per element on the build machine; these run at SIMD speed, like the stock kernels.
 * If the backend's memory is not reachable (another tfjs build), `simdKernels` is undefined and callers keep
 * their JS loops.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { assemble, type Bytes, I32, op, V128 } from './assembler.ts';
import { bindTrainingKernels, TRAINING_FUNCTIONS, type TrainingSimdKernels } from './training-kernels.ts';

export interface SimdKernels {
  /**
   * Max-pool gradient over `windows` consecutive tiled windows: x and dx are [windows, k, c], dy is [windows, c]
   * (byte addresses). Each dy element goes to the first strict maximum of its window, scanned from -Infinity, so
   * NaN and -Infinity never win and ties go to the first, exactly as tfjs's cpu backend. c must be a multiple of 4.
   */
  poolGrad(x: number, dy: number, dx: number, windows: number, c: number, k: number): void;
  /**
   * [a, m, b] -> [b, m, a] for 32-bit values (byte addresses; a and b multiples of 4, all >= 1): the first and last
   * axes swapped in 4 x 4 blocks, the middle kept. Covers a 2-D transpose (m = 1) and x -> [C, W, N] of the
   * filter gradient.
   */
  transposeOuter(src: number, dst: number, a: number, m: number, b: number): void;
  /**
   * Adds the conv1d filter gradient (stride 1, no padding: pad x first) to dw [k * Cin, Cout]: x [n, w, cin],
   * dy [n, wo, cout] with wo = w - k + 1 (byte addresses). Needs k * cin a multiple of 4 and cout of 8.
   * `chunk` positions are processed per pass over the dW tiles.
   */
  filterGrad(x: number, dy: number, dw: number, n: number, w: number, cin: number, wo: number, rows: number, cout: number, chunk: number): void;
  /** Batch-norm training, LeakyReLU and AdamW kernels (simd/training-kernels.ts). */
  readonly training: TrainingSimdKernels;
}

// Parameter and local indices of poolGrad.
const [PX, PD, PO, WINDOWS, CB, K] = [0, 1, 2, 3, 4, 5];
const [DY_END, VEC_END, T, ADDR, BEST, AT, V, UPD, G] = [6, 7, 8, 9, 10, 11, 12, 13, 14];

const poolGradBody: Bytes[] = [
  // dyEnd = pd + windows * cb
  op.get(PD), op.get(WINDOWS), op.get(CB), op.i32Mul(), op.i32Add(), op.set(DY_END),
  op.block(),
  op.get(WINDOWS), op.i32Eqz(), op.brIf(0),
  op.loop(), // each window
  op.get(PD), op.get(CB), op.i32Add(), op.set(VEC_END),
  op.loop(), // each 4 channels
  op.f32Const(-Infinity), op.f32x4Splat(), op.set(BEST),
  op.i32(-1), op.i32x4Splat(), op.set(AT),
  op.i32(0), op.set(T),
  op.get(PX), op.set(ADDR),
  op.loop(), // scan the k positions: keep the first strict maximum and where it was
  op.get(ADDR), op.v128Load(), op.set(V),
  op.get(V), op.get(BEST), op.f32x4Gt(), op.set(UPD),
  op.get(V), op.get(BEST), op.get(UPD), op.v128Bitselect(), op.set(BEST),
  op.get(T), op.i32x4Splat(), op.get(AT), op.get(UPD), op.v128Bitselect(), op.set(AT),
  op.get(ADDR), op.get(CB), op.i32Add(), op.set(ADDR),
  op.get(T), op.i32(1), op.i32Add(), op.tee(T), op.get(K), op.i32LtU(), op.brIf(0),
  op.end(),
  op.get(PD), op.v128Load(), op.set(G),
  op.i32(0), op.set(T),
  op.get(PO), op.set(ADDR),
  op.loop(), // write every position: dy where it was the maximum, else 0
  op.get(ADDR), op.get(G), op.get(AT), op.get(T), op.i32x4Splat(), op.i32x4Eq(), op.v128And(), op.v128Store(),
  op.get(ADDR), op.get(CB), op.i32Add(), op.set(ADDR),
  op.get(T), op.i32(1), op.i32Add(), op.tee(T), op.get(K), op.i32LtU(), op.brIf(0),
  op.end(),
  op.get(PX), op.i32(16), op.i32Add(), op.set(PX),
  op.get(PO), op.i32(16), op.i32Add(), op.set(PO),
  op.get(PD), op.i32(16), op.i32Add(), op.tee(PD), op.get(VEC_END), op.i32LtU(), op.brIf(0),
  op.end(),
  // The channel loop advanced x and dx by one position; skip the window's other k - 1.
  op.get(PX), op.get(K), op.i32(1), op.i32Sub(), op.get(CB), op.i32Mul(), op.i32Add(), op.set(PX),
  op.get(PO), op.get(K), op.i32(1), op.i32Sub(), op.get(CB), op.i32Mul(), op.i32Add(), op.set(PO),
  op.get(PD), op.get(DY_END), op.i32LtU(), op.brIf(0),
  op.end(),
  op.end(),
];

// Parameter and local indices of transposeOuter.
const [SRC, DST, A, M, B, GROUP] = [0, 1, 2, 3, 4, 5];
const [ROW_A, ROW_B, MI, AI, BI, S, D, GI, S2, D2] = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const [V0, V1, V2, V3, T0, T1, T2, T3] = [16, 17, 18, 19, 20, 21, 22, 23];

/** Loads the four rows of a 4 x 4 block at S2, transposes it with shuffles and stores it as four rows at D2. */
const transposeBlock: Bytes[] = [
  ...[V0, V1, V2, V3].map((v, i) => [...op.get(S2), ...op.get(ROW_A), ...op.i32(i), ...op.i32Mul(), ...op.i32Add(), ...op.v128Load(), ...op.set(v)]),
  op.get(V0), op.get(V1), op.shuffle32([0, 4, 1, 5]), op.set(T0),
  op.get(V0), op.get(V1), op.shuffle32([2, 6, 3, 7]), op.set(T1),
  op.get(V2), op.get(V3), op.shuffle32([0, 4, 1, 5]), op.set(T2),
  op.get(V2), op.get(V3), op.shuffle32([2, 6, 3, 7]), op.set(T3),
  ...(
    [
      [T0, T2, [0, 1, 4, 5]],
      [T0, T2, [2, 3, 6, 7]],
      [T1, T3, [0, 1, 4, 5]],
      [T1, T3, [2, 3, 6, 7]],
    ] as const
  ).map(([p, q, lanes], j) => [...op.get(D2), ...op.get(ROW_B), ...op.i32(j), ...op.i32Mul(), ...op.i32Add(), ...op.get(p), ...op.get(q), ...op.shuffle32(lanes), ...op.v128Store()]),
];

const transposeOuterBody: Bytes[] = [
  op.get(M), op.get(B), op.i32Mul(), op.i32(4), op.i32Mul(), op.set(ROW_A),
  op.get(M), op.get(A), op.i32Mul(), op.i32(4), op.i32Mul(), op.set(ROW_B),
  op.i32(0), op.set(MI),
  op.loop(), // each middle index m
  op.i32(0), op.set(AI),
  op.loop(), // each 4 * GROUP values of the first axis
  // s = src + a * rowA + m * B * 4; d = dst + m * A * 4 + a * 4
  op.get(SRC), op.get(AI), op.get(ROW_A), op.i32Mul(), op.i32Add(), op.get(MI), op.get(B), op.i32Mul(), op.i32(4), op.i32Mul(), op.i32Add(), op.set(S),
  op.get(DST), op.get(MI), op.get(A), op.i32Mul(), op.i32(4), op.i32Mul(), op.i32Add(), op.get(AI), op.i32(4), op.i32Mul(), op.i32Add(), op.set(D),
  op.i32(0), op.set(BI),
  op.loop(), // each 4 values of the last axis
  // GROUP blocks down the first axis: each output row then gets 16 * GROUP contiguous bytes (whole cache lines for
  // GROUP 4), where one block wrote 16 bytes into each of 4 rows far apart (cache-set conflicts when B is small).
  op.i32(0), op.set(GI),
  op.get(S), op.set(S2),
  op.get(D), op.set(D2),
  op.loop(),
  ...transposeBlock,
  op.get(S2), op.get(ROW_A), op.i32(4), op.i32Mul(), op.i32Add(), op.set(S2),
  op.get(D2), op.i32(16), op.i32Add(), op.set(D2),
  op.get(GI), op.i32(1), op.i32Add(), op.tee(GI), op.get(GROUP), op.i32LtU(), op.brIf(0),
  op.end(),
  op.get(S), op.i32(16), op.i32Add(), op.set(S),
  op.get(D), op.get(ROW_B), op.i32(4), op.i32Mul(), op.i32Add(), op.set(D),
  op.get(BI), op.i32(4), op.i32Add(), op.tee(BI), op.get(B), op.i32LtU(), op.brIf(0),
  op.end(),
  op.get(AI), op.get(GROUP), op.i32(4), op.i32Mul(), op.i32Add(), op.tee(AI), op.get(A), op.i32LtU(), op.brIf(0),
  op.end(),
  op.get(MI), op.i32(1), op.i32Add(), op.tee(MI), op.get(M), op.i32LtU(), op.brIf(0),
  op.end(),
];

// Parameters and locals of filterGrad (conv1d filter gradient, stride 1, 'valid' on x).
const [FX, FDY, FDW, FN, FW, FCIN, FWO, FR, FCOUT, FCH] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [NI, O0, R0, C0, PXF, PDF, PEND, XSTRIDE, DSTRIDE, TILE] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
const ACC = [20, 21, 22, 23, 24, 25, 26, 27]; // acc[i][h] = ACC[2 * i + h]: row r0 + i, channels c0 + 4h .. + 3
const [FA, FB0, FB1, FS] = [28, 29, 30, 31];

/** acc[i][h] <-> dw[(r0 + i) * Cout + c0 + 4h] (TILE holds the address of dw[r0, c0]). */
const tileAccess = (store: boolean): Bytes[] =>
  ACC.map((acc, j) => {
    const i = j >> 1;
    const h = j & 1;
    const addr = [...op.get(TILE), ...op.get(DSTRIDE), ...op.i32(i), ...op.i32Mul(), ...op.i32Add()];
    return store ? [...addr, ...op.get(acc), ...op.v128Store(16 * h)] : [...addr, ...op.v128Load(16 * h), ...op.set(acc)];
  });

/**
 * dW[r, co] += sum over positions o of x[n, o, r] * dy[n, o, co], r = t * Cin + ci running over the k * Cin values
 * that start at position o (a 'valid', stride-1 window is contiguous in channels-last memory, so x needs no
 * im2col). Blocked along positions (chunks of CH) so a chunk of x and dy stays in cache while every 4 x 8 tile of
 * dW, held in 8 SIMD registers, consumes it: XNNPACK's GEMM streams the whole reduction once per tile instead.
 */
const filterGradBody: Bytes[] = [
  op.get(FCIN), op.i32(4), op.i32Mul(), op.set(XSTRIDE),
  op.get(FCOUT), op.i32(4), op.i32Mul(), op.set(DSTRIDE),
  op.i32(0), op.set(NI),
  op.loop(), // each sample n
  op.i32(0), op.set(O0),
  op.loop(), // each chunk of positions [o0, o0 + len)
  op.i32(0), op.set(R0),
  op.loop(), // each 4 rows of dW
  op.i32(0), op.set(C0),
  op.loop(), // each 8 output channels
  // TILE = dw + r0 * Cout * 4 + c0 * 4
  op.get(FDW), op.get(R0), op.get(DSTRIDE), op.i32Mul(), op.i32Add(), op.get(C0), op.i32(4), op.i32Mul(), op.i32Add(), op.set(TILE),
  ...tileAccess(false),
  // px = x + ((n * W + o0) * Cin + r0) * 4
  op.get(FX), op.get(NI), op.get(FW), op.i32Mul(), op.get(O0), op.i32Add(), op.get(FCIN), op.i32Mul(), op.get(R0), op.i32Add(), op.i32(4), op.i32Mul(), op.i32Add(), op.set(PXF),
  // pd = dy + ((n * Wo + o0) * Cout + c0) * 4
  op.get(FDY), op.get(NI), op.get(FWO), op.i32Mul(), op.get(O0), op.i32Add(), op.get(FCOUT), op.i32Mul(), op.get(C0), op.i32Add(), op.i32(4), op.i32Mul(), op.i32Add(), op.set(PDF),
  // pend = pd + min(CH, Wo - o0) * Cout * 4
  op.get(PDF),
  op.get(FCH), op.get(FWO), op.get(O0), op.i32Sub(), op.get(FWO), op.get(O0), op.i32Sub(), op.get(FCH), op.i32GtU(), op.select(),
  op.get(DSTRIDE), op.i32Mul(), op.i32Add(), op.set(PEND),
  op.loop(), // each position in the chunk: 32 multiply-adds
  op.get(PXF), op.v128Load(), op.set(FA),
  op.get(PDF), op.v128Load(), op.set(FB0),
  op.get(PDF), op.v128Load(16), op.set(FB1),
  ...[0, 1, 2, 3].map((i) => [
    ...op.get(FA), ...op.get(FA), ...op.shuffle32([i, i, i, i]), ...op.set(FS),
    ...op.get(ACC[2 * i]), ...op.get(FS), ...op.get(FB0), ...op.f32x4Mul(), ...op.f32x4Add(), ...op.set(ACC[2 * i]),
    ...op.get(ACC[2 * i + 1]), ...op.get(FS), ...op.get(FB1), ...op.f32x4Mul(), ...op.f32x4Add(), ...op.set(ACC[2 * i + 1]),
  ]),
  op.get(PXF), op.get(XSTRIDE), op.i32Add(), op.set(PXF),
  op.get(PDF), op.get(DSTRIDE), op.i32Add(), op.tee(PDF), op.get(PEND), op.i32LtU(), op.brIf(0),
  op.end(),
  ...tileAccess(true),
  op.get(C0), op.i32(8), op.i32Add(), op.tee(C0), op.get(FCOUT), op.i32LtU(), op.brIf(0),
  op.end(),
  op.get(R0), op.i32(4), op.i32Add(), op.tee(R0), op.get(FR), op.i32LtU(), op.brIf(0),
  op.end(),
  op.get(O0), op.get(FCH), op.i32Add(), op.tee(O0), op.get(FWO), op.i32LtU(), op.brIf(0),
  op.end(),
  op.get(NI), op.i32(1), op.i32Add(), op.tee(NI), op.get(FN), op.i32LtU(), op.brIf(0),
  op.end(),
];

export const SIMD_MODULE_BYTES = assemble([
  { name: 'poolGrad', params: 6, locals: [I32, I32, I32, I32, V128, V128, V128, V128, V128], body: poolGradBody },
  { name: 'transposeOuter', params: 6, locals: [...Array<number>(10).fill(I32), ...Array<number>(8).fill(V128)], body: transposeOuterBody },
  { name: 'filterGrad', params: 10, locals: [...Array<number>(10).fill(I32), ...Array<number>(12).fill(V128)], body: filterGradBody },
  ...TRAINING_FUNCTIONS,
]);

const cache = new WeakMap<object, SimdKernels | null>();

function backendMemory(backend: BackendWasm): WebAssembly.Memory | undefined {
  // The Emscripten module keeps its exports on `asm`; `memory` is the heap every tensor lives in.
  const asm = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm;
  return asm?.memory instanceof WebAssembly.Memory ? asm.memory : undefined;
}

/** Our SIMD kernels bound to this backend's heap, or undefined when it cannot be reached. */
export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  const cached = cache.get(backend);
  if (cached !== undefined) return cached ?? undefined;
  let kernels: SimdKernels | null = null;
  const memory = backendMemory(backend);
  if (memory) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(SIMD_MODULE_BYTES), { env: { memory } });
    const poolGrad = instance.exports.poolGrad as (x: number, dy: number, dx: number, windows: number, cb: number, k: number) => void;
    const transposeOuterGrouped = instance.exports.transposeOuter as (src: number, dst: number, a: number, m: number, b: number, group: number) => void;
    // Four 4 x 4 blocks down the first axis per step when they fit (a a multiple of 16).
    const transposeOuter: SimdKernels['transposeOuter'] = (src, dst, a, m, b) => transposeOuterGrouped(src, dst, a, m, b, a % 16 === 0 ? 4 : 1);
    const filterGrad = instance.exports.filterGrad as SimdKernels['filterGrad'];
    kernels = { poolGrad: (x, dy, dx, windows, c, k) => poolGrad(x, dy, dx, windows, c * 4, k), transposeOuter, filterGrad, training: bindTrainingKernels(instance.exports) };
  }
  cache.set(backend, kernels);
  return kernels ?? undefined;
}

/** Byte address of a tensor's data on the backend's heap. */
export function heapAddress(backend: BackendWasm, dataId: object): number {
  return backend.dataIdMap.get(dataId).memoryOffset as number;
}
