// Peak memory of decoding one large image, measured in a child process of its own (max RSS is
// per process): the reliability test bounds it, bench/image-memory.ts compares with the old way.
//   node --import tsx test/helpers/imageMemory.ts classify|overlay|masks|cache IMAGE [--unbounded]
// prints one JSON object: { step, image, maxRssMb, baseRssMb, ms, output }.
//   classify  classify's preprocessing (preprocessImage)
//   overlay   the masks overlay (overlayPng)
//   masks     what `pscl masks` does: MaskSession.compute through an ImageFile, then the overlay
//             (--unbounded: the image decoded whole, as before the working decode)
//   cache     buildCache of a one-image dataset whose image is IMAGE (bounded only)
// makeLargePng writes the hostile case of defect 11: 16000 x 16000 pixels of one colour, < 1 MB.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './paths';

export const LARGE_SIDE = 16000;

export async function makeLargePng(file: string, side = LARGE_SIDE): Promise<string> {
  if (existsSync(file)) return file;
  const sharp = (await import('sharp')).default;
  await sharp({ create: { width: side, height: side, channels: 3, background: { r: 200, g: 120, b: 40 } }, limitInputPixels: false }).png({ compressionLevel: 9 }).toFile(file);
  return file;
}

export type MemoryStep = 'classify' | 'overlay' | 'masks' | 'cache';

export interface MemoryResult {
  step: MemoryStep;
  image: string;
  maxRssMb: number;
  baseRssMb: number;
  ms: number;
  output: { width: number; height: number };
}

/** Runs one step in a fresh process and returns what it measured. */
export function measureInChild(step: MemoryStep, image: string, unbounded = false): MemoryResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'imageMemory.ts'), step, image, ...(unbounded ? ['--unbounded'] : [])], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`imageMemory ${step} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as MemoryResult;
}

async function child(step: string, image: string, unbounded: boolean): Promise<void> {
  // load the modules (and the model) first: the baseline is the process with everything loaded, nothing decoded
  const { preprocessImage } = await import('../../src/core/runs/classify');
  const { overlayPng } = await import('../../src/core/masks/export');
  const sharp = (await import('sharp')).default;
  const work = mkdtempSync(path.join(os.tmpdir(), 'pscl-mem-'));
  try {
    const model = step === 'masks' || step === 'cache' ? await tinyModel(work) : undefined;
    const baseRssMb = process.resourceUsage().maxRSS / 1024;
    const t0 = performance.now();
    let output: { width: number; height: number };
    if (step === 'classify') {
      await preprocessImage(image, { inputSize: [224, 224], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, unbounded ? { maxDecodeBytes: Infinity } : {});
      output = { width: 224, height: 224 };
    } else if (step === 'overlay') {
      const labels = { width: 28, height: 28, numParts: 1, data: new Uint8Array(28 * 28).fill(1) };
      const png = await overlayPng(image, labels, [{ label: 1, name: 'head', prompts: ['head'] }], 0.5, unbounded ? Infinity : undefined);
      const meta = await sharp(png).metadata();
      output = { width: meta.width!, height: meta.height! };
    } else if (step === 'masks') {
      output = await masksStep(model!, image, unbounded);
    } else if (step === 'cache') {
      output = await cacheStep(model!, image, work);
    } else {
      throw new Error(`unknown step ${step}`);
    }
    const ms = performance.now() - t0;
    await model?.dispose();
    process.stdout.write(JSON.stringify({ step, image, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), baseRssMb: Math.round(baseRssMb), ms: Math.round(ms), output }) + '\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

type Model = import('../../src/core/clip').ClipModel;

async function tinyModel(work: string): Promise<Model> {
  const { ClipModel, makeTinyClip } = await import('../../src/core/clip');
  const { RANDOM_DEMO_OPTIONS } = await import('../../src/core/clip/demoModel');
  makeTinyClip(path.join(work, 'model'), RANDOM_DEMO_OPTIONS);
  const model = await ClipModel.load(path.join(work, 'model'), { cacheDir: path.join(work, 'graphs') });
  // build the graphs and sessions on a small image, so the baseline holds them
  const { MaskSession } = await import('../../src/core/masks/session');
  const small = path.join(work, 'small.png');
  const sharp = (await import('sharp')).default;
  await sharp({ create: { width: 64, height: 48, channels: 3, background: '#888' } }).png().toFile(small);
  await new MaskSession(model).compute(sampleProject(), 'bird', small, {});
  return model;
}

function sampleProject() {
  const { parseProject } = require('../../src/core/taxonomy/project') as typeof import('../../src/core/taxonomy/project');
  return parseProject(readFileSync(path.join(repoRoot, 'samples', 'tiny-birds', 'tiny-birds.pscl.json'), 'utf8')).project!;
}

/** `pscl masks`: the masks of the image (default settings) and its overlay. */
async function masksStep(model: Model, image: string, unbounded: boolean): Promise<{ width: number; height: number }> {
  const { MaskSession } = await import('../../src/core/masks/session');
  const { decodeImage, ImageFile } = await import('../../src/core/clip/preprocess');
  const { overlayPng } = await import('../../src/core/masks/export');
  // before the working decode, an ImageFile decoded the whole image
  class WholeImage extends ImageFile {
    private whole?: ReturnType<typeof decodeImage>;
    override decode() {
      return (this.whole ??= decodeImage(this.path));
    }
  }
  const file = unbounded ? new WholeImage(image) : new ImageFile(image);
  const masks = await new MaskSession(model).compute(sampleProject(), 'bird', file, {});
  await overlayPng(image, masks.labels, masks.parts.map((p) => ({ label: p.label, name: p.name, prompts: p.texts })), 0.5, unbounded ? Infinity : undefined);
  return { width: masks.labels.width, height: masks.labels.height };
}

/** buildCache of the sample reduced to one image, whose file is the large image. */
async function cacheStep(model: Model, image: string, work: string): Promise<{ width: number; height: number }> {
  const { buildCache, clipEncoders } = await import('../../src/core/cache');
  const { copySample } = await import('./cacheFixture');
  const projectFile = copySample(path.join(work, 'sample'), 1);
  const first = readFileSync(path.join(work, 'sample', 'CUB_tiny', 'images.txt'), 'utf8').trim().split(/\s+/)[1]!;
  copyFileSync(image, path.join(work, 'sample', 'CUB_tiny', 'images', first));
  const r = await buildCache({ projectFile, outDir: path.join(work, 'cache'), encoders: clipEncoders(model) });
  const entry = r.manifest.images[0]!;
  if (entry.status !== 'ok') throw new Error(`the cache entry is an error: ${entry.error}`);
  return { width: entry.maskWidth!, height: entry.maskHeight! };
}

if (require.main === module) {
  const [step, image] = process.argv.slice(2);
  child(step, image, process.argv.includes('--unbounded')).catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
  });
}
