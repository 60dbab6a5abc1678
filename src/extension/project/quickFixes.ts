// The quick fixes for validation diagnostics whose fix is obvious, keyed on the core's diagnostic
// code and data. No vscode here: codeActions.ts turns them into CodeActions.
import { removeDecision } from '../../core/curation/edits';
import { deleteClass, moveClass, setLevelKind, type Edit } from '../../core/taxonomy/edits';

export interface Fix {
  title: string;
  edits: (text: string) => Edit[];
  preferred?: boolean;
}

type Data = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The fixes for one core diagnostic (code + data). */
export function fixesFor(code: string, raw: unknown): Fix[] {
  const data = (raw ?? {}) as Data;
  const classId = str(data.classId);
  const level = str(data.level);
  switch (code) {
    case 'missing-level-value': {
      const value = str(data.suggestedValue);
      return classId && level && value ? [{ title: `Set ${level} to '${value}' (as in the other classes)`, edits: (t) => moveClass(t, classId, level, value), preferred: true }] : [];
    }
    case 'nesting-conflict': {
      const parentLevel = str(data.parentLevel);
      const expected = str(data.expectedParent);
      const fixes: Fix[] = [];
      if (classId && parentLevel && expected) fixes.push({ title: `Move class under ${parentLevel} '${expected}'`, edits: (t) => moveClass(t, classId, parentLevel, expected) });
      if (level) fixes.push({ title: `Mark level '${level}' as a facet`, edits: (t) => setLevelKind(t, level, 'facet') });
      return fixes;
    }
    case 'facet-suggested':
      return level ? [{ title: `Mark level '${level}' as a facet`, edits: (t) => setLevelKind(t, level, 'facet'), preferred: true }] : [];
    case 'stale-image-decision':
    case 'relabel-unknown-class':
    case 'duplicate-decision': {
      const imagePath = str(data.path);
      const kind = data.kind === 'exclude' || data.kind === 'relabel' ? data.kind : undefined;
      if (!imagePath || !kind) return [];
      // a duplicate exclusion: removing by path removes the first entry, the one kept is the same path
      return [{ title: `Remove the ${kind === 'exclude' ? 'exclusion' : 'relabel'} of '${imagePath}'`, edits: (t) => removeDecision(t, kind, imagePath), preferred: code === 'stale-image-decision' }];
    }
    case 'class-not-in-dataset':
      return classId ? [{ title: `Remove class '${classId}' (not in the dataset)`, edits: (t) => deleteClass(t, classId) }] : [];
    default:
      return [];
  }
}

