// Float32 tensors as base64 on the wire (EncodedTensor in protocol.ts).
import type { EncodedTensor } from './protocol';

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encodeFloat32(data: Float32Array, shape: number[]): EncodedTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`tensor of shape [${shape.join(', ')}] needs ${count} values, got ${data.length}`);
  if (!littleEndian) throw new Error('big-endian hosts are not supported');
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { dtype: 'float32', shape: [...shape], data: bytes.toString('base64') };
}

/** Decodes and checks that the byte count matches the shape; `what` names it in errors. */
export function decodeFloat32(tensor: EncodedTensor, what = 'tensor'): Float32Array {
  if (!tensor || tensor.dtype !== 'float32' || !Array.isArray(tensor.shape) || typeof tensor.data !== 'string') {
    throw new Error(`${what} must be {dtype: "float32", shape: number[], data: base64 string}`);
  }
  if (!tensor.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${what}: shape must hold non-negative integers`);
  const count = tensor.shape.reduce((a, b) => a * b, 1);
  const bytes = Buffer.from(tensor.data, 'base64');
  if (bytes.length !== count * 4) {
    throw new Error(`${what}: shape [${tensor.shape.join(', ')}] needs ${count * 4} bytes, the data holds ${bytes.length}`);
  }
  // Copy into an aligned buffer: Buffer.from may return a view at an odd offset in its pool.
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Splits a [n, D] tensor into its rows. */
export function rowsOf(data: Float32Array, shape: number[]): Float32Array[] {
  const [n, d] = shape;
  if (shape.length !== 2) throw new Error(`expected a [n, D] tensor, got [${shape.join(', ')}]`);
  return Array.from({ length: n }, (_, i) => data.slice(i * d, (i + 1) * d));
}
