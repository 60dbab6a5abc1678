import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DATASET_FORMATS } from '../../src/core/taxonomy/model';
import { repoRoot } from '../helpers/paths';

type Schema = { description?: string; properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; additionalProperties?: Schema | boolean; enum?: unknown[]; required?: string[] };

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const schemaPath = path.join(repoRoot, pkg.contributes.jsonValidation[0].url);
const schema: Schema = JSON.parse(readFileSync(schemaPath, 'utf8'));

/** Every property of every object, with its JSON pointer. */
function properties(s: Schema, at = '#'): Array<[string, Schema]> {
  const out: Array<[string, Schema]> = [];
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push([`${at}/${k}`, v], ...properties(v, `${at}/${k}`));
  if (s.items) out.push(...properties(s.items, `${at}/items`));
  for (const [i, v] of (s.anyOf ?? []).entries()) out.push(...properties(v, `${at}/anyOf/${i}`));
  if (s.additionalProperties && typeof s.additionalProperties === 'object') out.push(...properties(s.additionalProperties, `${at}/*`));
  return out;
}

describe('project JSON Schema', () => {
  it('is the file package.json contributes, and describes every property', () => {
    assert.equal(pkg.contributes.jsonValidation[0].fileMatch, '*.pscl.json');
    const props = properties(schema);
    assert.ok(props.length > 15);
    const undocumented = props.filter(([, v]) => !v.description).map(([p]) => p);
    assert.deepEqual(undocumented, []);
  });

  it('lists the dataset formats the importers support', () => {
    assert.deepEqual(schema.properties!.dataset.properties!.format.enum, [...DATASET_FORMATS]);
  });

  it('knows every field the sample project file uses', () => {
    const sample = JSON.parse(readFileSync(path.join(repoRoot, 'samples', 'tiny-birds', 'tiny-birds.pscl.json'), 'utf8'));
    const known = (s: Schema, obj: object) => Object.keys(obj).filter((k) => !(k in (s.properties ?? {})));
    assert.deepEqual(known(schema, sample), []);
    const cls = schema.properties!.classes.items!;
    for (const c of sample.classes) assert.deepEqual(known(cls, c), []);
    for (const key of schema.required!) assert.ok(key in sample, key);
  });
});
