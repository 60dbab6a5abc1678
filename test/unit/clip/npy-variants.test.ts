import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseVariant, VARIANT_NAMES, variantKey } from '../../../src/core/clip/graph/variants';
import { encodeNpy, readNpy, writeNpy } from '../../../src/core/util/npy';
import { tempDir } from './helpers';

test('npy files round-trip with a 64-byte aligned header', () => {
  const file = path.join(tempDir(), 'a.npy');
  writeNpy(file, { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6.5]) });
  const bytes = readFileSync(file);
  assert.equal(bytes.toString('latin1', 1, 6), 'NUMPY');
  assert.equal((10 + bytes.readUInt16LE(8)) % 64, 0);
  assert.match(bytes.toString('latin1', 10, 80), /'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\)/);
  assert.deepEqual(readNpy(file), { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6.5]) });
  assert.match(Buffer.from(encodeNpy({ shape: [4], data: new Float32Array(4) })).toString('latin1'), /'shape': \(4,\)/);
});

test('float64 npy files are converted; other dtypes and junk are refused with the file named', () => {
  const dir = tempDir();
  const f64 = path.join(dir, 'd.npy');
  const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }".padEnd(117, ' ') + '\n';
  const head = Buffer.concat([Buffer.from('\x93NUMPY\x01\x00', 'latin1'), Buffer.from([header.length, 0]), Buffer.from(header, 'latin1')]);
  const data = Buffer.alloc(16);
  data.writeDoubleLE(0.25, 0);
  data.writeDoubleLE(-3, 8);
  writeFileSync(f64, Buffer.concat([head, data]));
  assert.deepEqual(Array.from(readNpy(f64).data), [0.25, -3]);
  const i8 = path.join(dir, 'i.npy');
  writeFileSync(i8, Buffer.concat([head.subarray(0, 10), Buffer.from(header.replace('<f8', '|i1'), 'latin1'), Buffer.alloc(2)]));
  assert.throws(() => readNpy(i8), (e: Error) => e.message.includes(i8) && e.message.includes('dtype |i1'));
  const junk = path.join(dir, 'j.npy');
  writeFileSync(junk, 'hello');
  assert.throws(() => readNpy(junk), /no NUMPY magic/);
});

test('variants parse by name or spec and round-trip through their key', () => {
  assert.deepEqual(parseVariant('clearclip'), { attention: 'qq', residual: false, ffn: false });
  assert.deepEqual(parseVariant('maskclip'), { attention: 'identity', residual: false, ffn: false });
  assert.deepEqual(parseVariant('attn=kk,ffn=off'), { attention: 'kk', residual: true, ffn: false });
  for (const name of VARIANT_NAMES) assert.deepEqual(parseVariant(variantKey(parseVariant(name))), parseVariant(name));
  assert.throws(() => parseVariant('clearclip2'), /use one of vanilla, maskclip/);
  assert.throws(() => parseVariant('attn=qv'), /variant 'attn=qv'/);
  assert.throws(() => parseVariant('residual=maybe'), /variant/);
});
