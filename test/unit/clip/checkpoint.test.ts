import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ClipCheckpoint, expectedTensors } from '../../../src/core/clip/checkpoint';
import { SafetensorsFile } from '../../../src/core/clip/safetensors';
import { makeTinyClip } from '../../../src/core/clip/tiny';
import { rawSafetensors, tempDir, type RawTensor } from './helpers';

const root = tempDir();
const pristine = path.join(root, 'pristine');
const config = makeTinyClip(pristine, { seed: 1 });

/** A copy of the tiny model whose weights file the test rewrites tensor by tensor. */
function variantModel(name: string, edit: (tensors: RawTensor[]) => RawTensor[]): string {
  const dir = path.join(root, name);
  makeTinyClip(dir, { seed: 1 });
  const st = SafetensorsFile.open(path.join(pristine, 'model.safetensors'));
  const tensors = [...st.tensors.values()].map((t) => {
    const data = st.readFloat32(t.name);
    return { name: t.name, dtype: 'F32', shape: t.shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  });
  st.close();
  writeFileSync(path.join(dir, 'model.safetensors'), rawSafetensors(edit(tensors)));
  return dir;
}

test('a generated tiny model opens and lists every tensor the config asks for', () => {
  const ckpt = ClipCheckpoint.open(pristine);
  assert.deepEqual(ckpt.config, config);
  const names = expectedTensors(config).map((t) => t.name);
  assert.ok(names.includes('vision_model.pre_layrnorm.weight'));
  assert.ok(names.includes('vision_model.encoder.layers.1.self_attn.q_proj.bias'));
  assert.equal(names.length, new Set(names).size);
  assert.deepEqual(Array.from(ckpt.tensor('logit_scale')).map((x) => +x.toFixed(4)), [+Math.log(1 / 0.07).toFixed(4)]);
  ckpt.close();
});

test('the fixture is deterministic: same options and seed, same bytes', () => {
  const again = path.join(root, 'again');
  makeTinyClip(again, { seed: 1 });
  for (const f of ['model.safetensors', 'config.json', 'tokenizer.json']) {
    assert.ok(readFileSync(path.join(again, f)).equals(readFileSync(path.join(pristine, f))), f);
  }
});

test('a missing tensor is named with the shape the config expects', () => {
  const dir = variantModel('missing', (ts) => ts.filter((t) => t.name !== 'vision_model.encoder.layers.1.mlp.fc2.weight'));
  assert.throws(() => ClipCheckpoint.open(dir), /missing tensor 'vision_model\.encoder\.layers\.1\.mlp\.fc2\.weight' \(config\.json expects shape \[32, 128\]\)/);
});

test('a misshaped tensor is named with the actual and expected shapes', () => {
  const dir = variantModel('shape', (ts) => ts.map((t) => (t.name === 'visual_projection.weight' ? { ...t, shape: [32, 16] } : t)));
  assert.throws(() => ClipCheckpoint.open(dir), /tensor 'visual_projection\.weight' has shape \[32, 16\], but config\.json expects \[16, 32\]/);
});

test('a truncated weights file names the tensor cut off', () => {
  const dir = variantModel('truncated', (ts) => ts);
  const file = path.join(dir, 'model.safetensors');
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, bytes.length - 100));
  const last = expectedTensors(config).at(-1)!.name; // logit_scale is written last, visual_projection before it
  assert.throws(() => ClipCheckpoint.open(dir), (e: Error) => e.message.includes(file) && /truncated file/.test(e.message) && (e.message.includes(`'${last}'`) || e.message.includes("'visual_projection.weight'")));
});

test('an unknown dtype is named', () => {
  const dir = variantModel('dtype', (ts) => ts.map((t) => (t.name === 'text_projection.weight' ? { ...t, dtype: 'Q4' } : t)));
  assert.throws(() => ClipCheckpoint.open(dir), /tensor 'text_projection\.weight' has unsupported dtype 'Q4'/);
});

test('missing files and bad configs say what a CLIP folder needs', () => {
  const dir = variantModel('noconfig', (ts) => ts);
  rmSync(path.join(dir, 'config.json'));
  assert.throws(() => ClipCheckpoint.open(dir), /missing config\.json; a CLIP model folder needs/);
  assert.throws(() => ClipCheckpoint.open(path.join(root, 'nowhere')), /not a folder/);
  const bad = variantModel('badact', (ts) => ts);
  const cfg = JSON.parse(readFileSync(path.join(bad, 'config.json'), 'utf8'));
  cfg.vision_config.hidden_act = 'relu';
  writeFileSync(path.join(bad, 'config.json'), JSON.stringify(cfg));
  assert.throws(() => ClipCheckpoint.open(bad), /vision_config\.hidden_act 'relu' is not supported/);
});
