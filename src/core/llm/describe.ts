// Plain-text descriptions of suggestions, shared by the CLI listing and the extension's review
// list (a label and detail lines per suggestion).
import type { Suggestion } from './types';

export interface SuggestionText {
  /** One line, e.g. "new facet level 'body' below 'family' (3 values)". */
  label: string;
  /** Values with their classes, notes, and the comparison with the existing levels. */
  details: string[];
}

function list(items: readonly string[], max = 8): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')}, ... (${items.length} in all)`;
}

export function describeSuggestion(s: Suggestion, classNames?: ReadonlyMap<string, string>): SuggestionText {
  if (s.kind === 'intermediate') {
    const details = s.values.map((v) => `${v.name}${v.parent ? ` (under ${v.parent})` : ''}: ${list(v.members.map((id) => classNames?.get(id) ?? id))}`);
    for (const n of s.notes) details.push(`note: ${n}`);
    for (const c of s.comparison) {
      for (const a of c.agreements) details.push(`agrees with ${c.level}: ${a}`);
      for (const d of c.disagreements) details.push(`differs from ${c.level}: ${d}`);
    }
    return { label: `new ${s.level.kind} level '${s.level.name}' below '${s.level.after}' (${s.values.length} values)`, details };
  }
  if (s.kind === 'parts') {
    return s.existing
      ? { label: `more phrasings for part '${s.existing}' of ${s.coarse}`, details: s.prompts.map((p) => `+ ${p}`) }
      : { label: `new part '${s.name}' for ${s.coarse}`, details: s.prompts.map((p) => `phrasing: ${p}`) };
  }
  return {
    label: `description of '${s.className}' (id ${s.classId})`,
    details: [...(s.previous ? [`was: ${s.previous}`] : []), `new: ${s.description}`],
  };
}
