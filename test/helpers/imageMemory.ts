// Peak memory of decoding one large image, measured in a child process of its own (max RSS is
// per process): the reliability test bounds it, bench/image-memory.ts compares with the old way.
//   node --import tsx test/helpers/imageMemory.ts classify|overlay IMAGE [--unbounded]
// prints one JSON object: { step, image, maxRssMb, baseRssMb, ms, output }.
// makeLargePng writes the hostile case of defect 11: 16000 x 16000 pixels of one colour, < 1 MB.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths';

export const LARGE_SIDE = 16000;

export async function makeLargePng(file: string, side = LARGE_SIDE): Promise<string> {
  if (existsSync(file)) return file;
  const sharp = (await import('sharp')).default;
  await sharp({ create: { width: side, height: side, channels: 3, background: { r: 200, g: 120, b: 40 } }, limitInputPixels: false }).png({ compressionLevel: 9 }).toFile(file);
  return file;
}

export interface MemoryResult {
  step: 'classify' | 'overlay';
  image: string;
  maxRssMb: number;
  baseRssMb: number;
  ms: number;
  output: { width: number; height: number };
}

/** Runs one step in a fresh process and returns what it measured. */
export function measureInChild(step: 'classify' | 'overlay', image: string, unbounded = false): MemoryResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'imageMemory.ts'), step, image, ...(unbounded ? ['--unbounded'] : [])], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`imageMemory ${step} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as MemoryResult;
}

async function child(step: string, image: string, unbounded: boolean): Promise<void> {
  // load the modules first: the baseline is the process with everything loaded, nothing decoded
  const { preprocessImage } = await import('../../src/core/runs/classify');
  const { overlayPng } = await import('../../src/core/masks/export');
  const sharp = (await import('sharp')).default;
  const baseRssMb = process.resourceUsage().maxRSS / 1024;
  const t0 = performance.now();
  let output: { width: number; height: number };
  if (step === 'classify') {
    await preprocessImage(image, { inputSize: [224, 224], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, unbounded ? { maxDecodeBytes: Infinity } : {});
    output = { width: 224, height: 224 };
  } else {
    const labels = { width: 28, height: 28, numParts: 1, data: new Uint8Array(28 * 28).fill(1) };
    const png = await overlayPng(image, labels, [{ label: 1, name: 'head', prompts: ['head'] }], 0.5, unbounded ? Infinity : undefined);
    const meta = await sharp(png).metadata();
    output = { width: meta.width!, height: meta.height! };
  }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ step, image, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), baseRssMb: Math.round(baseRssMb), ms: Math.round(ms), output }) + '\n');
}

if (require.main === module) {
  const [step, image] = process.argv.slice(2);
  child(step, image, process.argv.includes('--unbounded')).catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
  });
}
