// Dense ClearCLIP features of a ViT-B/16-shaped random checkpoint on CPU: ONNX Runtime (this
// project's graphs) against the PyTorch reference (test/python/clip_reference.py), same machine,
// same run, same threads. One JSON object per line.
//
//   node --import tsx bench/clip-dense.ts [--sizes 224,448] [--iters 3] [--threads 2] [--variant clearclip]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ClipModel } from '../src/core/clip/model';
import { makeTinyClip } from '../src/core/clip/tiny';

const root = path.dirname(__dirname);
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '224,448' },
    iters: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    variant: { type: 'string', default: 'clearclip' },
    python: { type: 'string', default: process.env.PSCL_PYTHON ?? '/usr/bin/python3' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const iters = Number(values.iters);
const threads = Number(values.threads);
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ bench: 'clip-dense', ...o }) + '\n');

const dir = path.join(root, '.cache', 'bench', 'vit-b16-random');
if (!existsSync(path.join(dir, 'model.safetensors'))) {
  // ViT-B/16 vision tower; a one-layer text tower keeps the file small (the bench is vision only)
  makeTinyClip(dir, { width: 768, layers: 12, heads: 12, patch: 16, imageSize: 224, textWidth: 512, textLayers: 1, textHeads: 8, embedDim: 512, seed: 0, vocab: 'small' });
}
emit({ event: 'machine', cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadavg: os.loadavg().map((x) => +x.toFixed(2)), threads });

async function main(): Promise<void> {
const model = await ClipModel.load(dir, { provider: 'cpu', threads, cacheDir: path.join(root, '.cache', 'bench', 'graphs') });
for (const size of sizes) {
  const pixels = new Float32Array(3 * size * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.37) * 1.5;
  const image = { data: pixels, height: size, width: size };
  const t0 = performance.now();
  await model.denseFeatures([image], { variant: values.variant }); // builds/loads graphs, warms up
  const warm = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  for (let i = 0; i < iters; i++) await model.denseFeatures([image], { variant: values.variant });
  const ortSeconds = (performance.now() - t1) / 1000;
  const ort = iters / ortSeconds;
  emit({ impl: 'onnxruntime', size, iters, seconds: +ortSeconds.toFixed(3), images_per_s: +ort.toFixed(3), first_call_s: +warm.toFixed(2) });

  const py = spawnSync(values.python, [path.join(root, 'test', 'python', 'clip_reference.py'), 'bench', '--model', dir, '--size', String(size), '--variant', values.variant, '--iters', String(iters), '--threads', String(threads)], { encoding: 'utf8' });
  if (py.status !== 0) {
    emit({ impl: 'pytorch', size, error: py.stderr.trim().split('\n').slice(-3).join(' | ') });
    continue;
  }
  const ref = JSON.parse(py.stdout.trim().split('\n').pop()!) as { images_per_s: number; seconds: number; torch: string };
  emit({ impl: 'pytorch', size, iters, seconds: +ref.seconds.toFixed(3), images_per_s: +ref.images_per_s.toFixed(3), torch: ref.torch });
  emit({ size, ratio_ort_over_pytorch: +(ort / ref.images_per_s).toFixed(3), target: size === 448 ? 1.5 : undefined });
}
await model.dispose();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
