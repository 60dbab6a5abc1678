// Prompt edit -> new label maps INCLUDING the real text encoder for the edited prompt (ONNX,
// CPU), for the embedded demo model and a CLIP whose text tower has ViT-B/16's sizes (12 layers,
// width 512, 8 heads, 512-d embedding; random weights: timing only, and a one-layer vision tower
// since the image features are cached). One 448x448 image, 28x28 cached features, 50 edits.
//
//   node --import tsx bench/mask-edit-text.ts [--edits 50] [--parts 6] [--background 1]
//
// Prints one JSON object per model (p50/p95 of the whole edit, the similarity step as the
// baseline of the same run), then the text encoder's own p50/p95 per edited prompt, and the same
// prompts through the full 77-token context (the encoder before it ran texts only up to their
// <|endoftext|>) as the text encoder's baseline in the same run.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ClipModel } from '../src/core/clip';
import { demoModelDir } from '../src/core/clip/demoModel';
import { makeTinyClip } from '../src/core/clip/tiny';
import { measureEditLatency } from './mask-edit-latency';

const root = path.resolve(__dirname, '..');
const cache = path.join(root, '.cache', 'bench');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main(): Promise<void> {
  const edits = arg('edits', 50);
  const parts = arg('parts', 6);
  const background = arg('background', 1);
  const b16 = path.join(cache, 'vit-b16-text-random');
  if (!existsSync(path.join(b16, 'model.safetensors'))) {
    makeTinyClip(b16, { width: 64, layers: 1, heads: 2, patch: 16, imageSize: 224, textWidth: 512, textLayers: 12, textHeads: 8, embedDim: 512, seed: 0, vocab: 'small' });
  }
  const models = [
    { name: 'demo-model', dir: demoModelDir(root), targetP95Ms: 50 },
    { name: 'vit-b-16-text-shaped', dir: b16, targetP95Ms: 50 },
  ];
  for (const m of models) {
    const model = await ClipModel.load(m.dir, { provider: 'cpu', threads: 2, cacheDir: path.join(cache, 'graphs') });
    try {
      const textMs: number[] = [];
      const embedPrompt = async (prompt: string): Promise<Float32Array> => {
        const t0 = performance.now();
        const out = await model.embedTexts([prompt]);
        textMs.push(performance.now() - t0);
        const row = out.data.slice(0, model.embedDim);
        let n = 0;
        for (const v of row) n += v * v;
        n = Math.sqrt(n) || 1;
        for (let i = 0; i < row.length; i++) row[i] /= n;
        return row;
      };
      await embedPrompt('warm up the text graph');
      textMs.length = 0;
      const r = await measureEditLatency({ name: m.name, grid: 28, dim: model.embedDim, parts, background, size: 448, edits, features: 'structured', targetP95Ms: m.targetP95Ms, embedPrompt });
      const t = textMs.slice(-edits).sort((a, b) => a - b);
      const padded: number[] = [];
      for (let e = 0; e < edits; e++) {
        const t0 = performance.now();
        await model.embedTexts([`a photo of the part part${e % parts} (edit ${e}) of a bird.`], { padToContext: true });
        padded.push(performance.now() - t0);
      }
      padded.sort((a, b) => a - b);
      console.log(
        JSON.stringify({
          ...r,
          text_encoder_p50_ms: +quantile(t, 0.5).toFixed(2),
          text_encoder_p95_ms: +quantile(t, 0.95).toFixed(2),
          text_encoder_baseline: 'the same prompts padded to 77 tokens',
          text_encoder_padded_p50_ms: +quantile(padded, 0.5).toFixed(2),
          text_encoder_padded_p95_ms: +quantile(padded, 0.95).toFixed(2),
          text_encoder_speedup_p50: +(quantile(padded, 0.5) / quantile(t, 0.5)).toFixed(2),
        }),
      );
    } finally {
      await model.dispose();
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
