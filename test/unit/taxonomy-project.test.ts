import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic } from '../../src/core/taxonomy/diagnostics';
import type { Project } from '../../src/core/taxonomy/model';
import { parseProject, rangeOf, serializeProject } from '../../src/core/taxonomy/project';
import { validateProject } from '../../src/core/taxonomy/validate';

const sample: Project = {
  version: 1,
  name: 'Birds',
  dataset: { format: 'cub', root: 'CUB' },
  levels: [
    { name: 'coarse', kind: 'nested' },
    { name: 'family', kind: 'nested' },
    { name: 'habitat', kind: 'facet' },
    { name: 'species', kind: 'nested' },
  ],
  classes: [
    { id: '1', name: 'Black-footed Albatross', path: { coarse: 'bird', family: 'Diomedeidae', habitat: 'sea' }, aliases: ['Phoebastria nigripes'] },
    { id: '2', name: 'Laysan Albatross', path: { coarse: 'bird', family: 'Diomedeidae', habitat: 'sea' }, description: 'white head' },
  ],
  parts: { bird: [{ name: 'head', prompts: ['head', 'crown and face'] }] },
  templates: { class: ['a photo of a {name}.'], part: ['the {part} of a {coarse}.'] },
};

/** `line:col` (1-based) of the first diagnostic with `code`. */
function at(text: string, code: string): string {
  const d = validateProject(parseProject(text)).find((x) => x.code === code);
  assert.ok(d, `expected a ${code} diagnostic`);
  return `${d.range.start.line + 1}:${d.range.start.character + 1}`;
}

describe('parseProject', () => {
  it('round-trips a serialized project to the same model', () => {
    const text = serializeProject(sample);
    const parsed = parseProject(text);
    assert.deepEqual(parsed.diagnostics, []);
    // as plain data: user-keyed maps (path, parts) have no prototype
    assert.deepEqual(JSON.parse(JSON.stringify(parsed.project)), sample);
    assert.equal(JSON.parse(text).levels[2].kind, 'facet');
    assert.equal(JSON.parse(text).levels[0], 'coarse', 'nested levels are written as plain names');
  });

  it('reads JSONC: comments, trailing commas, level objects, numeric ids', () => {
    const text = `{
  // comment
  "version": 1, "name": "x", "dataset": { "format": "dogs", "root": "." },
  "levels": ["coarse", { "name": "breed" }, ],
  "classes": [ { "id": 7, "name": "Pug", "path": { "coarse": "dog" } }, ],
}`;
    const parsed = parseProject(text);
    assert.deepEqual(parsed.diagnostics, []);
    assert.equal(parsed.project!.classes[0].id, '7');
    assert.deepEqual(parsed.project!.levels[1], { name: 'breed', kind: 'nested' });
    assert.deepEqual(parsed.project!.templates.class, ['a photo of a {name}, a type of {coarse}.'], 'missing templates default');
  });

  it('reports a syntax error at its exact line and column and still reads the rest', () => {
    const text = '{\n  "version": 1,\n  "name": "x"\n  "levels": []\n}';
    const parsed = parseProject(text, 'f.pscl.json');
    const syntax = parsed.diagnostics.filter((d) => d.code === 'syntax');
    assert.equal(syntax.length, 1);
    assert.equal(formatDiagnostic('f', syntax[0]), "f:4:3: error: syntax error: expected ',' [syntax]");
    assert.ok(parsed.project, 'a project is still produced');
  });

  it('reports an unclosed string and a non-object file without throwing', () => {
    assert.equal(at('{\n  "version": 1,\n  "name": "x\n}', 'syntax'), '3:11');
    assert.equal(parseProject('[1, 2]').diagnostics[0].code, 'not-an-object');
    assert.equal(parseProject('').diagnostics[0].code, 'syntax');
    assert.equal(parseProject('garbage').project, undefined);
  });

  it('reports wrong types and missing fields where they are', () => {
    const text = '{\n  "version": 2,\n  "name": 5,\n  "dataset": { "format": "coco", "root": "." },\n  "levels": "coarse",\n  "classes": [ { "name": "A" } ]\n}';
    const diags = parseProject(text).diagnostics;
    const find = (code: string) => diags.filter((d) => d.code === code).map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1}`);
    assert.deepEqual(find('unsupported-version'), ['2:14']);
    assert.deepEqual(find('wrong-type'), ['3:11', '5:13']);
    assert.deepEqual(find('unknown-format'), ['4:26']);
    assert.deepEqual(find('missing-field'), ['6:16']);
  });

  it('locates JSON paths, falling back to the nearest ancestor', () => {
    const parsed = parseProject(serializeProject(sample));
    const r = rangeOf(parsed, ['classes', 1, 'name']);
    const line = parsed.text.split('\n')[r.start.line];
    assert.equal(line.slice(r.start.character, r.end.character), '"Laysan Albatross"');
    const key = rangeOf(parsed, ['classes', 1, 'path', 'family'], 'key');
    assert.equal(parsed.text.split('\n')[key.start.line].slice(key.start.character, key.end.character), '"family"');
    assert.deepEqual(rangeOf(parsed, ['classes', 1, 'nope']), rangeOf(parsed, ['classes', 1]));
  });
});

describe('duplicate keys', () => {
  it('warns at the repeated key and keeps the last value like JSON.parse', () => {
    const text = '{ "version": 1, "name": "x", "dataset": { "format": "cub", "root": "." },\n  "levels": ["coarse", "species"],\n  "classes": [ { "id": "1", "name": "A", "path": { "coarse": "bird", "coarse": "fish" } } ] }';
    const parsed = parseProject(text);
    const dup = parsed.diagnostics.filter((d) => d.code === 'duplicate-key');
    assert.equal(dup.length, 1);
    assert.deepEqual(dup[0].range.start, { line: 2, character: 69 });
    assert.equal(parsed.project!.classes[0].path.coarse, 'fish');
  });
});
