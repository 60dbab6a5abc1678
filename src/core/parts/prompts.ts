// Prompt expansion: part prompts per coarse category (what the mask pipeline encodes) and class
// prompts per level (what the text prototypes encode), plus the hashes the dataset cache uses to
// notice that either changed.
import { createHash } from 'node:crypto';
import { DEFAULT_TEMPLATES, type Project, type TaxonomyClass } from '../taxonomy/model';
import { expandTemplate, type TemplateValues } from './templates';

export interface PartPrompts {
  part: string;
  /** Every phrasing through every part template, phrasing-major. */
  texts: string[];
}

function templatesOf(project: Project, kind: 'class' | 'part'): string[] {
  const list = project.templates?.[kind];
  return list && list.length > 0 ? list : DEFAULT_TEMPLATES[kind];
}

/** The part prompts of a coarse category, in part order (part i is label i+1 in a mask). */
export function expandPartPrompts(project: Project, coarse: string): PartPrompts[] {
  const parts = project.parts[coarse];
  if (!parts) {
    const known = Object.keys(project.parts);
    throw new Error(`no parts for coarse category '${coarse}'${known.length ? ` (parts exist for: ${known.join(', ')})` : ''}`);
  }
  const templates = templatesOf(project, 'part');
  return parts.map((p) => ({
    part: p.name,
    texts: p.prompts.flatMap((phrasing) =>
      templates.map((t, i) => expandTemplate(t, { part: phrasing, coarse }, `templates.part[${i}] for part '${p.name}' of '${coarse}'`)),
    ),
  }));
}

/** Values a class template sees for `cls` at `level` ({name} is the class's value at that level). */
export function classTemplateValues(project: Project, cls: TaxonomyClass, level?: string): TemplateValues {
  const levels: Record<string, string | undefined> = {};
  const fine = project.levels[project.levels.length - 1].name;
  for (const l of project.levels) levels[l.name] = l.name === fine ? cls.name : cls.path[l.name];
  const at = level ?? fine;
  if (!(at in levels)) throw new Error(`no level '${at}'; the levels are ${project.levels.map((l) => l.name).join(', ')}`);
  return { name: levels[at], coarse: levels[project.levels[0].name], levels };
}

/** The class prompts of `cls` at `level` (default: the fine level): one text per class template. */
export function expandClassPrompts(project: Project, cls: TaxonomyClass, level?: string): string[] {
  const values = classTemplateValues(project, cls, level);
  return templatesOf(project, 'class').map((t, i) => expandTemplate(t, values, `templates.class[${i}] for class '${cls.name}' (id ${cls.id})`));
}

/** JSON with object keys sorted, so equal content hashes equally whatever the key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string): string {
  return 'sha256:' + createHash('sha256').update(text).digest('hex');
}

/** Hash of everything that shapes part prompts: parts (in order) and the part templates. */
export function partPromptsHash(project: Project): string {
  // the keypoint mapping does not shape a prompt: leaving it out keeps masks fresh when it changes
  const parts = Object.fromEntries(Object.entries(project.parts).map(([c, list]) => [c, list.map((p) => ({ name: p.name, prompts: p.prompts }))]));
  return sha256(canonical({ v: 1, kind: 'part-prompts', parts, templates: templatesOf(project, 'part') }));
}

/** Hash of everything that shapes class prompts: levels, class ids/names/paths, class templates. */
export function classPromptsHash(project: Project): string {
  const classes = project.classes.map((c) => ({ id: c.id, name: c.name, path: c.path }));
  return sha256(canonical({ v: 1, kind: 'class-prompts', levels: project.levels.map((l) => l.name), classes, templates: templatesOf(project, 'class') }));
}

export { canonical as canonicalJson };
