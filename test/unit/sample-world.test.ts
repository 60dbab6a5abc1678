// The sample world (scripts/sample-world.mjs): its part regions and keypoints must be where the
// SVG paints the parts, and the committed part_locs.txt must be what the generator knows.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { birdKeypoints, birdSvg, CLASSES, CUB_PARTS, partAt, prng, REGIONS, sampleBird, SIZE, toImage, toLocal } from '../../scripts/sample-world.mjs';
import { repoRoot } from '../helpers/paths';

const dataset = path.join(repoRoot, 'samples', 'tiny-birds', 'CUB_tiny');
const lines = (rel: string) => readFileSync(path.join(dataset, rel), 'utf8').trim().split('\n');

/** The 72 sample birds, in image-id order (make-sample.mjs's seeds). */
function sampleBirds() {
  return CLASSES.flatMap((cls: unknown, c: number) => Array.from({ length: 12 }, (_, i) => sampleBird(cls, prng(1000 * (c + 1) + i))));
}

const hex = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
const hslRgb = (s: string) => {
  const [h, sat, l] = s.match(/[\d.]+/g)!.map(Number);
  const a = (sat / 100) * Math.min(l / 100, 1 - l / 100);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l / 100 - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
};
const dist = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

describe('sample world', () => {
  it('maps image points to the bird and back', () => {
    const b = sampleBird(CLASSES[0], prng(7), { scale: [0.6, 1.2], angle: [-30, 30], dx: [-20, 20], dy: [-20, 20] });
    for (const [x, y] of [[0, 0], [80, 80], [159.5, 3.25]]) {
      const [u, v] = toLocal(b, x, y);
      const [x2, y2] = toImage(b, u, v);
      assert.ok(Math.abs(x - x2) < 1e-9 && Math.abs(y - y2) < 1e-9);
    }
  });

  it('puts every visible keypoint inside its own part region, and shows one eye and one wing', () => {
    const birds = sampleBirds();
    for (const b of birds) {
      const kps = birdKeypoints(b);
      assert.deepEqual(kps.map((k: { part: string }) => k.part), CUB_PARTS);
      for (const k of kps) {
        if (!k.visible) continue;
        assert.equal(partAt(b, k.x, k.y), k.part.replace(/^(left|right)_/, ''), `${k.part} at ${k.x},${k.y}`);
      }
      const side = b.flip === 1 ? 'right' : 'left';
      const other = side === 'right' ? 'left' : 'right';
      const vis = (name: string) => kps.find((k: { part: string }) => k.part === name).visible;
      assert.ok(vis(`${side}_eye`) && vis(`${side}_wing`) && !vis(`${other}_eye`) && !vis(`${other}_wing`));
      assert.ok(vis('left_leg') && vis('right_leg'));
    }
  });

  it('draws each part where its region says: the keypoint pixels have the part colour', async () => {
    const birds = sampleBirds();
    let checked = 0;
    for (const b of birds) {
      const { data } = await sharp(Buffer.from(birdSvg(b))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const rgb = (x: number, y: number) => {
        const i = (Math.floor(y) * SIZE + Math.floor(x)) * 3;
        return [data[i], data[i + 1], data[i + 2]];
      };
      const body = hslRgb(b.colours.body);
      const wing = hslRgb(b.colours.wing);
      const belly = hslRgb(b.colours.belly);
      const expected: Record<string, number[][]> = {
        crown: [hex(b.cls.head)],
        forehead: [hex(b.cls.head)],
        nape: [hex(b.cls.head)],
        throat: [hex(b.cls.head)],
        beak: [hex('#e89b1c')],
        eye: [hex('#111111')],
        leg: [hex('#6b4f1d')],
        wing: [wing],
        tail: [wing],
        back: [body],
        belly: [belly, body],
        breast: [belly, body],
      };
      for (const k of birdKeypoints(b)) {
        if (!k.visible) continue;
        const part = k.part.replace(/^(left|right)_/, '');
        // the eye is a 2-pixel disc with a highlight: its darkest pixel next to the keypoint
        const got =
          part === 'eye'
            ? [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => rgb(k.x + dx, k.y + dy))).sort((a, c) => a[0] + a[1] + a[2] - c[0] - c[1] - c[2])[0]
            : rgb(k.x, k.y);
        // anti-aliasing blends thin strokes (legs, the eye) with what lies around them
        const tol = part === 'leg' ? 80 : part === 'eye' ? 40 : 12;
        assert.ok(
          expected[part].some((c) => dist(c, got) <= tol),
          `${b.cls.label} ${k.part} at (${k.x.toFixed(1)}, ${k.y.toFixed(1)}): rgb ${got} is not ${JSON.stringify(expected[part])}`,
        );
        checked++;
      }
    }
    assert.ok(checked >= 72 * 13);
  });

  it('labels the picture: the head pixels of a region map are the head colour', async () => {
    const b = sampleBirds()[0];
    const { data } = await sharp(Buffer.from(birdSvg(b))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const head = hex(b.cls.head);
    const counts = new Map<string, number>();
    let headPixels = 0;
    let headColoured = 0;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const p = partAt(b, x + 0.5, y + 0.5);
        if (p) counts.set(p, (counts.get(p) ?? 0) + 1);
        if (['crown', 'forehead', 'nape', 'throat'].includes(p)) {
          headPixels++;
          const i = (y * SIZE + x) * 3;
          if (dist(head, [data[i], data[i + 1], data[i + 2]]) <= 12) headColoured++;
        }
      }
    }
    assert.deepEqual([...counts.keys()].sort(), [...REGIONS].sort());
    // the rest is the head's 1-pixel dark outline and anti-aliasing along it
    assert.ok(headColoured / headPixels > 0.8, `${headColoured} of ${headPixels} head pixels have the head colour`);
  });

  it('writes part_locs.txt in the CUB format from the same birds', () => {
    const parts = lines('parts/parts.txt');
    assert.deepEqual(parts, CUB_PARTS.map((p: string, i: number) => `${i + 1} ${p}`));
    const locs = lines('parts/part_locs.txt').map((l) => l.split(' '));
    assert.equal(locs.length, 72 * 15);
    const birds = sampleBirds();
    locs.forEach(([id, part, x, y, visible], i) => {
      assert.equal(Number(id), Math.floor(i / 15) + 1);
      assert.equal(Number(part), (i % 15) + 1);
      const k = birdKeypoints(birds[Math.floor(i / 15)])[i % 15];
      assert.equal(visible, k.visible ? '1' : '0');
      assert.ok(Math.abs(Number(x) - k.x) <= 0.05 && Math.abs(Number(y) - k.y) <= 0.05);
      if (!k.visible) assert.deepEqual([x, y], ['0.0', '0.0']);
    });
  });
});
