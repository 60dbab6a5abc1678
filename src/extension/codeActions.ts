// Quick fixes for the validation diagnostics whose fix is obvious; each is a WorkspaceEdit from
// the core's edit operations, so it undoes in one step.
import * as vscode from 'vscode';
import { deleteClass, moveClass, setLevelKind, type Edit } from '../core/taxonomy/edits';
import { coreDiagnosticOf } from './diagnostics';
import { toWorkspaceEdit } from './edits';
import { isProjectUri } from './projects';

interface Fix {
  title: string;
  edits: (text: string) => Edit[];
  preferred?: boolean;
}

type Data = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The fixes for one core diagnostic (code + data). */
export function fixesFor(code: string, data: Data): Fix[] {
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
    case 'class-not-in-dataset':
      return classId ? [{ title: `Remove class '${classId}' (not in the dataset)`, edits: (t) => deleteClass(t, classId) }] : [];
    default:
      return [];
  }
}

export class ProjectQuickFixes implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    if (!isProjectUri(doc.uri)) return [];
    const actions: vscode.CodeAction[] = [];
    for (const diag of context.diagnostics) {
      const core = coreDiagnosticOf(diag);
      if (!core) continue;
      for (const fix of fixesFor(core.code, (core.data ?? {}) as Data)) {
        let edits: Edit[];
        try {
          edits = fix.edits(doc.getText());
        } catch {
          continue; // the text changed so the fix no longer applies
        }
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [diag];
        action.isPreferred = fix.preferred;
        action.edit = toWorkspaceEdit(doc, edits);
        actions.push(action);
      }
    }
    return actions;
  }
}

export function registerQuickFixes(): vscode.Disposable {
  return vscode.languages.registerCodeActionsProvider({ pattern: '**/*.pscl.json' }, new ProjectQuickFixes(), {
    providedCodeActionKinds: ProjectQuickFixes.kinds,
  });
}
