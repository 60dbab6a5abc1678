// Defect 2: a CUB --hierarchy with a cycle (20 21 / 21 20 / 20 1) made `pscl import` loop
// forever, and a NABirds hierarchy that is one cycle wrote a 0-class project with exit 0. Both are
// now FILE:LINE errors naming the cycle, and nothing is written.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeCubFixture } from '../fixtures/datasets';
import { buildDist } from '../helpers/build';
import { tempDir } from '../helpers/paths';
import { importNabirds } from '../../src/core/taxonomy/importers';
import { pscl, STACK } from './helpers';

const tmp = tempDir('pscl-rel-hier-');
after(tmp.cleanup);
before(() => buildDist());

describe('reliability: cyclic hierarchies (defect 2)', () => {
  it('pscl import on a cyclic CUB --hierarchy ends within 15 s with one FILE:LINE error naming the cycle; nothing is written', async () => {
    const root = path.join(tmp.dir, 'cub');
    writeCubFixture(root);
    const hierarchy = path.join(tmp.dir, 'cycle.txt');
    writeFileSync(hierarchy, '20 21\n21 20\n20 1\n');
    const out = path.join(tmp.dir, 'cub.pscl.json');
    const r = await pscl(['import', '--format', 'cub', '--root', root, '--hierarchy', hierarchy, '--out', out], { limitMs: 15_000 });
    assert.equal(r.timedOut, false, 'pscl import did not end within 15 s (the cycle loops)');
    assert.equal(r.code, 1, r.err);
    assert.doesNotMatch(r.err, STACK);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], new RegExp(`^pscl: import: ${hierarchy.replace(/[.]/g, '\\.')}:2: the hierarchy has a cycle: (20 -> 21 -> 20|21 -> 20 -> 21) `));
    assert.equal(existsSync(out), false);
  });

  it('a longer cycle is named too, at the line that closes it (in a child process: a loop there cannot hang the suite)', async () => {
    const root = path.join(tmp.dir, 'cub2');
    writeCubFixture(root, { withImages: false });
    const hierarchy = path.join(tmp.dir, 'cycle3.txt');
    writeFileSync(hierarchy, '100 101\n100 1\n101 102\n102 2\n102 100\n100 3\n');
    const r = await pscl(['import', '--format', 'cub', '--root', root, '--hierarchy', hierarchy, '--out', path.join(tmp.dir, 'c3.pscl.json')], { limitMs: 15_000 });
    assert.equal(r.timedOut, false);
    assert.match(r.err, /cycle3\.txt:5: the hierarchy has a cycle: (\d+ -> ){3}\d+ \(each node's parent follows it; lines \d, \d, \d\)/);
  });

  it('a NABirds hierarchy that is one cycle is an error, not a 0-class project with exit 0', async () => {
    const root = path.join(tmp.dir, 'nabirds');
    mkdirSync(root, { recursive: true });
    writeFileSync(path.join(root, 'classes.txt'), '1 Birds\n2 Perching birds\n3 Finches\n');
    writeFileSync(path.join(root, 'hierarchy.txt'), '1 3\n2 1\n3 2\n');
    await assert.rejects(importNabirds(root, { skipImages: true }), /hierarchy\.txt:3: the hierarchy has a cycle: 1 -> 3 -> 2 -> 1/);
    const out = path.join(tmp.dir, 'nab.pscl.json');
    const r = await pscl(['import', '--format', 'nabirds', '--root', root, '--out', out], { limitMs: 15_000 });
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /hierarchy\.txt:3: the hierarchy has a cycle/);
    assert.equal(existsSync(out), false, 'no project file is written');
  });
});
