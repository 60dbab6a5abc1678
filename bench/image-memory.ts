// Peak memory of one hostile image (16000 x 16000 pixels of one colour, under 1 MB as PNG) in the
// two places that decode images whole by default: classify's preprocessing and the masks overlay.
// Baseline in the same script: the same step decoding the image whole (the behaviour before
// issue 13), each step in a process of its own. One JSON object per line on stdout:
//   {"bench":"image-memory","step":"classify","mode":"bounded","peakMb":...,"overMb":...,"ms":...}
//   {"bench":"image-memory","step":"classify","ratioToWhole":...}
//   node --import tsx bench/image-memory.ts
import path from 'node:path';
import { makeLargePng, measureInChild } from '../test/helpers/imageMemory';
import { tempDir } from '../test/helpers/paths';

async function main(): Promise<void> {
  const tmp = tempDir('pscl-bench-mem-');
  try {
    const image = await makeLargePng(path.join(tmp.dir, 'large.png'));
    for (const step of ['classify', 'overlay'] as const) {
      const over: Record<string, number> = {};
      for (const mode of ['whole', 'bounded'] as const) {
        const r = measureInChild(step, image, mode === 'whole');
        over[mode] = r.maxRssMb - r.baseRssMb;
        process.stdout.write(JSON.stringify({ bench: 'image-memory', step, mode, side: 16000, peakMb: r.maxRssMb, overMb: over[mode], ms: r.ms, output: r.output }) + '\n');
      }
      process.stdout.write(JSON.stringify({ bench: 'image-memory', step, ratioToWhole: Number((over.bounded / over.whole).toFixed(3)) }) + '\n');
    }
  } finally {
    tmp.cleanup();
  }
}

void main();
