// Shared fixtures for the CLIP unit tests: temp folders, the repository's test data, raw safetensors.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

import { repoRoot, testData } from '../../helpers/paths';

export { repoRoot, testData };

export function tempDir(prefix = 'pscl-clip-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** safetensors bytes with whatever dtypes and sizes the test wants (valid or not). */
export function rawSafetensors(tensors: RawTensor[]): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...tensors.map((t) => Buffer.from(t.bytes))]);
}

export const f32bytes = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
