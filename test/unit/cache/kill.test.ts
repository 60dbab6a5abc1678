// Must show (issue 7): build the sample's cache with the CLI, SIGKILL it in the middle, build
// again: it completes, recomputes only what was missing, and `pscl cache verify` passes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { buildDist } from '../../helpers/build';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { copySample, tinyModel } from '../../helpers/cacheFixture';
import { repoRoot, tempDir } from '../../helpers/paths';

const tmp = tempDir('pscl-cache-kill-');
after(tmp.cleanup);
const env = { ...process.env, PSCL_CACHE_DIR: path.join(tmp.dir, 'graphs') };
const pscl = path.join(repoRoot, 'bin', 'pscl.js');
let model: string;
let project: string;
const out = path.join(tmp.dir, 'cache');
// a larger model input than the tiny default slows each image enough to kill the build midway
const args = () => ['cache', 'build', '--project', project, '--model', model, '--out', out, '--input-size', '160', '--mask-size', '512', '--batch', '2', '--json'];

before(() => {
  buildDist();
  model = tinyModel(path.join(tmp.dir, 'tiny'));
  project = copySample(path.join(tmp.dir, 'sample'));
});

const masks = () => (existsSync(path.join(out, 'masks')) ? readdirSync(path.join(out, 'masks')).filter((f) => f.endsWith('.png')).length : 0);

it('a build killed midway resumes, recomputes only the missing masks, and verifies', async () => {
  const child = spawn(process.execPath, [pscl, ...args()], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  // wait until some masks exist, then kill without warning
  const deadline = Date.now() + 60_000;
  while (masks() < 10 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  const { signal } = await exited;
  assert.equal(signal, 'SIGKILL', `the build ended before it could be killed:\n${stderr}`);
  assert.ok(!existsSync(path.join(out, 'manifest.json')), 'a killed first build leaves no manifest');
  // what the journal says is complete is what the next build may reuse
  const journaled = readFileSync(path.join(out, 'progress.jsonl'), 'utf8').split('\n').filter((l) => l.endsWith('}')).length;
  assert.ok(journaled >= 8 && journaled < 72, `${journaled} masks journaled before the kill`);

  const again = spawnSync(process.execPath, [pscl, ...args()], { env, encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  const summary = JSON.parse(again.stdout.trim().split('\n').pop()!);
  assert.equal(summary.images.total, 72);
  assert.equal(summary.images.reused, journaled);
  assert.equal(summary.images.computed, 72 - journaled);
  assert.equal(summary.images.errors, 0);
  assert.match(again.stderr, /images \d+\/72 .*images\/s/);
  // no temp files, no orphans: exactly one mask per image
  assert.equal(masks(), 72);
  assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('.')), []);

  const verify = spawnSync(process.execPath, [pscl, 'cache', 'verify', out], { env, encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /ok \(72 masks, 7 tensors, 72 image embeddings, \d+ keypoint features checked\)/);
});

it('verify exits 1 and lists the problems of a damaged cache', () => {
  const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  const victim = manifest.images[5];
  writeFileSync(path.join(out, victim.mask), Buffer.from('not a png'));
  const r = spawnSync(process.execPath, [pscl, 'cache', 'verify', out], { env, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stdout, new RegExp(`problem: image ${victim.key} .*does not match its hash`));
  assert.match(r.stdout, /problem: .*not a readable PNG label map/);
  assert.match(r.stdout, /2 problems/);
});

it('pscl lint prints prototype diagnostics like pscl validate', () => {
  const r = spawnSync(process.execPath, [pscl, 'lint', '--project', project, '--model', model], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /tiny-birds\.pscl\.json:\d+:\d+: info: family 'Fringillidae' has a single genus \('Pictofringilla'\).* \[single-child\]/);
  assert.match(r.stdout, /order 'Charadriiformes' has a single family \('Laridae'\)/);
  assert.match(r.stdout, /\d+ warnings?, \d+ notes?\n$/);
});
