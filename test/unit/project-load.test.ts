// src/core/project: the one loader every shell uses (what each use requires, one message form),
// and the one dataset check `pscl validate` and the extension's Problems view share.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkProject, checkProjectFile, declaresDataset, loadProject, ProjectLoadError, readDatasetInfo } from '../../src/core/project';
import { parseProject } from '../../src/core/taxonomy/project';
import { buildDist } from '../helpers/build';
import { repoRoot, tempDir } from '../helpers/paths';

const sampleDir = path.join(repoRoot, 'samples', 'tiny-birds');
const sample = path.join(sampleDir, 'tiny-birds.pscl.json');
const tmp = tempDir('pscl-project-');
after(tmp.cleanup);

/** The sample with its dataset root pointing back at the sample's dataset, written under tmp. */
function variant(name: string, edit: (text: string) => string): string {
  const text = readFileSync(sample, 'utf8').replace('"root": "CUB_tiny"', `"root": ${JSON.stringify(path.relative(tmp.dir, path.join(sampleDir, 'CUB_tiny')))}`);
  const file = path.join(tmp.dir, name);
  writeFileSync(file, edit(text));
  return file;
}

const duplicateId = (t: string) => t.replace('"id": "2"', '"id": "1"');

describe('loadProject', () => {
  it('loads the sample for every requirement', async () => {
    for (const require of ['syntax', 'structure', 'valid'] as const) {
      const p = await loadProject(sample, { require });
      assert.equal(p.file, sample);
      assert.equal(p.project.name, 'Tiny Birds');
    }
  });

  it('a semantic error blocks only the uses that need a valid project (the cache)', async () => {
    const file = variant('dup.pscl.json', duplicateId);
    assert.equal((await loadProject(file)).project.classes.length, 6);
    await assert.rejects(loadProject(file, { require: 'valid', displayName: 'dup.pscl.json' }), (e: ProjectLoadError) => {
      assert.ok(e instanceof ProjectLoadError);
      assert.equal(e.kind, 'input');
      assert.match(e.message, /^dup\.pscl\.json:\d+:\d+: duplicate class id '1'/);
      assert.equal(e.diagnostics[0].code, 'duplicate-id');
      return true;
    });
  });

  it('a structure error is FILE:LINE:COL: message (and N more problems); syntax-only uses still load', async () => {
    const file = variant('junk.pscl.json', (t) => t.replace('"version": 1', '"version": "one"').replace('"name": "Red crowned Finch"', '"name": 5'));
    await assert.rejects(loadProject(file), (e: ProjectLoadError) => {
      assert.match(e.message, new RegExp(`^${file.replace(/[.\\/]/g, '\\$&')}:\\d+:\\d+: .+ \\(and \\d+ more problems?\\)$`));
      assert.ok(e.diagnostics.length >= 2);
      return true;
    });
    assert.equal((await loadProject(file, { require: 'syntax' })).project.name, 'Tiny Birds');
  });

  it('unsaved text wins over the file, and a missing file names itself', async () => {
    const text = readFileSync(sample, 'utf8').replace('"name": "Tiny Birds"', '"name": "edited"');
    assert.equal((await loadProject(sample, { text })).project.name, 'edited');
    await assert.rejects(loadProject(path.join(tmp.dir, 'gone.pscl.json'), { displayName: 'gone.pscl.json' }), /cannot read the project file gone\.pscl\.json: no such file$/);
  });
});

describe('the dataset check', () => {
  before(() => buildDist());

  it('an unreadable dataset: one warning on dataset.root, the same from pscl validate and from the extension path', async () => {
    const file = variant('nodata.pscl.json', (t) => t.replace(/"root": "[^"]*"/, '"root": "no-such-folder"'));
    const fromCli = await checkProjectFile(file);
    const parsed = parseProject(readFileSync(file, 'utf8'), file);
    assert.ok(declaresDataset(parsed));
    // the extension reads the images too (for the counts); the problem it reports is the same
    const fromExtension = checkProject(parsed, await readDatasetInfo(parsed.project!, file, { images: true }));
    assert.deepEqual(fromExtension, fromCli);
    const w = fromCli.find((d) => d.code === 'dataset-unreadable')!;
    assert.equal(w.severity, 'warning');
    assert.match(w.message, /^cannot read the cub dataset at .*no-such-folder: .+ \(classes are not checked against the dataset, and images not counted, until it can be read\)$/);
    const rootLine = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('no-such-folder'));
    assert.equal(w.range.start.line, rootLine);

    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'pscl.js'), 'validate', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`${file}:${rootLine + 1}:`), r.stdout);
    assert.match(r.stdout, /warning: cannot read the cub dataset at .* \[dataset-unreadable\]/);
  });

  it('a readable dataset checks the class ids and counts the images', async () => {
    const file = variant('shifted.pscl.json', (t) => t.replace('"id": "6"', '"id": "60"'));
    const parsed = parseProject(readFileSync(file, 'utf8'), file);
    const dataset = await readDatasetInfo(parsed.project!, file, { images: true });
    assert.ok(dataset.ok);
    assert.equal(dataset.info.classIds.length, 6);
    assert.equal([...dataset.info.imageCounts!.values()].reduce((a, b) => a + b, 0), 72);
    const codes = checkProject(parsed, dataset).map((d) => d.code);
    assert.ok(codes.includes('class-not-in-dataset') && codes.includes('class-missing-from-file'), codes.join());
    assert.deepEqual((await checkProjectFile(file)).map((d) => d.code), codes);
  });
});
