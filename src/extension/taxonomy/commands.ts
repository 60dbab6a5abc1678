// Editing the taxonomy from the tree or the palette: add, rename, delete, move, reveal.
// Each edit is the core's text edit applied as one WorkspaceEdit (editProject).
import * as vscode from 'vscode';
import { addClass as addClassEdit, deleteClass, deleteValue, moveClass, renameClass, renameValue } from '../../core/taxonomy/edits';
import type { Project } from '../../core/taxonomy/model';
import { nodeAt, pathOf, rangeOf } from '../../core/taxonomy/project';
import type { CommandFactory, Ctx } from '../ctx';
import { combined, editProject } from '../project/edits';
import type { ClassNode, TaxonomyNode } from './model';
import { pickNode, pickProject, uriOf } from './pick';

const isEditable = (n: TaxonomyNode) => n.kind === 'class' || n.kind === 'value' || n.kind === 'facetValue';

async function target(ctx: Ctx, node: TaxonomyNode | 'selection' | undefined, selected: TaxonomyNode[] | undefined, placeHolder: string, accept: (n: TaxonomyNode) => boolean) {
  const chosen = ctx.taxonomy.targets(node, selected).filter(accept);
  if (chosen.length > 0) return chosen;
  const picked = await pickNode(ctx, placeHolder, accept);
  return picked ? [picked] : [];
}

/** The level and value a value-like node stands for. */
function levelValue(n: TaxonomyNode): { level: string; value: string } | undefined {
  if (n.kind === 'value') return { level: n.tree.level, value: n.tree.value };
  if (n.kind === 'facetValue') return { level: n.level, value: n.value };
  return undefined;
}

export const rename: CommandFactory = (ctx) => async (node?: TaxonomyNode | 'selection', selected?: TaxonomyNode[]) => {
  const [n] = await target(ctx, node, selected, 'Rename which class or value?', isEditable);
  if (!n) return;
  const lv = levelValue(n);
  const old = n.kind === 'class' ? n.name : lv!.value;
  const what = n.kind === 'class' ? `class ${n.classId}` : `${lv!.level} '${old}' (in every class that has it)`;
  const name = await vscode.window.showInputBox({
    title: `Rename ${what}`,
    value: old,
    valueSelection: [0, old.length],
    validateInput: (v) => (v.trim() === '' ? 'A name cannot be empty' : undefined),
  });
  if (name === undefined || name === old) return;
  await editProject(ctx.config, uriOf(n), 'Rename', (text) =>
    n.kind === 'class' ? renameClass(text, n.classId, name) : renameValue(text, lv!.level, old, name),
  );
};

export const remove: CommandFactory = (ctx) => async (node?: TaxonomyNode | 'selection', selected?: TaxonomyNode[]) => {
  const nodes = await target(ctx, node, selected, 'Delete which class or value?', isEditable);
  if (nodes.length === 0) return;
  const uri = uriOf(nodes[0]);
  const same = nodes.filter((n) => n.snapshot.key === nodes[0].snapshot.key);
  const classes = same.filter((n): n is ClassNode => n.kind === 'class');
  if (classes.length > 0) {
    const names = classes.map((c) => `'${c.name}'`).slice(0, 5).join(', ') + (classes.length > 5 ? ', ...' : '');
    const ok = await vscode.window.showWarningMessage(`Delete ${classes.length === 1 ? 'class' : `${classes.length} classes`} ${names} from the project file?`, { modal: true, detail: 'You can undo this in the editor (Ctrl+Z).' }, 'Delete');
    if (ok !== 'Delete') return;
    const ids = [...new Set(classes.map((c) => c.classId))];
    await editProject(ctx.config, uri, 'Delete', (text) => combined(text, ids.map((id) => (t: string) => deleteClass(t, id))));
    return;
  }
  const n = same[0];
  const lv = levelValue(n)!;
  const project = n.snapshot.parsed.project!;
  const others = valuesAt(project, lv.level).filter((v) => v !== lv.value);
  const count = project.classes.filter((c) => c.path[lv.level] === lv.value).length;
  const picked = await vscode.window.showQuickPick(
    [
      ...others.map((v) => ({ label: `$(arrow-right) Move its ${count} classes to '${v}'`, moveTo: v as string | undefined })),
      { label: `$(trash) Delete its ${count} classes too`, moveTo: undefined },
    ],
    { title: `Delete ${lv.level} '${lv.value}'`, placeHolder: 'A value exists through its classes: move them elsewhere, or delete them' },
  );
  if (!picked) return;
  await editProject(ctx.config, uri, 'Delete', (text) => {
    if (picked.moveTo !== undefined) return deleteValue(text, lv.level, lv.value, picked.moveTo);
    const ids = project.classes.filter((c) => c.path[lv.level] === lv.value).map((c) => c.id);
    return combined(text, ids.map((id) => (t: string) => deleteClass(t, id)));
  });
};

export const move: CommandFactory = (ctx) => async (node?: TaxonomyNode | 'selection', selected?: TaxonomyNode[]) => {
  const nodes = (await target(ctx, node, selected, 'Move which class?', (n) => n.kind === 'class')) as ClassNode[];
  if (nodes.length === 0) return;
  const project = nodes[0].snapshot.parsed.project!;
  const levels = project.levels.slice(0, -1);
  if (levels.length === 0) return void vscode.window.showInformationMessage('This project has only one level: there is nothing to move a class to.');
  const level =
    levels.length === 1
      ? levels[0]
      : (await vscode.window.showQuickPick(levels.map((l) => ({ label: l.name, description: l.kind === 'facet' ? 'facet' : undefined, level: l })), { placeHolder: 'Move along which level?' }))?.level;
  if (!level) return;
  const value = await pickValue(project, level.name, `Move ${nodes.length === 1 ? `'${nodes[0].name}'` : `${nodes.length} classes`} to which ${level.name}?`);
  if (value === undefined) return;
  const ids = nodes.map((n) => n.classId);
  await editProject(ctx.config, uriOf(nodes[0]), 'Move', (text) =>
    combined(text, ids.map((id) => (t: string) => moveClass(t, id, level.name, value))),
  );
};

export const addClass: CommandFactory = (ctx) => async (node?: TaxonomyNode | 'selection') => {
  const at = (node && typeof node === 'object' ? node : ctx.taxonomy.tree.selection[0]) ?? (await pickProject(ctx));
  if (!at) return;
  const project = at.snapshot.parsed.project;
  if (!project || project.levels.length === 0) return void vscode.window.showErrorMessage('Fix the project file\'s errors (see Problems) before adding classes.');
  // Values along the way to the chosen node; the rest is asked for.
  const path: Record<string, string> = {};
  for (let n: TaxonomyNode | undefined = at; n; n = n.parent) {
    const lv = levelValue(n);
    if (lv) path[lv.level] = lv.value;
    if (n.kind === 'value') {
      const donor = project.classes.find((c) => c.path[n.tree.level] === n.tree.value);
      for (const l of project.levels.slice(0, n.tree.levelIndex)) if (donor?.path[l.name] !== undefined) path[l.name] ??= donor.path[l.name];
    }
  }
  for (const level of project.levels.slice(0, -1)) {
    if (path[level.name] !== undefined) continue;
    const v = await pickValue(project, level.name, `${level.name} of the new class`);
    if (v === undefined) return;
    path[level.name] = v;
  }
  const ids = new Set(project.classes.map((c) => c.id));
  const numeric = project.classes.map((c) => Number(c.id)).filter(Number.isInteger);
  const suggestedId = String(numeric.length > 0 ? Math.max(...numeric) + 1 : project.classes.length + 1);
  const name = await vscode.window.showInputBox({ title: 'New class: name', prompt: Object.entries(path).map(([k, v]) => `${k}: ${v}`).join(' · '), validateInput: (v) => (v.trim() ? undefined : 'A class needs a name') });
  if (!name) return;
  const id = await vscode.window.showInputBox({ title: `New class '${name}': id`, value: suggestedId, prompt: "The dataset's own class id", validateInput: (v) => (!v.trim() ? 'An id is needed' : ids.has(v) ? `Id ${v} is taken` : undefined) });
  if (!id) return;
  await editProject(ctx.config, uriOf(at), 'Add Class', (text) => addClassEdit(text, { id, name, path }));
};

export const revealInFile: CommandFactory = (ctx) => async (node?: TaxonomyNode | 'selection', options?: { preserveFocus?: boolean }) => {
  const n = (node && typeof node === 'object' ? node : undefined) ?? (await pickNode(ctx, 'Reveal which class or value?', isEditable));
  if (!n) return;
  const parsed = n.snapshot.parsed;
  let range = parsed.lines.rangeAt(0, 0);
  const project = parsed.project;
  if (n.kind === 'class' && project) {
    const cls = project.classes.find((c) => c.id === n.classId);
    const p = cls && pathOf(parsed, cls);
    if (p) range = rangeOf(parsed, p);
  } else {
    const lv = levelValue(n);
    const cls = lv && project?.classes.find((c) => c.path[lv.level] === lv.value);
    const p = cls && pathOf(parsed, cls);
    if (p && lv) range = rangeOf(parsed, nodeAt(parsed, [...p, 'path', lv.level]) ? [...p, 'path', lv.level] : p);
  }
  const selection = new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
  const editor = await vscode.window.showTextDocument(uriOf(n), { selection, preserveFocus: options?.preserveFocus ?? false, preview: true });
  editor.revealRange(selection, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
};

/** Existing values of a level, plus "new value...". */
async function pickValue(project: Project, level: string, placeHolder: string): Promise<string | undefined> {
  const values = valuesAt(project, level);
  const NEW = '$(add) New value...';
  const picked = await vscode.window.showQuickPick([NEW, ...values], { placeHolder });
  if (picked !== NEW) return picked;
  return vscode.window.showInputBox({ title: `New ${level} value`, validateInput: (v) => (v.trim() ? undefined : 'A value cannot be empty') });
}

function valuesAt(project: Project, level: string): string[] {
  return [...new Set(project.classes.map((c) => c.path[level]).filter((v): v is string => !!v))];
}
