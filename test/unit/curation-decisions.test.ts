// Curation decisions in the project file: parsing, validation (stale ones included), the edits
// that record them (one edit each, layout kept), and how they apply to a dataset's image list.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { applyImageDecisions, decisionsHash, imagesPerClass } from '../../src/core/taxonomy/decisions';
import { clearRelabels, excludeImages, includeImages, relabelImages, removeDecision } from '../../src/core/curation/edits';
import { applyEdits, EditError } from '../../src/core/taxonomy/edits';
import type { ImageEntry } from '../../src/core/taxonomy/model';
import { parseProject, serializeProject } from '../../src/core/taxonomy/project';
import { validateProject } from '../../src/core/taxonomy/validate';
import { repoRoot } from '../helpers/paths';

const SAMPLE = readFileSync(path.join(repoRoot, 'samples', 'tiny-birds', 'tiny-birds.pscl.json'), 'utf8');
const A = 'images/001.Red_crowned_Finch/Red_crowned_Finch_0001.jpg';
const B = 'images/001.Red_crowned_Finch/Red_crowned_Finch_0002.jpg';
const C = 'images/003.Yellow_crowned_Warbler/Yellow_crowned_Warbler_0001.jpg';

const apply = (text: string, edits: ReturnType<typeof excludeImages>) => {
  assert.equal(edits.length, 1, 'one decision is one edit');
  return applyEdits(text, edits);
};
const codes = (text: string, datasetImages?: Map<string, string>) => validateProject(parseProject(text), { datasetImages }).map((d) => d.code);

describe('image decisions in the project file', () => {
  it('excluding adds an images section laid out like the file; the rest stays byte for byte', () => {
    const after = apply(SAMPLE, excludeImages(SAMPLE, [{ path: A, reason: 'duplicate of ' + B }]));
    assert.ok(after.startsWith(SAMPLE.slice(0, SAMPLE.lastIndexOf('}') - 2)), 'everything before the new section is unchanged');
    assert.match(after, /\n  "images": \{\n    "exclude": \[\n      \{ "path": "images\/001\.Red_crowned_Finch\/Red_crowned_Finch_0001\.jpg", "reason": "duplicate of [^"]+" \}\n    \]\n  \}\n\}\n$/);
    const p = parseProject(after);
    assert.deepEqual(p.project!.images!.exclude, [{ path: A, reason: 'duplicate of ' + B }]);
    assert.deepEqual(validateProject(p).filter((d) => d.severity !== 'info'), []);
  });

  it('several images are one edit; already excluded ones are left as they are; include removes them', () => {
    const one = apply(SAMPLE, excludeImages(SAMPLE, [{ path: A, reason: 'blurry' }]));
    const two = apply(one, excludeImages(one, [{ path: A, reason: 'other' }, { path: B, reason: 'dup' }, { path: C, reason: 'dup' }]));
    assert.deepEqual(parseProject(two).project!.images!.exclude.map((e) => [e.path, e.reason]), [[A, 'blurry'], [B, 'dup'], [C, 'dup']]);
    assert.deepEqual(excludeImages(two, [{ path: B, reason: 'again' }]), [], 'nothing to do: no edit');
    const back = apply(two, includeImages(two, [B, C]));
    assert.equal(back, one, 'taking the two back in gives the previous text');
  });

  it('relabelling sets, changes and clears relabels; back to the dataset class removes the entry', () => {
    const r1 = apply(SAMPLE, relabelImages(SAMPLE, [A, B], '2'));
    assert.deepEqual({ ...parseProject(r1).project!.images!.relabel }, { [A]: '2', [B]: '2' });
    const r2 = apply(r1, relabelImages(r1, [A], '3'));
    assert.deepEqual({ ...parseProject(r2).project!.images!.relabel }, { [A]: '3', [B]: '2' });
    const r3 = apply(r2, relabelImages(r2, [B], '1', (p) => (p === B ? '1' : undefined)));
    assert.deepEqual({ ...parseProject(r3).project!.images!.relabel }, { [A]: '3' });
    const r4 = apply(r3, clearRelabels(r3, [A]));
    assert.deepEqual({ ...parseProject(r4).project!.images!.relabel }, {});
    // relabel then exclude share the section
    const both = apply(r1, excludeImages(r1, [{ path: C, reason: 'x' }]));
    const p = parseProject(both).project!.images!;
    assert.equal(p.exclude.length, 1);
    assert.equal(Object.keys(p.relabel).length, 2);
    assert.deepEqual(validateProject(parseProject(both)).filter((d) => d.severity !== 'info'), []);
  });

  it('CRLF files and tab indents keep their style', () => {
    const crlf = SAMPLE.replace(/\n/g, '\r\n');
    const after = apply(crlf, excludeImages(crlf, [{ path: A, reason: 'r' }]));
    assert.ok(!/[^\r]\n/.test(after), 'no bare LF in a CRLF file');
    const tabs = SAMPLE.replace(/^( {2})+/gm, (m) => '\t'.repeat(m.length / 2));
    const t2 = apply(tabs, relabelImages(tabs, [A], '2'));
    assert.match(t2, /\n\t"images": \{\n\t\t"relabel": \{\n\t\t\t"images\/001/);
  });

  it('refuses a file with syntax errors, and an empty class', () => {
    assert.throws(() => excludeImages('{ "version": 1, ', [{ path: A, reason: '' }]), EditError);
    assert.throws(() => relabelImages(SAMPLE, [A], ' '), EditError);
  });

  it('removeDecision (the quick fix) removes exactly that decision', () => {
    const t = apply(SAMPLE, excludeImages(SAMPLE, [{ path: A, reason: 'r' }, { path: B, reason: 's' }]));
    const t2 = apply(t, relabelImages(t, [C], '4'));
    const u = apply(t2, removeDecision(t2, 'exclude', A));
    assert.deepEqual(parseProject(u).project!.images!.exclude.map((e) => e.path), [B]);
    const v = apply(u, removeDecision(u, 'relabel', C));
    assert.deepEqual({ ...parseProject(v).project!.images!.relabel }, {});
  });

  it('serializeProject writes decisions and reads them back', () => {
    const project = parseProject(apply(SAMPLE, excludeImages(SAMPLE, [{ path: A, reason: 'r' }]))).project!;
    project.images!.relabel[C] = '4';
    const again = parseProject(serializeProject(project)).project!;
    assert.deepEqual(again.images!.exclude, [{ path: A, reason: 'r' }]);
    assert.deepEqual({ ...again.images!.relabel }, { [C]: '4' });
    const plain = parseProject(SAMPLE).project!;
    assert.ok(!serializeProject(plain).includes('"images"'), 'no empty section');
  });
});

describe('validation of image decisions', () => {
  const withSection = (images: string) => SAMPLE.replace(/\n}\n$/, `,\n  "images": ${images}\n}\n`);

  it('wrong shapes, unknown classes, unsafe paths and duplicates are reported where they are', () => {
    const text = withSection(`{ "exclude": [ { "path": "${A}", "reason": "a" }, { "path": "${A}", "reason": "b" }, { "reason": "no path" }, { "path": "../etc/passwd", "reason": "x" }, 3 ],
    "relabel": { "${B}": "42", "/abs.jpg": "1" }, "other": 1 }`);
    const diags = validateProject(parseProject(text));
    const byCode = (c: string) => diags.filter((d) => d.code === c);
    assert.equal(byCode('duplicate-decision').length, 1);
    assert.equal(byCode('missing-field').length, 1);
    assert.equal(byCode('bad-image-path').length, 2);
    assert.equal(byCode('wrong-type').length, 1);
    assert.equal(byCode('unknown-field').length, 1);
    const unknown = byCode('relabel-unknown-class');
    assert.equal(unknown.length, 1);
    assert.equal(unknown[0].severity, 'error', 'a relabel the cache cannot apply blocks the build');
    assert.deepEqual(unknown[0].data, { path: B, classId: '42', kind: 'relabel' });
    const line = text.split('\n').findIndex((l) => l.includes('"relabel"'));
    assert.equal(unknown[0].range.start.line, line, 'reported on the relabel line');
  });

  it('with the dataset: decisions about images it lacks, or relabels to their own class, are stale', () => {
    const text = withSection(`{ "exclude": [ { "path": "images/gone.jpg", "reason": "x" }, { "path": "${A}", "reason": "y" } ], "relabel": { "${B}": "1", "${C}": "4", "images/old.jpg": "2" } }`);
    const dataset = new Map([[A, '1'], [B, '1'], [C, '3']]);
    const stale = validateProject(parseProject(text), { datasetImages: dataset }).filter((d) => d.code === 'stale-image-decision');
    assert.deepEqual(stale.map((d) => (d.data as { path: string }).path).sort(), ['images/gone.jpg', 'images/old.jpg', B].sort());
    assert.ok(stale.every((d) => d.severity === 'warning'));
    assert.deepEqual(codes(text).filter((c) => c === 'stale-image-decision'), [], 'without the dataset nothing is called stale');
  });
});

describe('applying decisions to an image list', () => {
  const images: ImageEntry[] = [
    { key: '1', path: A, classId: '1', split: 'train' },
    { key: '2', path: B, classId: '1', split: 'test' },
    { key: '3', path: C, classId: '3', split: 'train' },
  ];

  it('excludes, relabels (exclusion wins) and lists stale decisions', () => {
    const applied = applyImageDecisions(images, { exclude: [{ path: B, reason: 'dup' }, { path: 'images/x.jpg', reason: 'gone' }], relabel: Object.assign(Object.create(null), { [A]: '2', [B]: '4', 'images/y.jpg': '1' }) });
    assert.deepEqual(applied.images.map((i) => [i.key, i.classId]), [['1', '2'], ['3', '3']]);
    assert.deepEqual(applied.excluded.map((i) => [i.key, i.reason]), [['2', 'dup']]);
    assert.deepEqual(applied.relabeled.map((i) => [i.key, i.datasetClassId, i.classId]), [['1', '1', '2']]);
    assert.deepEqual(applied.stale, { exclude: ['images/x.jpg'], relabel: ['images/y.jpg'] });
    assert.deepEqual([...imagesPerClass(applied.images)], [['2', 1], ['3', 1]]);
    assert.equal(images[0].classId, '1', 'the input is not changed');
  });

  it('the decisions hash ignores order and changes with any decision', () => {
    const a = decisionsHash({ images: { exclude: [{ path: A, reason: 'r' }, { path: B, reason: 's' }], relabel: {} } });
    const b = decisionsHash({ images: { exclude: [{ path: B, reason: 'other words' }, { path: A, reason: 'r' }], relabel: {} } });
    assert.equal(a, b);
    assert.notEqual(a, decisionsHash({ images: { exclude: [{ path: A, reason: 'r' }], relabel: {} } }));
    assert.notEqual(decisionsHash({}), decisionsHash({ images: { exclude: [], relabel: { [A]: '2' } } }));
  });
});

describe('the evaluation gallery honours decisions made after the evaluation', async () => {
  const { honourDecisions } = await import('../../src/core/runs/gallery');
  const report = {
    split: 'test', numImages: 3, top1: 0, levels: ['coarse', 'species'], perLevel: {}, perClass: [], confusion: [],
    classes: [{ index: 0, id: '1', name: 'a' }, { index: 1, id: '2', name: 'b' }, { index: 2, id: '3', name: 'c' }],
    wrong: [
      { key: 'x', path: A, label: 0, pred: 1, confidence: 0.9 },
      { key: 'y', path: B, label: 0, pred: 1, confidence: 0.8 },
      { key: 'z', path: C, label: 2, pred: 0, confidence: 0.7 },
    ],
  };
  it('leaves out excluded images and images relabelled to the prediction; others take their new label', () => {
    const r = honourDecisions(report, { exclude: [{ path: A, reason: 'dup' }], relabel: Object.assign(Object.create(null), { [B]: '2', [C]: '2' }) });
    assert.deepEqual(r.wrong.map((w) => [w.key, w.label]), [['z', 1]]);
    assert.equal(honourDecisions(report, undefined), report);
  });
});
