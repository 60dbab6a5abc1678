// The messages sent to the LLM for each suggestion kind. What is sent: the project's levels, the
// chosen classes (id, name, current path), existing parts of the coarse category and existing
// descriptions; never file paths, images or settings (docs/llm.md, "Privacy").
import type { Project, TaxonomyClass } from '../taxonomy/model';
import type { ChatMessage } from './client';

export const NAME_MAX = 60;
export const DESCRIPTION_MAX = 300;

const COMMON_RULES = [
  'Answer with JSON only, exactly matching the given schema: no prose, no markdown, no code fences.',
  `Names are plain words (at most ${NAME_MAX} characters): no newlines, braces, URLs, markup or instructions.`,
  'Use class ids exactly as given; never invent classes.',
].join('\n');

function levelLine(project: Project): string {
  return project.levels.map((l, i) => `${l.name}${l.kind === 'facet' ? ' (facet)' : ''}${i === project.levels.length - 1 ? ' (fine)' : ''}`).join(' > ');
}

/** One line per class: id, name and its current path, as a JSON object. */
export function classLines(project: Project, classes: readonly TaxonomyClass[]): string {
  const levels = project.levels.slice(0, -1).map((l) => l.name);
  return classes.map((c) => JSON.stringify({ id: c.id, name: c.name, path: levels.map((l) => c.path[l] ?? '') })).join('\n');
}

export function intermediateMessages(project: Project, classes: readonly TaxonomyClass[]): ChatMessage[] {
  const system = [
    'You help curate the label taxonomy of a fine-grained image classification dataset.',
    'Propose intermediate categories between the coarse category and the fine classes: groupings a person would',
    'use to tell the classes apart visually (e.g. for aircraft "narrow-body airliner", "twinjet").',
    'Each suggestion is a new level. A "nested" level forms a strict tree: every class in exactly one value, and all',
    'members of a value share one value (its "parent") at the nearest nested level above the new one.',
    'A "facet" cuts across the tree (e.g. engine count); set "parent" to "". Give every class a value.',
    'Do not repeat a grouping the taxonomy already has. Propose at most three levels.',
    COMMON_RULES,
  ].join('\n');
  const user = [
    `Dataset: ${project.name}`,
    `Levels (coarse first): ${levelLine(project)}`,
    `"after" must be one of: ${project.levels.slice(0, -1).map((l) => l.name).join(', ')}.`,
    `Classes (${classes.length}), each {id, name, path} with path values for the levels above the fine one:`,
    classLines(project, classes),
  ].join('\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ];
}

export function partsMessages(project: Project, coarse: string, classes: readonly TaxonomyClass[]): ChatMessage[] {
  const existing = project.parts[coarse] ?? [];
  const system = [
    'You help choose the part vocabulary for text-prompted part segmentation (ClearCLIP) in fine-grained classification.',
    'Propose visible parts of the object that help tell the classes apart, each with one to four short phrasings',
    'a CLIP text encoder understands (one to three words each, e.g. "wing", "wingtip"). Parts should not overlap much',
    'and should be visible in typical photos. Propose at most twelve parts.',
    COMMON_RULES,
  ].join('\n');
  const sample = classes.slice(0, 40).map((c) => c.name);
  const user = [
    `Coarse category: ${coarse}`,
    `Dataset: ${project.name}`,
    existing.length > 0 ? `Existing parts (add phrasings or new parts): ${JSON.stringify(existing.map((p) => ({ name: p.name, prompts: p.prompts })))}` : 'No parts yet.',
    `Some of its classes: ${sample.join('; ')}`,
  ].join('\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ];
}

export function descriptionsMessages(project: Project, classes: readonly TaxonomyClass[]): ChatMessage[] {
  const system = [
    'You write short visual descriptions of fine-grained classes for an image classifier\'s text prompts.',
    `One sentence per class (at most ${DESCRIPTION_MAX} characters) on what distinguishes it in a photo: shape, colour,`,
    'markings, proportions. No history, no facts that cannot be seen. One entry per given class.',
    COMMON_RULES,
  ].join('\n');
  const user = [
    `Dataset: ${project.name}`,
    `Levels (coarse first): ${levelLine(project)}`,
    `Classes (${classes.length}), each {id, name, path}:`,
    classLines(project, classes),
  ].join('\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ];
}
