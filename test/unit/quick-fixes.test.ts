// Each quick fix, applied to the text, makes its diagnostic go away and keeps the rest of the file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyEdits } from '../../src/core/taxonomy/edits';
import { parseProject } from '../../src/core/taxonomy/project';
import { validateProject } from '../../src/core/taxonomy/validate';
import { fixesFor } from '../../src/extension/project/quickFixes';

const project = (classes: string, levels = '["coarse", "order", "family", "species"]') => `{
  // a comment that must survive
  "version": 1,
  "name": "Fix me",
  "dataset": { "format": "cub", "root": "x" },
  "levels": ${levels},
  "classes": [
${classes}
  ],
  "parts": { "bird": [ { "name": "head", "prompts": ["head"] } ] }
}
`;

function diagnostics(text: string, datasetClassIds?: string[]) {
  return validateProject(parseProject(text), datasetClassIds ? { datasetClassIds } : {});
}

test('missing level value: set it to what the other classes of that family have', () => {
  const text = project(
    [
      '    { "id": "1", "name": "A", "path": { "coarse": "bird", "order": "O1", "family": "F1" } },',
      '    { "id": "2", "name": "B", "path": { "coarse": "bird", "family": "F1" } }',
    ].join('\n'),
  );
  const d = diagnostics(text).find((x) => x.code === 'missing-level-value')!;
  assert.ok(d, 'the validator reports the missing order');
  const [fix] = fixesFor(d.code, d.data);
  assert.equal(fix.title, "Set order to 'O1' (as in the other classes)");
  const fixed = applyEdits(text, fix.edits(text));
  assert.deepEqual(diagnostics(fixed).filter((x) => x.severity === 'error'), []);
  assert.ok(fixed.includes('// a comment that must survive'));
  assert.equal(fixed.split('\n').length, text.split('\n').length, 'one line changed, none added');
});

test('a class the dataset does not have: remove it', () => {
  const text = project(
    [
      '    { "id": "1", "name": "A", "path": { "coarse": "bird", "order": "O", "family": "F" } },',
      '    { "id": "99", "name": "Ghost", "path": { "coarse": "bird", "order": "O", "family": "F" } }',
    ].join('\n'),
  );
  const d = diagnostics(text, ['1']).find((x) => x.code === 'class-not-in-dataset')!;
  const [fix] = fixesFor(d.code, d.data);
  const fixed = applyEdits(text, fix.edits(text));
  assert.ok(!fixed.includes('Ghost'));
  assert.deepEqual(diagnostics(fixed, ['1']).filter((x) => x.code === 'class-not-in-dataset'), []);
  assert.equal(parseProject(fixed).project!.classes.length, 1);
});

test('a nested level used as a facet: mark it as a facet', () => {
  const rows: string[] = [];
  let id = 1;
  for (const order of ['O1', 'O2']) for (const engines of ['twin', 'quad']) rows.push(`    { "id": "${id}", "name": "C${id++}", "path": { "coarse": "bird", "order": "${order}", "family": "${engines}" } }`);
  const text = project(rows.join(',\n'));
  const all = diagnostics(text);
  const conflict = all.find((x) => x.code === 'nesting-conflict')!;
  const facetFix = fixesFor(conflict.code, conflict.data).find((f) => f.title.startsWith('Mark level'))!;
  assert.equal(facetFix.title, "Mark level 'family' as a facet");
  const fixed = applyEdits(text, facetFix.edits(text));
  assert.match(fixed, /"levels": \["coarse", "order", \{ "name": "family", "kind": "facet" \}, "species"\]/);
  assert.deepEqual(diagnostics(fixed).filter((x) => x.code === 'nesting-conflict' || x.code === 'facet-suggested'), []);
});

test('codes without an obvious fix offer none', () => {
  assert.deepEqual(fixesFor('duplicate-id', { classId: '1' }), []);
  assert.deepEqual(fixesFor('missing-level-value', { classId: '1', level: 'order' }), [], 'no suggestion, no fix');
});
