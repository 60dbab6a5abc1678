// Dense ClearCLIP features of a ViT-B/16-shaped random checkpoint on CPU: ONNX Runtime (this
// project's graphs) against the PyTorch reference (test/python/clip_reference.py), same machine,
// same run, same thread count. The machine is shared, so rounds alternate between the two and
// each image is timed alone: `best_s` (least disturbed) and `median_s` are per image. One JSON
// object per line.
//
//   node --import tsx bench/clip-dense.ts [--sizes 224,448] [--rounds 3] [--iters 2] [--threads 2] [--variant clearclip]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ClipModel } from '../src/core/clip/model';
import { makeTinyClip } from '../src/core/clip/tiny';

const root = path.dirname(__dirname);
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '224,448' },
    rounds: { type: 'string', default: '3' },
    iters: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    variant: { type: 'string', default: 'clearclip' },
    python: { type: 'string', default: process.env.PSCL_PYTHON ?? '/usr/bin/python3' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const rounds = Number(values.rounds);
const iters = Number(values.iters);
const threads = Number(values.threads);
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ bench: 'clip-dense', ...o }) + '\n');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r3 = (x: number) => +x.toFixed(3);

/** The PyTorch reference as a long-lived process: one request line, one JSON answer line. */
function startReference(model: string) {
  const child = spawn(values.python, [path.join(root, 'test', 'python', 'clip_reference.py'), 'serve', '--model', model, '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the PyTorch reference exited');
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  return {
    ready: next,
    async time(size: number): Promise<number[]> {
      child.stdin!.write(`${size} ${iters} ${values.variant}\n`);
      return (await next()).seconds as number[];
    },
    stop: () => child.stdin!.end(),
  };
}

async function main(): Promise<void> {
  const dir = path.join(root, '.cache', 'bench', 'vit-b16-random');
  if (!existsSync(path.join(dir, 'model.safetensors'))) {
    // ViT-B/16 vision tower; a one-layer text tower keeps the file small (the bench is vision only)
    makeTinyClip(dir, { width: 768, layers: 12, heads: 12, patch: 16, imageSize: 224, textWidth: 512, textLayers: 1, textHeads: 8, embedDim: 512, seed: 0, vocab: 'small' });
  }
  emit({ event: 'machine', cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadavg: os.loadavg().map((x) => +x.toFixed(2)), threads, variant: values.variant });
  const model = await ClipModel.load(dir, { provider: 'cpu', threads, cacheDir: path.join(root, '.cache', 'bench', 'graphs') });
  const reference = startReference(dir);
  const info = await reference.ready();
  for (const size of sizes) {
    const pixels = new Float32Array(3 * size * size);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.37) * 1.5;
    const image = { data: pixels, height: size, width: size };
    const t0 = performance.now();
    await model.denseFeatures([image], { variant: values.variant }); // builds or loads graphs, warms up
    const firstCall = (performance.now() - t0) / 1000;
    await reference.time(size); // warm-up
    const ort: number[] = [];
    const torch: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < iters; i++) {
        const t = performance.now();
        await model.denseFeatures([image], { variant: values.variant });
        ort.push((performance.now() - t) / 1000);
      }
      torch.push(...(await reference.time(size)));
    }
    emit({ impl: 'onnxruntime', size, images: ort.length, best_s: r3(Math.min(...ort)), median_s: r3(median(ort)), images_per_s: r3(1 / Math.min(...ort)), first_call_s: r3(firstCall) });
    emit({ impl: 'pytorch', size, images: torch.length, best_s: r3(Math.min(...torch)), median_s: r3(median(torch)), images_per_s: r3(1 / Math.min(...torch)), torch: info.torch });
    emit({ size, ratio_best: r3(Math.min(...torch) / Math.min(...ort)), ratio_median: r3(median(torch) / median(ort)), target: size === 448 ? 1.5 : undefined, loadavg: os.loadavg().map((x) => +x.toFixed(2)) });
  }
  reference.stop();
  await model.dispose();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
