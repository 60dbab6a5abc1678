import { buildDist } from '../helpers/build';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nabirdsLike, NABIRDS_LIKE } from '../fixtures/nabirds';
import { realNabirds, repoRoot, skipWithoutRealNabirds, tempDir } from '../helpers/paths';

const tmp = tempDir();
after(tmp.cleanup);

function pscl(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'pscl.js'), ...args], { cwd: tmp.dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(() => {
  // The CLI runs from the bundle: rebuild it so the test sees the current sources.
  buildDist();
});

const MALFORMED = {
  'bad-json.pscl.json': '{\n  "version": 1,\n  "name": "x",\n  "dataset": { "format": "cub", "root": "." }\n  "levels": ["coarse", "species"],\n  "classes": []\n}\n',
  'dup-id.pscl.json': `{
  "version": 1, "name": "x", "dataset": { "format": "cub", "root": "." },
  "levels": ["coarse", "family", "species"],
  "classes": [
    { "id": "1", "name": "A", "path": { "coarse": "bird", "family": "F" } },
    { "id": "1", "name": "B", "path": { "coarse": "bird", "family": "F" } }
  ],
  "parts": { "bird": [ { "name": "head", "prompts": ["head"] } ] }
}
`,
  'nesting.pscl.json': `{
  "version": 1, "name": "x", "dataset": { "format": "cub", "root": "." },
  "levels": ["coarse", "family", "genus", "species"],
  "classes": [
    { "id": "1", "name": "A", "path": { "coarse": "bird", "family": "F1", "genus": "G" } },
    { "id": "2", "name": "B", "path": { "coarse": "bird", "family": "F2", "genus": "G" } }
  ],
  "parts": { "bird": [ { "name": "head", "prompts": ["head"] } ] }
}
`,
};

describe('pscl CLI', () => {
  it('imports a NABirds-size dataset (generated), prints a summary and refuses to overwrite without --force', () => {
    const root = nabirdsLike();
    const out = path.join(tmp.dir, 'nabirds.pscl.json');
    const first = pscl('import', '--format', 'nabirds', '--root', root, '--out', out);
    assert.equal(first.code, 0, first.err);
    const n = NABIRDS_LIKE.levelCounts;
    assert.match(first.out, new RegExp(`levels: coarse \\(1\\) > group \\(${n.group}\\) > family \\(${n.family}\\) > species \\(${n.species}\\) > category \\(${n.category}\\)`));
    assert.match(first.out, new RegExp(`images: ${NABIRDS_LIKE.images} \\(test ${NABIRDS_LIKE.images - NABIRDS_LIKE.train}, train ${NABIRDS_LIKE.train}\\)`));
    const project = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(project.classes.length, 555);
    assert.equal(path.resolve(tmp.dir, project.dataset.root), root);

    const again = pscl('import', '--format', 'nabirds', '--root', root, '--out', out);
    assert.equal(again.code, 2);
    assert.match(again.err, /exists; pass --force to overwrite it/);
    assert.equal(pscl('import', '--format', 'nabirds', '--root', root, '--out', out, '--force').code, 0);
  });

  it('imports the real NABirds metadata with its level counts', { skip: skipWithoutRealNabirds() }, () => {
    const out = path.join(tmp.dir, 'nabirds-real.pscl.json');
    const r = pscl('import', '--format', 'nabirds', '--root', realNabirds()!, '--out', out);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /levels: coarse \(1\) > group \(22\) > family \(50\) > species \(404\) > category \(555\)/);
    assert.match(r.out, /images: 48562 \(test 24633, train 23929\)/);
  });

  it('reports bad import arguments and unreadable datasets without a stack trace', () => {
    const unknown = pscl('import', '--format', 'coco', '--root', '.', '--out', 'x.pscl.json');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown --format 'coco'/);
    const missing = pscl('import', '--format', 'cub', '--root', 'nowhere', '--out', 'x.pscl.json');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /nowhere\/classes\.txt not found/);
    assert.doesNotMatch(missing.err, /internal error|\n\s+at /);
    assert.equal(pscl('import', '--root', '.').code, 2);
  });

  it('prints each problem of a malformed file as FILE:LINE:COL and exits 1', () => {
    for (const [name, text] of Object.entries(MALFORMED)) writeFileSync(path.join(tmp.dir, name), text);
    const r = pscl('validate', '--no-dataset', ...Object.keys(MALFORMED));
    assert.equal(r.code, 1);
    const lines = r.out.trim().split('\n');
    assert.ok(lines.includes("bad-json.pscl.json:5:3: error: syntax error: expected ',' [syntax]"), r.out);
    assert.ok(lines.includes("dup-id.pscl.json:6:13: error: duplicate class id '1': also used by 'A' (id 1) [duplicate-id]"), r.out);
    assert.ok(lines.some((l) => l.startsWith("nesting.pscl.json:6:84: error: genus 'G' is under family 'F2' here, but under 'F1' in class 'A' (id 1)") && l.endsWith('[nesting-conflict]')), r.out);
    assert.match(lines[lines.length - 1], /^3 errors, 0 warnings in 3 files$/);
  });

  it('validates the bundled sample against its dataset and exits 0', () => {
    const sample = path.join(repoRoot, 'samples', 'tiny-birds', 'tiny-birds.pscl.json');
    const r = pscl('validate', sample);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.out.trim(), '0 errors, 0 warnings in 1 file');
    const missing = pscl('validate', 'missing.pscl.json');
    assert.equal(missing.code, 1);
    assert.match(missing.out, /^missing\.pscl\.json:1:1: error: cannot read the project file missing\.pscl\.json: no such file \[unreadable\]/);
  });

  it('checks the classes against the dataset', () => {
    const sampleDir = path.join(repoRoot, 'samples', 'tiny-birds');
    const text = readFileSync(path.join(sampleDir, 'tiny-birds.pscl.json'), 'utf8').replace('"id": "6"', '"id": "60"');
    const file = path.join(tmp.dir, 'shifted.pscl.json');
    writeFileSync(file, text.replace('"root": "CUB_tiny"', `"root": ${JSON.stringify(path.relative(tmp.dir, path.join(sampleDir, 'CUB_tiny')))}`));
    const r = pscl('validate', file);
    assert.equal(r.code, 1);
    assert.match(r.out, /error: class id '60' \(Black crowned Gull\) is not a class of the dataset \[class-not-in-dataset\]/);
    assert.match(r.out, /warning: 1 dataset class is missing from this file: 6 \[class-missing-from-file\]/);
  });

  it('prints info as text and as JSON', () => {
    const sample = path.join(repoRoot, 'samples', 'tiny-birds', 'tiny-birds.pscl.json');
    const text = pscl('info', sample);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /levels: coarse \(1\) > order \(2\) > family \(3\) > genus \(3\) > species \(6\)/);
    assert.match(text.out, /images: 72 \(train 48, test 24\)/);
    const json = JSON.parse(pscl('info', '--json', sample).out);
    assert.deepEqual(json.levels.map((l: { name: string; values: number }) => [l.name, l.values]), [['coarse', 1], ['order', 2], ['family', 3], ['genus', 3], ['species', 6]]);
    assert.deepEqual(json.images.bySplit, { train: 48, test: 24 });
    assert.equal(json.classes, 6);
    const bad = pscl('info', path.join(tmp.dir, 'bad-json.pscl.json'));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /bad-json\.pscl\.json:5:3: syntax error/);
  });
});
