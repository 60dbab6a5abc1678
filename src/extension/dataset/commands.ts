// PSCL: Open Dataset View: from the palette (a project), a project row, or a taxonomy row (the
// grid starts filtered to that class or value).
import * as vscode from 'vscode';
import type { CommandFactory } from '../ctx';
import type { TaxonomyNode } from '../taxonomy/model';
import { pickProject } from '../taxonomy/pick';

export const openDatasetView: CommandFactory = (ctx) => async (arg?: TaxonomyNode) => {
  const node = arg ?? (await pickProject(ctx));
  if (!node) return;
  const uri = vscode.Uri.parse(node.snapshot.key);
  if (uri.scheme !== 'file') {
    void vscode.window.showErrorMessage('The Dataset view needs a project file on the local disk.');
    return;
  }
  const project = node.snapshot.parsed.project;
  let focus: { level: string; value: string } | undefined;
  if (project && node.kind === 'value') focus = { level: node.tree.level, value: node.tree.value };
  else if (project && node.kind === 'class') focus = { level: project.levels[project.levels.length - 1]!.name, value: node.name };
  else if (node.kind === 'facetValue') focus = { level: node.level, value: node.value };
  await ctx.datasets.open({ projectFile: uri.fsPath, focus });
};
