// JSON schemas of the three suggestion kinds, written for OpenAI structured output in strict mode:
// every property required, no additional properties, optional values as "" rather than absent.
import type { JsonSchemaFormat } from './client';

export type SuggestionKind = 'intermediate' | 'parts' | 'descriptions';
export const SUGGESTION_KINDS: readonly SuggestionKind[] = ['intermediate', 'parts', 'descriptions'];

const str = (description: string) => ({ type: 'string', description });
const obj = (properties: Record<string, unknown>) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});
const arr = (items: unknown, description?: string) => ({ type: 'array', items, ...(description ? { description } : {}) });

/** (a) new intermediate levels grouping the given fine classes. */
export const INTERMEDIATE_SCHEMA: JsonSchemaFormat = {
  name: 'intermediate_levels',
  schema: obj({
    levels: arr(
      obj({
        name: str('name of the new level, e.g. "body type"'),
        kind: { type: 'string', enum: ['nested', 'facet'] },
        after: str('the existing level the new one goes right below (never the fine level)'),
        values: arr(
          obj({
            name: str('the category name, e.g. "narrow-body airliner"'),
            parent: str('for a nested level: the value of the nearest nested level above that all members share; "" for a facet'),
            members: arr({ type: 'string' }, 'ids of the fine classes in this category'),
          }),
        ),
      }),
    ),
  }),
};

/** (b) part prompts for one coarse category. */
export const PARTS_SCHEMA: JsonSchemaFormat = {
  name: 'part_prompts',
  schema: obj({
    parts: arr(
      obj({
        name: str('short part name, e.g. "wing"'),
        prompts: arr({ type: 'string' }, 'one to four short phrasings of the part, e.g. "wing", "wingtip"'),
      }),
    ),
  }),
};

/** (c) short visual descriptions per class. */
export const DESCRIPTIONS_SCHEMA: JsonSchemaFormat = {
  name: 'class_descriptions',
  schema: obj({
    descriptions: arr(
      obj({
        class_id: str('the id of the class, exactly as given'),
        description: str('one short sentence on what the class looks like'),
      }),
    ),
  }),
};

export const SCHEMAS: Record<SuggestionKind, JsonSchemaFormat> = {
  intermediate: INTERMEDIATE_SCHEMA,
  parts: PARTS_SCHEMA,
  descriptions: DESCRIPTIONS_SCHEMA,
};

// Typed replies, as checked by validate.ts.
export interface IntermediateReply {
  levels: Array<{ name: string; kind: 'nested' | 'facet'; after: string; values: Array<{ name: string; parent: string; members: string[] }> }>;
}
export interface PartsReply {
  parts: Array<{ name: string; prompts: string[] }>;
}
export interface DescriptionsReply {
  descriptions: Array<{ class_id: string; description: string }>;
}

/** Checks a parsed reply against a (strict-mode subset) JSON schema; returns the problems. */
export function schemaProblems(value: unknown, schema: Record<string, unknown>, at = '$'): string[] {
  const type = schema.type;
  if (type === 'object') {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${at} must be an object`];
    const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    const out: string[] = [];
    for (const key of (schema.required as string[] | undefined) ?? []) if (!(key in value)) out.push(`${at}.${key} is missing`);
    for (const [key, v] of Object.entries(value)) {
      if (!(key in props)) {
        if (schema.additionalProperties === false) out.push(`${at}.${key} is not expected`);
        continue;
      }
      out.push(...schemaProblems(v, props[key], `${at}.${key}`));
    }
    return out;
  }
  if (type === 'array') {
    if (!Array.isArray(value)) return [`${at} must be an array`];
    return value.flatMap((v, i) => schemaProblems(v, schema.items as Record<string, unknown>, `${at}[${i}]`));
  }
  if (type === 'string') {
    if (typeof value !== 'string') return [`${at} must be a string`];
    const allowed = schema.enum as string[] | undefined;
    if (allowed && !allowed.includes(value)) return [`${at} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`];
    return [];
  }
  return [];
}
