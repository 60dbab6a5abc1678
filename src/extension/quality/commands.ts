// The commands of prompt quality: open the Prompt Report, score the prompts now (building the
// training cache when it must, with a cancellable notification), cancel a running score.
import * as vscode from 'vscode';
import type { CommandFactory } from '../ctx';
import { pickProject } from '../taxonomy/pick';

const uriOf = (key: string) => vscode.Uri.parse(key);

/** A project node or file from a view or the explorer, else the active or picked project. */
async function projectUri(ctx: Parameters<CommandFactory>[0], arg?: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  const key = (arg as { snapshot?: { key?: string } } | undefined)?.snapshot?.key;
  if (key) return uriOf(key);
  const picked = await pickProject(ctx);
  return picked ? uriOf(picked.snapshot.key) : undefined;
}

export const openPromptReport: CommandFactory = (ctx) => async (arg?: unknown) => {
  if (!ctx.requireTrust('The Prompt Report')) return;
  const uri = await projectUri(ctx, arg);
  if (uri) ctx.promptReports.open(uri);
};

export const scorePrompts: CommandFactory = (ctx) => async (arg?: unknown) => {
  if (!ctx.requireTrust('Scoring prompts')) return;
  const uri = await projectUri(ctx, arg);
  if (!uri) return;
  try {
    const scored = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PSCL: scoring prompts', cancellable: true }, (progress, token) => {
      let last = 0;
      return ctx.promptScores.score(uri, {
        build: 'auto',
        token,
        onProgress: (s) => {
          const pct = (s.fraction ?? 0) * 100;
          progress.report({ message: s.message, increment: Math.max(0, pct - last) });
          last = Math.max(last, pct);
        },
      });
    });
    if (!scored) return;
    const s = scored.result.scores;
    const fine = Object.keys(s.levels).at(-1)!;
    const pick = await vscode.window.showInformationMessage(`${s.project}: zero-shot top-1 ${(100 * s.levels[fine].top1).toFixed(1)}% at ${fine} over ${s.images} images.`, 'Open Prompt Report');
    if (pick) ctx.promptReports.open(uri);
  } catch (err) {
    void vscode.window.showErrorMessage(`Scoring the prompts failed: ${(err as Error).message}`);
  }
};

export const cancelPromptScores: CommandFactory = (ctx) => () => ctx.promptScores.cancel();
