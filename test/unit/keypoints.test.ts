// Part keypoints: CUB/NABirds part_locs.txt read (visible ones only, by image key), the mapping to
// project parts kept in the project file (parsed, validated, against the dataset's parts file),
// and the part-prompts hash that ignores the mapping (a mapping edit leaves the masks fresh).
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { partPromptsHash } from '../../src/core/parts/prompts';
import { checkProjectFile } from '../../src/core/project';
import { readKeypoints } from '../../src/core/taxonomy/importers/keypoints';
import { parseProject } from '../../src/core/taxonomy/project';
import { validateProject } from '../../src/core/taxonomy/validate';
import { SAMPLE_DIR, sampleFilesOnly } from '../helpers/cacheFixture';
import { tempDir } from '../helpers/paths';

const tmp = tempDir('pscl-keypoints-');
after(tmp.cleanup);
const root = path.join(SAMPLE_DIR, 'CUB_tiny');

describe('part keypoints', () => {
  it('reads the sample part_locs.txt: visible keypoints per image key, named by parts.txt', async () => {
    const k = (await readKeypoints('cub', root))!;
    assert.equal(k.names.length, 15);
    assert.equal(k.listed, 72 * 15);
    assert.equal(k.byImage.size, 72);
    // image 1: parts 11 (right_eye) and 13 (right_wing) are not visible (the file's own lines)
    const first = k.byImage.get('1')!;
    assert.equal(first.length, 13);
    assert.deepEqual(first[1], { part: 'beak', x: 29.6, y: 55.0 });
    assert.ok(!first.some((p) => p.part === 'right_eye'));
    // an independent count of visible lines
    const visible = readFileSync(path.join(root, 'parts', 'part_locs.txt'), 'utf8').trim().split('\n').filter((l) => l.endsWith(' 1')).length;
    assert.equal([...k.byImage.values()].reduce((s, l) => s + l.length, 0), visible);
    assert.equal(await readKeypoints('cars', root), undefined);
  });

  it('a malformed line names the file and line; a missing part_locs.txt means no keypoints', async () => {
    const dir = path.join(tmp.dir, 'bad');
    cpSync(root, dir, { recursive: true });
    const locs = path.join(dir, 'parts', 'part_locs.txt');
    const lines = readFileSync(locs, 'utf8').split('\n');
    for (const [line, why] of [
      ['7 2 12.0 oops 1', /part_locs\.txt:7: the position '12.0 oops' is not two numbers/],
      ['7 99 1 1 1', /part_locs\.txt:7: part id 99 is not in .*parts\.txt/],
      ['7 2 1 1', /part_locs\.txt:7: expected '<image> <part id> <x> <y> <visible>'/],
      ['7 2 1 1 yes', /part_locs\.txt:7: visible must be 0 or 1, got 'yes'/],
    ] as const) {
      writeFileSync(locs, [...lines.slice(0, 6), line, ...lines.slice(7)].join('\n'));
      await assert.rejects(readKeypoints('cub', dir), why);
    }
    writeFileSync(path.join(dir, 'parts', 'part_locs.txt'), '');
    assert.equal((await readKeypoints('cub', dir))!.byImage.size, 0);
  });

  it('the project keeps the mapping; validation flags empty, doubly mapped and unknown keypoints', async () => {
    const text = readFileSync(path.join(SAMPLE_DIR, 'tiny-birds.pscl.json'), 'utf8');
    const parsed = parseProject(text);
    const eye = parsed.project!.parts.bird.find((p) => p.name === 'eye')!;
    assert.deepEqual(eye.keypoints, ['left_eye', 'right_eye']);
    const bad = text.replace('"keypoints": ["beak"]', '"keypoints": ["beak", "left_eye", "", "bek"]');
    const codes = (names?: string[]) => validateProject(parseProject(bad), { datasetKeypoints: names }).map((d) => `${d.code}:${d.message}`);
    assert.ok(codes().some((c) => c.startsWith("duplicate-keypoint:keypoint 'left_eye' is mapped to part 'beak' and to 'eye' of 'bird'")), codes().join('\n'));
    assert.ok(codes().some((c) => c.startsWith("empty-keypoint:empty keypoint name for part 'beak'")));
    assert.ok(!codes().some((c) => c.startsWith('unknown-keypoint')), 'no dataset, no dataset check');
    const names = readFileSync(path.join(root, 'parts', 'parts.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ')[1]);
    const unknowns = validateProject(parseProject(bad), { datasetKeypoints: names }).filter((d) => d.code === 'unknown-keypoint');
    assert.equal(unknowns.length, 1);
    const unknown = unknowns[0];
    assert.match(unknown.message, /keypoint 'bek' of part 'beak' is not a part of the dataset's parts file/);
    assert.deepEqual(unknown.data, { coarse: 'bird', part: 'beak', keypoint: 'bek', suggestedKeypoint: 'beak' });
    // through the file check, which reads the dataset's parts file
    const dir = path.join(tmp.dir, 'sample');
    cpSync(SAMPLE_DIR, dir, { recursive: true, filter: sampleFilesOnly });
    writeFileSync(path.join(dir, 'tiny-birds.pscl.json'), text.replace('"keypoints": ["tail"]', '"keypoints": ["tail_feathers"]'));
    const diags = await checkProjectFile(path.join(dir, 'tiny-birds.pscl.json'));
    assert.deepEqual(diags.map((d) => d.code), ['unknown-keypoint']);
  });

  it('the keypoint mapping is not part of the part-prompts hash', () => {
    const text = readFileSync(path.join(SAMPLE_DIR, 'tiny-birds.pscl.json'), 'utf8');
    const a = parseProject(text).project!;
    const b = parseProject(text.replace('"keypoints": ["tail"]', '"keypoints": ["tail", "back"]')).project!;
    const c = parseProject(text.replace('"prompts": ["tail", "tail feathers"]', '"prompts": ["tail"]')).project!;
    assert.equal(partPromptsHash(a), partPromptsHash(b));
    assert.notEqual(partPromptsHash(a), partPromptsHash(c));
    // a project without any mapping hashes as before the mapping existed
    const bare = parseProject(text.replace(/, "keypoints": \[[^\]]*\]/g, '')).project!;
    assert.equal(partPromptsHash(bare), partPromptsHash(a));
  });
});
