// Applies the core's text edits (jsonc-parser Edit[]) to a project file as one WorkspaceEdit on
// its document: one undo step in the editor, and the rest of the file untouched.
import * as vscode from 'vscode';
import { applyOperations, EditError, type Edit } from '../../core/taxonomy/edits';
import { diffEdit } from '../../core/taxonomy/jsonText';

export { diffEdit };
import type { Config } from '../config';

export function toWorkspaceEdit(doc: vscode.TextDocument, edits: readonly Edit[]): vscode.WorkspaceEdit {
  const we = new vscode.WorkspaceEdit();
  for (const e of edits) {
    const range = new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length));
    we.replace(doc.uri, range, e.content);
  }
  return we;
}

/**
 * Computes edits on the document's current text and applies them. `compute` may throw EditError
 * (shown to the user as is). Returns false when nothing was changed.
 */
export async function editProject(
  config: Config,
  uri: vscode.Uri,
  label: string,
  compute: (text: string) => Edit[],
  reveal: { viewColumn?: vscode.ViewColumn } = {},
): Promise<boolean> {
  const doc = await vscode.workspace.openTextDocument(uri);
  let edits: Edit[];
  try {
    edits = compute(doc.getText());
  } catch (err) {
    if (err instanceof EditError) {
      void vscode.window.showErrorMessage(`${label}: ${err.message} (${vscode.workspace.asRelativePath(uri)})`);
      return false;
    }
    throw err;
  }
  if (edits.length === 0) return false;
  const version = doc.version;
  const ok = await vscode.workspace.applyEdit(toWorkspaceEdit(doc, edits), { isRefactoring: false });
  if (!ok) {
    void vscode.window.showErrorMessage(`${label}: VS Code refused the edit of ${vscode.workspace.asRelativePath(uri)} (was it changed meanwhile?)`);
    return false;
  }
  if (config.revealEditsInEditor && doc.version !== version) await revealEdits(doc, edits, reveal.viewColumn);
  return true;
}

/** Shows the document with the first edited span selected, without taking the focus. */
async function revealEdits(doc: vscode.TextDocument, edits: readonly Edit[], viewColumn?: vscode.ViewColumn): Promise<void> {
  // Offsets in `edits` refer to the text before the edit: map the first one forward.
  const first = [...edits].sort((a, b) => a.offset - b.offset)[0];
  const start = doc.positionAt(first.offset);
  const end = doc.positionAt(first.offset + first.content.length);
  const editor = await vscode.window.showTextDocument(doc, { preserveFocus: true, preview: true, selection: new vscode.Range(start, end), viewColumn });
  editor.revealRange(new vscode.Range(start, end), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

/** Several operations as one edit list: each sees the previous one's result; more than one
 *  become a single replace of the span that changed (still one undo step). */
export function combined(text: string, ops: Array<(t: string) => Edit[]>): Edit[] {
  if (ops.length === 1) return ops[0](text);
  return [diffEdit(text, applyOperations(text, ops))];
}
