// LLM suggestions (docs/llm.md): the API key in SecretStorage, and the three suggest commands.
// Flow: project -> settings and key -> request with a cancellable progress notification ->
// review list (tick to accept, edit a name) -> the accepted ones, re-checked against the file as
// it is now, become ONE WorkspaceEdit. Any failure says so, names the file and writes nothing.
import path from 'node:path';
import * as vscode from 'vscode';
import { configurationProblem, LlmError, redact, suggest, SuggestionReview, type SuggestionKind, type SuggestResult } from '../../core/llm';
import { EditError } from '../../core/taxonomy/edits';
import type { CommandFactory, Ctx } from '../ctx';
import { editProject } from '../project/edits';
import {
  appliedMessage,
  applySelection,
  classesUnder,
  failureMessage,
  KIND_TITLES,
  nothingToReviewMessage,
  refusedMessage,
  renameProblem,
  renameTargets,
  reviewRows,
  reviewTitle,
  keyOriginQuestion,
  originOf,
  SEND_KEY,
  SETUP_ACTIONS,
  WITHOUT_KEY,
  type SetupAction,
} from './model';
import type { PartsNode } from '../parts/model';
import type { ProjectSnapshot } from '../project/store';
import type { TaxonomyNode } from '../taxonomy/model';
import { pickCoarse } from '../parts/commands';
import { pickProject } from '../taxonomy/pick';

const SECRET = 'pscl.llm.apiKey';
/** The origin the key was entered for (not secret, kept beside it so both go together). */
const SECRET_ORIGIN = 'pscl.llm.apiKeyOrigin';

export const setApiKey: CommandFactory = (ctx) => async () => {
  const origin = originOf(ctx.config.llmSettings(vscode.workspace.isTrusted).baseUrl);
  const key = await vscode.window.showInputBox({
    title: 'PSCL: LLM API key',
    prompt:
      "Kept in VS Code's secret storage only (never in settings, files or logs). Local servers usually need none." +
      (origin ? ` It is sent only to ${origin} (the current pscl.llm.baseUrl) unless you agree to another server.` : ''),
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (/\s/.test(v.trim()) ? 'An API key has no spaces' : undefined),
  });
  if (key === undefined || key.trim() === '') return;
  await ctx.extension.secrets.store(SECRET, key.trim());
  if (origin) await ctx.extension.secrets.store(SECRET_ORIGIN, origin);
  else await ctx.extension.secrets.delete(SECRET_ORIGIN);
  ctx.log.info(`LLM API key stored in the secret storage${origin ? ` for ${origin}` : ''}`);
  void vscode.window.showInformationMessage("The LLM API key is stored in VS Code's secret storage.");
};

export const clearApiKey: CommandFactory = (ctx) => async () => {
  await ctx.extension.secrets.delete(SECRET);
  await ctx.extension.secrets.delete(SECRET_ORIGIN);
  ctx.log.info('LLM API key removed from the secret storage');
  void vscode.window.showInformationMessage('The LLM API key is removed.');
};

/** The stored key; a secret storage that fails (no keyring) counts as no key, with a log line. */
async function readKey(ctx: Ctx): Promise<string | undefined> {
  try {
    return (await ctx.extension.secrets.get(SECRET)) || undefined;
  } catch (err) {
    ctx.log.warn(`cannot read the LLM API key from the secret storage (${(err as Error).message}); asking without a key`);
    return undefined;
  }
}

/**
 * The key for a request to `baseUrl`: the stored one when it was entered for that origin, else
 * only if the user agrees in a modal dialog naming both origins. Null: the user cancelled.
 */
async function keyFor(ctx: Ctx, baseUrl: string | undefined): Promise<string | undefined | null> {
  const key = await readKey(ctx);
  if (!key) return undefined;
  const bound = (await ctx.extension.secrets.get(SECRET_ORIGIN).then(undefined, () => undefined)) || undefined;
  const question = keyOriginQuestion(bound, baseUrl, ctx.config.llmBaseUrlSource);
  if (!question) return key;
  ctx.log.info(`the LLM API key was entered for ${bound ?? 'no server'}; asking before sending it to ${originOf(baseUrl)}`);
  // the safe choice first: Enter on the dialog must not send the key
  const pick = await vscode.window.showWarningMessage(question.message, { modal: true, detail: question.detail }, WITHOUT_KEY, SEND_KEY);
  if (pick === SEND_KEY) return key;
  if (pick === WITHOUT_KEY) return undefined;
  return null;
}

/** Shows a setup problem with buttons that fix it (the user runs the command again after). */
async function offerSetup(ctx: Ctx, problem: string): Promise<void> {
  const action = (await vscode.window.showWarningMessage(problem, ...SETUP_ACTIONS)) as SetupAction | undefined;
  if (action === 'Set API Key') return void (await vscode.commands.executeCommand('pscl.llm.setApiKey'));
  if (action === 'Open Settings') return void (await vscode.commands.executeCommand('workbench.action.openSettings', 'pscl.llm'));
  if (action !== 'Set Base URL') return;
  const current = ctx.config.llmSettings(true);
  const baseUrl = await vscode.window.showInputBox({
    title: 'LLM base URL (user setting pscl.llm.baseUrl)',
    prompt: 'Any OpenAI-compatible server, e.g. http://localhost:11434/v1 or https://api.openai.com/v1',
    value: current.baseUrl ?? 'http://localhost:11434/v1',
    validateInput: (v) => (/^https?:\/\/\S+$/.test(v.trim()) ? undefined : 'A URL starting with http:// or https://'),
  });
  if (!baseUrl) return;
  const model = await vscode.window.showInputBox({ title: 'LLM model (user setting pscl.llm.model)', value: current.model ?? '', prompt: 'The model name the server knows, e.g. qwen2.5-7b-instruct' });
  await ctx.config.setUserLlm(baseUrl.trim(), model?.trim() || undefined);
}

interface Target {
  snapshot: ProjectSnapshot;
  classes?: string[];
  coarse?: string;
}

/** What a command acts on: the tree row(s) it came from, or the project picked from the palette. */
async function targetOf(ctx: Ctx, kind: SuggestionKind, node: unknown, selected: unknown): Promise<Target | undefined> {
  const n = node && typeof node === 'object' && 'snapshot' in node ? (node as TaxonomyNode | PartsNode) : undefined;
  const snapshot = n?.snapshot ?? (await pickProject(ctx))?.snapshot;
  if (!snapshot) return undefined;
  const project = snapshot.parsed.project;
  if (!project) return { snapshot };
  if (kind === 'parts') {
    const coarse = await pickCoarse(ctx, n && isPartsNode(n) ? n : undefined, snapshot);
    return coarse === undefined ? undefined : { snapshot, coarse };
  }
  const rows = (Array.isArray(selected) && selected.length > 0 ? selected : n ? [n] : []) as TaxonomyNode[];
  const ids = new Set<string>();
  let all = rows.length === 0;
  for (const r of rows) {
    if (r.snapshot.key !== snapshot.key) continue;
    if (r.kind === 'class') ids.add(r.classId);
    else if (r.kind === 'value') classesUnder(project, { level: r.tree.level, value: r.tree.value })?.forEach((id) => ids.add(id));
    else if (r.kind === 'facetValue') r.classIds.forEach((id) => ids.add(id));
    else all = true;
  }
  return { snapshot, classes: all ? undefined : [...ids] };
}

function isPartsNode(n: TaxonomyNode | PartsNode): n is PartsNode {
  return n.kind === 'coarse' || n.kind === 'part' || n.kind === 'phrasing' || (n.kind === 'project' && n.id.startsWith('parts:'));
}

function runSuggest(kind: SuggestionKind): CommandFactory {
  return (ctx) => async (node?: unknown, selected?: unknown) => {
    const target = await targetOf(ctx, kind, node, selected);
    if (!target) return;
    const uri = vscode.Uri.parse(target.snapshot.key);
    const file = target.snapshot.relativePath;
    const project = target.snapshot.parsed.project;
    if (!project || target.snapshot.parsed.diagnostics.some((d) => d.code === 'syntax')) {
      return void vscode.window.showErrorMessage(`${file} has syntax errors (see Problems); fix them before asking for suggestions.`);
    }
    const settings = ctx.config.llmSettings(vscode.workspace.isTrusted);
    const apiKey = await keyFor(ctx, settings.baseUrl);
    if (apiKey === null) return;
    const problem = configurationProblem(settings, apiKey);
    if (problem) return offerSetup(ctx, problem);
    const clean = (s: string) => redact(s, apiKey);
    const storage = ctx.extension.globalStorageUri;
    const cacheDir = storage.scheme === 'file' ? path.join(storage.fsPath, 'llm') : undefined;

    let result: SuggestResult;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Suggest ${KIND_TITLES[kind]} for ${file}`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          const sub = token.onCancellationRequested(() => abort.abort());
          try {
            return await suggest(
              kind,
              project,
              { settings, apiKey, classes: target.classes, coarse: target.coarse, cacheDir, log: (line) => ctx.log.info(clean(line)) },
              { signal: abort.signal, onProgress: (p) => progress.report({ message: clean(p.message) }) },
            );
          } finally {
            sub.dispose();
          }
        },
      );
    } catch (err) {
      const message = failureMessage(err, file, kind, apiKey);
      ctx.log.warn(message);
      if (err instanceof LlmError && err.code === 'cancelled') return void vscode.window.showInformationMessage(message);
      return void vscode.window.showErrorMessage(message);
    }
    for (const r of result.rejected) ctx.log.info(clean(`suggestion rejected (${file}): ${r.item}: ${r.reason}`));
    if (result.suggestions.length === 0) return void vscode.window.showWarningMessage(nothingToReviewMessage(result, file, kind));

    const review = new SuggestionReview(result);
    const names = new Map(project.classes.map((c) => [c.id, c.name]));
    const accepted = await reviewList(review, names, reviewTitle(kind, file, result.suggestions.length, result.rejected.length, result.cached), () => ctx.log.show(true));
    if (!accepted) return;
    if (review.accepted().length === 0) return void vscode.window.showInformationMessage(`No suggestion accepted; ${file} was not changed.`);
    let applied: string[] = [];
    // Re-checked against the document as it is now (it may have been edited meanwhile).
    const done = await editProject(ctx.config, uri, `Suggest ${KIND_TITLES[kind]}`, (text) => {
      const outcome = review.toEdits(text);
      if (!outcome.ok) throw new EditError(refusedMessage(outcome.reasons, file));
      applied = outcome.applied;
      return outcome.edits;
    });
    if (done) {
      // The walkthrough's "suggest prompts" step (src/extension/walkthrough.ts).
      if (kind === 'parts') void vscode.commands.executeCommand('setContext', 'pscl.walkthrough.promptsSuggested', true);
      ctx.log.info(appliedMessage(applied, file));
      void vscode.window.showInformationMessage(appliedMessage(applied, file));
    }
  };
}

type Row = vscode.QuickPickItem & { id: string };

/**
 * The review list: every suggestion ticked at first (OK = accept all), untick to reject, the
 * pencil button renames. Resolves true on OK (the review holds the choice), false on Escape.
 */
function reviewList(review: SuggestionReview, names: ReadonlyMap<string, string>, title: string, showLog: () => void): Promise<boolean> {
  const edit: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('edit'), tooltip: 'Edit name' };
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<Row>();
    qp.title = title;
    if (review.rejected.length > 0) {
      // Rejected items cannot be accepted; their reasons are in the PSCL output channel.
      qp.buttons = [{ iconPath: new vscode.ThemeIcon('output'), tooltip: `Show the ${review.rejected.length} rejected item(s) and why (PSCL output)` }];
      qp.onDidTriggerButton(showLog);
    }
    qp.placeholder = 'Untick what to reject; OK applies the ticked ones; Escape writes nothing';
    qp.canSelectMany = true;
    qp.matchOnDetail = true;
    qp.ignoreFocusOut = true;
    let renaming = false;
    const show = () => {
      const rows: Row[] = reviewRows(review, names).map((r) => ({ ...r, buttons: [edit] }));
      qp.items = rows;
      qp.selectedItems = rows.filter((r) => r.picked);
      qp.show();
    };
    const keepSelection = () => applySelection(review, qp.selectedItems.map((i) => i.id));
    qp.onDidTriggerItemButton(async (e) => {
      keepSelection();
      renaming = true;
      await renameItem(review, e.item.id);
      renaming = false;
      show();
    });
    qp.onDidAccept(() => {
      keepSelection();
      renaming = true; // the hide below is not a cancel
      qp.hide();
      qp.dispose();
      resolve(true);
    });
    qp.onDidHide(() => {
      if (renaming) return;
      qp.dispose();
      resolve(false);
    });
    show();
  });
}

async function renameItem(review: SuggestionReview, id: string): Promise<void> {
  const item = review.items.find((i) => i.id === id);
  if (!item) return;
  const targets = renameTargets(item.suggestion);
  const target =
    targets.length === 1
      ? targets[0]
      : (await vscode.window.showQuickPick(targets.map((t) => ({ label: t.current, description: t.label, t })), { title: `Edit a name of ${id}`, placeHolder: 'Which name?' }))?.t;
  if (!target) return;
  await vscode.window.showInputBox({
    title: `${id}: ${target.label}`,
    value: target.current,
    valueSelection: [0, target.current.length],
    validateInput: (v) => (v.trim() === target.current ? undefined : renameProblem(review, id, v, target.value)),
  }).then((v) => {
    if (v !== undefined && v.trim() !== target.current) review.rename(id, v, target.value);
  });
}

export const suggestIntermediate = runSuggest('intermediate');
export const suggestParts = runSuggest('parts');
export const suggestDescriptions = runSuggest('descriptions');
