// Throughput of an exported model.onnx in onnxruntime-node, on the provider Classify Image would
// use (src/core/clip/runtime.ts: CUDA when its library is installed and a session starts on it).
// One JSON line: {provider, reason, batch, size, images_per_s, runs}. Used by bench/gpu_check.py.
//
//   node --import tsx bench/onnx-throughput.ts --model runs/x/model.onnx --size 448 [--provider auto|cpu|cuda] [--batch 32] [--seconds 3]
import { parseArgs } from 'node:util';
import { OrtRuntime, type ProviderChoice } from '../src/core/clip/runtime';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    size: { type: 'string' },
    provider: { type: 'string', default: 'auto' },
    batch: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '3' },
  },
});

async function main(): Promise<void> {
  if (!values.model || !values.size) throw new Error('--model FILE and --size PIXELS are required');
  const size = Number(values.size);
  const batch = Number(values.batch);
  const rt = await OrtRuntime.create({ provider: values.provider as ProviderChoice });
  const session = await rt.session(values.model);
  const input = new Float32Array(batch * 3 * size * size).map((_, i) => Math.sin(i) * 0.5);
  const feeds = { image: rt.floatTensor(input, [batch, 3, size, size]) };
  await session.run(feeds); // warm-up (CUDA: kernels, allocations)
  const limit = Number(values.seconds) * 1000;
  const t0 = performance.now();
  let runs = 0;
  while (performance.now() - t0 < limit || runs < 2) {
    await session.run(feeds);
    runs++;
  }
  const seconds = (performance.now() - t0) / 1000;
  await session.release();
  process.stdout.write(`${JSON.stringify({ provider: rt.provider, reason: rt.report.reason ?? null, batch, size, runs, images_per_s: Math.round(((runs * batch) / seconds) * 100) / 100 })}\n`);
}

main().catch((err: Error) => {
  process.stdout.write(`${JSON.stringify({ error: err.message })}\n`);
  process.exit(1);
});
