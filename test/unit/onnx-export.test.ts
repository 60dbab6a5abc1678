// The trainer's exported model.onnx (global branch), run by onnxruntime-node, must give the same
// logits as the PyTorch global branch on the same inputs. Python (Debian's /usr/bin/python3 with
// torch) trains a tiny model for two steps, exports it and writes the reference.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..', '..');
const python = process.env.PSCL_PYTHON || '/usr/bin/python3';

function readFloats(file: string): Float32Array {
  const bytes = new Uint8Array(readFileSync(file)); // a copy, so the view is 4-byte aligned
  return new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
}

test('exported ONNX global branch matches PyTorch within 1e-4', { timeout: 300_000 }, async (t) => {
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip(`${python} cannot import torch (install python3-torch): ${probe.stderr?.trim() ?? probe.error}`);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pscl-onnx-'));
  try {
    const r = spawnSync(python, [path.join(root, 'trainer', 'tests', 'onnx_reference.py'), dir], {
      cwd: root,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, PSCL_TRAINER_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    });
    assert.equal(r.status, 0, `onnx_reference.py failed:\n${r.stderr}`);
    const ref = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8'));
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(ref.model);
    assert.deepEqual(session.inputNames, ['image']);
    assert.deepEqual(session.outputNames, ['logits', 'probs']);
    const input = new ort.Tensor('float32', readFloats(path.join(dir, ref.input)), ref.input_shape);
    const out = await session.run({ image: input });
    const expected = readFloats(path.join(dir, ref.logits));
    assert.deepEqual(out.logits.dims, ref.logits_shape); // batch 3 through a model exported with batch 2
    const logits = out.logits.data as Float32Array;
    const probs = out.probs.data as Float32Array;
    let worst = 0;
    const c = ref.logits_shape[1] as number;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(logits[i] - expected[i]));
    // probs: the softmax over each row (the tiny preset's loss_form), as preprocess.json says
    for (let row = 0; row < expected.length / c; row++) {
      const z = Array.from(expected.subarray(row * c, (row + 1) * c));
      const max = Math.max(...z);
      const sum = z.reduce((a, v) => a + Math.exp(v - max), 0);
      z.forEach((v, j) => assert.ok(Math.abs(probs[row * c + j] - Math.exp(v - max) / sum) < 1e-5, `probs[${row}][${j}]`));
    }
    t.diagnostic(`largest |onnx - torch| logit difference: ${worst}`);
    assert.ok(worst <= 1e-4, `largest difference ${worst}`);
    const classes = JSON.parse(readFileSync(ref.classes, 'utf8'));
    assert.equal(classes.classes.length, ref.logits_shape[1]);
    assert.deepEqual(classes.levels, ['coarse', 'tone', 'fine']);
    const pre = JSON.parse(readFileSync(ref.preprocess, 'utf8'));
    assert.deepEqual(pre.input_size, [ref.input_shape[2], ref.input_shape[3]]);
    assert.equal(pre.probability, 'softmax');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
