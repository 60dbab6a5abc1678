// A dataset whose parts/part_locs.txt is damaged (a line cut short, a number that is not one):
// the cache still builds (masks, embeddings; a warning names the file and line), and
// `pscl prompts score` still scores zero-shot accuracy, saying why there are no hit rates and
// naming the file and line; nothing is written to the dataset.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { buildDist } from '../helpers/build';
import { copySample, tinyModel } from '../helpers/cacheFixture';
import { tempDir } from '../helpers/paths';
import { pscl, STACK } from './helpers';

const tmp = tempDir('pscl-rel-keypoints-');
const env = { PSCL_CACHE_DIR: path.join(tmp.dir, 'graphs') };
let project: string;
let model: string;
let locs: string;

before(() => {
  buildDist();
  model = tinyModel(path.join(tmp.dir, 'tiny'));
  project = copySample(path.join(tmp.dir, 'sample'));
  locs = path.join(path.dirname(project), 'CUB_tiny', 'parts', 'part_locs.txt');
  const lines = readFileSync(locs, 'utf8').split('\n');
  lines[9] = '1 10 56.2'; // cut short
  writeFileSync(locs, lines.join('\n'));
});
after(tmp.cleanup);

test('a damaged part_locs.txt: the cache builds without keypoint features, the scores say why', async () => {
  const damaged = readFileSync(locs);
  const out = path.join(tmp.dir, 'cache');
  const built = await pscl(['cache', 'build', '--project', project, '--model', model, '--out', out, '--input-size', '32', '--json'], { env });
  assert.equal(built.code, 0, built.err);
  assert.match(built.err, /warning: part keypoints not read, no keypoint features: .*part_locs\.txt:10: expected '<image> <part id> <x> <y> <visible>', got '1 10 56\.2'/);
  assert.doesNotMatch(built.err, STACK);
  const scored = await pscl(['prompts', 'score', '--project', project, '--model', model, '--cache', out, '--json'], { env });
  assert.equal(scored.code, 0, scored.err);
  assert.doesNotMatch(scored.err, /building the training cache/, 'no rebuild is asked for what cannot be built');
  const s = JSON.parse(scored.out);
  assert.equal(s.images, 72);
  assert.equal(s.parts['bird/beak'].hitRate, null);
  assert.ok(s.notes.some((n: string) => /part keypoints cannot be read, so there are no hit rates: .*part_locs\.txt:10/.test(n)), s.notes.join('\n'));
  assert.ok(readFileSync(locs).equals(damaged), 'the dataset is not touched');
});
