// The Taxonomy view's model (no vscode): nesting, facets, counts, filter, drop targets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProject } from '../../src/core/taxonomy/project';
import { validateProject } from '../../src/core/taxonomy/validate';
import type { ProjectSnapshot } from '../../src/extension/project/store';
import { dropTarget, TaxonomyModel, type TaxonomyNode } from '../../src/extension/taxonomy/model';

const TEXT = JSON.stringify({
  version: 1,
  name: 'Planes',
  dataset: { format: 'aircraft', root: 'data' },
  levels: ['coarse', 'manufacturer', { name: 'engines', kind: 'facet' }, 'variant'],
  classes: [
    { id: '1', name: '737-200', path: { coarse: 'airplane', manufacturer: 'Boeing', engines: 'twinjet' }, aliases: ['Jurassic jet'] },
    { id: '2', name: '747-400', path: { coarse: 'airplane', manufacturer: 'Boeing', engines: 'quadjet' } },
    { id: '3', name: 'A340-300', path: { coarse: 'airplane', manufacturer: 'Airbus', engines: 'quadjet' } },
  ],
});

function snapshot(text = TEXT, counts?: Map<string, number>): ProjectSnapshot {
  const parsed = parseProject(text, 'planes.pscl.json');
  return { key: 'file:///w/planes.pscl.json', relativePath: 'planes.pscl.json', parsed, diagnostics: validateProject(parsed), imageCounts: counts };
}

function labels(model: TaxonomyModel, nodes: readonly TaxonomyNode[]): string[] {
  return nodes.map((n) => model.view(n).label);
}

test('nested levels form the tree, facets are groupings, with counts in descriptions', () => {
  const model = new TaxonomyModel();
  model.setSnapshots([snapshot(TEXT, new Map([['1', 10], ['2', 5], ['3', 7]]))]);
  const [project] = model.getRoots();
  assert.equal(model.view(project).description, '3 classes · 1 warning · planes.pscl.json'); // no parts for 'airplane'
  const top = model.getChildren(project);
  assert.deepEqual(labels(model, top), ['airplane', 'by engines']);
  assert.equal(model.view(top[0]).description, 'coarse · 3 classes · 22 images');
  const makers = model.getChildren(top[0]);
  assert.deepEqual(labels(model, makers), ['Boeing', 'Airbus']);
  assert.equal(model.view(makers[0]).description, 'manufacturer · 2 classes · 15 images');
  const boeing = model.getChildren(makers[0]);
  assert.deepEqual(labels(model, boeing), ['737-200', '747-400']);
  assert.equal(model.view(boeing[0]).contextValue, 'pscl.class');
  assert.equal(model.view(boeing[0]).description, '#1 · 10 images');
  const facets = model.getChildren(top[1]);
  assert.deepEqual(labels(model, facets), ['twinjet', 'quadjet']);
  assert.deepEqual(labels(model, model.getChildren(facets[1])), ['747-400', 'A340-300']);
  // Ids are unique across the whole view (VS Code requires it).
  const ids = [...model.walk()].map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length);
});

test('children are cached per snapshot, and a new snapshot keeps the same ids', () => {
  const model = new TaxonomyModel();
  model.setSnapshots([snapshot()]);
  const [p] = model.getRoots();
  assert.equal(model.getChildren(p), model.getChildren(p));
  const before = [...model.walk()].map((n) => n.id);
  model.setSnapshots([snapshot(TEXT.replace('747-400', '747-8'))]);
  const after = [...model.walk()].map((n) => n.id);
  assert.deepEqual(after, before, 'class ids, not names, key the class nodes');
});

test('the filter keeps matching branches and classes (names, ids, aliases) and opens them', () => {
  const model = new TaxonomyModel();
  model.setSnapshots([snapshot()]);
  model.setFilter('jurassic');
  const all = [...model.walk()];
  assert.deepEqual(all.filter((n) => n.kind === 'class').map((n) => (n.kind === 'class' ? n.classId : '')), ['1', '1']);
  const airplane = all.find((n) => n.kind === 'value')!;
  assert.equal(model.view(airplane).collapsible, 'expanded');
  model.setFilter('airbus');
  const classes = [...model.walk()].filter((n) => n.kind === 'class');
  assert.deepEqual(classes.map((n) => model.view(n).label), ['A340-300'], 'a matching branch shows its classes');
  model.setFilter('nothing like this');
  assert.deepEqual(labels(model, model.getChildren(model.getRoots()[0])), ["nothing matches 'nothing like this'"]);
});

test('a file that does not parse shows its error count instead of a tree', () => {
  const model = new TaxonomyModel();
  model.setSnapshots([snapshot('{ "version": 1, "name": "x" "levels": [] }')]);
  const [p] = model.getRoots();
  assert.equal(model.view(p).contextValue, 'pscl.project.invalid');
  const [msg] = model.getChildren(p);
  assert.equal(msg.kind, 'message');
  assert.match(model.view(msg).label, /\d+ errors?: see Problems/);
});

test('drop targets: a branch, a facet value, or a class (its branch)', () => {
  const model = new TaxonomyModel();
  model.setSnapshots([snapshot()]);
  const nodes = [...model.walk()];
  const boeing = nodes.find((n) => n.kind === 'value' && n.tree.value === 'Boeing')!;
  assert.deepEqual(dropTarget(boeing), { level: 'manufacturer', value: 'Boeing' });
  const quad = nodes.find((n) => n.kind === 'facetValue' && n.value === 'quadjet')!;
  assert.deepEqual(dropTarget(quad), { level: 'engines', value: 'quadjet' });
  const a340 = nodes.find((n) => n.kind === 'class' && n.classId === '3' && n.parent?.kind === 'value')!;
  assert.deepEqual(dropTarget(a340), { level: 'manufacturer', value: 'Airbus' });
  assert.equal(dropTarget(model.getRoots()[0]), undefined);
});
