// Commands of the Taxonomy view itself: filter and refresh.
import * as vscode from 'vscode';
import type { CommandFactory } from '../ctx';

export const filter: CommandFactory = (ctx) => async () => {
  const query = await vscode.window.showInputBox({
    title: 'Filter Taxonomy',
    prompt: 'Show classes and values whose name, id or alias contains this text (empty: show all)',
    value: ctx.taxonomy.model.filter.query,
  });
  if (query === undefined) return;
  await ctx.state.setTaxonomyFilter(query);
  ctx.taxonomy.setFilter(query);
};

export const clearFilter: CommandFactory = (ctx) => async () => {
  await ctx.state.setTaxonomyFilter('');
  ctx.taxonomy.setFilter('');
};

export const refresh: CommandFactory = (ctx) => () => ctx.projects.rescan();
