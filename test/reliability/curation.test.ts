// Bad input around curation: a damaged scan file, images missing from disk or not images at all,
// an image list path out of the dataset, decisions that cannot apply (an unknown class, a path
// outside the dataset), a webview asking for images it was never offered, and bad CLI options.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { curateProject } from '../../src/core/curation';
import { buildDist } from '../helpers/build';
import { copySample } from '../helpers/cacheFixture';
import { tempDir } from '../helpers/paths';
import { pscl, STACK } from './helpers';

const tmp = tempDir('pscl-rel-curation-');
before(() => buildDist());

describe('curation: bad input', () => {
  it('a damaged scan file is scanned again, not trusted; missing and non-image files are findings that name them', async () => {
    const project = copySample(path.join(tmp.dir, 'a'));
    const root = path.join(tmp.dir, 'a', 'CUB_tiny');
    rmSync(path.join(root, 'images', '001.Red_crowned_Finch', 'Red_crowned_Finch_0003.jpg'));
    writeFileSync(path.join(root, 'images', '001.Red_crowned_Finch', 'Red_crowned_Finch_0005.jpg'), '<html>not a photo</html>');
    const scanFile = path.join(tmp.dir, 'a', 'scan.json');
    writeFileSync(scanFile, '{"format": "pscl-image-scan", "version": 1, "images": {"images/001.Red_crowned_Finch/Red_crowned_Finch_0005.jpg": {"bytes": 1');
    const r = await curateProject({ projectFile: project, scanFile });
    const unreadable = r.findings.filter((f) => f.kind === 'unreadable');
    assert.deepEqual(unreadable.map((f) => f.images[0]).sort(), ['images/001.Red_crowned_Finch/Red_crowned_Finch_0003.jpg', 'images/001.Red_crowned_Finch/Red_crowned_Finch_0005.jpg']);
    assert.match(unreadable.find((f) => f.images[0]!.endsWith('0003.jpg'))!.reason, /image not found: .*Red_crowned_Finch_0003\.jpg/);
    assert.equal(JSON.parse(readFileSync(scanFile, 'utf8')).format, 'pscl-image-scan', 'the scan file is written anew');
  });

  it('pscl curate: an image list path out of the dataset, bad options and a missing project fail with a message, no stack', async () => {
    const project = copySample(path.join(tmp.dir, 'b'));
    appendFileSync(path.join(tmp.dir, 'b', 'CUB_tiny', 'images.txt'), '999 ../../../etc/passwd\n');
    appendFileSync(path.join(tmp.dir, 'b', 'CUB_tiny', 'image_class_labels.txt'), '999 1\n');
    const outside = await pscl(['curate', '--project', project]);
    assert.equal(outside.code, 1);
    assert.match(outside.err, /images\.txt:73: image path '\.\.\/\.\.\/\.\.\/etc\/passwd' climbs out of the dataset folder/);
    assert.doesNotMatch(outside.err, STACK);
    const bad = await pscl(['curate', '--project', project, '--k', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /k must be an integer from 1 to 100 \(got 0\)/);
    const none = await pscl(['curate', '--project', path.join(tmp.dir, 'nope.pscl.json')]);
    assert.equal(none.code, 1);
    assert.match(none.err, /cannot read the project file .*nope\.pscl\.json: no such file/);
    const noRun = await pscl(['curate', '--project', project, '--run', path.join(tmp.dir, 'no-run')]);
    assert.equal(noRun.code, 2);
    assert.match(noRun.err, /run folder .*no-run not found/);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.join(tmp.dir, 'empty-run'));
    const unexported = await pscl(['curate', '--project', project.replace('/b/', '/a/'), '--run', path.join(tmp.dir, 'empty-run')]);
    assert.equal(unexported.code, 1, unexported.err);
    assert.match(unexported.err, /model\.onnx: missing: the run has no exported model; export the model again/);
    assert.doesNotMatch(unexported.err, STACK);
  });

  it('a relabel to a class the project lacks blocks the cache build with the position, and validate names it', async () => {
    const project = copySample(path.join(tmp.dir, 'c'));
    const text = readFileSync(project, 'utf8').replace(/\n}\n$/, ',\n  "images": { "relabel": { "images/001.Red_crowned_Finch/Red_crowned_Finch_0001.jpg": "77" } }\n}\n');
    writeFileSync(project, text);
    const v = await pscl(['validate', project]);
    assert.equal(v.code, 1);
    assert.match(v.out + v.err, /tiny-birds\.pscl\.json:\d+:\d+: error: 'images\/001\.Red_crowned_Finch\/Red_crowned_Finch_0001\.jpg' is relabelled to class id '77', which is not a class of this project.*\[relabel-unknown-class\]/);
    const c = await pscl(['cache', 'build', '--project', project, '--out', path.join(tmp.dir, 'c', 'cache'), '--input-size', '32']);
    assert.equal(c.code, 1);
    assert.match(c.err, /relabelled to class id '77'/);
    assert.doesNotMatch(c.err, STACK);
    assert.equal(readFileSync(project, 'utf8'), text, 'the project file is untouched');
  });
});
