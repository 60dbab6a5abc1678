// Part-set and template edits as pure text operations: each returns jsonc-parser Edits that touch
// only what changes (comments and formatting elsewhere survive), for one undoable WorkspaceEdit.
// Impossible requests throw EditError with a message for the user.
import { findNodeAtLocation, type Edit, type JSONPath, type Node } from 'jsonc-parser';
import { EditError, setTemplates as setTemplateList } from '../taxonomy/edits';
import { inline, insertElement, insertProperty, lineIndent, removeMember, replaceNode, valueText } from '../taxonomy/jsonText';
import { partNameProblem, type Part, type Project } from '../taxonomy/model';
import { parseProject } from '../taxonomy/project';
import { parseTemplate, TemplateError } from './templates';

export type TemplateKind = 'class' | 'part';

interface Doc {
  text: string;
  project: Project;
  root: Node;
}

function open(text: string): Doc {
  const parsed = parseProject(text);
  if (!parsed.project || !parsed.root || parsed.diagnostics.some((d) => d.code === 'syntax')) {
    throw new EditError('the project file has syntax errors; fix them before editing parts or templates');
  }
  return { text, project: parsed.project, root: parsed.root };
}

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

function checkText(value: string, what: string) {
  if (value.trim() === '') throw new EditError(`${what} cannot be empty`);
  if (/[\r\n]/.test(value)) throw new EditError(`${what} must be one line`);
}

function checkPartName(value: string) {
  const why = partNameProblem(value);
  if (why) throw new EditError(why);
}

function checkPhrasing(value: string) {
  checkText(value, 'a phrasing');
  if (/[{}]/.test(value)) throw new EditError(`the phrasing "${value}" contains { or }: phrasings are plain text (templates add the rest)`);
}

function partIndex(doc: Doc, coarse: string, name: string): number {
  const parts = doc.project.parts[coarse];
  if (!parts) throw new EditError(`no parts for '${coarse}'`);
  const i = parts.findIndex((p) => p.name === name);
  if (i < 0) throw new EditError(`no part '${name}' for '${coarse}' (parts: ${parts.map((p) => p.name).join(', ')})`);
  return i;
}

function at(doc: Doc, path: JSONPath): Node {
  const n = findNodeAtLocation(doc.root, path);
  if (!n) throw new EditError(`the project file has no ${path.join('.')}`);
  return n;
}

/** Adds a part to a coarse category (creating the category, and "parts", as needed). */
export function addPart(text: string, coarse: string, part: Part, index?: number): Edit[] {
  const doc = open(text);
  checkText(part.name, 'a part name');
  checkPartName(part.name);
  if (part.prompts.length === 0) throw new EditError(`part '${part.name}' needs at least one phrasing`);
  part.prompts.forEach(checkPhrasing);
  const existing = doc.project.parts[coarse] ?? [];
  const twin = existing.find((p) => same(p.name, part.name));
  if (twin) throw new EditError(`'${coarse}' already has a part '${twin.name}'`);
  const value = { name: part.name, prompts: part.prompts };
  const list = findNodeAtLocation(doc.root, ['parts', coarse]);
  if (list?.type === 'array') {
    const like = list.children?.[0];
    const indent = like ? lineIndent(text, like.offset) : lineIndent(text, list.offset) + '  ';
    return [insertElement(text, list, valueText(text, value, like, indent), index)];
  }
  if (list) throw new EditError(`parts.${coarse} must be an array`);
  const parts = findNodeAtLocation(doc.root, ['parts']);
  if (parts?.type === 'object') return [insertProperty(text, parts, coarse, `[${inline(value)}]`)];
  if (parts) throw new EditError('"parts" must be an object');
  return [insertProperty(text, doc.root, 'parts', `{ ${JSON.stringify(coarse)}: [${inline(value)}] }`)];
}

export function renamePart(text: string, coarse: string, oldName: string, newName: string): Edit[] {
  const doc = open(text);
  checkText(newName, 'a part name');
  checkPartName(newName);
  const i = partIndex(doc, coarse, oldName);
  const twin = doc.project.parts[coarse].find((p, j) => j !== i && same(p.name, newName));
  if (twin) throw new EditError(`'${coarse}' already has a part '${twin.name}'`);
  return [replaceNode(at(doc, ['parts', coarse, i, 'name']), JSON.stringify(newName))];
}

export function deletePart(text: string, coarse: string, name: string): Edit[] {
  const doc = open(text);
  return [removeMember(text, at(doc, ['parts', coarse, partIndex(doc, coarse, name)]))];
}

/** Moves a part to a new position (its label index in masks follows the order). */
export function movePart(text: string, coarse: string, name: string, toIndex: number): Edit[] {
  const doc = open(text);
  const parts = doc.project.parts[coarse];
  const from = partIndex(doc, coarse, name);
  if (toIndex < 0 || toIndex >= parts.length) throw new EditError(`position ${toIndex + 1} is outside 1..${parts.length}`);
  if (toIndex === from) return [];
  const list = at(doc, ['parts', coarse]);
  const nodes = list.children!;
  // Swap texts one by one along the way, so each element keeps its line and indentation.
  const order = nodes.map((_, j) => j);
  order.splice(toIndex, 0, order.splice(from, 1)[0]);
  return nodes.flatMap((n, j) => (order[j] === j ? [] : [replaceNode(n, text.slice(nodes[order[j]].offset, nodes[order[j]].offset + nodes[order[j]].length))]));
}

export function addPhrasing(text: string, coarse: string, part: string, phrasing: string): Edit[] {
  const doc = open(text);
  checkPhrasing(phrasing);
  const i = partIndex(doc, coarse, part);
  if (doc.project.parts[coarse][i].prompts.some((p) => same(p, phrasing))) throw new EditError(`part '${part}' already has the phrasing "${phrasing}"`);
  const prompts = findNodeAtLocation(doc.root, ['parts', coarse, i, 'prompts']);
  if (prompts?.type === 'array') return [insertElement(text, prompts, JSON.stringify(phrasing))];
  if (prompts) return [replaceNode(prompts, inline([phrasing]))];
  return [insertProperty(text, at(doc, ['parts', coarse, i]), 'prompts', inline([phrasing]))];
}

export function editPhrasing(text: string, coarse: string, part: string, index: number, phrasing: string): Edit[] {
  const doc = open(text);
  checkPhrasing(phrasing);
  const i = partIndex(doc, coarse, part);
  const prompts = doc.project.parts[coarse][i].prompts;
  if (index < 0 || index >= prompts.length) throw new EditError(`part '${part}' has no phrasing #${index + 1}`);
  if (prompts.some((p, j) => j !== index && same(p, phrasing))) throw new EditError(`part '${part}' already has the phrasing "${phrasing}"`);
  return [replaceNode(at(doc, ['parts', coarse, i, 'prompts', index]), JSON.stringify(phrasing))];
}

export function removePhrasing(text: string, coarse: string, part: string, phrasing: string): Edit[] {
  const doc = open(text);
  const i = partIndex(doc, coarse, part);
  const prompts = doc.project.parts[coarse][i].prompts;
  const j = prompts.indexOf(phrasing);
  if (j < 0) throw new EditError(`part '${part}' has no phrasing "${phrasing}"`);
  if (prompts.length === 1) throw new EditError(`"${phrasing}" is the only phrasing of '${part}': delete the part instead`);
  return [removeMember(text, at(doc, ['parts', coarse, i, 'prompts', j]))];
}

function checkTemplate(kind: TemplateKind, template: string) {
  checkText(template, `a ${kind} template`);
  try {
    parseTemplate(template);
  } catch (err) {
    if (err instanceof TemplateError) throw new EditError(err.message);
    throw err;
  }
  if (kind === 'class' && template.includes('{part}')) throw new EditError('a class template has no part: {part} only works in part templates');
}

/** Replaces the whole template list of a kind, after checking every template. */
export function setTemplates(text: string, kind: TemplateKind, templates: readonly string[]): Edit[] {
  open(text);
  templates.forEach((t) => checkTemplate(kind, t));
  return setTemplateList(text, kind, [...templates]);
}

export function addTemplate(text: string, kind: TemplateKind, template: string): Edit[] {
  const doc = open(text);
  checkTemplate(kind, template);
  const list = findNodeAtLocation(doc.root, ['templates', kind]);
  if (list?.type === 'array') {
    if (doc.project.templates[kind].includes(template)) throw new EditError(`the ${kind} templates already hold "${template}"`);
    return [insertElement(text, list, JSON.stringify(template))];
  }
  return setTemplates(text, kind, [template]);
}

export function editTemplate(text: string, kind: TemplateKind, index: number, template: string): Edit[] {
  const doc = open(text);
  checkTemplate(kind, template);
  const node = findNodeAtLocation(doc.root, ['templates', kind, index]);
  if (!node) throw new EditError(`there is no ${kind} template #${index + 1}`);
  return [replaceNode(node, JSON.stringify(template))];
}

export function removeTemplate(text: string, kind: TemplateKind, index: number): Edit[] {
  const doc = open(text);
  const node = findNodeAtLocation(doc.root, ['templates', kind, index]);
  if (!node) throw new EditError(`there is no ${kind} template #${index + 1}`);
  return [removeMember(text, node)];
}
