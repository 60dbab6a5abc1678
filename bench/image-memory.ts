// Peak memory of one hostile image (16000 x 16000 pixels of one colour, under 1 MB as PNG) in the
// places that once decoded images whole: classify's preprocessing, the masks overlay, `pscl masks`
// (MaskSession through an ImageFile) and the cache build.
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
    for (const step of ['classify', 'overlay', 'masks'] as const) {
      const over: Record<string, number> = {};
      for (const mode of ['whole', 'bounded'] as const) {
        const r = measureInChild(step, image, mode === 'whole');
        over[mode] = r.maxRssMb - r.baseRssMb;
        process.stdout.write(JSON.stringify({ bench: 'image-memory', step, mode, side: 16000, peakMb: r.maxRssMb, overMb: over[mode], ms: r.ms, output: r.output }) + '\n');
      }
      process.stdout.write(JSON.stringify({ bench: 'image-memory', step, ratioToWhole: Number((over.bounded / over.whole).toFixed(3)) }) + '\n');
    }
    // the cache build has no whole-decode switch: its bounded peak is printed for the record
    const r = measureInChild('cache', image);
    process.stdout.write(JSON.stringify({ bench: 'image-memory', step: 'cache', mode: 'bounded', side: 16000, peakMb: r.maxRssMb, overMb: r.maxRssMb - r.baseRssMb, ms: r.ms, output: r.output }) + '\n');
  } finally {
    tmp.cleanup();
  }
}

void main();
