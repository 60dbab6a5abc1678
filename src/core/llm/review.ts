// The review step between an LLM reply and the project file, independent of any UI: each
// suggestion is pending, accepted or rejected, and may be renamed; toEdits() turns the accepted
// ones into ONE text edit of the project file, or refuses (with reasons) when the result would
// not validate. The extension shows this as a list and applies the edit as one WorkspaceEdit.
import type { Edit } from 'jsonc-parser';
import { addPhrasing, addPart } from '../parts/edits';
import { addLevel, applyOperations, EditError, setClassField } from '../taxonomy/edits';
import type { Project } from '../taxonomy/model';
import { parseProject } from '../taxonomy/project';
import { validateProject } from '../taxonomy/validate';
import type { Rejected, Suggestion, SuggestionKind, SuggestResult } from './types';
import { descriptionProblem, fallbackValue, intermediateProblems, nameProblem, normalizeName, partProblems } from './validate';

export type ReviewState = 'pending' | 'accepted' | 'rejected';

export interface ReviewItem {
  readonly id: string;
  /** The suggestion as it stands (renames applied). */
  readonly suggestion: Suggestion;
  /** The suggestion as the model made it. */
  readonly original: Suggestion;
  readonly state: ReviewState;
  readonly renamed: boolean;
}

export type ReviewOutcome =
  | {
      ok: true;
      /** One edit (empty when nothing is accepted) turning `text` into `newText`. */
      edits: Edit[];
      newText: string;
      /** The edit that turns `newText` back into `text` (what undo does). */
      undo: Edit[];
      /** Ids of the suggestions the edit applies. */
      applied: string[];
    }
  | { ok: false; reasons: string[] };

export class SuggestionReview {
  readonly kind: SuggestionKind;
  /** Items the validation rejected; they cannot be accepted. */
  readonly rejected: readonly Rejected[];
  private readonly classIds: readonly string[];
  private readonly entries: Array<{ id: string; original: Suggestion; suggestion: Suggestion; state: ReviewState }>;

  constructor(result: Pick<SuggestResult, 'kind' | 'suggestions' | 'rejected' | 'classIds'>) {
    this.kind = result.kind;
    this.rejected = result.rejected;
    this.classIds = result.classIds;
    this.entries = result.suggestions.map((s) => ({ id: s.id, original: s, suggestion: structuredClone(s), state: 'pending' }));
  }

  get items(): readonly ReviewItem[] {
    return this.entries.map((e) => ({ ...e, renamed: JSON.stringify(e.original) !== JSON.stringify(e.suggestion) }));
  }

  private entry(id: string) {
    const e = this.entries.find((x) => x.id === id);
    if (!e) throw new Error(`no suggestion '${id}' (suggestions: ${this.entries.map((x) => x.id).join(', ') || 'none'})`);
    return e;
  }

  accept(id: string): void {
    this.entry(id).state = 'accepted';
  }

  reject(id: string): void {
    this.entry(id).state = 'rejected';
  }

  setState(id: string, state: ReviewState): void {
    this.entry(id).state = state;
  }

  acceptAll(): void {
    for (const e of this.entries) e.state = 'accepted';
  }

  rejectAll(): void {
    for (const e of this.entries) e.state = 'rejected';
  }

  /** Accepts exactly these ids and rejects the rest (the CLI's --accept). */
  acceptOnly(ids: readonly string[]): void {
    for (const id of ids) this.entry(id);
    for (const e of this.entries) e.state = ids.includes(e.id) ? 'accepted' : 'rejected';
  }

  accepted(): Suggestion[] {
    return this.entries.filter((e) => e.state === 'accepted').map((e) => e.suggestion);
  }

  /**
   * Renames a suggestion: the new level (or, with `value`, one of its values), the part, or, for
   * descriptions, replaces the text. Returns why the new name is refused, or undefined when done.
   */
  rename(id: string, newName: string, value?: string): string | undefined {
    const e = this.entry(id);
    const s = e.suggestion;
    const name = newName.trim().replace(/\s+/g, ' ');
    if (s.kind === 'descriptions') {
      const why = descriptionProblem(name);
      if (!why) s.description = name;
      return why;
    }
    if (s.kind === 'parts') {
      if (s.existing) return `this adds phrasings to the existing part '${s.existing}'; rename that part in the Parts view instead`;
      const why = partProblems(name, s.prompts)[0];
      if (!why) s.name = name;
      return why;
    }
    if (value === undefined) {
      const why = nameProblem(name, 'level name');
      if (!why) s.level.name = name;
      return why;
    }
    const target = s.values.find((v) => v.name === value);
    if (!target) return `level '${s.level.name}' has no value '${value}'`;
    const why = nameProblem(name, 'value name');
    if (why) return why;
    const twin = s.values.find((v) => v !== target && v.parent === target.parent && normalizeName(v.name) === normalizeName(name));
    if (twin) return `'${twin.name}' already names a value of this level`;
    target.name = name;
    return undefined;
  }

  /**
   * One edit applying the accepted suggestions to `text` (the project file as it is now), or the
   * reasons it cannot: a suggestion no longer fits the file, or the result would have validation
   * errors the file does not have now.
   */
  toEdits(text: string): ReviewOutcome {
    const accepted = this.entries.filter((e) => e.state === 'accepted');
    if (accepted.length === 0) return { ok: true, edits: [], newText: text, undo: [], applied: [] };
    const before = parseProject(text);
    if (!before.project || before.diagnostics.some((d) => d.code === 'syntax')) {
      return { ok: false, reasons: ['the project file has syntax errors; fix them first'] };
    }
    const project = before.project;
    const reasons: string[] = [];
    const ops: Array<(t: string) => Edit[]> = [];
    const below = new Map<string, number>();
    for (const e of accepted) {
      const problems = this.recheck(project, e.suggestion);
      if (problems.length > 0) reasons.push(...problems.map((p) => `${e.id}: ${p}`));
      else ops.push(...operationsFor(e.suggestion, below));
    }
    if (reasons.length > 0) return { ok: false, reasons };
    let newText: string;
    try {
      newText = applyOperations(text, ops);
    } catch (err) {
      if (err instanceof EditError) return { ok: false, reasons: [err.message] };
      throw err;
    }
    const known = new Set(validateProject(before).filter((d) => d.severity === 'error').map((d) => `${d.code}\u0000${d.message}`));
    const fresh = validateProject(parseProject(newText)).filter((d) => d.severity === 'error' && !known.has(`${d.code}\u0000${d.message}`));
    if (fresh.length > 0) {
      const shown = fresh.slice(0, 8).map((d) => `the result would not validate: ${d.message}`);
      if (fresh.length > 8) shown.push(`... and ${fresh.length - 8} more errors`);
      return { ok: false, reasons: shown };
    }
    const edit = singleEdit(text, newText);
    return { ok: true, edits: [edit], newText, undo: [inverseEdit(text, edit)], applied: accepted.map((e) => e.id) };
  }

  /** Problems of a (possibly renamed) suggestion against the project as it is now. */
  private recheck(project: Project, s: Suggestion): string[] {
    if (s.kind === 'intermediate') {
      const requested = project.classes.filter((c) => this.classIds.includes(c.id));
      return intermediateProblems({ project, requested }, s);
    }
    if (s.kind === 'parts') {
      if (s.existing) return project.parts[s.coarse]?.some((p) => p.name === s.existing) ? [] : [`part '${s.existing}' of '${s.coarse}' no longer exists`];
      const twin = project.parts[s.coarse]?.find((p) => normalizeName(p.name) === normalizeName(s.name));
      return [...partProblems(s.name, s.prompts), ...(twin ? [`'${s.coarse}' already has a part '${twin.name}'`] : [])];
    }
    if (!project.classes.some((c) => c.id === s.classId)) return [`class ${s.classId} is no longer in the project`];
    const why = descriptionProblem(s.description);
    return why ? [why] : [];
  }
}

/**
 * Text operations for one suggestion, each run on the text the previous one produced. `below`
 * counts the levels already inserted under each level, so that several new levels under the same
 * one keep the order of the suggestions.
 */
function operationsFor(s: Suggestion, below: Map<string, number>): Array<(t: string) => Edit[]> {
  if (s.kind === 'intermediate') {
    const valueOf = new Map(s.values.flatMap((v) => v.members.map((id) => [id, v.name] as const)));
    const offset = below.get(s.level.after) ?? 0;
    below.set(s.level.after, offset + 1);
    return [
      (t) => {
        const project = parseProject(t).project!;
        const at = project.levels.findIndex((l) => l.name === s.level.after);
        if (at < 0) throw new EditError(`level '${s.level.after}' is gone`);
        const index = at + 1 + offset;
        return addLevel(t, s.level.name, {
          index,
          kind: s.level.kind,
          value: (cls) => valueOf.get(cls.id) ?? fallbackValue(project, cls, index) ?? cls.name,
        });
      },
    ];
  }
  if (s.kind === 'parts') {
    if (s.existing) return s.prompts.map((p) => (t: string) => addPhrasing(t, s.coarse, s.existing!, p));
    return [(t) => addPart(t, s.coarse, { name: s.name, prompts: s.prompts })];
  }
  return [(t) => setClassField(t, s.classId, 'description', s.description)];
}

/** The smallest single replacement turning `before` into `after`. */
export function singleEdit(before: string, after: string): Edit {
  let start = 0;
  const max = Math.min(before.length, after.length);
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let end = 0;
  while (end < max - start && before.charCodeAt(before.length - 1 - end) === after.charCodeAt(after.length - 1 - end)) end++;
  // Never split a surrogate pair or a CRLF.
  while (start > 0 && (isLowSurrogate(before.charCodeAt(start)) || (before[start] === '\n' && before[start - 1] === '\r'))) start--;
  while (end > 0 && isLowSurrogate(before.charCodeAt(before.length - end))) end--;
  return { offset: start, length: before.length - end - start, content: after.slice(start, after.length - end) };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** The edit that undoes `edit` once it has been applied to `before`. */
export function inverseEdit(before: string, edit: Edit): Edit {
  return { offset: edit.offset, length: edit.content.length, content: before.slice(edit.offset, edit.offset + edit.length) };
}
