// Cache build throughput on CPU and the share of the mask phase spent outside model inference
// (target < 25%), for the tiny CLIP and a ViT-B/16-shaped CLIP with random weights.
// outsideInferenceShare: within one build, the part of the mask phase when no model call was in
// flight (decoding, masks, PNGs, writes that did not overlap the model); both sides see the same
// machine load. Baseline in the same run: the model alone (dense features of the same images, same
// batches, pixels already decoded), alternating with the builds, fastest of each kept;
// ratioToInferenceOnly compares the two (noisy where the cores are shared with other work).
// One JSON object per line on stdout.
//   node --import tsx bench/cache-build.ts [--vitb-images 16] [--repeats 2] [--skip-vitb]
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCache, clipEncoders, defaultSettings, maskSettingsOf, type CacheBuildResult, type CacheEncoders } from '../src/core/cache';
import { ClipModel } from '../src/core/clip/model';
import { ImageFile, type PixelImage } from '../src/core/clip/preprocess';
import { datasetRoot, loadImages } from '../src/core/taxonomy/importers';
import { parseProject } from '../src/core/taxonomy/project';
import { readFileSync } from 'node:fs';
import { copySample, tinyModel } from '../test/helpers/cacheFixture';
import { tempDir } from '../test/helpers/paths';

const { values } = parseArgs({
  options: { 'vitb-images': { type: 'string', default: '16' }, repeats: { type: 'string', default: '2' }, 'skip-vitb': { type: 'boolean', default: false } },
});
const REPEATS = Math.max(1, Number(values.repeats));
const BATCH = 8;
const TARGET = 0.25;

const VITB16 = { width: 768, layers: 12, heads: 12, patch: 16, imageSize: 224, textWidth: 512, textLayers: 12, textHeads: 8, embedDim: 512 };

async function decodedImages(encoders: CacheEncoders, projectFile: string, inputSize: number): Promise<PixelImage[]> {
  const project = parseProject(readFileSync(projectFile, 'utf8'), projectFile).project!;
  const { images } = await loadImages(project, projectFile);
  const root = datasetRoot(project, projectFile);
  const pixels: PixelImage[] = [];
  const settings = maskSettingsOf(defaultSettings({ inputSize }));
  for (const i of images) pixels.push(await encoders.session.inputPixels(new ImageFile(path.join(root, i.path)), settings));
  return pixels;
}

async function inferenceOnly(encoders: CacheEncoders, pixels: PixelImage[]): Promise<{ seconds: number; images: number }> {
  const t0 = performance.now();
  const settings = maskSettingsOf(defaultSettings());
  for (let b = 0; b < pixels.length; b += BATCH) await encoders.session.denseFeatures(pixels.slice(b, b + BATCH), settings, { batchSize: BATCH });
  return { seconds: (performance.now() - t0) / 1000, images: pixels.length };
}

async function bench(name: string, modelDir: string, projectFile: string, outDir: string, cacheDir: string): Promise<void> {
  const model = await ClipModel.load(modelDir, { provider: 'cpu', cacheDir });
  try {
    const encoders = clipEncoders(model, { batchSize: BATCH });
    const inputSize = model.imageSize;
    // warm-up: graphs built and sessions created before anything is timed
    await buildCache({ projectFile, outDir, encoders, batchSize: BATCH, settings: { inputSize } });
    const pixels = await decodedImages(encoders, projectFile, inputSize);
    let r: CacheBuildResult | undefined;
    let base: { seconds: number; images: number } | undefined;
    for (let i = 0; i < REPEATS; i++) {
      const b = await buildCache({ projectFile, outDir, encoders, batchSize: BATCH, settings: { inputSize }, force: true });
      if (!r || b.maskPhaseSeconds < r.maskPhaseSeconds) r = b;
      const o = await inferenceOnly(encoders, pixels);
      if (!base || o.seconds < base.seconds) base = o;
    }
    if (!r || !base) throw new Error('no repeats');
    const outside = Math.max(0, 1 - r.inferenceSeconds / r.maskPhaseSeconds);
    console.log(
      JSON.stringify({
        bench: 'cache-build',
        model: name,
        inputSize,
        maskSize: r.manifest.maskSize,
        images: r.images.computed,
        batch: BATCH,
        repeats: REPEATS,
        imagesPerSecond: +r.imagesPerSecond.toFixed(2),
        inferenceOnlyImagesPerSecond: +(base.images / base.seconds).toFixed(2),
        maskPhaseSeconds: +r.maskPhaseSeconds.toFixed(3),
        inferenceOnlySeconds: +base.seconds.toFixed(3),
        ratioToInferenceOnly: +(r.maskPhaseSeconds / base.seconds).toFixed(3),
        outsideInferenceShare: +outside.toFixed(3),
        outsideShareVsBaseline: +Math.max(0, 1 - base.seconds / r.maskPhaseSeconds).toFixed(3),
        // wall time of finishing batches (overlaps the next batch's model call) and of waiting for decoding
        postprocessShare: +(r.postprocessSeconds / r.maskPhaseSeconds).toFixed(3),
        loadWaitShare: +(r.loadWaitSeconds / r.maskPhaseSeconds).toFixed(3),
        target: TARGET,
        met: outside < TARGET,
        totalSeconds: +r.seconds.toFixed(3),
      }),
    );
  } finally {
    await model.dispose();
  }
}

async function main(): Promise<void> {
  const tmp = tempDir('pscl-bench-cache-');
  try {
    const graphs = path.join(tmp.dir, 'graphs');
    const full = copySample(path.join(tmp.dir, 'sample'));
    await bench('tiny', tinyModel(path.join(tmp.dir, 'tiny')), full, path.join(tmp.dir, 'out-tiny'), graphs);
    if (!values['skip-vitb']) {
      const vitb = tinyModel(path.join(tmp.dir, 'vitb16'), VITB16);
      const subset = copySample(path.join(tmp.dir, 'sample-vitb'), Number(values['vitb-images']));
      await bench('vit-b/16-shaped', vitb, subset, path.join(tmp.dir, 'out-vitb'), graphs);
      rmSync(vitb, { recursive: true, force: true });
    }
  } finally {
    tmp.cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
