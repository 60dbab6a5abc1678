// Editing part prompts from the Parts view or the palette: add, rename, delete a part; add, edit,
// remove a phrasing. Each is the core's parts edit applied as one WorkspaceEdit (editProject).
import * as vscode from 'vscode';
import {
  addPart as addPartEdit,
  addPhrasing as addPhrasingEdit,
  addTemplate as addTemplateEdit,
  deletePart,
  editPhrasing as editPhrasingEdit,
  editTemplate as editTemplateEdit,
  movePart,
  removePhrasing as removePhrasingEdit,
  removeTemplate as removeTemplateEdit,
  renamePart as renamePartEdit,
  type TemplateKind,
} from '../../core/parts/edits';
import type { CommandFactory, Ctx } from '../ctx';
import { editProject } from '../project/edits';
import { coarseCategories, type PartNode, type PartsNode, type PhrasingNode, type TemplateNode } from './model';
import type { ProjectSnapshot } from '../project/store';
import { pickProject } from '../taxonomy/pick';

const uri = (s: ProjectSnapshot) => vscode.Uri.parse(s.key);
const notEmpty = (what: string) => (v: string) => (v.trim() === '' ? `${what} cannot be empty` : /[{}]/.test(v) ? 'No { or }: templates add the rest' : undefined);

/** The node of `kind` a command acts on: given by the view, or picked from the palette. */
async function nodeOf<K extends PartsNode['kind']>(ctx: Ctx, node: PartsNode | 'selection' | undefined, kind: K, placeHolder: string): Promise<Extract<PartsNode, { kind: K }> | undefined> {
  const given = ctx.parts.target(node);
  if (given?.kind === kind) return given as Extract<PartsNode, { kind: K }>;
  const project = await pickProject(ctx);
  if (!project) return undefined;
  const root = ctx.parts.model.getRoots().find((r) => r.snapshot.key === project.snapshot.key);
  if (!root) return undefined;
  const items = [...ctx.parts.model.walk(root)]
    .filter((n): n is Extract<PartsNode, { kind: K }> => n.kind === kind)
    .map((n) => ({ label: ctx.parts.model.view(n).label, description: pathText(n), node: n }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`${project.snapshot.relativePath} has no ${kind === 'coarse' ? 'coarse categories' : `${kind}s`} yet.`);
    return undefined;
  }
  return items.length === 1 && kind === 'coarse' ? items[0].node : (await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true }))?.node;
}

function pathText(n: PartsNode): string | undefined {
  if (n.kind === 'part') return n.coarse;
  if (n.kind === 'phrasing') return `${n.coarse} › ${n.part}`;
  return undefined;
}

export const addPart: CommandFactory = (ctx) => async (node?: PartsNode | 'selection') => {
  const at = await nodeOf(ctx, node, 'coarse', 'Add a part to which coarse category?');
  if (!at) return;
  const existing = at.snapshot.parsed.project?.parts[at.coarse] ?? [];
  const name = await vscode.window.showInputBox({
    title: `New part of ${at.coarse}`,
    prompt: 'A short part name, e.g. "wing"',
    validateInput: (v) => notEmpty('A part name')(v) ?? (existing.some((p) => p.name.trim().toLowerCase() === v.trim().toLowerCase()) ? `'${at.coarse}' already has a part '${v.trim()}'` : undefined),
  });
  if (!name) return;
  const phrasings = await vscode.window.showInputBox({
    title: `Phrasings of '${name.trim()}'`,
    prompt: 'One or more phrasings, separated by commas (e.g. "wing, wingtip")',
    value: name.trim(),
    validateInput: (v) => (v.split(',').every((p) => p.trim() === '') ? 'At least one phrasing' : /[{}]/.test(v) ? 'No { or }: templates add the rest' : undefined),
  });
  if (phrasings === undefined) return;
  const prompts = [...new Set(phrasings.split(',').map((p) => p.trim()).filter(Boolean))];
  await editProject(ctx.config, uri(at.snapshot), 'Add Part', (text) => addPartEdit(text, at.coarse, { name: name.trim(), prompts }));
};

/** F2 / Delete act on the selected row: a phrasing or template row gets its own command. */
function byRow(ctx: Ctx, node: PartsNode | 'selection' | undefined, phrasing: CommandFactory, template: CommandFactory): Promise<unknown> | undefined {
  const given = ctx.parts.target(node);
  if (given?.kind === 'phrasing') return Promise.resolve(phrasing(ctx)(given));
  if (given?.kind === 'template') return Promise.resolve(template(ctx)(given));
  return undefined;
}

export const renamePart: CommandFactory = (ctx) => async (node?: PartsNode | 'selection') => {
  const other = byRow(ctx, node, editPhrasing, editTemplate);
  if (other) return other;
  const part = (await nodeOf(ctx, node, 'part', 'Rename which part?')) as PartNode | undefined;
  if (!part) return;
  const name = await vscode.window.showInputBox({ title: `Rename part '${part.name}' of ${part.coarse}`, value: part.name, valueSelection: [0, part.name.length], validateInput: notEmpty('A part name') });
  if (name === undefined || name.trim() === part.name) return;
  await editProject(ctx.config, uri(part.snapshot), 'Rename Part', (text) => renamePartEdit(text, part.coarse, part.name, name.trim()));
};

export const removePart: CommandFactory = (ctx) => async (node?: PartsNode | 'selection') => {
  const other = byRow(ctx, node, removePhrasing, removeTemplate);
  if (other) return other;
  const part = (await nodeOf(ctx, node, 'part', 'Delete which part?')) as PartNode | undefined;
  if (!part) return;
  const ok = await vscode.window.showWarningMessage(
    `Delete part '${part.name}' of ${part.coarse} from the project file?`,
    { modal: true, detail: 'The parts after it move up one mask label. You can undo this in the editor (Ctrl+Z).' },
    'Delete',
  );
  if (ok !== 'Delete') return;
  await editProject(ctx.config, uri(part.snapshot), 'Delete Part', (text) => deletePart(text, part.coarse, part.name));
};

/** Moves a part one place up or down: its mask label changes with its position. */
function move(by: -1 | 1): CommandFactory {
  return (ctx) => async (node?: PartsNode | 'selection') => {
    const part = (await nodeOf(ctx, node, 'part', `Move which part ${by < 0 ? 'up' : 'down'}?`)) as PartNode | undefined;
    if (!part) return;
    const count = part.snapshot.parsed.project?.parts[part.coarse]?.length ?? 0;
    const to = part.index + by;
    if (to < 0 || to >= count) return void vscode.window.showInformationMessage(`'${part.name}' is already the ${by < 0 ? 'first' : 'last'} part of ${part.coarse}.`);
    await editProject(ctx.config, uri(part.snapshot), 'Move Part', (text) => movePart(text, part.coarse, part.name, to));
  };
}

export const movePartUp = move(-1);
export const movePartDown = move(1);

export const addPhrasing: CommandFactory = (ctx) => async (node?: PartsNode | 'selection') => {
  const part = (await nodeOf(ctx, node, 'part', 'Add a phrasing to which part?')) as PartNode | undefined;
  if (!part) return;
  const phrasing = await vscode.window.showInputBox({
    title: `New phrasing of '${part.name}' (${part.coarse})`,
    prompt: `Another way to say it; now: ${part.prompts.map((p) => `"${p}"`).join(', ')}`,
    validateInput: (v) => notEmpty('A phrasing')(v) ?? (part.prompts.some((p) => p.toLowerCase() === v.trim().toLowerCase()) ? `'${part.name}' already has "${v.trim()}"` : undefined),
  });
  if (!phrasing) return;
  await editProject(ctx.config, uri(part.snapshot), 'Add Phrasing', (text) => addPhrasingEdit(text, part.coarse, part.name, phrasing.trim()));
};

export const editPhrasing: CommandFactory = (ctx) => async (node?: PartsNode | 'selection') => {
  const p = (await nodeOf(ctx, node, 'phrasing', 'Edit which phrasing?')) as PhrasingNode | undefined;
  if (!p) return;
  const phrasing = await vscode.window.showInputBox({ title: `Edit phrasing of '${p.part}' (${p.coarse})`, value: p.text, valueSelection: [0, p.text.length], validateInput: notEmpty('A phrasing') });
  if (phrasing === undefined || phrasing.trim() === p.text) return;
  await editProject(ctx.config, uri(p.snapshot), 'Edit Phrasing', (text) => editPhrasingEdit(text, p.coarse, p.part, p.index, phrasing.trim()));
};

export const removePhrasing: CommandFactory = (ctx) => async (node?: PartsNode | 'selection') => {
  const p = (await nodeOf(ctx, node, 'phrasing', 'Remove which phrasing?')) as PhrasingNode | undefined;
  if (!p) return;
  await editProject(ctx.config, uri(p.snapshot), 'Remove Phrasing', (text) => removePhrasingEdit(text, p.coarse, p.part, p.text));
};

const PLACEHOLDERS = 'Placeholders: {name} (class), {part}, {coarse}, {level:NAME}';

export const addTemplate: CommandFactory = (ctx) => async (node?: PartsNode | 'selection') => {
  const at = ctx.parts.target(node) ?? (await pickProject(ctx));
  if (!at) return;
  const kind = (await vscode.window.showQuickPick(
    [
      { label: 'part', description: 'e.g. "a photo of the {part} of a {coarse}."', templateKind: 'part' as TemplateKind },
      { label: 'class', description: 'e.g. "a photo of a {name}, a type of {coarse}."', templateKind: 'class' as TemplateKind },
    ],
    { placeHolder: 'Add a template of which kind?' },
  ))?.templateKind;
  if (!kind) return;
  const template = await vscode.window.showInputBox({ title: `New ${kind} template`, prompt: PLACEHOLDERS, validateInput: (v) => (v.trim() === '' ? 'A template cannot be empty' : undefined) });
  if (!template) return;
  await editProject(ctx.config, uri(at.snapshot), 'Add Template', (text) => addTemplateEdit(text, kind, template.trim()));
};

export const editTemplate: CommandFactory = (ctx) => async (node?: PartsNode | 'selection') => {
  const t = (await nodeOf(ctx, node, 'template', 'Edit which template?')) as TemplateNode | undefined;
  if (!t) return;
  const template = await vscode.window.showInputBox({ title: `Edit ${t.templateKind} template ${t.index + 1}`, prompt: PLACEHOLDERS, value: t.text, validateInput: (v) => (v.trim() === '' ? 'A template cannot be empty' : undefined) });
  if (template === undefined || template.trim() === t.text) return;
  await editProject(ctx.config, uri(t.snapshot), 'Edit Template', (text) => editTemplateEdit(text, t.templateKind, t.index, template.trim()));
};

export const removeTemplate: CommandFactory = (ctx) => async (node?: PartsNode | 'selection') => {
  const t = (await nodeOf(ctx, node, 'template', 'Remove which template?')) as TemplateNode | undefined;
  if (!t) return;
  await editProject(ctx.config, uri(t.snapshot), 'Remove Template', (text) => removeTemplateEdit(text, t.templateKind, t.index));
};

/** The coarse category for part suggestions: the row's, the only one, or one picked. */
export async function pickCoarse(ctx: Ctx, node: PartsNode | undefined, snapshot: ProjectSnapshot): Promise<string | undefined> {
  if (node?.kind === 'coarse' || node?.kind === 'part') return node.coarse;
  const project = snapshot.parsed.project;
  const known = project ? coarseCategories(project).filter((c) => c.known).map((c) => c.coarse) : [];
  if (known.length <= 1) return known[0];
  return vscode.window.showQuickPick(known, { placeHolder: 'Suggest parts for which coarse category?' });
}
