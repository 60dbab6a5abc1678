import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEvalReport } from '../../src/core/runs/evalReport';
import { classRows, levelAccuracies, mostConfidentlyWrong, rollUp, sortClassRows, taxonomyFromProject, taxonomyFromReport } from '../../src/core/runs/confusion';

// 4 fine classes: two Boeings, two Airbuses, all airplanes
const classes = [
  { index: 0, id: 'b737', name: '737-200' },
  { index: 1, id: 'b747', name: '747-400' },
  { index: 2, id: 'a320', name: 'A320' },
  { index: 3, id: 'a380', name: 'A380' },
];
const confusion = [
  [5, 2, 1, 0],
  [1, 6, 0, 0],
  [0, 0, 3, 4],
  [0, 1, 0, 7],
];
const report = {
  split: 'test', epoch: 2, num_images: 30, top1: 21 / 30, top5: 1,
  levels: ['coarse', 'manufacturer', 'variant'],
  level_values: { coarse: ['airplane'], manufacturer: ['Boeing', 'Airbus'], variant: ['737-200', '747-400', 'A320', 'A380'] },
  per_level: { coarse: 1, manufacturer: 25 / 30, variant: 21 / 30 },
  classes: classes.map((c, i) => ({ ...c, level_index: [0, i < 2 ? 0 : 1, i] })),
  per_class: [{ index: 0, top5: 1 }, { index: 1, top5: 0.9 }, { index: 2, top5: 1 }, { index: 3, top5: 0.95 }],
  confusion,
  wrong: [
    { key: 'x1', path: 'img/x1.jpg', label: 2, pred: 3, confidence: 0.7 },
    { key: 'x2', path: 'img/x2.jpg', mask: 'masks/x2.png', label: 0, pred: 2, confidence: 0.95, top5: [[2, 0.95], [0, 0.03]] },
  ],
};
const text = JSON.stringify(report);

test('eval.json parses; per-class accuracy comes from the matrix; wrong images most confident first', () => {
  const r = parseEvalReport(text);
  assert.equal(r.numImages, 30);
  assert.deepEqual(r.perClass.map((c) => [c.count, c.correct]), [[8, 5], [7, 6], [7, 3], [8, 7]]);
  assert.equal(r.perClass[1].top5, 0.9);
  assert.deepEqual(r.wrong.map((w) => w.key), ['x2', 'x1']);
  assert.deepEqual(r.classLevels?.[2], ['airplane', 'Airbus', 'A320']);
});

test('roll-up of a hand-made matrix to the manufacturer and coarse levels', () => {
  const r = parseEvalReport(text);
  const tax = taxonomyFromReport(r);
  const m = rollUp(r.confusion, tax, 'manufacturer');
  assert.deepEqual(m.labels, ['Boeing', 'Airbus']);
  // Boeing row: 5+2+1+6 = 14 right, 1+0 = 1 as Airbus; Airbus row: 0+1 as Boeing, 3+4+0+7 = 14
  assert.deepEqual(m.counts, [[14, 1], [1, 14]]);
  assert.equal(m.correct, 28);
  assert.equal(m.maxOff, 1);
  const c = rollUp(r.confusion, tax, 'coarse');
  assert.deepEqual(c.counts, [[30]]);
  assert.deepEqual(rollUp(r.confusion, tax, 'variant').counts, confusion);
  const acc = levelAccuracies(r.confusion, tax);
  assert.equal(acc.coarse, 1);
  assert.equal(acc.manufacturer, 28 / 30);
  assert.equal(acc.variant, 21 / 30);
  assert.throws(() => rollUp(r.confusion, tax, 'family'), /unknown level "family"/);
});

test('the taxonomy from the project file matches classes by id, and unknown classes stay visible', () => {
  const project = {
    levels: [{ name: 'coarse' }, { name: 'manufacturer' }, { name: 'variant' }],
    classes: [
      { id: 'b737', name: '737-200', path: { coarse: 'airplane', manufacturer: 'Boeing' } },
      { id: 'b747', name: '747-400', path: { coarse: 'airplane', manufacturer: 'Boeing' } },
      { id: 'a320', name: 'A320', path: { coarse: 'airplane', manufacturer: 'Airbus' } },
    ],
  };
  const tax = taxonomyFromProject(project, classes);
  assert.deepEqual(tax.classLevels[3], ['(unknown)', '(unknown)', 'A380']);
  assert.deepEqual(rollUp(confusion, tax, 'manufacturer').labels, ['Boeing', 'Airbus', '(unknown)']);
  assert.deepEqual(rollUp(confusion, tax, 'manufacturer').counts, [[14, 1, 0], [0, 3, 4], [1, 0, 7]]);
});

test('class rows, sorting by every column, and the wrong gallery with near-miss levels', () => {
  const r = parseEvalReport(text);
  const tax = taxonomyFromReport(r);
  const rows = classRows(r, tax);
  assert.deepEqual(rows[2].path, ['airplane', 'Airbus']);
  assert.deepEqual(rows[2].topConfusion, { index: 3, name: 'A380', count: 4 });
  assert.deepEqual(sortClassRows(rows, 'top1', false).map((x) => x.name), ['A320', '737-200', '747-400', 'A380']);
  assert.deepEqual(sortClassRows(rows, 'top1', true).map((x) => x.name), ['A380', '747-400', '737-200', 'A320']);
  assert.deepEqual(sortClassRows(rows, 'name', true).map((x) => x.name), ['A380', 'A320', '747-400', '737-200']);
  assert.deepEqual(sortClassRows(rows, 'count', true).map((x) => x.index), [0, 3, 1, 2]);
  assert.deepEqual(sortClassRows(rows, 'top5', false).map((x) => x.index), [1, 3, 0, 2]);
  const wrong = mostConfidentlyWrong(r, 10, tax);
  assert.deepEqual(wrong.map((w) => [w.trueName, w.predName, w.sharedLevel]), [['737-200', 'A320', 'coarse'], ['A320', 'A380', 'manufacturer']]);
  assert.equal(wrong[0].mask, 'masks/x2.png');
});

test('malformed eval.json: errors name the file and the field', () => {
  const bad = (patch: object) => () => parseEvalReport(JSON.stringify({ ...report, ...patch }), '/runs/r1/eval.json');
  assert.throws(() => parseEvalReport('{', '/runs/r1/eval.json'), /^Error: \/runs\/r1\/eval.json: not valid JSON/);
  assert.throws(bad({ confusion: [[1, 2]] }), /"confusion" must be a 4x4 matrix/);
  assert.throws(bad({ confusion: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -1, 0], [0, 0, 0, 1]] }), /confusion\[2\]\[2\] must be a non-negative integer/);
  assert.throws(bad({ num_images: 31 }), /"num_images" is 31 but the confusion matrix counts 30/);
  assert.throws(bad({ top1: 70 }), /"top1" must be a fraction/);
  assert.throws(bad({ wrong: [{ path: 'a', label: 9, pred: 0, confidence: 0.5 }] }), /wrong\[0\]: the true class is not a class index/);
  assert.throws(bad({ classes: [] }), /"classes" must be a non-empty list/);
});
