/**
 * The few ONNX protobuf messages the exporter writes, with their field numbers from onnx/onnx.proto (IR version 7,
 * the one that goes with opset 13). Only writing is needed; nothing here parses ONNX.
 */
import { ProtobufWriter } from './protobuf-writer.ts';

/** TensorProto.DataType */
const ONNX_FLOAT = 1;
const ONNX_INT64 = 7;

/** AttributeProto.AttributeType */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

export type AttributeValue = { readonly float: number } | { readonly int: number } | { readonly ints: readonly number[] };

export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly float?: Float32Array;
  readonly int64?: readonly number[];
}

/** A graph input or output: float32, each dim a fixed size or a symbolic name (the batch). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly dims: ReadonlyArray<number | string>;
}

export interface OnnxModel {
  readonly graphName: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxInitializer[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly opset: number;
  readonly irVersion: number;
  readonly producerVersion: string;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

function attribute(name: string, value: AttributeValue): ProtobufWriter {
  const w = new ProtobufWriter().string(1, name);
  if ('float' in value) return w.float(2, value.float).int(20, ATTR_FLOAT);
  if ('int' in value) return w.int(3, value.int).int(20, ATTR_INT);
  return w.packedInts(8, value.ints).int(20, ATTR_INTS);
}

function node(n: OnnxNode): ProtobufWriter {
  const w = new ProtobufWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  for (const [name, value] of Object.entries(n.attributes ?? {})) w.message(5, attribute(name, value));
  return w;
}

function tensor(t: OnnxInitializer): ProtobufWriter {
  const w = new ProtobufWriter().packedInts(1, t.dims);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.float) {
    if (t.float.length !== count) throw new RangeError(`initializer ${t.name}: ${t.float.length} values for dims [${t.dims.join(', ')}]`);
    // raw_data: little-endian float32, the exact bytes of the Float32Array on every platform Node runs on.
    w.int(2, ONNX_FLOAT).string(8, t.name).bytes(9, new Uint8Array(t.float.buffer, t.float.byteOffset, t.float.byteLength));
  } else if (t.int64) {
    if (t.int64.length !== count) throw new RangeError(`initializer ${t.name}: ${t.int64.length} values for dims [${t.dims.join(', ')}]`);
    w.int(2, ONNX_INT64).packedInts(7, t.int64).string(8, t.name);
  } else {
    throw new RangeError(`initializer ${t.name} has no data`);
  }
  return w;
}

function valueInfo(v: OnnxValueInfo): ProtobufWriter {
  const shape = new ProtobufWriter();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new ProtobufWriter().int(1, d) : new ProtobufWriter().string(2, d));
  const tensorType = new ProtobufWriter().int(1, ONNX_FLOAT).message(2, shape);
  return new ProtobufWriter().string(1, v.name).message(2, new ProtobufWriter().message(1, tensorType));
}

/** Serializes a ModelProto. */
export function encodeOnnxModel(m: OnnxModel): Uint8Array {
  const graph = new ProtobufWriter();
  m.nodes.forEach((n) => graph.message(1, node(n)));
  graph.string(2, m.graphName);
  m.initializers.forEach((t) => graph.message(5, tensor(t)));
  m.inputs.forEach((v) => graph.message(11, valueInfo(v)));
  m.outputs.forEach((v) => graph.message(12, valueInfo(v)));

  const model = new ProtobufWriter()
    .int(1, m.irVersion)
    .string(2, 'spectrad')
    .string(3, m.producerVersion)
    .string(4, 'org.spectrad');
  if (m.docString) model.string(6, m.docString);
  model.message(7, graph);
  model.message(8, new ProtobufWriter().string(1, '').int(2, m.opset));
  for (const [key, value] of Object.entries(m.metadata ?? {})) model.message(14, new ProtobufWriter().string(1, key).string(2, value));
  return model.finish();
}
