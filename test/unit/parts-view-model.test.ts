// The Parts view's model (no vscode): project -> coarse -> part -> phrasing, labels and menus.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProject } from '../../src/core/taxonomy/project';
import { validateProject } from '../../src/core/taxonomy/validate';
import { PartsModel, type PartsNode } from '../../src/extension/parts/model';
import type { ProjectSnapshot } from '../../src/extension/project/store';

const TEXT = JSON.stringify({
  version: 1,
  name: 'Mixed',
  dataset: { format: 'imagefolder', root: 'data' },
  levels: ['coarse', 'species'],
  classes: [
    { id: '1', name: 'Robin', path: { coarse: 'bird' } },
    { id: '2', name: '737', path: { coarse: 'airplane' } },
  ],
  parts: {
    bird: [
      { name: 'wing', prompts: ['wing', 'wingtip'] },
      { name: 'beak', prompts: ['beak'] },
    ],
    boat: [{ name: 'hull', prompts: ['hull'] }],
  },
});

function snapshot(text = TEXT): ProjectSnapshot {
  const parsed = parseProject(text, 'mixed.pscl.json');
  return { key: 'file:///w/mixed.pscl.json', relativePath: 'mixed.pscl.json', parsed, diagnostics: validateProject(parsed) };
}

const labels = (m: PartsModel, nodes: readonly PartsNode[]) => nodes.map((n) => m.view(n).label);

test('coarse categories from the classes, then part-only keys; parts in order with their phrasings', () => {
  const m = new PartsModel();
  m.setSnapshots([snapshot()]);
  const [root] = m.getRoots();
  assert.equal(m.view(root).label, 'Mixed');
  assert.equal(m.view(root).description, '3 parts · mixed.pscl.json');
  assert.equal(m.view(root).collapsible, 'expanded');
  const [...coarse] = m.getChildren(root);
  const templates = coarse.pop()!;
  assert.deepEqual(labels(m, coarse), ['bird', 'airplane', 'boat']);
  assert.equal(templates.kind, 'templates');
  assert.deepEqual(coarse.map((c) => m.view(c).description), ['2 parts', 'no parts yet', 'no class has this coarse category']);
  assert.deepEqual(coarse.map((c) => m.view(c).icon.id), ['symbol-namespace', 'warning', 'warning']);
  assert.ok(coarse.every((c) => m.view(c).contextValue === 'pscl.parts.coarse'));
  const parts = m.getChildren(coarse[0]);
  assert.deepEqual(labels(m, parts), ['wing', 'beak']);
  assert.equal(m.view(parts[0]).description, '"wing", "wingtip"');
  assert.equal(m.view(parts[0]).contextValue, 'pscl.parts.part');
  assert.match(m.view(parts[1]).tooltip, /mask label 2/);
  const phrasings = m.getChildren(parts[0]);
  assert.deepEqual(labels(m, phrasings), ['wing', 'wingtip']);
  assert.deepEqual(phrasings.map((p) => p.kind === 'phrasing' && [p.coarse, p.part, p.index]), [['bird', 'wing', 0], ['bird', 'wing', 1]]);
  assert.equal(m.view(phrasings[1]).contextValue, 'pscl.parts.phrasing');
});

test('node ids are unique; an unchanged snapshot keeps its nodes, a new one gets new ones', () => {
  const m = new PartsModel();
  const s = snapshot();
  m.setSnapshots([s]);
  const ids = [...m.walk()].map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length);
  const root = m.getRoots()[0];
  m.setSnapshots([s]);
  assert.equal(m.getRoots()[0], root);
  m.setSnapshots([snapshot(TEXT.replace('wingtip', 'wing tip'))]);
  assert.notEqual(m.getRoots()[0], root);
  assert.ok([...m.walk()].some((n) => n.kind === 'phrasing' && n.text === 'wing tip'));
});

test('an unreadable file shows a message row, not a crash', () => {
  const m = new PartsModel();
  m.setSnapshots([snapshot('{ "version": 1, ')]);
  const children = m.getChildren(m.getRoots()[0]);
  assert.equal(children.length, 1);
  assert.equal(children[0].kind, 'message');
});

test('templates: class then part templates, each its own row (the parsed defaults when the file has none)', () => {
  const m = new PartsModel();
  const text = JSON.stringify({ ...JSON.parse(TEXT), templates: { class: ['a photo of a {name}.'], part: ['the {part} of a {coarse}.', 'a {coarse} {part}.'] } });
  m.setSnapshots([snapshot(text)]);
  const templates = m.getChildren(m.getRoots()[0]).at(-1)!;
  assert.equal(m.view(templates).description, '1 class · 2 part');
  const rows = m.getChildren(templates);
  assert.deepEqual(labels(m, rows), ['a photo of a {name}.', 'the {part} of a {coarse}.', 'a {coarse} {part}.']);
  assert.deepEqual(rows.map((r) => r.kind === 'template' && `${r.templateKind}${r.index}`), ['class0', 'part0', 'part1']);
  assert.ok(rows.every((r) => m.view(r).contextValue === 'pscl.parts.template'));
});
