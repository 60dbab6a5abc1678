import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic, type Diagnostic } from '../../src/core/taxonomy/diagnostics';
import { parseProject } from '../../src/core/taxonomy/project';
import { validateProject } from '../../src/core/taxonomy/validate';

const HEAD = `{
  "version": 1,
  "name": "t",
  "dataset": { "format": "cub", "root": "." },`;

function run(body: string, datasetClassIds?: string[]): { text: string; diags: Diagnostic[] } {
  const text = `${HEAD}\n${body}\n}`;
  return { text, diags: validateProject(parseProject(text), { datasetClassIds }) };
}

function lines(diags: Diagnostic[], code?: string): string[] {
  return diags.filter((d) => !code || d.code === code).map((d) => formatDiagnostic('p', d));
}

const PARTS = `"parts": { "bird": [ { "name": "head", "prompts": ["head"] } ] }`;

describe('validateProject', () => {
  it('accepts a consistent project', () => {
    const { diags } = run(`  "levels": ["coarse", "family", "species"],
  "classes": [
    { "id": "1", "name": "A", "path": { "coarse": "bird", "family": "F" } },
    { "id": "2", "name": "B", "path": { "coarse": "bird", "family": "F" } }
  ],
  ${PARTS}`, ['1', '2']);
    assert.deepEqual(lines(diags), []);
  });

  it('reports a duplicate id at the second id, naming the first class', () => {
    const { diags } = run(`  "levels": ["coarse", "species"],
  "classes": [
    { "id": "1", "name": "A", "path": { "coarse": "bird" } },
    { "id": "1", "name": "B", "path": { "coarse": "bird" } }
  ],
  ${PARTS}`);
    assert.deepEqual(lines(diags, 'duplicate-id'), ["p:8:13: error: duplicate class id '1': also used by 'A' (id 1) [duplicate-id]"]);
    assert.deepEqual((diags.find((d) => d.code === 'duplicate-id')!.data as { classId: string }).classId, '1');
  });

  it('reports an inconsistent nesting at every disagreeing class, with the data a quick fix needs', () => {
    const { diags } = run(`  "levels": ["coarse", "family", "genus", "species"],
  "classes": [
    { "id": "1", "name": "A", "path": { "coarse": "bird", "family": "F1", "genus": "G" } },
    { "id": "2", "name": "B", "path": { "coarse": "bird", "family": "F2", "genus": "G" } },
    { "id": "3", "name": "C", "path": { "coarse": "bird", "family": "F1", "genus": "G" } },
    { "id": "4", "name": "D", "path": { "coarse": "bird", "family": "F3", "genus": "G" } }
  ],
  ${PARTS}`);
    const conflicts = diags.filter((d) => d.code === 'nesting-conflict');
    assert.deepEqual(conflicts.map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1}`), ['8:84', '10:84']);
    assert.match(conflicts[0].message, /genus 'G' is under family 'F2' here, but under 'F1' in class 'A' \(id 1\)/);
    assert.deepEqual(conflicts[1].data, { classId: '4', level: 'genus', value: 'G', parentLevel: 'family', parent: 'F3', expectedParent: 'F1', firstClassId: '1' });
  });

  it('checks nesting against the nearest nested level, skipping facets, and suggests facets', () => {
    const { diags } = run(`  "levels": ["coarse", "family", { "name": "habitat", "kind": "facet" }, "genus", "species"],
  "classes": [
    { "id": "1", "name": "A", "path": { "coarse": "bird", "family": "F1", "habitat": "sea", "genus": "G1" } },
    { "id": "2", "name": "B", "path": { "coarse": "bird", "family": "F1", "habitat": "land", "genus": "G1" } },
    { "id": "3", "name": "C", "path": { "coarse": "bird", "family": "F2", "habitat": "sea", "genus": "G2" } }
  ],
  ${PARTS}`);
    assert.deepEqual(lines(diags), []);
    const facetLike = run(`  "levels": ["coarse", "family", "size", "species"],
  "classes": [
    { "id": "1", "name": "A", "path": { "coarse": "bird", "family": "F1", "size": "small" } },
    { "id": "2", "name": "B", "path": { "coarse": "bird", "family": "F2", "size": "small" } },
    { "id": "3", "name": "C", "path": { "coarse": "bird", "family": "F1", "size": "large" } },
    { "id": "4", "name": "D", "path": { "coarse": "bird", "family": "F2", "size": "large" } }
  ],
  ${PARTS}`).diags;
    assert.deepEqual(lines(facetLike, 'facet-suggested'), [
      `p:5:34: info: 2 of 2 values of 'size' occur under several family values: 'size' looks like a facet ({"name": "size", "kind": "facet"}) [facet-suggested]`,
    ]);
    assert.equal(facetLike.filter((d) => d.code === 'nesting-conflict').length, 2);
  });

  it('reports missing level values (with a suggestion), unknown levels and duplicate sibling names', () => {
    const { diags } = run(`  "levels": ["coarse", "family", "genus", "species"],
  "classes": [
    { "id": "1", "name": "A", "path": { "coarse": "bird", "family": "F1", "genus": "G1" } },
    { "id": "2", "name": "A", "path": { "coarse": "bird", "genus": "G1", "famly": "F1" } }
  ],
  ${PARTS}`);
    const missing = diags.find((d) => d.code === 'missing-level-value')!;
    assert.deepEqual(missing.data, { classId: '2', level: 'family', suggestedValue: 'F1' });
    assert.deepEqual(lines(diags, 'unknown-level').map((l) => l.split(': error')[0]), ['p:8:74']);
    assert.equal((diags.find((d) => d.code === 'unknown-level')!.data as { suggestedLevel: string }).suggestedLevel, 'family');
    assert.deepEqual(lines(diags, 'duplicate-name').map((l) => l.split(': error')[0]), ['p:8:26']);
  });

  it('checks parts and templates', () => {
    const { diags } = run(`  "levels": ["coarse", "species"],
  "classes": [ { "id": "1", "name": "A", "path": { "coarse": "bird" } } ],
  "parts": {
    "brid": [ { "name": "wing", "prompts": ["wing"] } ],
    "bird": [ { "name": "head", "prompts": ["head", " "] }, { "name": "head", "prompts": ["crown"] } ]
  },
  "templates": { "class": ["a {nmae} with {part}", "a {level:specis}"], "part": ["a photo"] }`);
    const codes = diags.map((d) => d.code);
    for (const c of ['unknown-coarse-in-parts', 'empty-prompt', 'duplicate-part', 'unknown-template-placeholder', 'part-placeholder-in-class-template', 'template-missing-part']) {
      assert.ok(codes.includes(c), `expected ${c} in ${codes.join(', ')}`);
    }
    const unknown = diags.filter((d) => d.code === 'unknown-template-placeholder').map((d) => d.data as { suggestion?: string });
    assert.deepEqual(unknown.map((u) => u.suggestion), ['name', 'level:species']);
    assert.equal((diags.find((d) => d.code === 'unknown-coarse-in-parts')!.data as { suggestedCoarse: string }).suggestedCoarse, 'bird');
  });

  it('treats {{ and }} in templates as literal braces, not placeholders', () => {
    const { diags } = run(`  "levels": ["coarse", "species"],
  "classes": [ { "id": "1", "name": "A", "path": { "coarse": "bird" } } ],
  ${PARTS},
  "templates": { "class": ["a {{literal}} {name}", "{{{name}}}"], "part": ["{{x}} the {part}", "{{ {nope} }}"] }`);
    const unknown = diags.filter((d) => d.code === 'unknown-template-placeholder').map((d) => (d.data as { placeholder: string }).placeholder);
    assert.deepEqual(unknown, ['nope']);
  });

  it('cross-checks the dataset class list', () => {
    const { diags } = run(`  "levels": ["coarse", "species"],
  "classes": [ { "id": "1", "name": "A", "path": { "coarse": "bird" } }, { "id": "9", "name": "Z", "path": { "coarse": "bird" } } ],
  ${PARTS}`, ['1', '2', '3']);
    assert.deepEqual(lines(diags, 'class-not-in-dataset').map((l) => l.split(': error')[0]), ['p:6:82']);
    const missing = diags.find((d) => d.code === 'class-missing-from-file')!;
    assert.equal(missing.severity, 'warning');
    assert.deepEqual((missing.data as { classIds: string[] }).classIds, ['2', '3']);
  });
});
