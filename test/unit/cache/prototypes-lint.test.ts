// Prototype building and the taxonomy lint on hand-made embeddings: every expected value is
// computed here from a table of text vectors, independently of the code under test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildClassPrototypes, buildPartEmbeddings, groupEmbeddings } from '../../../src/core/prototypes/build';
import { lintTaxonomy, LINT_CODES } from '../../../src/core/prototypes/lint';
import { parseProject } from '../../../src/core/taxonomy/project';

const DIM = 4;
const norm = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const TABLE: Record<string, number[]> = {
  bird: [1, 0, 0, 0],
  plane: [0, 1, 0, 0],
  Alpha: [1, 0, 1, 0],
  Beta: [1, 0, 1, 0.01], // nearly Alpha once the shared 'bird' direction is removed
  Gamma: [1, 0, 0, 1],
  Delta: [0.2, 0.1, 0, 1], // a plane class that reads closer to 'bird'
  Epsilon: [0, 1, 1, 0],
  F1: [0, 0, 1, 0],
  F2: [0, 0, 0.9, 0.1], // nearly F1
  F3: [0, 0, 0, 1],
  head: [0, 0, 1, 1],
  'the head': [0, 1, 1, 0],
  wing: [1, 1, 0, 0],
};

function fakeEmbed(calls: string[][]) {
  return async (texts: string[]) => {
    calls.push(texts);
    const out = new Float32Array(texts.length * DIM);
    texts.forEach((t, i) => {
      if (!TABLE[t]) throw new Error(`no vector for '${t}'`);
      out.set(norm(TABLE[t]), i * DIM);
    });
    return out;
  };
}

const PROJECT = `{
  "version": 1, "name": "lint", "dataset": { "format": "cub", "root": "." },
  "levels": ["coarse", "family", "species"],
  "classes": [
    { "id": "1", "name": "Alpha", "path": { "coarse": "bird", "family": "F1" } },
    { "id": "2", "name": "Beta", "path": { "coarse": "bird", "family": "F1" } },
    { "id": "3", "name": "Gamma", "path": { "coarse": "bird", "family": "F2" } },
    { "id": "4", "name": "Delta", "path": { "coarse": "plane", "family": "F3" } },
    { "id": "5", "name": "Epsilon", "path": { "coarse": "plane", "family": "F3" } }
  ],
  "parts": { "bird": [ { "name": "head", "prompts": ["head", "the head"] } ], "plane": [ { "name": "wing", "prompts": ["wing"] } ] },
  "templates": { "class": ["{name}"], "part": ["{part}"] }
}`;

describe('prototypes', () => {
  it('averages each group over its texts, renormalises, and embeds each distinct text once', async () => {
    const calls: string[][] = [];
    const m = await groupEmbeddings([['bird', 'plane'], ['bird']], fakeEmbed(calls), DIM);
    assert.deepEqual(calls, [['bird', 'plane']]);
    const h = Math.SQRT1_2;
    assert.deepEqual(Array.from(m.data).map((x) => +x.toFixed(6)), [h, h, 0, 0, 1, 0, 0, 0].map((x) => +x.toFixed(6)));
  });

  it('builds per-level embeddings and fine = norm(t_fine - t_coarse) in class order', async () => {
    const project = parseProject(PROJECT).project!;
    const p = await buildClassPrototypes(project, fakeEmbed([]), DIM);
    assert.deepEqual(p.levels.map((l) => [l.level, l.values]), [
      ['coarse', ['bird', 'plane']],
      ['family', ['F1', 'F2', 'F3']],
      ['species', ['Alpha', 'Beta', 'Gamma', 'Delta', 'Epsilon']],
    ]);
    assert.deepEqual(p.levelIndex[3], [1, 2, 3]);
    const expectDelta = norm(norm(TABLE.Delta).map((v, j) => v - TABLE.plane[j]));
    Array.from(p.fine.data.subarray(3 * DIM, 4 * DIM)).forEach((v, j) => assert.ok(Math.abs(v - expectDelta[j]) < 1e-6));
  });

  it('part embeddings average phrasings x templates per part', async () => {
    const project = parseProject(PROJECT).project!;
    const parts = await buildPartEmbeddings(project, fakeEmbed([]), DIM);
    assert.deepEqual(parts.map((p) => [p.coarse, p.parts]), [['bird', ['head']], ['plane', ['wing']]]);
    const expectHead = norm(norm(TABLE.head).map((v, j) => v + norm(TABLE['the head'])[j]));
    Array.from(parts[0].embeddings.data).forEach((v, j) => assert.ok(Math.abs(v - expectHead[j]) < 1e-6));
  });
});

describe('taxonomy lint', () => {
  it('flags near-duplicate siblings, single children and classes closer to another coarse category, at their place in the file', async () => {
    const parsed = parseProject(PROJECT, 'lint.pscl.json');
    const protos = await buildClassPrototypes(parsed.project!, fakeEmbed([]), DIM);
    const diags = lintTaxonomy(parsed, protos);
    const at = (d: (typeof diags)[number]) => parsed.text.slice(parsed.lines.offsetAt(d.range.start), parsed.lines.offsetAt(d.range.end));
    const seen = diags.map((d) => [d.code, d.severity, at(d)]).sort();
    assert.deepEqual(seen, [
      [LINT_CODES.closerToOtherCoarse, 'warning', '"Delta"'],
      [LINT_CODES.nearDuplicate, 'warning', '"Beta"'],
      [LINT_CODES.nearDuplicate, 'warning', '"F2"'],
      [LINT_CODES.singleChild, 'info', '"F2"'],
    ]);
    const dup = diags.find((d) => d.code === LINT_CODES.nearDuplicate && at(d) === '"Beta"')!;
    assert.match(dup.message, /species 'Beta' and 'Alpha' \(both under family 'F1'\)/);
    const closer = diags.find((d) => d.code === LINT_CODES.closerToOtherCoarse)!;
    assert.match(closer.message, /closer to coarse 'bird'.*than to its own 'plane'/);
    // the threshold is a setting: at 1 no pair coincides
    assert.equal(lintTaxonomy(parsed, protos, { siblingThreshold: 1 }).filter((d) => d.code === LINT_CODES.nearDuplicate).length, 0);
  });
});
