// Quick fixes for the validation diagnostics whose fix is obvious; each is a WorkspaceEdit from
// the core's edit operations, so it undoes in one step.
import * as vscode from 'vscode';
import type { Edit } from '../../core/taxonomy/edits';
import { coreDiagnosticOf } from './diagnostics';
import { toWorkspaceEdit } from './edits';
import { isProjectUri } from './store';
import { fixesFor } from './quickFixes';

export class ProjectQuickFixes implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    if (!isProjectUri(doc.uri)) return [];
    const actions: vscode.CodeAction[] = [];
    for (const diag of context.diagnostics) {
      const core = coreDiagnosticOf(diag);
      if (!core) continue;
      for (const fix of fixesFor(core.code, core.data)) {
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
