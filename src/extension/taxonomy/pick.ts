// Choosing what a command acts on when it is run from the palette (no tree node given).
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import type { ProjectNode, TaxonomyNode } from './model';

/** The project the user means: the active editor's, the only one, or one they pick. */
export async function pickProject(ctx: Ctx): Promise<ProjectNode | undefined> {
  const roots = ctx.taxonomy.model.getRoots();
  const active = vscode.window.activeTextEditor?.document.uri.toString();
  const current = roots.find((r) => r.snapshot.key === active);
  if (current) return current;
  if (roots.length <= 1) {
    if (roots.length === 0) void vscode.window.showInformationMessage('No PSCL project file (*.pscl.json) in this workspace: run "PSCL: New Project from Dataset" first.');
    return roots[0];
  }
  const picked = await vscode.window.showQuickPick(
    roots.map((r) => ({ label: r.snapshot.parsed.project?.name || r.snapshot.relativePath, description: r.snapshot.relativePath, node: r })),
    { placeHolder: 'Which project file?' },
  );
  return picked?.node;
}

/** A node of a project (classes and intermediate values), picked by name. */
export async function pickNode(ctx: Ctx, placeHolder: string, accept: (n: TaxonomyNode) => boolean): Promise<TaxonomyNode | undefined> {
  const project = await pickProject(ctx);
  if (!project) return undefined;
  const items: (vscode.QuickPickItem & { node: TaxonomyNode })[] = [];
  for (const n of ctx.taxonomy.model.walk(project)) {
    if (!accept(n)) continue;
    if (n.kind === 'class' && n.parent?.kind === 'facetValue') continue; // listed once, under the tree
    const view = ctx.taxonomy.model.view(n);
    items.push({ label: `$(${view.icon.id}) ${view.label}`, description: view.description, node: n });
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true });
  return picked?.node;
}

export function uriOf(node: TaxonomyNode): vscode.Uri {
  return vscode.Uri.parse(node.snapshot.key);
}
