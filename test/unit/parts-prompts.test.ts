import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyEdits, EditError } from '../../src/core/taxonomy/edits';
import { parseProject } from '../../src/core/taxonomy/project';
import {
  addPart,
  addPhrasing,
  addTemplate,
  deletePart,
  editPhrasing,
  editTemplate,
  movePart,
  removePhrasing,
  removeTemplate,
  renamePart,
  setTemplates,
} from '../../src/core/parts/edits';
import { classPromptsHash, expandClassPrompts, expandPartPrompts, partPromptsHash } from '../../src/core/parts/prompts';
import { expandTemplate, parseTemplate, TemplateError } from '../../src/core/parts/templates';
import { aircraftProject, aircraftProjectText } from './helpers/aircraftFixture';

describe('templates', () => {
  it('fills {name}, {part}, {coarse} and {level:NAME}, and unescapes {{ }}', () => {
    const out = expandTemplate('{{{name}}} is a {level:family} {coarse}; the {part}!', {
      name: '737-300',
      part: 'wing',
      coarse: 'aircraft',
      levels: { family: 'Boeing 737' },
    });
    assert.equal(out, '{737-300} is a Boeing 737 aircraft; the wing!');
  });

  it('names the template and the unknown placeholder', () => {
    assert.throws(
      () => expandTemplate('a photo of a {nmae}.', { name: 'x' }, 'templates.class[1]'),
      (err: unknown) => err instanceof TemplateError && /templates\.class\[1\]/.test(err.message) && /"a photo of a \{nmae\}\."/.test(err.message) && /unknown placeholder \{nmae\}/.test(err.message),
    );
  });

  it('rejects stray braces and placeholders without a value', () => {
    assert.throws(() => parseTemplate('a } b'), /unmatched "}"/);
    assert.throws(() => parseTemplate('a {part b'), /unclosed "\{"/);
    assert.throws(() => expandTemplate('the {part}', { name: 'x' }), /\{part\} cannot be filled/);
    assert.throws(() => expandTemplate('{level:order}', { levels: { family: 'f' } }), /there is no level "order"/);
  });
});

describe('prompt expansion', () => {
  const project = aircraftProject();
  project.templates.part = ['a photo of the {part} of a {coarse}.', 'the {part}.'];
  project.templates.class = ['a photo of a {name}.', 'a {name}, a kind of {level:manufacturer} {coarse}.'];

  it('gives every phrasing through every part template, in part order', () => {
    const parts = expandPartPrompts(project, 'aircraft');
    assert.deepEqual(parts, [
      { part: 'wing', texts: ['a photo of the wing of a aircraft.', 'the wing.'] },
      {
        part: 'engine',
        texts: ['a photo of the engine of a aircraft.', 'the engine.', 'a photo of the jet engine of a aircraft.', 'the jet engine.'],
      },
    ]);
    assert.throws(() => expandPartPrompts(project, 'bird'), /no parts for coarse category 'bird' \(parts exist for: aircraft\)/);
  });

  it('expands class prompts at the fine level and at any other level', () => {
    const cls = project.classes.find((c) => c.id === 'A321')!;
    assert.deepEqual(expandClassPrompts(project, cls), ['a photo of a A321.', 'a A321, a kind of Airbus aircraft.']);
    assert.deepEqual(expandClassPrompts(project, cls, 'family'), ['a photo of a A320.', 'a A320, a kind of Airbus aircraft.']);
    assert.throws(() => expandClassPrompts(project, cls, 'order'), /no level 'order'/);
  });

  it('a class template with {part} fails naming the template and the class', () => {
    const bad = { ...project, templates: { ...project.templates, class: ['the {part} of a {name}'] } };
    assert.throws(() => expandClassPrompts(bad, bad.classes[0]), /templates\.class\[0\] for class '737-300'.*\{part\} cannot be filled/);
  });

  it('hashes change with what shapes the prompts, and only with that', () => {
    const base = aircraftProject();
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reverseKeys) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)])) : v;
    const reordered = reverseKeys(base) as typeof base;
    assert.notEqual(JSON.stringify(reordered), JSON.stringify(base));
    assert.equal(partPromptsHash(reordered), partPromptsHash(base));
    assert.equal(classPromptsHash(reordered), classPromptsHash(base));
    assert.match(partPromptsHash(base), /^sha256:[0-9a-f]{64}$/);

    const morePhrasings = structuredClone(base);
    morePhrasings.parts.aircraft[0].prompts.push('wingtip');
    assert.notEqual(partPromptsHash(morePhrasings), partPromptsHash(base));
    assert.equal(classPromptsHash(morePhrasings), classPromptsHash(base), 'parts do not shape class prompts');

    const swapped = structuredClone(base);
    swapped.parts.aircraft.reverse();
    assert.notEqual(partPromptsHash(swapped), partPromptsHash(base), 'part order is the mask label order');

    const renamed = structuredClone(base);
    renamed.classes[0].path.family = 'Boeing 737 Classic';
    assert.notEqual(classPromptsHash(renamed), classPromptsHash(base));
    assert.equal(partPromptsHash(renamed), partPromptsHash(base));

    const described = structuredClone(base);
    described.classes[0].description = 'twin-engine narrow-body airliner';
    assert.equal(classPromptsHash(described), classPromptsHash(base), 'no template reads descriptions');

    const template = structuredClone(base);
    template.templates.class = ['a {name}.'];
    assert.notEqual(classPromptsHash(template), classPromptsHash(base));
  });
});

describe('part-set edits', () => {
  const text = aircraftProjectText();
  const parts = (t: string) => parseProject(t).project!.parts;
  const apply = (t: string, edits: ReturnType<typeof addPart>) => applyEdits(t, edits);

  it('adds a part on its own line like its siblings, keeping comments and everything else', () => {
    const out = apply(text, addPart(text, 'aircraft', { name: 'landing gear', prompts: ['landing gear', 'wheels'] }));
    assert.match(out, /\n      \{ "name": "landing gear", "prompts": \["landing gear", "wheels"\] \}\n    \]/);
    assert.ok(out.includes('// curated by hand; keep this comment'));
    assert.deepEqual(parts(out).aircraft.map((p) => p.name), ['wing', 'engine', 'landing gear']);
    // Only the insertion differs.
    assert.equal(out.replace(',\n      { "name": "landing gear", "prompts": ["landing gear", "wheels"] }', ''), text);
  });

  it('creates the parts of a new coarse category', () => {
    const out = apply(text, addPart(text, 'helicopter', { name: 'rotor', prompts: ['rotor'] }));
    assert.deepEqual(parts(out).helicopter, [{ name: 'rotor', prompts: ['rotor'] }]);
  });

  it('renames, moves and deletes parts; edits, adds and removes phrasings', () => {
    let t = apply(text, renamePart(text, 'aircraft', 'wing', 'wings'));
    t = apply(t, addPhrasing(t, 'aircraft', 'wings', 'wingtip'));
    t = apply(t, editPhrasing(t, 'aircraft', 'engine', 1, 'turbofan'));
    t = apply(t, removePhrasing(t, 'aircraft', 'engine', 'engine'));
    t = apply(t, movePart(t, 'aircraft', 'engine', 0));
    assert.deepEqual(parts(t).aircraft, [
      { name: 'engine', prompts: ['turbofan'] },
      { name: 'wings', prompts: ['wing', 'wingtip'] },
    ]);
    t = apply(t, deletePart(t, 'aircraft', 'wings'));
    assert.deepEqual(parts(t).aircraft, [{ name: 'engine', prompts: ['turbofan'] }]);
    assert.ok(t.includes('// curated by hand'));
  });

  it('refuses duplicates, empty or braced phrasings, and the last phrasing', () => {
    assert.throws(() => addPart(text, 'aircraft', { name: 'Wing', prompts: ['x'] }), (e: unknown) => e instanceof EditError && /already has a part 'wing'/.test((e as Error).message));
    assert.throws(() => renamePart(text, 'aircraft', 'wing', 'Engine'), /already has a part 'engine'/);
    assert.throws(() => addPhrasing(text, 'aircraft', 'engine', 'Jet Engine'), /already has the phrasing/);
    assert.throws(() => addPhrasing(text, 'aircraft', 'wing', 'the {coarse} wing'), /contains \{ or \}/);
    assert.throws(() => addPhrasing(text, 'aircraft', 'wing', '  '), /cannot be empty/);
    assert.throws(() => removePhrasing(text, 'aircraft', 'wing', 'wing'), /only phrasing/);
    assert.throws(() => deletePart(text, 'aircraft', 'tail'), /no part 'tail' for 'aircraft' \(parts: wing, engine\)/);
    assert.throws(() => addPart('{ "version": 1, ', 'x', { name: 'a', prompts: ['a'] }), /syntax errors/);
  });

  it('edits templates and checks their placeholders', () => {
    let t = apply(text, addTemplate(text, 'part', 'the {part}.'));
    t = apply(t, editTemplate(t, 'class', 0, 'a photo of a {name}, a {level:family}.'));
    assert.deepEqual(parseProject(t).project!.templates, {
      class: ['a photo of a {name}, a {level:family}.'],
      part: ['a photo of the {part} of a {coarse}.', 'the {part}.'],
    });
    t = apply(t, removeTemplate(t, 'part', 0));
    t = apply(t, setTemplates(t, 'class', ['{name}', 'a {name} {{literal}}']));
    assert.deepEqual(parseProject(t).project!.templates, { class: ['{name}', 'a {name} {{literal}}'], part: ['the {part}.'] });
    assert.throws(() => addTemplate(text, 'part', 'the {prat}'), /unknown placeholder \{prat\}/);
    assert.throws(() => addTemplate(text, 'class', 'the {part} of {name}'), /only works in part templates/);
  });
});
