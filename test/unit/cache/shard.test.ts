// Must show (issue 20): a cache built as 3 shards by 3 processes (the SLURM array job that
// `pscl cache build --emit-slurm` writes, run with a stand-in for SLURM) is byte for byte the cache
// of a single build, and `pscl cache verify` passes; `pscl cache merge` refuses while a shard is
// missing and names it, then joins them.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CacheBuildLock, parseShard, shardImages } from '../../../src/core/cache';
import { shardLockFile } from '../../../src/core/cache/lock';
import { buildDist } from '../../helpers/build';
import { copySample, tinyModel } from '../../helpers/cacheFixture';
import { repoRoot, tempDir } from '../../helpers/paths';

const tmp = tempDir('pscl-cache-shard-');
after(tmp.cleanup);
// SOURCE_DATE_EPOCH: the manifest's createdAt, so two builds can be compared byte for byte
const env: NodeJS.ProcessEnv = { ...process.env, PSCL_CACHE_DIR: path.join(tmp.dir, 'graphs'), SOURCE_DATE_EPOCH: '1767225600' };
const pscl = path.join(repoRoot, 'bin', 'pscl.js');
let model: string;
let project: string;
const settings = ['--input-size', '32', '--batch', '4'];

before(() => {
  buildDist();
  model = tinyModel(path.join(tmp.dir, 'tiny'));
  project = copySample(path.join(tmp.dir, 'sample'));
});

function cli(args: string[]) {
  return spawnSync(process.execPath, [pscl, ...args], { env, encoding: 'utf8' });
}

/** Every file under DIR (relative path -> bytes). */
function files(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const r = path.join(rel, name);
    if (statSync(path.join(dir, r)).isDirectory()) for (const [k, v] of files(dir, r)) out.set(k, v);
    else out.set(r, readFileSync(path.join(dir, r)));
  }
  return out;
}

function assertSameCache(actual: string, expected: string): void {
  const a = files(actual);
  const e = files(expected);
  assert.deepEqual([...a.keys()], [...e.keys()], 'the same files');
  assert.ok(e.has('manifest.json') && [...e.keys()].filter((k) => k.startsWith('masks')).length === 72);
  for (const [name, bytes] of e) assert.ok(bytes.equals(a.get(name)!), `${name} differs`);
}

describe('sharded cache builds', () => {
  const single = path.join(tmp.dir, 'single');

  before(() => {
    const r = cli(['cache', 'build', '--project', project, '--model', model, '--out', single, ...settings]);
    assert.equal(r.status, 0, r.stderr);
  });

  it('shard K/N owns every N-th image from the K-th; bad --shard values are refused', () => {
    assert.deepEqual(shardImages([0, 1, 2, 3, 4, 5, 6], parseShard('2/3')), [1, 4]);
    assert.deepEqual(shardImages([0, 1, 2], parseShard('1/1')), [0, 1, 2]);
    for (const bad of ['0/3', '4/3', '3', 'a/b', '1/0']) assert.throws(() => parseShard(bad), /--shard must be K\/N/);
    const r = cli(['cache', 'build', '--project', project, '--model', model, '--out', path.join(tmp.dir, 'bad'), '--shard', '4/3']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /pscl: cache build: --shard must be K\/N with 1 <= K <= N .*got '4\/3'/);
  });

  it('the SLURM array job of 3 shards, run as 3 concurrent processes, equals a single build byte for byte; verify passes', { timeout: 240_000 }, async () => {
    const out = path.join(tmp.dir, 'sharded');
    const job = path.join(tmp.dir, 'cache.sbatch');
    const emit = cli(['cache', 'build', '--project', project, '--model', model, '--out', out, ...settings, '--emit-slurm', job, '--shards', '3', '--partition', 'cpu', '--time', '01:00:00']);
    assert.equal(emit.status, 0, emit.stderr);
    assert.ok(!existsSync(out), 'emitting the script builds nothing');
    const script = readFileSync(job, 'utf8');
    assert.match(script, /^#SBATCH --array=1-3$/m);
    assert.match(script, /^#SBATCH --partition=cpu$/m);
    assert.match(script, /^#SBATCH --time=01:00:00$/m);
    assert.match(script, /^pscl cache build --project \S+tiny-birds\.pscl\.json --out \S+sharded --model \S+tiny --input-size 32 --batch 4 --shard "\$SLURM_ARRAY_TASK_ID\/3"$/m);

    // SLURM's part: `pscl` on PATH, one task per array index, all at once
    const bin = path.join(tmp.dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'pscl'), `#!/bin/sh\nexec "${process.execPath}" "${pscl}" "$@"\n`);
    chmodSync(path.join(bin, 'pscl'), 0o755);
    const tasks = [1, 2, 3].map(
      (k) =>
        new Promise<{ k: number; code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn('bash', [job], { env: { ...env, PATH: `${bin}:${env.PATH}`, SLURM_ARRAY_TASK_ID: String(k) } });
          let so = '';
          let se = '';
          child.stdout.on('data', (d) => (so += d));
          child.stderr.on('data', (d) => (se += d));
          child.on('exit', (code) => resolve({ k, code, out: so, err: se }));
        }),
    );
    const results = await Promise.all(tasks);
    for (const r of results) assert.equal(r.code, 0, `task ${r.k}: ${r.err}`);
    // each computed its own 24 images; exactly one (the last to finish) wrote the manifest
    for (const r of results) assert.match(r.out, /(images of this shard: 24 \(24 computed|images: 72 \(0 computed, 72 reused)/, r.out);
    assert.equal(results.filter((r) => /is the last to finish: merging/.test(r.err)).length >= 1, true, results.map((r) => r.err).join('\n'));

    assertSameCache(out, single);
    const v = cli(['cache', 'verify', out]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    // the sample has part keypoints: their features come from the shards too
    assert.match(v.stdout, /ok \(72 masks, 7 tensors, 72 image embeddings, 936 keypoint features checked\)/);
  });

  it('a whole build does not run while a shard holds the folder, nor a shard while a whole build does', { timeout: 120_000 }, async () => {
    const out = path.join(tmp.dir, 'locked');
    mkdirSync(out, { recursive: true });
    const shard = await CacheBuildLock.acquire(out, { file: shardLockFile(2, 3), command: 'pscl cache build --shard 2/3' });
    try {
      const whole = cli(['cache', 'build', '--project', project, '--model', model, '--out', out, ...settings, '--no-wait']);
      assert.equal(whole.status, 1, whole.stderr);
      assert.match(whole.stderr, new RegExp(`is being built by pid ${process.pid} \\(started [^)]+, pscl cache build --shard 2/3\\); wait for it to finish`));
    } finally {
      await shard.release();
    }
    const main = await CacheBuildLock.acquire(out, { command: 'a whole build' });
    try {
      const one = cli(['cache', 'build', '--project', project, '--model', model, '--out', out, ...settings, '--shard', '1/3', '--no-wait']);
      assert.equal(one.status, 1, one.stderr);
      assert.match(one.stderr, new RegExp(`is being built by pid ${process.pid} \\(started [^)]+, a whole build\\); wait for it to finish`));
    } finally {
      await main.release();
    }
    assert.deepEqual(readdirSync(out).sort(), ['masks'], 'nothing written, no lock left');
  });

  it('pscl cache merge names a missing shard, then joins the shards once it has run', { timeout: 240_000 }, () => {
    const out = path.join(tmp.dir, 'merged');
    const shard = (k: number) => cli(['cache', 'build', '--project', project, '--model', model, '--out', out, ...settings, '--shard', `${k}/3`, '--no-merge']);
    for (const k of [1, 3]) assert.equal(shard(k).status, 0);
    const early = cli(['cache', 'merge', '--project', project, '--model', model, '--out', out, ...settings]);
    assert.equal(early.status, 2, early.stderr);
    assert.match(early.stderr, /cannot merge .*merged: 24 image\(s\) are not computed yet, of shard\(s\) 2\/3 \(not finished: 2\/3\); run `pscl cache build --shard K\/3` for them/);
    assert.ok(!existsSync(path.join(out, 'manifest.json')), 'a refused merge writes no manifest');

    const two = shard(2);
    assert.match(two.stdout, /every shard has finished: join them with pscl cache merge/);
    const merge = cli(['cache', 'merge', '--project', project, '--model', model, '--out', out, ...settings]);
    assert.equal(merge.status, 0, merge.stderr);
    assert.match(merge.stdout, /images: 72 \(0 computed, 72 reused, 0 errors\)/);
    assertSameCache(out, single);
    assert.equal(cli(['cache', 'verify', out]).status, 0);
  });
});
