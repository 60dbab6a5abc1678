// `pscl prompts score` end to end on a copy of the sample in a git repository: the cache built
// when it has no embeddings yet and reused after an edit, the text report, --against a git
// revision of the same file (an improved phrasing shows as a delta with its interval), and
// clear errors for bad options and revisions.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { makeTinyClip } from '../../src/core/clip';
import { buildDist } from '../helpers/build';
import { copySample } from '../helpers/cacheFixture';
import { repoRoot, tempDir } from '../helpers/paths';

const tmp = tempDir('pscl-prompts-');
const modelDir = path.join(tmp.dir, 'tiny');
let project: string;
const cache = path.join(tmp.dir, 'cache');

function run(cmd: string, args: string[], cwd = tmp.dir) {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, PSCL_CACHE_DIR: path.join(tmp.dir, 'graphs'), GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
}
const pscl = (...args: string[]) => run(process.execPath, [path.join(repoRoot, 'bin', 'pscl.js'), ...args]);
const git = (...args: string[]) => {
  const r = run('git', args, path.dirname(project));
  assert.equal(r.status, 0, r.stderr);
};

before(() => {
  buildDist();
  makeTinyClip(modelDir, { seed: 4 });
  project = copySample(path.join(tmp.dir, 'sample'));
  git('init', '-q');
  git('add', 'tiny-birds.pscl.json');
  git('commit', '-q', '-m', 'sample');
});
after(() => tmp.cleanup());

test('builds the cache it needs, prints levels and parts, and compares with a git revision', () => {
  const first = pscl('cache', 'build', '--project', project, '--model', modelDir, '--out', cache, '--input-size', '32');
  assert.equal(first.status, 0, first.stderr);
  const text = pscl('prompts', 'score', '--project', project, '--model', modelDir, '--cache', cache);
  assert.equal(text.status, 0, text.stderr);
  assert.doesNotMatch(text.stderr, /building the training cache/, 'a cache with embeddings and keypoint features is used as it is');
  assert.match(text.stdout, /zero-shot accuracy, 72 images \(split all\)/);
  assert.match(text.stdout, /^ {2}species +\s*[\d.]+% +[\d.]+%/m);
  assert.match(text.stdout, /^ {2}bird\/beak +[\d.]+% +\([\d.]+%\) +72 keypoints +"beak" [\d.]+%, "bill" [\d.]+%$/m);
  // an edit: the cache's masks are stale now, the scores are not
  writeFileSync(project, readFileSync(project, 'utf8').replace('"prompts": ["beak", "bill"]', '"prompts": ["beak", "hooked bill"]'));
  const edited = pscl('prompts', 'score', '--project', project, '--model', modelDir, '--cache', cache, '--json', '--split', 'test');
  assert.equal(edited.status, 0, edited.stderr);
  const s = JSON.parse(edited.stdout);
  assert.equal(s.images, 24);
  assert.deepEqual(Object.keys(s.parts['bird/beak'].phrasings), ['beak', 'hooked bill']);
  assert.equal(s.masks.stale, true);
  assert.ok(s.notes.some((n: string) => /cached masks were made with other part prompts/.test(n)));
  // against the committed file: the same classes, so paired; parts named in both
  const ab = pscl('prompts', 'score', '--project', project, '--model', modelDir, '--cache', cache, '--against', 'HEAD', '--bootstrap', '200', '--no-masks', '--json');
  assert.equal(ab.status, 0, ab.stderr);
  const c = JSON.parse(ab.stdout);
  assert.equal(c.against, 'tiny-birds.pscl.json@HEAD');
  // class prompts did not change: no level moves, and the interval says so
  for (const d of Object.values(c.delta.levels) as { top1: { delta: number; ci: number[] } }[]) assert.deepEqual(d.top1, { delta: 0, ci: [0, 0] });
  const beak = c.delta.parts['bird/beak'].hitRate;
  assert.ok(Math.abs(beak.delta - (c.a.parts['bird/beak'].hitRate - c.b.parts['bird/beak'].hitRate)) < 2e-6);
  assert.ok(beak.ci[0] <= beak.delta && beak.delta <= beak.ci[1]);
  const printed = pscl('prompts', 'score', '--project', project, '--model', modelDir, '--cache', cache, '--against', 'HEAD', '--bootstrap', '100', '--no-masks');
  assert.match(printed.stdout, /Tiny Birds minus tiny-birds\.pscl\.json@HEAD: difference in points \[95% paired bootstrap interval, 100 resamples of 72 images\]/);
  assert.match(printed.stdout, /^ {2}species +top-1 +\+0\.0 \[\+0\.0, \+0\.0\] +top-5/m);
});

test('bad options and revisions are clear errors', () => {
  const bad = pscl('prompts', 'score', '--project', project, '--split', 'holdout');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--split must be all, train, test or val \(got 'holdout'\)/);
  const rev = pscl('prompts', 'score', '--project', project, '--model', modelDir, '--cache', cache, '--against', 'no-such-rev');
  assert.notEqual(rev.status, 0);
  assert.match(rev.stderr, /--against no-such-rev: cannot read tiny-birds\.pscl\.json at git revision 'no-such-rev'/);
  assert.doesNotMatch(rev.stderr, /internal error/);
  const none = pscl('prompts', 'score', '--project', project, '--model', modelDir, '--cache', path.join(tmp.dir, 'empty'), '--build', 'never');
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /manifest\.json is missing: build the cache first/);
});
