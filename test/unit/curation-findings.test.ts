// `pscl curate` on the sample with planted problems finds every duplicate, near-duplicate, leak
// and unreadable file, and nothing else of those kinds; the embedding checks (k-NN votes,
// zero-shot, confident learning, outliers, cosine near-duplicates) on embeddings made here with a
// known structure; exact k-NN against a plain count.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { curateProject, findingsJson, knnBruteForce, knnOnnx, type CurationReport, type Finding } from '../../src/core/curation';
import { agreement, perceptualPairs, probabilityEvidence, type MislabelEvidence } from '../../src/core/curation/findings';
import { hashDistance, perceptualHash } from '../../src/core/curation/scan';
import { parseProject } from '../../src/core/taxonomy/project';
import { writePlantedDataset, type PlantedTruth } from '../fixtures/plantedDataset';
import { repoRoot, tempDir } from '../helpers/paths';

const tmp = tempDir('pscl-curate-');
let truth: PlantedTruth;
let report: CurationReport;

const samePair = (f: Finding, pair: readonly string[]) => pair.every((p) => f.images.includes(p));

before(async () => {
  truth = await writePlantedDataset(path.join(tmp.dir, 'planted'));
  report = await curateProject({ projectFile: truth.project, scanFile: path.join(tmp.dir, 'scan.json') });
});

describe('curate: planted problems', () => {
  it('finds every planted duplicate and near-duplicate, leaks as leaks, and no other', () => {
    const dupFindings = report.findings.filter((f) => f.kind === 'duplicate' || f.kind === 'leak');
    for (const d of truth.duplicates) {
      const f = dupFindings.find((x) => samePair(x, d.pair));
      assert.ok(f, `planted ${d.match} duplicate ${d.pair.join(' = ')} is found`);
      assert.equal(f.kind, d.leak ? 'leak' : 'duplicate', `${d.pair[1]} is ${d.leak ? 'a leak' : 'a duplicate'}`);
      assert.equal(f.match, d.match);
      assert.equal(f.images.length, 2);
      assert.ok(f.score > 0.9 && f.score <= 1);
    }
    assert.equal(dupFindings.length, truth.duplicates.length, 'no false duplicates among the 72 distinct sample birds');
    const firstNonLeak = report.findings.findIndex((f) => f.kind !== 'leak');
    assert.deepEqual(report.findings.slice(0, firstNonLeak).map((f) => f.kind), ['leak', 'leak', 'leak'], 'leaks are listed first');
  });

  it('finds both unreadable files, naming why', () => {
    const unreadable = report.findings.filter((f) => f.kind === 'unreadable');
    assert.deepEqual(unreadable.map((f) => f.images[0]).sort(), [...truth.unreadable].sort());
    for (const f of unreadable) assert.match(f.reason, /cannot be read as an image: \S/);
  });

  it('the sample has no small, extreme-aspect or greyscale images; the near-duplicates resized to 120 px are not small at 64', () => {
    assert.deepEqual(report.findings.filter((f) => ['small', 'aspect', 'greyscale'].includes(f.kind)), []);
    assert.equal(report.images, 72 + 10 + 2);
    assert.deepEqual(report.notes.filter((n) => !n.startsWith('no image embeddings')), []);
    assert.equal(report.checks.embeddings, false);
  });

  it('the project decisions are applied first: an excluded copy is no longer a duplicate', async () => {
    const file = truth.project;
    const text = readFileSync(file, 'utf8');
    const copy = truth.duplicates[0]!.pair[1];
    const p = parseProject(text).project!;
    p.images = { exclude: [{ path: copy, reason: 'duplicate' }], relabel: Object.create(null) };
    const r = await curateProject({ projectFile: file, project: p, scanFile: path.join(tmp.dir, 'scan.json') });
    assert.equal(r.excluded, 1);
    assert.ok(!r.findings.some((f) => f.images.includes(copy)));
    assert.equal(r.findings.filter((f) => f.kind === 'duplicate' || f.kind === 'leak').length, truth.duplicates.length - 1);
  });

  it('pscl curate --json prints the issue\'s shape; the text form lists leaks first', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), 'curate', '--project', truth.project, ...args], { encoding: 'utf8', cwd: repoRoot });
    const r = cli('--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { findings: Array<{ kind: string; images: string[]; score: number; reason: string }> };
    assert.ok(j.findings.length >= 12);
    for (const f of j.findings) {
      assert.equal(typeof f.kind, 'string');
      assert.ok(Array.isArray(f.images) && f.images.every((p) => typeof p === 'string' && p.startsWith('images/')), 'paths relative to the dataset root');
      assert.ok(typeof f.score === 'number' && f.score >= 0 && f.score <= 1);
      assert.ok(f.reason.length > 10);
    }
    assert.deepEqual(j, JSON.parse(JSON.stringify(findingsJson(report))), 'the CLI and the core give the same findings');
    const text = cli('--kind', 'leak,unreadable');
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /84 images checked: 5 findings \(3 leak, 2 unreadable\)\nleak/);
    const bad = cli('--kind', 'blurry');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown kind 'blurry'/);
  });

  it('a second run reads the scan file: nothing is decoded again', async () => {
    let reused = 0;
    await curateProject({ projectFile: truth.project, scanFile: path.join(tmp.dir, 'scan.json'), onProgress: (p) => { const m = /\((\d+) unchanged\)/.exec(p.message); if (m) reused = Number(m[1]); } });
    assert.equal(reused, 84);
  });
});

describe('curate: embedding checks on embeddings with a known structure', () => {
  // 6 classes as 3 genera x 2 species: each class a direction, genera closer to each other
  const project = parseProject(readFileSync(path.join(repoRoot, 'samples/tiny-birds/tiny-birds.pscl.json'), 'utf8')).project!;
  const dim = 16;
  function rng(seed: number) {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
    };
  }
  const r = rng(7);
  const centre = (c: number) => Float32Array.from({ length: dim }, (_, d) => (d === c ? 1 : 0) + (d === 8 + (c >> 1) ? 1 : 0));
  const images: Array<{ key: string; path: string; classId: string; split: 'train' }> = [];
  const vectors: number[] = [];
  const truthClass: string[] = [];
  for (let c = 0; c < 6; c++) {
    for (let i = 0; i < 20; i++) {
      const v = centre(c).map((x) => x + 0.5 * r());
      vectors.push(...v);
      truthClass.push(String(c + 1));
      images.push({ key: `${c}-${i}`, path: `images/${c}/${i}.jpg`, classId: String(c + 1), split: 'train' });
    }
  }
  // planted: 2 within-genus label swaps, 2 gross ones (other order); one far outlier; one near-copy
  const planted = new Map([[3, '2'], [45, '4'], [67, '1'], [110, '3']]);
  for (const [i, to] of planted) images[i]!.classId = to;
  for (let d = 0; d < dim; d++) vectors[90 * dim + d] = d === 15 ? 1 : 0.05; // outlier of class 5
  const copyOf = 30;
  for (let d = 0; d < dim; d++) vectors[31 * dim + d] = vectors[copyOf * dim + d]! + 0.001 * r();
  const data = Float32Array.from(vectors);
  for (let i = 0; i < images.length; i++) {
    const n = Math.hypot(...data.subarray(i * dim, (i + 1) * dim));
    for (let d = 0; d < dim; d++) data[i * dim + d]! /= n;
  }
  const embeddings = { dim, rows: new Map(images.map((im, i) => [im.path, i])), data };
  const protoData = new Float32Array(6 * dim);
  for (let c = 0; c < 6; c++) {
    const v = centre(c);
    const n = Math.hypot(...v);
    v.forEach((x, d) => (protoData[c * dim + d] = x / n));
  }
  const prototypes = { dim, classIds: ['1', '2', '3', '4', '5', '6'], data: protoData };

  it('k-NN and zero-shot find the planted mislabels, gross errors first, naming where the labels agree', async () => {
    const { knnEvidence, mislabelFindings, duplicateFindings, outlierFindings } = await import('../../src/core/curation/findings');
    const knn = knnBruteForce(data, images.length, dim, 10);
    const rows = images.map((_, i) => i);
    const evidence = new Map<number, MislabelEvidence[]>();
    const names = new Map(project.classes.map((c) => [c.id, c.name]));
    knnEvidence(images, rows, knn, evidence, names);
    // zero-shot probabilities at logit scale 100
    const probs = new Float32Array(images.length * 6);
    for (let i = 0; i < images.length; i++) {
      const logits = [0, 1, 2, 3, 4, 5].map((c) => 100 * data.subarray(i * dim, (i + 1) * dim).reduce((s, x, d) => s + x * protoData[c * dim + d]!, 0));
      const m = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - m));
      const s = e.reduce((a, b) => a + b, 0);
      e.forEach((x, c) => (probs[i * 6 + c] = x / s));
    }
    probabilityEvidence('zero-shot', images, rows, probs, prototypes.classIds, evidence, names);
    const found = mislabelFindings(project, images, evidence, 0.2);
    const flagged = new Map(found.map((f) => [f.images[0]!, f]));
    for (const [i] of planted) {
      const f = flagged.get(images[i]!.path);
      assert.ok(f, `planted mislabel ${images[i]!.path} is found`);
      assert.equal(f.suggested, truthClass[i], 'the suggested class is the true one');
      assert.deepEqual(new Set(f.sources), new Set(['knn', 'zero-shot']));
    }
    const precision = [...planted.keys()].length / found.length;
    assert.ok(precision >= 0.8, `precision ${precision} (${found.length} flagged)`);
    const within = found.find((f) => f.images[0] === images[3]!.path)!;
    assert.equal(within.agreeAt, 'genus');
    assert.match(within.reason, /same genus 'Pictofringilla': a fine-grained confusion/);
    const gross = found.find((f) => f.images[0] === images[110]!.path)!;
    assert.equal(gross.agreeAt, 'coarse', 'a gull labelled as a warbler: they share only bird');
    assert.match(gross.reason, /agree only down to coarse 'bird': a gross error/);

    const dups = duplicateFindings(images, new Map(), { hashDistance: 3, nearCosine: 0.99 }, { rows, knn });
    assert.deepEqual(dups.map((d) => d.images), [[images[30]!.path, images[31]!.path]]);
    assert.equal(dups[0]!.match, 'near');
    const density = new Float64Array(images.length);
    for (let i = 0; i < images.length; i++) {
      let s = 0, n = 0;
      for (let j = 0; j < knn.k; j++) if (images[knn.indices[i * knn.k + j]!]!.classId === images[i]!.classId) { s += knn.sims[i * knn.k + j]!; n++; }
      density[i] = s / knn.k;
      void n;
    }
    const outliers = outlierFindings(images, rows, density, 3, names);
    assert.ok(outliers.some((o) => o.images[0] === images[90]!.path), 'the planted outlier is found');
  });


  it('curateProject sorts gross mislabels before fine-grained ones and runs the embedding checks', async () => {
    const dir = path.join(tmp.dir, 'emb');
    const { writePlantedDataset: _w } = await import('../fixtures/plantedDataset');
    void _w;
    const { copySample } = await import('../helpers/cacheFixture');
    const file = copySample(dir);
    // the embeddings name the sample's own images: map the synthetic rows onto them
    const sampleImages = readFileSync(path.join(dir, 'CUB_tiny', 'images.txt'), 'utf8').trim().split('\n').map((l) => `images/${l.split(' ')[1]}`);
    const labels = readFileSync(path.join(dir, 'CUB_tiny', 'image_class_labels.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ')[1]!);
    // rows of class c's synthetic images for the sample's class-c images (12 each)
    const rowsMap = new Map<string, number>();
    const used = new Map<string, number>();
    sampleImages.forEach((p, i) => {
      const c = Number(labels[i]) - 1;
      const k = used.get(String(c)) ?? 0;
      used.set(String(c), k + 1);
      const free = Array.from({ length: 20 }, (_, j) => c * 20 + j).filter((row) => !planted.has(row) && row !== 90 && row !== 30 && row !== 31);
      rowsMap.set(p, free[k]!); // rows with their true label and no planted oddity
    });
    // one sample image (a finch) gets a gull's embedding: a gross mislabel; one a sibling's
    rowsMap.set(sampleImages[0]!, 85); // a gull's
    rowsMap.set(sampleImages[40]!, 55); // a green warbler (class 4) with a yellow warbler's embedding
    const r = await curateProject({ projectFile: file, embeddings: { dim, rows: rowsMap, data }, prototypes, scanFile: null });
    assert.equal(r.checks.embeddings, true);
    assert.equal(r.checks.zeroShot, true);
    const mis = r.findings.filter((f) => f.kind === 'mislabel');
    assert.deepEqual(mis.slice(0, 2).map((f) => f.images[0]), [sampleImages[0], sampleImages[40]], 'the gross error first');
    assert.equal(mis[0]!.agreeAt, 'coarse');
    assert.equal(mis[1]!.agreeAt, 'genus');
  });
});

describe('building blocks', () => {
  it('exact k-NN through ONNX Runtime equals the plain loop', async () => {
    const n = 300, dim = 24;
    const data = new Float32Array(n * dim);
    let s = 1;
    for (let i = 0; i < data.length; i++) data[i] = ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
    for (let i = 0; i < n; i++) {
      const norm = Math.hypot(...data.subarray(i * dim, (i + 1) * dim));
      for (let d = 0; d < dim; d++) data[i * dim + d]! /= norm;
    }
    const a = knnBruteForce(data, n, dim, 5);
    const b = await knnOnnx(data, n, dim, 5, { blockSize: 64 });
    assert.deepEqual([...b.indices], [...a.indices]);
    for (let i = 0; i < a.sims.length; i++) assert.ok(Math.abs(a.sims[i]! - b.sims[i]!) < 1e-5);
    // the first neighbour of row 0, counted by hand
    let best = -1, bestSim = -Infinity;
    for (let j = 1; j < n; j++) {
      let d = 0;
      for (let k = 0; k < dim; k++) d += data[k]! * data[j * dim + k]!;
      if (d > bestSim) [best, bestSim] = [j, d];
    }
    assert.equal(a.indices[0], best);
  });

  it('perceptual hash: a constant image, a flipped image, and the band search finds all close pairs', () => {
    const grad = Array.from({ length: 1024 }, (_, i) => (i % 32) * 8);
    const flipped = Array.from({ length: 1024 }, (_, i) => (31 - (i % 32)) * 8);
    const h1 = perceptualHash(grad), h2 = perceptualHash(flipped);
    assert.equal(h1.length, 16);
    assert.ok(hashDistance(h1, h2) > 16, 'a mirrored gradient is a different picture');
    assert.equal(hashDistance(h1, h1), 0);
    // brute force over random hashes against the band search
    let seed = 3;
    const rand = () => (seed = (seed * 48271) % 2147483647);
    const base = Array.from({ length: 40 }, () => rand().toString(16).padStart(8, '0').slice(-8) + rand().toString(16).padStart(8, '0').slice(-8));
    const hashes = base.flatMap((h) => [h, h.slice(0, 15) + ((parseInt(h[15]!, 16) ^ 0b101) & 15).toString(16)]);
    const got = perceptualPairs(hashes, 3).map(([i, j]) => `${i},${j}`).sort();
    const want: string[] = [];
    for (let i = 0; i < hashes.length; i++) for (let j = i + 1; j < hashes.length; j++) if (hashDistance(hashes[i]!, hashes[j]!) <= 3) want.push(`${i},${j}`);
    assert.deepEqual(got, want.sort());
    assert.ok(want.length >= 40);
  });

  it('the 2-D map keeps two clusters apart and is the same on every run', async () => {
    const { embeddingMap } = await import('../../src/core/curation/map');
    const n = 60, dim = 8;
    const data = new Float32Array(n * dim);
    let seed = 9;
    const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647 - 0.5) * 0.2;
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < dim; d++) data[i * dim + d] = (d === (i < 30 ? 0 : 1) ? 1 : 0) + rand();
      const norm = Math.hypot(...data.subarray(i * dim, (i + 1) * dim));
      for (let d = 0; d < dim; d++) data[i * dim + d]! /= norm;
    }
    const xy = await embeddingMap(data, n, dim, { neighbours: 8, epochs: 200 });
    const centre = (from: number) => [0, 1].map((c) => Array.from({ length: 30 }, (_, i) => xy[(from + i) * 2 + c]!).reduce((a, b) => a + b, 0) / 30);
    const [a, b] = [centre(0), centre(30)];
    const spread = Math.max(...Array.from({ length: 30 }, (_, i) => Math.hypot(xy[i * 2]! - a[0]!, xy[i * 2 + 1]! - a[1]!)));
    assert.ok(Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!) > spread, 'the clusters lie apart');
    assert.deepEqual(Array.from(await embeddingMap(data, n, dim, { neighbours: 8, epochs: 200 })), Array.from(xy), 'seeded: the same layout again');
  });

  it('agreement: the deepest nested level two classes share', () => {
    const p = parseProject(readFileSync(path.join(repoRoot, 'samples/tiny-birds/tiny-birds.pscl.json'), 'utf8')).project!;
    const c = (id: string) => p.classes.find((x) => x.id === id)!;
    assert.deepEqual(agreement(p, c('1'), c('2')), { level: 'genus', depth: 3 });
    assert.deepEqual(agreement(p, c('1'), c('3')), { level: 'order', depth: 1 });
    assert.deepEqual(agreement(p, c('1'), c('5')), { level: 'coarse', depth: 0 });
  });
});
