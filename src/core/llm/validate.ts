// Strict checks of every LLM reply before anything reaches the user: JSON and schema first (a
// failure there rejects the whole reply), then each suggested item on its own (a failure rejects
// that item with a reason). Nothing here writes; review.ts turns accepted items into edits.
import { partNameProblem, reservedNameProblem, type Project, type TaxonomyClass } from '../taxonomy/model';
import { parentLevelIndex } from '../taxonomy/validate';
import { LlmError } from './client';
import { DESCRIPTION_MAX, NAME_MAX } from './prompts';
import {
  SCHEMAS,
  schemaProblems,
  type DescriptionsReply,
  type IntermediateReply,
  type PartsReply,
  type SuggestionKind,
} from './schemas';
import type {
  DescriptionSuggestion,
  HierarchyComparison,
  IntermediateSuggestion,
  IntermediateValue,
  PartSuggestion,
  Rejected,
  ValidatedReply,
} from './types';

// ---------------------------------------------------------------------------------------------
// The reply as a whole

/** Parses the reply text; throws LlmError('malformed' | 'truncated') with the reason. */
export function parseReplyJson(content: string, kind: SuggestionKind): unknown {
  // Some servers wrap JSON in a markdown fence even when asked not to; that alone is harmless.
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(content);
  const text = (fenced ? fenced[1] : content).trim();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const cutOff = /^[[{]/.test(text) && (/end of (JSON )?input|Unterminated string/i.test(message) || !/[}\]]$/.test(text));
    if (cutOff) throw new LlmError('truncated', `the reply is cut off (incomplete JSON, ${text.length} characters); ask about fewer classes at a time`);
    throw new LlmError('malformed', `the reply is not valid JSON (${message.slice(0, 120)}); nothing was changed`);
  }
  const problems = schemaProblems(value, SCHEMAS[kind].schema);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new LlmError('malformed', `the reply does not match the ${SCHEMAS[kind].name} schema: ${shown}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Names and descriptions

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;
const URL_LIKE = /\b(?:https?|ftp|file|data|javascript|mailto):|\bwww\.|\b[a-z0-9-]+\.(?:com|net|org|io|ai|ru|cn|xyz|info|biz|app|dev)\b/i;
const MARKUP = /<\/?[a-z!][^>]*>|\]\(|&[a-z]+;|&#\d+;/i;
const INSTRUCTION = [
  /\b(?:ignore|disregard|forget|override|bypass)\b[^.]{0,40}\b(?:instructions?|prompts?|rules?|previous|above|prior|context)\b/i,
  /\b(?:system|assistant|developer)\s*(?:prompt|message|:)/i,
  /\byou\s+(?:are|must|should|will)\s+(?:now\s+)?(?:a|an|the|act|ignore|obey|output|reply|respond|say)\b/i,
  /\b(?:new|updated)\s+instructions?\b/i,
  /\bdo\s+anything\s+now\b|\bjailbreak\b|\bprompt\s+injection\b/i,
];
const CODE = /`|=>|\bfunction\s*\(|\beval\s*\(|\$\{|\$\(|\bimport\s*\(|\brequire\s*\(|<script|;\s*$|^\s*[\["']|"\s*:/i;

export function normalizeName(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

function textProblem(text: string, max: number, what: string): string | undefined {
  if (text.trim() === '') return `empty ${what}`;
  if (CONTROL.test(text)) return `${what} contains a newline, control or invisible character`;
  if (/[{}]/.test(text)) return `${what} contains template braces { }`;
  if (URL_LIKE.test(text)) return `${what} contains a URL or domain name`;
  if (MARKUP.test(text)) return `${what} contains markup`;
  if (INSTRUCTION.some((re) => re.test(text))) return `${what} reads like an instruction to a model, not a name`;
  if (text.length > max) return `${what} is ${text.length} characters long (at most ${max})`;
  return undefined;
}

/** Why `name` is not acceptable as a level, value, part or phrasing name (undefined when fine). */
export function nameProblem(name: string, what = 'name'): string | undefined {
  return textProblem(name, NAME_MAX, what) ?? (CODE.test(name) ? `${what} looks like JSON or code` : undefined) ?? reservedNameProblem(name, what);
}

/** Why `text` is not acceptable as a class description (undefined when fine). */
export function descriptionProblem(text: string): string | undefined {
  return textProblem(text, DESCRIPTION_MAX, 'description') ?? (/`|=>|<script|\$\{|\bfunction\s*\(/.test(text) ? 'description looks like code' : undefined);
}

/** Quotes model text for a message: control characters escaped, long text shortened. */
const q = (s: string) => {
  const shown = s.length > 70 ? s.slice(0, 67) + '...' : s;
  const escape = (c: string) => (c === '\n' ? '\\n' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `'${shown.replace(new RegExp(CONTROL.source, 'g'), escape)}'`;
};

// ---------------------------------------------------------------------------------------------
// (a) intermediate levels

export interface IntermediateContext {
  project: Project;
  /** The classes the request was about (ids outside it are rejected). */
  requested: readonly TaxonomyClass[];
}

/** The value a class takes at a new level inserted at `index` when no suggested value names it. */
export function fallbackValue(project: Project, cls: TaxonomyClass, index: number): string | undefined {
  const pi = parentLevelIndex(project.levels, index);
  return pi === undefined ? undefined : cls.path[project.levels[pi].name];
}

/**
 * Everything wrong with one suggested level against `project` (empty when it can be applied).
 * Used for the reply and again for a renamed suggestion in review.
 */
export function intermediateProblems(ctx: IntermediateContext, s: Pick<IntermediateSuggestion, 'level' | 'values'>): string[] {
  const { project } = ctx;
  const out: string[] = [];
  const { level, values } = s;
  const nameWhy = nameProblem(level.name, 'level name');
  if (nameWhy) out.push(nameWhy);
  if (project.levels.some((l) => normalizeName(l.name) === normalizeName(level.name))) out.push(`the project already has a level named ${q(level.name)}`);
  const afterIndex = project.levels.findIndex((l) => l.name === level.after);
  if (afterIndex < 0 || afterIndex === project.levels.length - 1) {
    out.push(`"after" is ${q(level.after)}, which is not a level above the fine one (${project.levels.slice(0, -1).map((l) => l.name).join(', ')})`);
    return out;
  }
  if (values.length === 0) out.push('no values');
  const insertAt = afterIndex + 1;
  const byId = new Map(project.classes.map((c) => [c.id, c]));
  const requested = new Set(ctx.requested.map((c) => c.id));
  const valueOf = new Map<string, string>();
  const siblings = new Map<string, string>();
  const parentIndex = level.kind === 'nested' ? parentLevelIndex(project.levels, insertAt) : undefined;
  const parentLevel = parentIndex === undefined ? undefined : project.levels[parentIndex].name;
  for (const v of values) {
    const why = nameProblem(v.name, `value name ${q(v.name)}`);
    if (why) out.push(why);
    const parents = new Set<string>();
    for (const id of v.members) {
      const cls = byId.get(id);
      if (!cls) {
        out.push(`unknown class id ${q(id)} in ${q(v.name)}`);
        continue;
      }
      if (!requested.has(id)) out.push(`class ${id} (${cls.name}) in ${q(v.name)} was not among the classes asked about`);
      const other = valueOf.get(id);
      if (other !== undefined && other !== v.name) out.push(`class ${id} (${cls.name}) is in both ${q(other)} and ${q(v.name)}; a class has one value per level`);
      else if (other !== undefined) out.push(`class ${id} is listed twice in ${q(v.name)}`);
      valueOf.set(id, v.name);
      if (parentLevel) parents.add(cls.path[parentLevel] ?? '');
    }
    if (v.members.length === 0) out.push(`value ${q(v.name)} has no classes`);
    if (parentLevel && parents.size > 1) {
      out.push(`${q(v.name)} spans ${parentLevel} ${[...parents].map(q).join(' and ')}; in a nested level each value has one parent (make the level a facet)`);
    }
    const siblingKey = `${level.kind === 'nested' && parents.size === 1 ? [...parents][0] : ''}\u0000${normalizeName(v.name)}`;
    const twin = siblings.get(siblingKey);
    if (twin !== undefined) out.push(`duplicate value names ${q(twin)} and ${q(v.name)}`);
    else siblings.set(siblingKey, v.name);
  }
  if (level.kind === 'nested' && out.length === 0) out.push(...childConflicts(project, insertAt, level.name, valueOf));
  return out;
}

/** A nested level inserted at `insertAt` must keep the level below it a strict tree. */
function childConflicts(project: Project, insertAt: number, levelName: string, valueOf: Map<string, string>): string[] {
  const childIndex = project.levels.findIndex((l, i) => i >= insertAt && l.kind === 'nested');
  if (childIndex < 0 || childIndex === project.levels.length - 1) return [];
  const child = project.levels[childIndex].name;
  const seen = new Map<string, { value: string; cls: TaxonomyClass }>();
  const out: string[] = [];
  for (const cls of project.classes) {
    const cv = cls.path[child];
    if (!cv) continue;
    const nv = valueOf.get(cls.id) ?? fallbackValue(project, cls, insertAt) ?? '';
    const first = seen.get(cv);
    if (!first) seen.set(cv, { value: nv, cls });
    else if (first.value !== nv && out.length < 5) {
      out.push(`${child} ${q(cv)} would sit under both ${q(first.value)} (class ${first.cls.id}) and ${q(nv)} (class ${cls.id}) at ${q(levelName)}; give all its classes one value`);
      first.value = nv;
    }
  }
  return out;
}

/** How suggested values line up with each existing intermediate level, over the requested classes. */
export function compareWithHierarchy(project: Project, requested: readonly TaxonomyClass[], values: readonly IntermediateValue[]): HierarchyComparison[] {
  const ids = new Set(requested.map((c) => c.id));
  const byId = new Map(requested.map((c) => [c.id, c]));
  const out: HierarchyComparison[] = [];
  for (const level of project.levels.slice(1, -1)) {
    const size = new Map<string, number>();
    for (const c of requested) {
      const v = c.path[level.name];
      if (v) size.set(v, (size.get(v) ?? 0) + 1);
    }
    if (size.size < 2) continue;
    const cmp: HierarchyComparison = { level: level.name, agreements: [], disagreements: [] };
    for (const value of values) {
      const members = value.members.filter((id) => ids.has(id)).map((id) => byId.get(id)!);
      if (members.length === 0) continue;
      const count = new Map<string, number>();
      for (const c of members) {
        const v = c.path[level.name] ?? '';
        count.set(v, (count.get(v) ?? 0) + 1);
      }
      const split = [...count].filter(([v, n]) => n < (size.get(v) ?? 0));
      if (count.size === 1) {
        const [only, n] = [...count][0];
        if (n === size.get(only)) cmp.agreements.push(`${q(value.name)} = ${level.name} ${q(only)}`);
        else cmp.agreements.push(`${q(value.name)} lies within ${level.name} ${q(only)} (${n} of its ${size.get(only)} classes)`);
      } else if (split.length === 0) {
        cmp.agreements.push(`${q(value.name)} groups ${level.name} ${[...count.keys()].map(q).join(', ')}`);
      } else {
        for (const [v, n] of split) cmp.disagreements.push(`${q(value.name)} splits ${level.name} ${q(v)} (${n} of its ${size.get(v)} classes)`);
      }
    }
    out.push(cmp);
  }
  return out;
}

export function validateIntermediate(ctx: IntermediateContext, reply: IntermediateReply): ValidatedReply {
  const suggestions: IntermediateSuggestion[] = [];
  const rejected: Rejected[] = [];
  const names = new Set<string>();
  for (const level of reply.levels) {
    const item = `level ${q(level.name)}`;
    const candidate = {
      level: { name: level.name.trim(), kind: level.kind, after: level.after },
      values: level.values.map((v) => ({ name: v.name.trim(), parent: v.parent.trim(), members: v.members })),
    };
    const problems = intermediateProblems(ctx, candidate);
    if (names.has(normalizeName(level.name))) problems.unshift('the reply suggests this level name twice');
    names.add(normalizeName(level.name));
    if (problems.length > 0) {
      rejected.push({ item, reason: problems.slice(0, 6).join('; ') + (problems.length > 6 ? `; and ${problems.length - 6} more` : '') });
      continue;
    }
    suggestions.push({
      kind: 'intermediate',
      id: `L${suggestions.length + 1}`,
      ...candidate,
      values: withActualParents(ctx.project, candidate),
      notes: intermediateNotes(ctx, candidate),
      comparison: compareWithHierarchy(ctx.project, ctx.requested, candidate.values),
    });
  }
  return { suggestions, rejected };
}

/** Parent values as the data has them (the model's "parent" is only a hint). */
function withActualParents(project: Project, s: Pick<IntermediateSuggestion, 'level' | 'values'>): IntermediateValue[] {
  const insertAt = project.levels.findIndex((l) => l.name === s.level.after) + 1;
  const pi = s.level.kind === 'nested' ? parentLevelIndex(project.levels, insertAt) : undefined;
  const byId = new Map(project.classes.map((c) => [c.id, c]));
  return s.values.map((v) => ({
    ...v,
    parent: pi === undefined ? '' : byId.get(v.members[0])?.path[project.levels[pi].name] ?? '',
  }));
}

function intermediateNotes(ctx: IntermediateContext, s: Pick<IntermediateSuggestion, 'level' | 'values'>): string[] {
  const notes: string[] = [];
  const assigned = new Set(s.values.flatMap((v) => v.members));
  const missing = ctx.requested.filter((c) => !assigned.has(c.id));
  const insertAt = ctx.project.levels.findIndex((l) => l.name === s.level.after) + 1;
  const pi = parentLevelIndex(ctx.project.levels, insertAt);
  const keeps = pi === undefined ? '' : ` and take their ${ctx.project.levels[pi].name} value`;
  if (missing.length > 0) notes.push(`${missing.length} of the ${ctx.requested.length} classes are in no value${keeps}: ${missing.slice(0, 5).map((c) => c.name).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  const others = ctx.project.classes.length - ctx.requested.length;
  if (others > 0) notes.push(`the ${others} classes not asked about also take their ${pi === undefined ? 'parent' : ctx.project.levels[pi].name} value at this level`);
  if (s.level.kind === 'nested') {
    for (const v of s.values) {
      const actual = withActualParents(ctx.project, { level: s.level, values: [v] })[0].parent;
      if (v.parent && normalizeName(v.parent) !== normalizeName(actual)) notes.push(`the model gave ${q(v.name)} the parent ${q(v.parent)}; its classes are under ${q(actual)}`);
    }
  }
  return notes;
}

// ---------------------------------------------------------------------------------------------
// (b) parts

export function partProblems(name: string, prompts: readonly string[]): string[] {
  const out: string[] = [];
  const why = nameProblem(name, 'part name') ?? partNameProblem(name);
  if (why) out.push(why);
  if (prompts.length === 0) out.push('no phrasings');
  for (const p of prompts) {
    const w = nameProblem(p, `phrasing ${q(p)}`);
    if (w) out.push(w);
  }
  return out;
}

export function validateParts(project: Project, coarse: string, reply: PartsReply): ValidatedReply {
  const suggestions: PartSuggestion[] = [];
  const rejected: Rejected[] = [];
  const existing = new Map((project.parts[coarse] ?? []).map((p) => [normalizeName(p.name), p]));
  const seen = new Set<string>();
  for (const part of reply.parts) {
    const item = `part ${q(part.name)}`;
    const name = part.name.trim();
    const prompts: string[] = [];
    for (const p of part.prompts.map((x) => x.trim())) if (!prompts.some((x) => normalizeName(x) === normalizeName(p))) prompts.push(p);
    const problems = partProblems(name, prompts);
    if (seen.has(normalizeName(name))) problems.unshift('the reply suggests this part twice');
    seen.add(normalizeName(name));
    const have = existing.get(normalizeName(name));
    const fresh = have ? prompts.filter((p) => !have.prompts.some((x) => normalizeName(x) === normalizeName(p))) : prompts;
    if (problems.length === 0 && have && fresh.length === 0) problems.push(`${coarse} already has part ${q(have.name)} with these phrasings`);
    if (problems.length > 0) {
      rejected.push({ item, reason: problems.join('; ') });
      continue;
    }
    suggestions.push({ kind: 'parts', id: `P${suggestions.length + 1}`, coarse, name: have ? have.name : name, prompts: fresh, ...(have ? { existing: have.name } : {}) });
  }
  return { suggestions, rejected };
}

// ---------------------------------------------------------------------------------------------
// (c) descriptions

export function validateDescriptions(project: Project, requested: readonly TaxonomyClass[], reply: DescriptionsReply, firstId = 1): ValidatedReply {
  const suggestions: DescriptionSuggestion[] = [];
  const rejected: Rejected[] = [];
  const byId = new Map(project.classes.map((c) => [c.id, c]));
  const asked = new Set(requested.map((c) => c.id));
  const seen = new Set<string>();
  for (const d of reply.descriptions) {
    const item = `description of class ${q(d.class_id)}`;
    const cls = byId.get(d.class_id);
    const text = d.description.trim().replace(/\s+/g, ' ');
    let why: string | undefined;
    if (!cls) why = `unknown class id ${q(d.class_id)}`;
    else if (!asked.has(cls.id)) why = `class ${cls.id} (${cls.name}) was not among the classes asked about`;
    else if (seen.has(cls.id)) why = 'the reply describes this class twice';
    else why = descriptionProblem(d.description.trim()) ?? (cls.description === text ? 'same as the current description' : undefined);
    if (cls) seen.add(cls.id);
    if (why || !cls) {
      rejected.push({ item, reason: why ?? 'unknown class' });
      continue;
    }
    suggestions.push({
      kind: 'descriptions',
      id: `D${firstId + suggestions.length}`,
      classId: cls.id,
      className: cls.name,
      description: text,
      ...(cls.description ? { previous: cls.description } : {}),
    });
  }
  return { suggestions, rejected };
}
