import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addClass,
  addLevel,
  applyEdits,
  deleteClass,
  deleteValue,
  EditError,
  moveClass,
  removeLevel,
  renameClass,
  renameLevel,
  renameValue,
  setLevelKind,
  type Edit,
} from '../../src/core/taxonomy/edits';
import { parseProject } from '../../src/core/taxonomy/project';
import { taxonomyTree } from '../../src/core/taxonomy/tree';
import { validateProject } from '../../src/core/taxonomy/validate';

const TEXT = `{
  // The taxonomy of a few seabirds. Comments and odd spacing must survive edits.
  "version": 1,
  "name": "seabirds",
  "dataset": {"format": "cub", "root": "CUB"},
  "levels": ["coarse", "family", "genus", "species"],
  "classes": [
    { "id": "1", "name": "Black-footed Albatross", "path": { "coarse": "bird", "family": "Diomedeidae", "genus": "Phoebastria" } }, // first
    { "id": "2", "name": "Laysan Albatross", "path": { "coarse": "bird", "family": "Diomedeidae", "genus": "Phoebastria" } },
    {
      "id": "3",
      "name": "Herring Gull",
      "path": {
        "coarse": "bird",
        "family": "Laridae",
        "genus": "Larus"
      }
    }
  ],
  "parts": { "bird": [ {"name": "head", "prompts": ["head"]} ] },
  "templates": { "class": ["a {name}, a {level:genus}"], "part": ["the {part}"] }
}
`;

const apply = (edits: Edit[]) => applyEdits(TEXT, edits);
const project = (text: string) => {
  const p = parseProject(text);
  assert.deepEqual(p.diagnostics, [], 'the edited text parses cleanly');
  return p.project!;
};

/** Everything outside the edited spans is byte-identical. */
function assertOnlyTouched(edits: Edit[], result: string) {
  const sorted = [...edits].sort((a, b) => a.offset - b.offset);
  let src = 0;
  let dst = 0;
  for (const e of sorted) {
    assert.equal(result.slice(dst, dst + (e.offset - src)), TEXT.slice(src, e.offset));
    dst += e.offset - src + e.content.length;
    src = e.offset + e.length;
  }
  assert.equal(result.slice(dst), TEXT.slice(src));
}

describe('taxonomy edits', () => {
  it('adds a class in the style of its neighbours, keeping comments', () => {
    const edits = addClass(TEXT, { id: '4', name: 'Ivory Gull', path: { coarse: 'bird', family: 'Laridae', genus: 'Pagophila' } });
    const out = apply(edits);
    assertOnlyTouched(edits, out);
    assert.ok(out.includes('// The taxonomy of a few seabirds.') && out.includes('// first'));
    assert.deepEqual(project(out).classes.map((c) => c.id), ['1', '2', '3', '4']);
    assert.throws(() => addClass(TEXT, { id: '1', name: 'x', path: {} }), EditError);
  });

  it('renames and deletes classes, removing the comment that belongs to the deleted line', () => {
    const renamed = apply(renameClass(TEXT, '2', 'Laysan albatross'));
    assert.equal(project(renamed).classes[1].name, 'Laysan albatross');
    const deletedFirst = apply(deleteClass(TEXT, '1'));
    assert.ok(!deletedFirst.includes('// first') && !deletedFirst.includes('Black-footed'));
    assert.deepEqual(project(deletedFirst).classes.map((c) => c.id), ['2', '3']);
    const deletedLast = apply(deleteClass(TEXT, '3'));
    assert.deepEqual(project(deletedLast).classes.map((c) => c.id), ['1', '2']);
    assert.throws(() => deleteClass(TEXT, '99'), /no class with id '99'/);
  });

  it('moves a class and takes the ancestors of the value it moves to', () => {
    const edits = moveClass(TEXT, '1', 'genus', 'Larus');
    const out = apply(edits);
    assertOnlyTouched(edits, out);
    assert.deepEqual({ ...project(out).classes[0].path }, { coarse: 'bird', family: 'Laridae', genus: 'Larus' });
    assert.deepEqual(validateProject(parseProject(out)).filter((d) => d.code === 'nesting-conflict'), []);
    assert.throws(() => moveClass(TEXT, '1', 'species', 'x'), /rename the class/);
  });

  it('renames and deletes intermediate values', () => {
    const renamed = project(apply(renameValue(TEXT, 'family', 'Diomedeidae', 'Albatrosses')));
    assert.deepEqual(renamed.classes.map((c) => c.path.family), ['Albatrosses', 'Albatrosses', 'Laridae']);
    const coarse = apply(renameValue(TEXT, 'coarse', 'bird', 'seabird'));
    assert.deepEqual(Object.keys(project(coarse).parts), ['seabird'], 'the parts follow the coarse value');
    assert.throws(() => deleteValue(TEXT, 'genus', 'Phoebastria'), /still has 2 classes/);
    const moved = project(apply(deleteValue(TEXT, 'genus', 'Phoebastria', 'Larus')));
    assert.deepEqual(moved.classes.map((c) => `${c.path.family}/${c.path.genus}`), ['Laridae/Larus', 'Laridae/Larus', 'Laridae/Larus']);
    assert.deepEqual(deleteValue(TEXT, 'genus', 'Nothing', 'Larus'), []);
  });

  it('adds, renames, removes levels and changes their kind', () => {
    const added = project(apply(addLevel(TEXT, 'order', { index: 1, value: (c) => (c.path.family === 'Laridae' ? 'Charadriiformes' : 'Procellariiformes') })));
    assert.deepEqual(added.levels.map((l) => l.name), ['coarse', 'order', 'family', 'genus', 'species']);
    assert.equal(added.classes[2].path.order, 'Charadriiformes');
    const defaulted = project(apply(addLevel(TEXT, 'subgenus')));
    assert.deepEqual(defaulted.classes.map((c) => c.path.subgenus), ['Phoebastria', 'Phoebastria', 'Larus'], 'default: the value above');
    const renamedText = apply(renameLevel(TEXT, 'genus', 'Genus'));
    const renamed = project(renamedText);
    assert.equal(renamed.levels[2].name, 'Genus');
    assert.equal(renamed.classes[2].path.Genus, 'Larus');
    assert.deepEqual(renamed.templates.class, ['a {name}, a {level:Genus}']);
    const removed = project(apply(removeLevel(TEXT, 'family')));
    assert.deepEqual(removed.classes.map((c) => Object.keys(c.path)), [['coarse', 'genus'], ['coarse', 'genus'], ['coarse', 'genus']]);
    assert.throws(() => removeLevel(TEXT, 'coarse'), /coarse level cannot be removed/);
    const facet = project(apply(setLevelKind(TEXT, 'family', 'facet')));
    assert.deepEqual(facet.levels[1], { name: 'family', kind: 'facet' });
  });

  it('refuses to edit a file with syntax errors', () => {
    assert.throws(() => renameClass('{ "classes": [ }', '1', 'x'), /syntax errors/);
  });
});

describe('taxonomyTree', () => {
  it('builds nested levels as a tree with counts and facets as groupings', () => {
    const withSize = apply(addLevel(TEXT, 'size', { index: 2, value: (c) => (c.id === '3' ? 'large' : 'medium') }));
    const p = project(applyEdits(withSize, setLevelKind(withSize, 'size', 'facet')));
    const tree = taxonomyTree(p, new Map([['1', 10], ['2', 5], ['3', 7]]));
    assert.equal(tree.roots.length, 1);
    const bird = tree.roots[0];
    assert.deepEqual([bird.value, bird.classCount, bird.imageCount], ['bird', 3, 22]);
    assert.deepEqual(bird.children.map((f) => [f.level, f.value, f.classCount, f.imageCount]), [['family', 'Diomedeidae', 2, 15], ['family', 'Laridae', 1, 7]]);
    const larus = bird.children[1].children[0];
    assert.deepEqual([larus.level, larus.value], ['genus', 'Larus']);
    assert.deepEqual(larus.children.map((c) => [c.classId, c.value]), [['3', 'Herring Gull']]);
    assert.deepEqual(tree.facets.map((f) => [f.level, f.groups.map((g) => [g.value, g.classIds, g.imageCount])]), [['size', [['medium', ['1', '2'], 15], ['large', ['3'], 7]]]]);
  });
});

describe('field writers', () => {
  it('sets descriptions, aliases, parts and templates without touching the rest', async () => {
    const { setClassField, setParts, setTemplates } = await import('../../src/core/taxonomy/edits');
    const described = apply(setClassField(TEXT, '3', 'description', 'grey back, pink legs'));
    assert.equal(project(described).classes[2].description, 'grey back, pink legs');
    assert.ok(described.includes('// first'));
    const aliased = applyEdits(described, setClassField(described, '3', 'aliases', ['Larus argentatus']));
    assert.deepEqual(project(aliased).classes[2].aliases, ['Larus argentatus']);
    const undescribed = applyEdits(aliased, setClassField(aliased, '3', 'description', undefined));
    assert.equal(project(undescribed).classes[2].description, undefined);
    const partsEdits = setParts(TEXT, 'bird', [{ name: 'head', prompts: ['head'] }, { name: 'wing', prompts: ['wing', 'flight feathers'] }]);
    const withParts = apply(partsEdits);
    assertOnlyTouched(partsEdits, withParts);
    assert.deepEqual(project(withParts).parts.bird.map((p) => p.name), ['head', 'wing']);
    const templ = apply(setTemplates(TEXT, 'part', ['a close-up of the {part} of a {coarse}.']));
    assert.deepEqual(project(templ).templates.part, ['a close-up of the {part} of a {coarse}.']);
    assert.ok(templ.startsWith('{\n  // The taxonomy of a few seabirds.'));
  });
});
