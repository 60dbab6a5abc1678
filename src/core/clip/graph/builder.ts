// A small ONNX graph builder over onnx-proto: named values, float initializers stored as raw
// bytes, typed attributes. Opset 17 (LayerNormalization is standard there), IR version 8.
import { onnx } from 'onnx-proto';

export const OPSET = 17;
const IR_VERSION = 8;

/** An attribute value: integers are INT/INTS, `{ f }` is FLOAT, strings are STRING. */
export type Attr = number | number[] | { f: number } | string;

export type ElemType = 'float32' | 'int64';
const ELEM: Record<ElemType, onnx.TensorProto.DataType> = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 };

function attribute(name: string, value: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if (typeof value === 'object') return { name, type: T.FLOAT, f: value.f };
  return { name, type: T.INT, i: value };
}

function valueInfo(name: string, type: ElemType, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  input(name: string, type: ElemType, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(this.fresh(name), type, dims));
    return name;
  }

  output(value: string, name: string, type: ElemType, dims: (number | string)[]): void {
    this.nodes.push({ opType: 'Identity', input: [value], output: [this.fresh(name)], name: this.fresh(`out_${name}`) });
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A float32 initializer; the bytes are referenced, not copied, until encoding. */
  weight(name: string, data: Float32Array, dims: number[]): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`graph ${this.name}: initializer ${name} has ${data.length} values for dims [${dims}]`);
    const n = this.fresh(name);
    this.initializers.push({ name: n, dataType: ELEM.float32, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return n;
  }

  scalar(name: string, value: number): string {
    return this.weight(name, new Float32Array([value]), []);
  }

  ints(name: string, values: number[], dims: number[] = [values.length]): string {
    const n = this.fresh(name);
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name: n, dataType: ELEM.int64, dims, rawData: new Uint8Array(data.buffer) });
    return n;
  }

  /** Adds a node and returns its output names (one per `outputs`). */
  ops(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs = 1, hint = opType.toLowerCase()): string[] {
    const outs = Array.from({ length: outputs }, (_, i) => this.fresh(outputs === 1 ? hint : `${hint}_${i}`));
    this.nodes.push({
      opType,
      input: inputs,
      output: outs,
      name: this.fresh(`n_${hint}`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, hint?: string): string {
    return this.ops(opType, inputs, attrs, 1, hint)[0]!;
  }

  toModel(): onnx.ModelProto {
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'pscl-studio',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
  }

  encode(): Uint8Array {
    return onnx.ModelProto.encode(this.toModel()).finish();
  }
}
