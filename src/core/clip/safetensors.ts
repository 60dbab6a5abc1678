// safetensors: an 8-byte little-endian header length, a JSON header
// `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}` and the raw data. Tensors are
// read one at a time from the file (no whole-file buffer), as float32 whatever their stored type.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { PsclError } from '../errors';

/** Stored types we turn into float32. Other types (I64 position ids...) may be present but unread. */
export type FloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';
const FLOAT_BYTES: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const OTHER_BYTES: Record<string, number> = { I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, U16: 2, U32: 4, U64: 8 };

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

/** Bad input the user can fix (kind 'input' for the backend's error mapping). */
export class SafetensorsError extends PsclError {
  override name = 'SafetensorsError';
}

export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return Object.hasOwn(FLOAT_BYTES, dtype);
}

export class SafetensorsFile {
  private constructor(
    readonly file: string,
    private fd: number,
    private readonly dataStart: number,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  /** Reads and checks the header: every tensor's byte range must lie inside the file. */
  static open(file: string): SafetensorsFile {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const fail = (why: string): never => {
        throw new SafetensorsError(`${file}: ${why}`);
      };
      if (size < 8) fail(`truncated file: ${size} bytes, not even a header length`);
      const lenBuf = Buffer.alloc(8);
      readSync(fd, lenBuf, 0, 8, 0);
      const headerLen = Number(lenBuf.readBigUInt64LE(0));
      if (headerLen > size - 8) fail(`truncated file: the header says ${headerLen} header bytes but the file has ${size - 8} after the length`);
      const headerBuf = Buffer.alloc(headerLen);
      readSync(fd, headerBuf, 0, headerLen, 8);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
      } catch (err) {
        return fail(`the header is not JSON (${(err as Error).message}); the file is not a safetensors file or is corrupt`);
      }
      const dataStart = 8 + headerLen;
      const dataSize = size - dataStart;
      const tensors = new Map<string, TensorInfo>();
      let metadata: Record<string, string> = {};
      for (const [name, raw] of Object.entries(header)) {
        if (name === '__metadata__') {
          metadata = (raw ?? {}) as Record<string, string>;
          continue;
        }
        const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
        const offsets = entry.data_offsets;
        if (typeof entry.dtype !== 'string' || !Array.isArray(entry.shape) || !Array.isArray(offsets) || offsets.length !== 2) {
          fail(`tensor '${name}': header entry needs dtype, shape and data_offsets`);
        }
        const shape = (entry.shape as unknown[]).map(Number);
        const [begin, end] = (offsets as unknown[]).map(Number) as [number, number];
        if (!(begin >= 0 && end >= begin)) fail(`tensor '${name}': bad data_offsets [${begin}, ${end}]`);
        if (end > dataSize) {
          fail(`tensor '${name}': data_offsets [${begin}, ${end}] run past the end of the data (${dataSize} bytes): truncated file? download it again`);
        }
        const width = isFloatDtype(entry.dtype as string) ? FLOAT_BYTES[entry.dtype as FloatDtype] : OTHER_BYTES[entry.dtype as string];
        const count = shape.reduce((a, b) => a * b, 1);
        if (width !== undefined && end - begin !== count * width) {
          fail(`tensor '${name}': ${end - begin} bytes for ${entry.dtype} shape [${shape}] (expected ${count * width})`);
        }
        tensors.set(name, { name, dtype: entry.dtype as string, shape, begin, end });
      }
      return new SafetensorsFile(file, fd, dataStart, tensors, metadata);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(`${this.file}: no tensor '${name}'`);
    return t;
  }

  /** The tensor's values as float32 (F16, BF16 and F64 are converted). */
  readFloat32(name: string): Float32Array {
    const t = this.info(name);
    if (!isFloatDtype(t.dtype)) {
      throw new SafetensorsError(`${this.file}: tensor '${name}' has dtype '${t.dtype}'; expected one of F32, F16, BF16, F64`);
    }
    const bytes = Buffer.alloc(t.end - t.begin);
    if (readSync(this.fd, bytes, 0, bytes.length, this.dataStart + t.begin) !== bytes.length) {
      throw new SafetensorsError(`${this.file}: tensor '${name}': short read (file changed or truncated?)`);
    }
    return toFloat32(bytes, t.dtype);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function toFloat32(bytes: Buffer, dtype: FloatDtype): Float32Array {
  const n = bytes.length / FLOAT_BYTES[dtype];
  const out = new Float32Array(dtype === 'F32' ? 0 : n);
  switch (dtype) {
    case 'F32':
      // Buffer.alloc is never pooled, so the view is aligned and owns its memory.
      return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = bytes.readDoubleLE(8 * i);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes.readUInt16LE(2 * i));
      break;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = bytes.readUInt16LE(2 * i) << 16;
      break;
    }
  }
  return out;
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float -> IEEE half, round to nearest even (what numpy's astype(float16) does). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** float -> bfloat16, round to nearest even (torch's conversion). */
export function floatToBf16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
  dtype?: 'F32' | 'F16' | 'BF16';
}

/** Serialises tensors to safetensors bytes (as chunks, to avoid one more copy of large weights). */
export function encodeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    const dtype = t.dtype ?? 'F32';
    let bytes: Uint8Array;
    if (dtype === 'F32') {
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    } else {
      const u16 = new Uint16Array(t.data.length);
      for (let i = 0; i < t.data.length; i++) u16[i] = dtype === 'F16' ? floatToHalf(t.data[i]!) : floatToBf16(t.data[i]!);
      bytes = new Uint8Array(u16.buffer);
    }
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keeps the data 8-byte aligned
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8, 'utf8');
  return [head, ...chunks];
}
