// A [rows, dim] x [k, dim]^T product on ONNX Runtime: the similarities of many cached vectors
// (image embeddings, keypoint features) with a few text embeddings. Memory-bound in plain
// JavaScript (about 0.5 GMAC/s here); ONNX Runtime's MatMul runs the same 120,000 x 512 x 2 product
// in about 15 ms, which is what lets a phrasing edit rescore in well under a second.
import type { InferenceSession } from 'onnxruntime-node';
import { GraphBuilder } from './graph/builder';
import { OrtRuntime } from './runtime';

/** [rows, dim] times [k, dim]^T -> [rows, k], row-major. */
export type MatrixProduct = (a: Float32Array, rows: number, b: Float32Array, k: number, dim: number) => Promise<Float32Array>;

function productGraph(): Uint8Array {
  const g = new GraphBuilder('similarities');
  const a = g.input('a', 'float32', ['rows', 'dim']);
  const b = g.input('b', 'float32', ['k', 'dim']);
  g.output(g.op('MatMul', [a, g.op('Transpose', [b], { perm: [1, 0] })]), 'out', 'float32', ['rows', 'k']);
  return g.encode();
}

/** The product on the CPU with ONNX Runtime (one small session, created once). */
export async function ortMatrixProduct(options: { threads?: number } = {}): Promise<MatrixProduct> {
  const runtime = await OrtRuntime.create({ provider: 'cpu', threads: options.threads });
  let session: Promise<InferenceSession> | undefined;
  return async (a, rows, b, k, dim) => {
    if (rows === 0 || k === 0) return new Float32Array(rows * k);
    session ??= runtime.session(productGraph());
    const s = await session;
    const r = await s.run({ a: runtime.floatTensor(a.subarray(0, rows * dim), [rows, dim]), b: runtime.floatTensor(b.subarray(0, k * dim), [k, dim]) });
    return r.out!.data as Float32Array;
  };
}
