// The prompt-quality core on constructed data: the part hit rate on dense features built so that
// "beak" lies exactly on the sample's beak keypoints (1.0) and shifted off them (0.0), through the
// cache's keypoint sampling and through the mask pipeline alike; zero-shot on hand-made
// embeddings; the prompt variants' texts; the paired bootstrap; text encoding of changed texts only.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sampleKeypointFeatures } from '../../src/core/cache/keypointFeatures';
import type { DenseMap } from '../../src/core/clip/model';
import { computePartMasks } from '../../src/core/masks/pipeline';
import { compareScores, jsProduct, KeypointScorer, ortMatrixProduct, levelClasses, levelPrompts, randomDescriptors, TextEmbeddings, zeroShot, type PartPrompts, type PromptScores, type ScoreDetail } from '../../src/core/quality';
import { readKeypoints } from '../../src/core/taxonomy/importers/keypoints';
import { parseProject } from '../../src/core/taxonomy/project';
import { SAMPLE_DIR } from '../helpers/cacheFixture';

const DIM = 16;
const SIZE = 160; // the sample's images
const PATCH = 8;
const GRID = SIZE / PATCH;
const PARTS = ['back', 'beak', 'belly', 'wing'];
const unit = (k: number) => Float32Array.from({ length: DIM }, (_, j) => (j === k ? 1 : 0));

/** A dense map that is "wing" everywhere except a disc of "beak" around each given point. */
function denseWithBeak(points: { x: number; y: number }[], shift: number): DenseMap {
  const data = new Float32Array(GRID * GRID * DIM);
  for (let gy = 0; gy < GRID; gy++) {
    for (let gx = 0; gx < GRID; gx++) {
      const cx = (gx + 0.5) * PATCH;
      const cy = (gy + 0.5) * PATCH;
      const beak = points.some((p) => Math.hypot(cx - (p.x + shift), cy - p.y) <= 1.6 * PATCH);
      data.set(unit(beak ? 1 : 3), (gy * GRID + gx) * DIM);
    }
  }
  return { data, height: GRID, width: GRID, dim: DIM };
}

describe('prompt quality', () => {
  it('constructed features: beak exactly on the beak keypoints hits 1.0, shifted off them 0.0', async () => {
    const k = (await readKeypoints('cub', path.join(SAMPLE_DIR, 'CUB_tiny')))!;
    const index = new Map(k.names.map((n, i) => [n, i]));
    const images = [...k.byImage.keys()].slice(0, 24);
    const prompts: PartPrompts[] = [
      {
        coarse: 'bird',
        parts: PARTS.map((name, i) => ({
          name,
          keypoints: name === 'wing' ? ['left_wing', 'right_wing'] : [name],
          prompt: { key: name, embedding: unit(i) },
          phrasings: name === 'beak' ? [{ text: 'bill', prompt: { key: 'bill', embedding: unit(1) } }, { text: 'claw', prompt: { key: 'claw', embedding: unit(9) } }] : [],
        })),
      },
    ];
    for (const [shift, want] of [[0, 1], [48, 0]] as const) {
      // the cache's path: the dense map sampled at every visible keypoint
      const rows: { features: number[]; image: number; part: number }[] = [];
      images.forEach((key, i) => {
        const points = k.byImage.get(key)!;
        const dense = denseWithBeak(points.filter((p) => p.part === 'beak'), shift);
        const s = sampleKeypointFeatures(dense, points, SIZE, SIZE, index);
        s.parts.forEach((part, r) => rows.push({ features: [...s.features.subarray(r * DIM, (r + 1) * DIM)], image: i, part }));
        // the mask's path: the label at the beak keypoint in the part mask of the same features
        const labels = computePartMasks({ data: dense.data, h: GRID, w: GRID, dim: DIM }, { data: Float32Array.from(PARTS.flatMap((_, j) => [...unit(j)])), n: PARTS.length, dim: DIM }, PARTS.length, { height: SIZE, width: SIZE }).labels;
        for (const p of points.filter((q) => q.part === 'beak')) {
          assert.equal(labels.data[Math.floor(p.y) * SIZE + Math.floor(p.x)] === 2, want === 1, `image ${key}: mask label at the beak keypoint`);
        }
      });
      const set = { features: Float32Array.from(rows.flatMap((r) => r.features)), dim: DIM, image: Int32Array.from(rows, (r) => r.image), part: Int32Array.from(rows, (r) => r.part), names: k.names };
      const [, beak, , wing] = await new KeypointScorer(set, () => 'bird', await ortMatrixProduct()).score(prompts, 2);
      const visibleBeaks = images.reduce((n, key) => n + k.byImage.get(key)!.filter((p) => p.part === 'beak').length, 0);
      assert.ok(visibleBeaks >= 20);
      assert.equal(beak.keypoints, visibleBeaks, 'every visible beak keypoint is scored');
      assert.equal(beak.hits / beak.keypoints, want, `beak hit rate with the beak shifted by ${shift} px`);
      assert.equal(beak.phrasings[0].hits / beak.keypoints, want, 'the phrasing "bill" is the beak prompt itself');
      assert.equal(beak.phrasings[1].hits, 0, 'a phrasing pointing elsewhere never hits');
      // wing keypoints lie on "wing" features, away from the beak: all hits (the shifted disc may cover some)
      if (shift === 0) assert.equal(wing.hits, wing.keypoints);
      assert.equal(beak.topKHits, want === 1 ? beak.keypoints : 0, 'beak is not even second on wing features (its similarity 0 ties with back and belly, which come first)');
    }
  });

  it('zero-shot: top-1, top-5, per class and confusion on hand-made embeddings', async () => {
    // 3 classes along axes 0..2; images: two of class 0 (one misread as 1), one of class 2, one left out
    const protos = Float32Array.from([...unit(0), ...unit(1), ...unit(2)]);
    const v = (a: number[]) => {
      const n = Math.hypot(...a);
      return Float32Array.from({ length: DIM }, (_, j) => (a[j] ?? 0) / n);
    };
    const images = Float32Array.from([...v([1, 0.2]), ...v([0.3, 1]), ...v([0, 0.1, 1]), ...v([1])]);
    const r = await zeroShot(images, Int32Array.from([0, 0, 2, -1]), protos, 3, DIM);
    assert.equal(r.images, 3);
    assert.equal(r.top1, 2 / 3);
    assert.equal(r.top5, 1);
    assert.deepEqual([...r.predicted], [0, 1, 2, -1]);
    assert.deepEqual([...r.perClass.images], [2, 0, 1]);
    assert.deepEqual([...r.perClass.hit1], [1, 0, 1]);
    assert.deepEqual([...r.confusion], [1, 1, 0, 0, 0, 0, 0, 0, 1]);
    // ties go to the lower class, as an argmax does
    const tie = await zeroShot(v([1, 1]), Int32Array.from([1]), protos, 3, DIM);
    assert.equal(tie.top1, 0);
  });

  it('the ONNX Runtime product equals the plain one (and the plain one the dot products)', async () => {
    let seed = 3;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
    const a = Float32Array.from({ length: 1000 * 24 }, random);
    const b = Float32Array.from({ length: 5 * 24 }, random);
    const ort = await (await ortMatrixProduct())(a, 1000, b, 5, 24);
    const js = await jsProduct(a, 1000, b, 5, 24);
    assert.equal(ort.length, 5000);
    let worst = 0;
    ort.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - js[i]))));
    assert.ok(worst < 1e-5, `max difference ${worst}`);
    let s = 0;
    for (let j = 0; j < 24; j++) s += a[7 * 24 + j] * b[3 * 24 + j];
    assert.ok(Math.abs(js[7 * 5 + 3] - s) < 1e-6);
    assert.equal((await (await ortMatrixProduct())(a, 0, b, 5, 24)).length, 0);
  });

  it('variants: flat, hierarchical with the ancestors, descriptions, and the same random descriptors for every class', () => {
    const text = readFileSync(path.join(SAMPLE_DIR, 'tiny-birds.pscl.json'), 'utf8');
    const project = parseProject(text).project!;
    const [coarse, , family, , species] = levelClasses(project);
    assert.deepEqual(coarse.names, ['bird']);
    assert.deepEqual(levelPrompts(project, species, 'flat')![0], ['a photo of a Red crowned Finch, a type of bird.']);
    assert.deepEqual(levelPrompts(project, species, 'hierarchical')![0], ['a photo of a Red crowned Finch (Pictofringilla, Fringillidae, Passeriformes), a type of bird.']);
    assert.deepEqual(levelPrompts(project, family, 'hierarchical')![0], ['a photo of a Fringillidae (Passeriformes), a type of bird.']);
    assert.equal(levelPrompts(project, species, 'descriptions'), undefined, 'no class has a description');
    project.classes[0].description = 'small finch with a red crown';
    const d = levelPrompts(project, species, 'descriptions')!;
    assert.deepEqual(d[0], ['a photo of a Red crowned Finch, a type of bird. Small finch with a red crown.']);
    assert.deepEqual(d[1], ['a photo of a Blue crowned Finch, a type of bird.']);
    const control = levelPrompts(project, species, 'control', { descriptors: 3, seed: 7 })!;
    const phrases = randomDescriptors({ descriptors: 3, seed: 7 });
    assert.deepEqual(control[2], phrases.map((p) => `a photo of a Yellow crowned Warbler, a type of bird, which has ${p}.`));
    assert.match(phrases[0], /^[a-z]{3,8} [a-z]{3,8}$/);
    assert.notDeepEqual(randomDescriptors({ descriptors: 3, seed: 8 }), phrases);
  });

  it('paired bootstrap: the observed delta inside its interval, zero and degenerate for identical sides', () => {
    const n = 200;
    const hits = (p: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (Math.sin(i * 12.9898 + seed) * 43758.5453) % 1 < p - 1 || ((Math.sin(i * 12.9898 + seed) * 43758.5453) % 1 + 1) % 1 < p ? 1 : 0);
    const side = (h1: Uint8Array): { scores: PromptScores; detail: ScoreDetail } => ({
      scores: { parts: {} } as unknown as PromptScores,
      detail: {
        images: Int32Array.from({ length: n }, (_, i) => i),
        zeroShot: new Map([['flat', new Map([['species', { hit1: h1, hit5: h1 } as never]])]]),
        levelNames: new Map(),
        parts: [],
        timing: { prompts: 0, texts: 0, zeroShot: 0, keypoints: 0, masks: 0 },
      },
    });
    const a = hits(0.7, 1);
    const b = hits(0.4, 2);
    const c = compareScores(side(a), side(b), { samples: 500, seed: 3 });
    const d = c.delta.levels.species.top1;
    const mean = (x: Uint8Array) => x.reduce((s, v) => s + v, 0) / n;
    assert.ok(Math.abs(d.delta - (mean(a) - mean(b))) < 1e-6);
    assert.ok(d.ci[0] < d.delta && d.delta < d.ci[1]);
    assert.ok(d.ci[0] > 0, `a 30-point gain on 200 images is not explained by resampling: [${d.ci}]`);
    const same = compareScores(side(a), side(a), { samples: 100 }).delta.levels.species.top1;
    assert.deepEqual(same, { delta: 0, ci: [0, 0] });
    assert.throws(() => compareScores(side(a), { ...side(b), detail: { ...side(b).detail, images: Int32Array.from([1, 2]) } }), /scored on different images/);
  });

  it('text embeddings: each distinct text is encoded once; an edit encodes only the new texts', async () => {
    const calls: string[][] = [];
    const texts = new TextEmbeddings(async (t) => {
      calls.push(t);
      return Float32Array.from(t.flatMap((s) => [...unit(s.length % DIM)]));
    }, DIM);
    await texts.prepare(['a photo of the beak of a bird.', 'a photo of the wing of a bird.', 'a photo of the beak of a bird.']);
    await texts.prepare(['a photo of the beak of a bird.', 'a photo of the bill of a bird.']);
    assert.deepEqual(calls, [['a photo of the beak of a bird.', 'a photo of the wing of a bird.'], ['a photo of the bill of a bird.']]);
    assert.equal(texts.encoded, 3);
    const g = texts.groups([['a photo of the beak of a bird.', 'a photo of the bill of a bird.']]);
    assert.ok(Math.abs(Math.hypot(...g) - 1) < 1e-6);
    assert.throws(() => texts.groups([['never prepared']]), /not prepared/);
  });
});
