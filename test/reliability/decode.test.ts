// Defect 8: classify and the cache builder (sharp) and the trainer (Pillow) decoded some images
// differently: CMYK JPEGs were colour-managed by sharp and not by Pillow (a prediction flipped),
// 16-bit grey PNGs became all-white frames in the trainer, and the trainer ignored the EXIF
// orientation that the masks were computed with. Now one decode contract (docs/image-decoding.md)
// is held by src/core/clip/decode.ts and trainer/pscl_trainer/imageio.py: generated files of each
// kind are decoded by both and compared pixel for pixel.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, ImageFile } from '../../src/core/clip/preprocess';
import { decodeRgb } from '../../src/core/runs/classify';
import { repoRoot, tempDir } from '../helpers/paths';
import { pngFile } from './helpers';

const PYTHON = process.env.PSCL_PYTHON || '/usr/bin/python3';
const hasPil = spawnSync(PYTHON, ['-c', 'import PIL, numpy'], { stdio: 'ignore' }).status === 0;
const tmp = tempDir('pscl-rel-decode-');
after(tmp.cleanup);

const W = 37;
const H = 23;

/** Deterministic noise, so every pixel and channel differs. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let s = seed;
  for (let i = 0; i < n; i++) b[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

/** A PNG written by hand (sharp cannot write 1-bit or grey + alpha 16-bit): rows unfiltered. */
function png(width: number, height: number, depth: number, colourType: number, rows: Uint8Array[], extra: Array<[string, Uint8Array]> = []): Buffer {
  const raw = Buffer.concat(rows.map((r) => Buffer.concat([Buffer.from([0]), r])));
  return pngFile({ width, height, depth, colourType }, deflateSync(raw), extra);
}

const files: Record<string, string> = {};

async function makeFiles(): Promise<void> {
  const dir = tmp.dir;
  const at = (name: string) => (files[name] = path.join(dir, name));
  const rgb = () => sharp(noise(W * H * 3, 7), { raw: { width: W, height: H, channels: 3 } });
  await rgb().png().toFile(at('rgb.png'));
  await rgb().jpeg({ quality: 92 }).toFile(at('rgb.jpg'));
  await rgb().toColourspace('b-w').jpeg({ quality: 92 }).toFile(at('grey.jpg'));
  // CMYK: plain (libvips writes Adobe-inverted CMYK JPEGs), and with an embedded CMYK profile
  await sharp(noise(W * H * 4, 11), { raw: { width: W, height: H, channels: 4 } }).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(at('cmyk.jpg'));
  await rgb().toColourspace('cmyk').withIccProfile('cmyk').jpeg({ quality: 95 }).toFile(at('cmyk-profile.jpg'));
  // an RGB file with a wide-gamut profile: the stored values are what counts
  await rgb().withIccProfile('p3').png().toFile(at('p3.png'));
  // 16-bit: grey (the trainer made these all white), RGB, and grey + alpha
  const ramp = new Uint16Array(W * H);
  for (let i = 0; i < ramp.length; i++) ramp[i] = (i * 65535) / (ramp.length - 1);
  await sharp(ramp, { raw: { width: W, height: H, channels: 1 } }).toColourspace('grey16').png().toFile(at('grey16.png'));
  const rgb16 = new Uint16Array(W * H * 3).map((_, i) => (i * 40503) % 65536);
  await sharp(rgb16, { raw: { width: W, height: H, channels: 3 } }).toColourspace('rgb16').png().toFile(at('rgb16.png'));
  const la16 = noise(W * 4 * H, 5);
  writeFileSync(at('grey-alpha16.png'), png(W, H, 16, 4, Array.from({ length: H }, (_, y) => la16.subarray(y * W * 4, (y + 1) * W * 4))));
  // 1-bit grey, palette with transparency, RGBA
  const bits = noise(Math.ceil(W / 8) * H, 9);
  writeFileSync(at('bilevel.png'), png(W, H, 1, 0, Array.from({ length: H }, (_, y) => bits.subarray(y * Math.ceil(W / 8), (y + 1) * Math.ceil(W / 8)))));
  const plte = noise(16 * 3, 13);
  const idx = noise(W * H, 17).map((v) => v % 16);
  writeFileSync(at('palette-trns.png'), png(W, H, 8, 3, Array.from({ length: H }, (_, y) => idx.subarray(y * W, (y + 1) * W)), [['PLTE', plte], ['tRNS', Buffer.from([0, 128, 255, 7])]]));
  await sharp(noise(W * H * 4, 19), { raw: { width: W, height: H, channels: 4 } }).png().toFile(at('rgba.png'));
  // every EXIF orientation, on a JPEG and a PNG
  for (let o = 2; o <= 8; o++) {
    await rgb().jpeg({ quality: 92 }).withMetadata({ orientation: o }).toFile(at(`orient${o}.jpg`));
    await rgb().png().withMetadata({ orientation: o }).toFile(at(`orient${o}.png`));
  }
}

/** The trainer's decode of every file: { name: [width, height, RGB bytes] }. */
function trainerDecodes(): Map<string, { width: number; height: number; data: Buffer }> {
  const out = path.join(tmp.dir, 'trainer');
  const code = [
    'import json, os, sys',
    'import numpy as np',
    'from pscl_trainer.imageio import read_rgb',
    'files, out = json.loads(sys.argv[1]), sys.argv[2]',
    'os.makedirs(out, exist_ok=True)',
    'for name, f in files.items():',
    '    a = np.asarray(read_rgb(f), dtype=np.uint8)',
    '    open(os.path.join(out, name + ".rgb"), "wb").write(json.dumps([a.shape[1], a.shape[0]]).encode() + b"\\n" + a.tobytes())',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', code, JSON.stringify(files), out], { env: { ...process.env, PYTHONPATH: path.join(repoRoot, 'trainer') }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const decoded = new Map<string, { width: number; height: number; data: Buffer }>();
  for (const name of Object.keys(files)) {
    const raw = readFileSync(path.join(out, `${name}.rgb`));
    const nl = raw.indexOf(10);
    const [width, height] = JSON.parse(raw.subarray(0, nl).toString()) as [number, number];
    decoded.set(name, { width, height, data: raw.subarray(nl + 1) });
  }
  return decoded;
}

describe('reliability: one decode contract for the trainer, the cache builder and classify (defect 8)', { skip: !hasPil && `${PYTHON} has no Pillow` }, () => {
  let trainer: ReturnType<typeof trainerDecodes>;
  before(async () => {
    await makeFiles();
    trainer = trainerDecodes();
  });

  it('every kind of file decodes to the same pixels in the trainer (Pillow) and in TypeScript (sharp)', async () => {
    const mismatched: string[] = [];
    for (const [name, file] of Object.entries(files)) {
      const py = trainer.get(name)!;
      for (const [who, ts] of [
        ['decodeImage', await decodeImage(file)],
        ['ImageFile (cache, preview)', await new ImageFile(file).decode()],
        ['decodeRgb (classify)', await decodeRgb(file)],
      ] as const) {
        if (ts.width !== py.width || ts.height !== py.height) {
          mismatched.push(`${name}: ${who} ${ts.width}x${ts.height}, trainer ${py.width}x${py.height}`);
          continue;
        }
        let diff = 0;
        let most = 0;
        for (let i = 0; i < py.data.length; i++) {
          const d = Math.abs(ts.data[i]! - py.data[i]!);
          if (d) diff++;
          most = Math.max(most, d);
        }
        if (diff) mismatched.push(`${name}: ${who}: ${diff} of ${py.data.length} values differ (by up to ${most})`);
      }
    }
    assert.deepEqual(mismatched, []);
  });

  it('what the contract says, checked on the trainer\'s pixels', async () => {
    // 16-bit grey: the high byte of each sample, not white
    const grey16 = trainer.get('grey16.png')!;
    const levels = new Set<number>();
    for (let i = 0; i < W * H; i++) {
      const v = Math.trunc((i * 65535) / (W * H - 1)); // as the Uint16Array stored it
      assert.equal(grey16.data[i * 3], v >> 8, `pixel ${i}`);
      levels.add(grey16.data[i * 3]!);
    }
    assert.ok(levels.size > 200, `${levels.size} grey levels`);
    // CMYK: Pillow's formula on the stored ink values, no profile
    const { data: cmyk } = await sharp(files['cmyk.jpg'], { ignoreIcc: true }).pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
    const rgb = trainer.get('cmyk.jpg')!.data;
    for (let i = 0; i < W * H; i++) {
      const nk = 255 - cmyk[i * 4 + 3]!;
      for (let c = 0; c < 3; c++) assert.equal(rgb[i * 3 + c], Math.max(0, nk - Math.round((cmyk[i * 4 + c]! * nk) / 255)), `pixel ${i} channel ${c}`);
    }
    // orientation 6 (rotate 90 degrees clockwise to display): the displayed image is H x W
    const o6 = trainer.get('orient6.png')!;
    assert.deepEqual([o6.width, o6.height], [H, W]);
    const plain = await decodeImage(files['rgb.png']);
    // displayed (x, y) = stored (y, H - 1 - x)
    for (const [x, y] of [[0, 0], [H - 1, 0], [5, 30]]) {
      const s = ((H - 1 - x) * W + y) * 3;
      assert.deepEqual([...o6.data.subarray((y * H + x) * 3, (y * H + x) * 3 + 3)], [...plain.data.subarray(s, s + 3)]);
    }
  });
});
