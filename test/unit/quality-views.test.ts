// What the views show of prompt scores (no vscode): hit-rate badges of parts and phrasings in the
// Parts view (a phrasing edited since the score has none), the zero-shot rows per level in the
// Taxonomy view, and the Problems warning for a part below the minimum hit rate, at its name.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { PromptScores } from '../../src/core/quality/score';
import { parseProject } from '../../src/core/taxonomy/project';
import { validateProject } from '../../src/core/taxonomy/validate';
import { PartsModel, type PartNode, type PhrasingNode } from '../../src/extension/parts/model';
import type { ProjectSnapshot } from '../../src/extension/project/store';
import { levelRows, lowHitRateDiagnostics, partBadge, phrasingBadge } from '../../src/extension/quality/model';
import { TaxonomyModel } from '../../src/extension/taxonomy/model';
import { SAMPLE_DIR } from '../helpers/cacheFixture';

const text = readFileSync(path.join(SAMPLE_DIR, 'tiny-birds.pscl.json'), 'utf8');

function snapshot(t = text): ProjectSnapshot {
  const parsed = parseProject(t, 'tiny-birds.pscl.json');
  return { key: 'file:///w/tiny-birds.pscl.json', relativePath: 'tiny-birds.pscl.json', parsed, diagnostics: validateProject(parsed) };
}

const acc = (top1: number, top5: number) => ({ top1, top5, images: 72 });
const scores = {
  images: 72,
  model: 'demo',
  split: 'all',
  topK: 3,
  levels: { coarse: acc(1, 1), species: acc(0.25, 0.9) },
  variants: { flat: { levels: {} }, hierarchical: { levels: { species: acc(0.3, 0.95) } }, descriptions: null },
  control: { descriptors: 8, levels: { species: acc(0.2, 0.8) } },
  parts: {
    'bird/beak': { hitRate: 0.125, topKRate: 0.5, keypoints: 72, phrasings: { beak: 0.0625, bill: 0.4 } },
    'bird/wing': { hitRate: 0.8, topKRate: 1, keypoints: 72, phrasings: { wing: 0.8 } },
    'bird/tail': { hitRate: null, topKRate: null, keypoints: 0, phrasings: { tail: null } },
  },
} as unknown as PromptScores;

test('badges: the part hit rate and each phrasing alone; none without keypoints or for an unscored phrasing', () => {
  assert.equal(partBadge(scores, 'bird', 'beak'), 'hit 13%');
  assert.equal(partBadge(scores, 'bird', 'wing'), 'hit 80%');
  assert.equal(partBadge(scores, 'bird', 'tail'), undefined);
  assert.equal(phrasingBadge(scores, 'bird', 'beak', 'beak'), 'hit 6.3%');
  assert.equal(phrasingBadge(scores, 'bird', 'beak', 'hooked bill'), undefined);
  const m = new PartsModel();
  m.setSnapshots([snapshot()]);
  m.scoresOf = (key) => (key === 'file:///w/tiny-birds.pscl.json' ? scores : undefined);
  const parts = [...m.walk()].filter((n): n is PartNode => n.kind === 'part');
  const beak = parts.find((p) => p.name === 'beak')!;
  assert.equal(m.view(beak).description, 'hit 13% · "beak", "bill"');
  assert.match(m.view(beak).tooltip, /Keypoint hit rate \*\*13%\*\* \(top-3: 50%\) over 72 visible keypoints\.\n\nEach phrasing alone: "beak" 6\.3%, "bill" 40%/);
  const bill = [...m.walk(beak)].find((n): n is PhrasingNode => n.kind === 'phrasing' && n.text === 'bill')!;
  assert.equal(m.view(bill).description, 'hit 40%');
  assert.equal(m.view(parts.find((p) => p.name === 'tail')!).description, '"tail", "tail feathers"');
});

test('the Taxonomy view lists the zero-shot accuracy of each level under the project', () => {
  const rows = levelRows(scores);
  assert.deepEqual(rows.map((r) => [r.level, r.description]), [
    ['coarse', 'top-1 100% · top-5 100%'],
    ['species', 'top-1 25% · top-5 90% · control 20%'],
  ]);
  assert.match(rows[1].tooltip, /hierarchical \(ancestors in the prompt\): top-1 30%, top-5 95%/);
  const m = new TaxonomyModel();
  m.setSnapshots([snapshot()]);
  const [root] = m.getRoots();
  assert.ok(!m.getChildren(root).some((n) => n.kind === 'scores'), 'no row before any score');
  m.setScores(() => scores);
  const [withScores] = m.getRoots();
  const node = m.getChildren(withScores).find((n) => n.kind === 'scores')!;
  assert.equal(m.view(node).label, 'zero-shot accuracy');
  assert.deepEqual(m.getChildren(node).map((n) => [m.view(n).label, m.view(n).description]), [
    ['coarse', 'top-1 100% · top-5 100%'],
    ['species', 'top-1 25% · top-5 90% · control 20%'],
  ]);
  m.setFilter('gull');
  assert.ok(!m.getChildren(m.getRoots()[0]).some((n) => n.kind === 'scores'), 'hidden while filtering');
});

test('a warning on each part below the minimum hit rate, at its name, naming a better phrasing', () => {
  const s = snapshot();
  const diags = lowHitRateDiagnostics(s.parsed, scores, 0.25);
  assert.equal(diags.length, 1);
  const d = diags[0];
  assert.equal(d.code, 'low-hit-rate');
  assert.equal(d.severity, 'warning');
  assert.match(d.message, /^part 'beak' of bird: its mask covers 13% of its 72 visible keypoints, below pscl\.quality\.minHitRate \(25%\); the phrasing "bill" alone does better \(40%\)$/);
  const line = text.split('\n')[d.range.start.line];
  assert.equal(line.slice(d.range.start.character, d.range.end.character), '"beak"');
  assert.ok(line.includes('"name": "beak"'));
  assert.deepEqual(lowHitRateDiagnostics(s.parsed, scores, 0), [], '0 turns it off');
  assert.equal(lowHitRateDiagnostics(s.parsed, scores, 0.9).length, 2, 'tail has no keypoints: no warning');
});
