// NumPy .npy files (format version 1.0) for float32 arrays: what the CLI writes for parity
// checks and what `--pixels` reads. Little-endian, C order only.
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync as writeFileAtomic } from './atomicWrite';

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = '\x93NUMPY';

export function encodeNpy(array: NpyArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) throw new Error(`npy: shape [${array.shape}] holds ${count} values, data has ${array.data.length}`);
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // magic(6) + version(2) + length(2) + header + '\n' must be a multiple of 64.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + array.data.byteLength);
  for (let i = 0; i < 6; i++) out[i] = MAGIC.charCodeAt(i);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), 10 + header.length);
  return out;
}

export function writeNpy(file: string, array: NpyArray): void {
  writeFileAtomic(file, encodeNpy(array));
}

/** Reads a float32 (or float64, converted) .npy file; anything else is a clear error. */
export function readNpy(file: string): NpyArray {
  const buf = readFileSync(file);
  const fail = (why: string): never => {
    throw new Error(`${file}: not a float32 .npy array (${why}); write it with numpy.save(path, array.astype(numpy.float32))`);
  };
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== MAGIC) fail('no NUMPY magic');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) fail('Fortran order');
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) fail('unreadable header');
  const shape = shapeText!.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  const width = descr === '<f4' ? 4 : descr === '<f8' ? 8 : fail(`dtype ${descr}`);
  if (buf.length - offset < count * width) fail(`truncated: ${buf.length - offset} data bytes for shape [${shape}]`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = width === 4 ? buf.readFloatLE(offset + 4 * i) : buf.readDoubleLE(offset + 8 * i);
  return { shape, data };
}
