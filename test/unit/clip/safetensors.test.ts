import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { encodeSafetensors, floatToBf16, floatToHalf, halfToFloat, SafetensorsFile } from '../../../src/core/clip/safetensors';
import { f32bytes, rawSafetensors, tempDir } from './helpers';

const dir = tempDir();

test('F32, F16 and BF16 tensors read back as float32 with the expected rounding', () => {
  const values = [1, -2.5, 0.1, 65504, 3e-6, 0];
  const file = path.join(dir, 'dtypes.safetensors');
  writeFileSync(file, Buffer.concat(encodeSafetensors(['F32', 'F16', 'BF16'].map((dtype) => ({ name: dtype, shape: [2, 3], data: new Float32Array(values), dtype: dtype as 'F32' }))).map((c) => Buffer.from(c))));
  const st = SafetensorsFile.open(file);
  assert.deepEqual(st.info('F16').shape, [2, 3]);
  assert.deepEqual(Array.from(st.readFloat32('F32')), Array.from(new Float32Array(values)));
  // hand-checked: 0.1 in half is 0x2e66 = 0.0999755859375; 3e-6 is subnormal in half (0x0032 = 50 * 2^-24)
  assert.deepEqual(Array.from(st.readFloat32('F16')), [1, -2.5, 0.0999755859375, 65504, 50 * 2 ** -24, 0]);
  // bf16 keeps 8 mantissa bits: 0.1 -> 0x3dcd = 0.10009765625; 65504 -> 65536
  assert.deepEqual(Array.from(st.readFloat32('BF16')).slice(0, 4), [1, -2.5, 0.10009765625, 65536]);
  st.close();
});

test('half and bfloat16 conversions round to nearest even', () => {
  assert.equal(floatToHalf(1), 0x3c00);
  assert.equal(floatToHalf(-2), 0xc000);
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // tie -> even
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
  assert.equal(floatToHalf(1e6), 0x7c00); // overflow -> inf
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(floatToBf16(1), 0x3f80);
  assert.equal(floatToBf16(0.1), 0x3dcd);
});

test('a truncated file names the tensor that runs past the end', () => {
  const good = rawSafetensors([
    { name: 'a', dtype: 'F32', shape: [2], bytes: f32bytes([1, 2]) },
    { name: 'b.weight', dtype: 'F32', shape: [4], bytes: f32bytes([1, 2, 3, 4]) },
  ]);
  const file = path.join(dir, 'cut.safetensors');
  writeFileSync(file, good.subarray(0, good.length - 3));
  assert.throws(() => SafetensorsFile.open(file), (e: Error) => e.message.includes(file) && e.message.includes("tensor 'b.weight'") && /truncated/.test(e.message));
  writeFileSync(file, good.subarray(0, 20));
  assert.throws(() => SafetensorsFile.open(file), /truncated file: the header says/);
  writeFileSync(file, good.subarray(0, 5));
  assert.throws(() => SafetensorsFile.open(file), /truncated file: 5 bytes/);
});

test('a byte range that does not fit the dtype and shape is an error naming the tensor', () => {
  const file = path.join(dir, 'size.safetensors');
  writeFileSync(file, rawSafetensors([{ name: 'w', dtype: 'F32', shape: [3], bytes: f32bytes([1, 2]) }]));
  assert.throws(() => SafetensorsFile.open(file), /tensor 'w': 8 bytes for F32 shape \[3\] \(expected 12\)/);
});

test('an unknown dtype is reported when the tensor is read, naming it', () => {
  const file = path.join(dir, 'dtype.safetensors');
  writeFileSync(file, rawSafetensors([
    { name: 'ids', dtype: 'I64', shape: [1], bytes: new Uint8Array(8) },
    { name: 'odd', dtype: 'F8_E4M3', shape: [2], bytes: new Uint8Array(2) },
  ]));
  const st = SafetensorsFile.open(file); // other dtypes may sit in a checkpoint unread
  assert.throws(() => st.readFloat32('odd'), /tensor 'odd' has dtype 'F8_E4M3'/);
  assert.throws(() => st.readFloat32('ids'), /tensor 'ids' has dtype 'I64'/);
  assert.throws(() => st.readFloat32('nope'), /no tensor 'nope'/);
  st.close();
});

test('a header that is not JSON says so', () => {
  const file = path.join(dir, 'junk.safetensors');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(4n);
  writeFileSync(file, Buffer.concat([len, Buffer.from('{abc')]));
  assert.throws(() => SafetensorsFile.open(file), /header is not JSON/);
});
