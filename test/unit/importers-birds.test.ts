import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { importCub, importNabirds, ImportError, loadImages } from '../../src/core/taxonomy/importers';
import { parseProject, serializeProject } from '../../src/core/taxonomy/project';
import { levelValues } from '../../src/core/taxonomy/tree';
import { validateProject } from '../../src/core/taxonomy/validate';
import { writeCubFixture } from '../fixtures/datasets';
import { nabirdsLike, NABIRDS_LIKE } from '../fixtures/nabirds';
import { realNabirds, repoRoot, skipWithoutRealNabirds, tempDir, testData } from '../helpers/paths';

const DATA = testData;
const tmp = tempDir();
after(tmp.cleanup);

/** Errors and warnings after a write/parse round trip of the imported project. */
function problems(project: Parameters<typeof serializeProject>[0], datasetClassIds?: string[]) {
  return validateProject(parseProject(serializeProject(project)), { datasetClassIds }).filter((d) => d.severity !== 'info');
}

/** Values per depth of the human-readable tree file ('-- ' = depth 1), an independent reading. */
function treeDepthValues(file: string): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(-+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const d = m[1].length / 2;
    if (!out.has(d)) out.set(d, new Set());
    out.get(d)!.add(m[2]);
  }
  return out;
}

describe('CUB-200-2011 importer', () => {
  it('reads the 200 real classes with their names', async () => {
    const { project, images, warnings } = await importCub(path.join(DATA, 'cub'));
    assert.equal(project.classes.length, 200);
    assert.deepEqual(project.levels.map((l) => l.name), ['coarse', 'species']);
    assert.deepEqual(project.classes[0], { id: '1', name: 'Black footed Albatross', path: { coarse: 'bird' }, source: '001.Black_footed_Albatross' });
    assert.equal(project.classes[199].name, 'Common Yellowthroat');
    assert.deepEqual(images, []);
    assert.ok(warnings.some((w) => w.includes('images.txt not found')));
    assert.deepEqual(problems(project), []);
  });

  it('builds order > family > genus > species from the flat hierarchy, matching the tree file', async () => {
    const dir = path.join(DATA, 'cub-hierarchy');
    const { project, warnings } = await importCub(path.join(DATA, 'cub'), { hierarchy: path.join(dir, 'cub_flat.parent-child.txt') });
    assert.deepEqual(warnings.filter((w) => !w.includes('images.txt')), []);
    assert.deepEqual(project.levels.map((l) => l.name), ['coarse', 'order', 'family', 'genus', 'species']);
    const values = levelValues(project);
    const tree = treeDepthValues(path.join(dir, 'hierarchy_flat.txt'));
    assert.deepEqual(new Set(values.get('order')), tree.get(1));
    assert.deepEqual(new Set(values.get('family')), tree.get(2));
    // Genera: the tree's depth-3 nodes (genus-level classes such as Geococcyx are among them).
    assert.deepEqual(new Set(values.get('genus')), tree.get(3));
    assert.equal(values.get('species')!.length, 200);
    const albatross = project.classes[0];
    assert.deepEqual(albatross.path, { coarse: 'bird', order: 'Procellariiformes', family: 'Diomedeidae', genus: 'Phoebastria' });
    assert.deepEqual(albatross.aliases, ['Phoebastria nigripes']);
    const geococcyx = project.classes.find((c) => c.id === '110')!;
    assert.deepEqual(geococcyx.path, { coarse: 'bird', order: 'Cuculiformes', family: 'Cuculidae', genus: 'Geococcyx' });
    assert.deepEqual(problems(project), [], 'the imported tree nests strictly');
  });

  it('names internal nodes from the tree file when the names file only names the leaves', async () => {
    const dir = path.join(DATA, 'cub-hierarchy');
    const { project } = await importCub(path.join(DATA, 'cub'), { hierarchy: path.join(dir, 'cub_wikispecies.parent-child.txt') });
    assert.deepEqual(project.levels.map((l) => l.name), ['coarse', 'order', 'suborder', 'superfamily', 'family', 'subfamily', 'genus', 'species']);
    const all = project.classes.flatMap((c) => Object.values(c.path));
    assert.ok(!all.some((v) => v.startsWith('node ')), 'every node has a name');
    const gull = project.classes.find((c) => c.source === '059.California_Gull')!;
    assert.equal(gull.path.family, 'Laridae');
    assert.equal(gull.path.subfamily, 'Larinae');
    assert.equal(gull.path.suborder, 'Lari');
    assert.deepEqual(problems(project), []);
  });

  it('reads images, labels and splits; copes with the trailing space and CRLF lines', async () => {
    const root = path.join(tmp.dir, 'cub');
    writeCubFixture(root);
    const { project, images, warnings } = await importCub(root, { projectFile: path.join(tmp.dir, 'p.pscl.json') });
    assert.equal(project.dataset.root, 'cub');
    assert.equal(project.classes[2].name, 'Sooty Albatross');
    assert.equal(images.length, 6);
    assert.deepEqual(images[0], { key: '1', path: 'images/001.Black_footed_Albatross/Black_footed_Albatross_0.jpg', classId: '1', split: 'train' });
    assert.deepEqual(images.map((i) => i.split), ['train', 'test', 'train', 'test', 'train', 'test']);
    assert.ok(warnings.some((w) => w.includes('1 images') && w.includes('no known class')));
    assert.deepEqual(project.parts.bird.map((p) => p.name), ['back', 'beak', 'eye', 'wing']);
  });

  it('fails with a clear error when the folder is not a CUB dataset', async () => {
    await assert.rejects(importCub(tmp.dir + '/nothing'), (err: Error) => err instanceof ImportError && /classes\.txt not found: is --root the CUB_200_2011 folder/.test(err.message));
  });

  it('re-reads the bundled sample images through loadImages', async () => {
    const file = path.join(repoRoot, 'samples', 'tiny-birds', 'tiny-birds.pscl.json');
    const parsed = parseProject(readFileSync(file, 'utf8'));
    const { images } = await loadImages(parsed.project!, file);
    assert.equal(images.length, 72);
    assert.equal(images.filter((i) => i.split === 'test').length, 24);
    assert.deepEqual(validateProject(parsed).filter((d) => d.severity !== 'info'), []);
  });
});

/** Reads classes.txt and hierarchy.txt independently of the importer: names, parents. */
function readTree(root: string) {
  const names = new Map<string, string>();
  for (const l of readFileSync(path.join(root, 'classes.txt'), 'utf8').trim().split('\n')) names.set(l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1).trim());
  const parent = new Map<string, string>();
  for (const l of readFileSync(path.join(root, 'hierarchy.txt'), 'utf8').trim().split('\n')) {
    const [c, p] = l.trim().split(' ');
    parent.set(c, p);
  }
  return { names, parent };
}

/** The checks that hold for any NABirds-format tree: every leaf with its full ancestor chain. */
async function checkNabirdsImport(root: string) {
  const { project, images, warnings } = await importNabirds(root);
  assert.deepEqual(warnings, []);
  assert.deepEqual(project.levels.map((l) => l.name), ['coarse', 'group', 'family', 'species', 'category']);
  const { names, parent } = readTree(root);
  const ids = project.classes.map((c) => Number(c.id));
  assert.ok(ids.some((id) => id > 554), 'leaf ids are sparse, not 0..554');
  for (const cls of project.classes) {
    const chain: string[] = [];
    for (let p = parent.get(cls.id); p !== undefined && parent.has(p); p = parent.get(p)) chain.unshift(names.get(p)!);
    assert.equal(cls.name, names.get(cls.id));
    assert.equal(cls.path.species, chain[chain.length - 1], `species of ${cls.name}`);
    assert.equal(cls.path.group, chain[0], `group of ${cls.name}`);
    assert.equal(cls.path.family, chain.length === 3 ? chain[1] : chain[0], `family of ${cls.name}`);
    assert.equal(cls.path.coarse, 'bird');
  }
  assert.deepEqual(new Set(images.map((i) => i.split)), new Set(['train', 'test']));
  assert.match(images[0].path, /^images\/\d{4}\/[0-9a-f]{32}\.jpg$/);
  assert.deepEqual(project.parts.bird.map((p) => p.name), ['bill', 'crown', 'nape', 'eye', 'belly', 'breast', 'back', 'tail', 'wing']);
  assert.deepEqual(problems(project, project.classes.map((c) => c.id)), []);
  return { project, images };
}

describe('NABirds importer', () => {
  it('imports a NABirds-format tree of the real shape and size (generated): 555 leaves, each with its ancestor chain', async () => {
    const { project, images } = await checkNabirdsImport(nabirdsLike());
    assert.equal(project.classes.length, NABIRDS_LIKE.leaves);
    assert.equal(images.length, NABIRDS_LIKE.images);
    assert.equal(images.filter((i) => i.split === 'train').length, NABIRDS_LIKE.train);
    for (const [level, n] of Object.entries(NABIRDS_LIKE.levelCounts)) assert.equal(levelValues(project).get(level)!.length, n, `${level} values`);
    // Plumage variants hang under a plain species node that has no images of its own.
    const variants = project.classes.filter((c) => c.name.endsWith('(Female/juvenile)'));
    assert.ok(variants.length > 50);
    for (const v of variants) assert.equal(v.path.species, v.name.replace(' (Female/juvenile)', ''));
  });

  it('imports the real NABirds metadata: 555 classes, Common Eider\'s three plumages, 48,562 images', { skip: skipWithoutRealNabirds() }, async () => {
    const { project, images } = await checkNabirdsImport(realNabirds()!);
    assert.equal(project.classes.length, 555);
    const eider = project.classes.filter((c) => c.path.species === 'Common Eider').map((c) => c.name).sort();
    assert.deepEqual(eider, ['Common Eider (Adult male)', 'Common Eider (Female/juvenile)', 'Common Eider (Immature/Eclipse male)']);
    assert.equal(images.length, 48562);
  });
});
