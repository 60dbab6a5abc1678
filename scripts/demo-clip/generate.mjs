// Training data of the demo CLIP: birds of the sample's world (scripts/sample-world.mjs), many
// more than the sample, every class equally often, in wider poses, each drawn and JPEG-encoded
// as the sample's images are, with what the world knows about it: its class, the share of every
// part in each patch of the model's grid, and its keypoints. Deterministic: the same files on
// every run (seeded PRNG; sharp/libvips are pinned by package-lock.json).
//
//   node scripts/demo-clip/generate.mjs --out DIR [--count 6000] [--grid 14] [--seed 1000000]
//
// DIR/images.npy     uint8 [N, 160, 160, 3]   decoded JPEG pixels
// DIR/targets.npy    uint8 [N, G, G, R + 1]   per patch: how many of its S x S sample points fall
//                                             in each region (REGIONS order), background last
// DIR/labels.npy     uint8 [N]                class index
// DIR/keypoints.npy  float32 [N, 15, 3]       CUB keypoints: x, y, visible
// DIR/meta.json      classes, regions, captions, part phrases, the tokenizer's BPE merges (learnt
//                    from those texts) and the sha256 of every file
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { birdKeypoints, birdSvg, CLASSES, CUB_PARTS, partAt, prng, REGIONS, sampleBird, SIZE } from '../sample-world.mjs';
import { allTexts, BACKGROUND_PHRASES, captionSets, classInfo, learnMerges, partPhrases } from './captions.mjs';

/** Wider than the sample's (SAMPLE_POSE), which it contains: the model must not fit one framing. */
export const TRAIN_POSE = { scale: [0.65, 1.2], angle: [-30, 30], dx: [-22, 22], dy: [-16, 20] };
const SUPERSAMPLE = 6;
const MAX_MERGES = 1000;

/** A .npy file (format 1.0) of a C-order array. */
function npy(data, dtype, shape) {
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header = header.padEnd(header.length + ((64 - (total % 64)) % 64), ' ') + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Per patch of a grid x grid tiling of the image: region counts over S x S points. */
export function patchTargets(bird, grid, s = SUPERSAMPLE) {
  const r = REGIONS.length;
  const out = new Uint8Array(grid * grid * (r + 1));
  const index = new Map(REGIONS.map((name, i) => [name, i]));
  const cell = SIZE / grid;
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      const o = (gy * grid + gx) * (r + 1);
      for (let sy = 0; sy < s; sy++) {
        for (let sx = 0; sx < s; sx++) {
          const part = partAt(bird, (gx + (sx + 0.5) / s) * cell, (gy + (sy + 0.5) / s) * cell);
          out[o + (part === null ? r : index.get(part))]++;
        }
      }
    }
  }
  return out;
}

async function main() {
  const { values } = parseArgs({ options: { out: { type: 'string' }, count: { type: 'string', default: '6000' }, grid: { type: 'string', default: '14' }, seed: { type: 'string', default: '1000000' } } });
  if (!values.out) throw new Error('usage: generate.mjs --out DIR [--count N] [--grid G] [--seed S]');
  const count = Number(values.count);
  const grid = Number(values.grid);
  const seed = Number(values.seed);
  // the sample's seeds are 1000 * (class + 1) + i, i < 12: keep clear of them
  if (seed < 100000) throw new Error('--seed must be at least 100000 (smaller seeds are the sample\'s birds)');
  const out = path.resolve(values.out);
  mkdirSync(out, { recursive: true });
  const px = SIZE * SIZE * 3;
  const images = new Uint8Array(count * px);
  const cells = grid * grid * (REGIONS.length + 1);
  const targets = new Uint8Array(count * cells);
  const labels = new Uint8Array(count);
  const keypoints = new Float32Array(count * CUB_PARTS.length * 3);
  const t0 = performance.now();
  const draw = async (n) => {
    const c = n % CLASSES.length;
    const bird = sampleBird(CLASSES[c], prng(seed + n), TRAIN_POSE);
    const jpeg = await sharp(Buffer.from(birdSvg(bird))).jpeg({ quality: 82, chromaSubsampling: '4:2:0' }).toBuffer();
    const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.width !== SIZE || info.height !== SIZE || info.channels !== 3) throw new Error(`bird ${n}: decoded ${info.width}x${info.height}x${info.channels}`);
    images.set(data, n * px);
    targets.set(patchTargets(bird, grid), n * cells);
    labels[n] = c;
    birdKeypoints(bird).forEach((k, i) => keypoints.set([k.x, k.y, k.visible ? 1 : 0], (n * CUB_PARTS.length + i) * 3));
  };
  const workers = 4;
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < count) {
        const n = next++;
        await draw(n);
        if (n % 1000 === 999) process.stderr.write(`generate: ${n + 1}/${count} birds (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
      }
    }),
  );
  const files = {
    'images.npy': npy(images, '|u1', [count, SIZE, SIZE, 3]),
    'targets.npy': npy(targets, '|u1', [count, grid, grid, REGIONS.length + 1]),
    'labels.npy': npy(labels, '|u1', [count]),
    'keypoints.npy': npy(keypoints, '<f4', [count, CUB_PARTS.length, 3]),
  };
  const sha256 = {};
  for (const [name, bytes] of Object.entries(files)) {
    writeFileSync(path.join(out, name), bytes);
    sha256[name] = createHash('sha256').update(bytes).digest('hex');
  }
  const meta = {
    generator: 'scripts/demo-clip/generate.mjs',
    count,
    seed,
    size: SIZE,
    grid,
    supersample: SUPERSAMPLE,
    pose: TRAIN_POSE,
    regions: REGIONS,
    cubParts: CUB_PARTS,
    classes: classInfo(),
    captionSets: captionSets(),
    partPhrases: partPhrases(),
    backgroundPhrases: BACKGROUND_PHRASES,
    merges: learnMerges(allTexts(), MAX_MERGES),
    sha256,
  };
  writeFileSync(path.join(out, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
  process.stderr.write(`generate: ${count} birds in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${out}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
