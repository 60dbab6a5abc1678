// Edit operations on the project file text. Each returns jsonc-parser Edits (offset/length/
// content) that touch only what changes, so comments and formatting elsewhere survive; the
// extension turns them into one undoable WorkspaceEdit. Impossible requests throw EditError.
import { applyEdits, findNodeAtLocation, modify, type Edit, type JSONPath, type Node } from 'jsonc-parser';
import type { Level, LevelKind, Part, Project, TaxonomyClass } from './model';
import { classToJson, levelToJson, parseProject, type ParsedProject } from './project';
import { indentUnit, inline, insertElement, insertProperties, insertProperty, lineIndent, memberOf, removeMember, renameKey, replaceNode, valueText } from './jsonText';
import { parentLevelIndex } from './validate';

export type { Edit } from 'jsonc-parser';
export { applyEdits } from 'jsonc-parser';

export class EditError extends Error {}

interface Doc {
  text: string;
  parsed: ParsedProject;
  project: Project;
  root: Node;
}

function open(text: string): Doc {
  const parsed = parseProject(text);
  if (!parsed.project || !parsed.root || parsed.diagnostics.some((d) => d.code === 'syntax')) {
    throw new EditError('the project file has syntax errors; fix them before editing the taxonomy');
  }
  return { text, parsed, project: parsed.project, root: parsed.root };
}

function node(doc: Doc, path: JSONPath): Node | undefined {
  return findNodeAtLocation(doc.root, path);
}

function classEntry(doc: Doc, classId: string): { cls: TaxonomyClass; path: JSONPath; node: Node } {
  const cls = doc.project.classes.find((c) => c.id === classId);
  const path = cls && doc.parsed.paths.get(cls);
  const n = path && node(doc, path);
  if (!cls || !path || !n) throw new EditError(`no class with id '${classId}' in the project file`);
  return { cls, path, node: n };
}

function levelIndex(doc: Doc, name: string): number {
  const i = doc.project.levels.findIndex((l) => l.name === name);
  if (i < 0) throw new EditError(`no level '${name}'; the levels are ${doc.project.levels.map((l) => l.name).join(', ')}`);
  return i;
}

function isFine(doc: Doc, i: number): boolean {
  return i === doc.project.levels.length - 1;
}

/** Sets path values of a class: replaces existing ones, adds the others in one insertion. */
function setPathValues(doc: Doc, entry: { path: JSONPath; node: Node }, values: Record<string, string>): Edit[] {
  const edits: Edit[] = [];
  const added: Record<string, string> = {};
  for (const [level, value] of Object.entries(values)) {
    const existing = node(doc, [...entry.path, 'path', level]);
    if (existing) edits.push(replaceNode(existing, JSON.stringify(value)));
    else added[level] = value;
  }
  if (Object.keys(added).length === 0) return edits;
  const pathNode = node(doc, [...entry.path, 'path']);
  if (pathNode?.type === 'object') {
    edits.push(insertProperties(doc.text, pathNode, Object.fromEntries(Object.entries(added).map(([k, v]) => [k, JSON.stringify(v)]))));
  } else if (pathNode) edits.push(replaceNode(pathNode, inline(added)));
  else edits.push(insertProperty(doc.text, entry.node, 'path', inline(added)));
  return edits;
}

function setPathValue(doc: Doc, entry: { path: JSONPath; node: Node }, level: string, value: string): Edit[] {
  return setPathValues(doc, entry, { [level]: value });
}

/** The values of the nested levels above `levelIdx` that `value` already has in some class. */
function ancestryOf(doc: Doc, levelIdx: number, value: string, except?: string): Record<string, string> | undefined {
  const name = doc.project.levels[levelIdx].name;
  const donor = doc.project.classes.find((c) => c.id !== except && c.path[name] === value);
  if (!donor) return undefined;
  const out: Record<string, string> = {};
  for (let i = parentLevelIndex(doc.project.levels, levelIdx); i !== undefined; i = parentLevelIndex(doc.project.levels, i)) {
    const v = donor.path[doc.project.levels[i].name];
    if (v !== undefined) out[doc.project.levels[i].name] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Classes

/** Appends a class (or inserts it at `index`), formatted like the existing classes. */
export function addClass(text: string, cls: TaxonomyClass, index?: number): Edit[] {
  const doc = open(text);
  if (doc.project.classes.some((c) => c.id === cls.id)) throw new EditError(`a class with id '${cls.id}' already exists`);
  const classes = node(doc, ['classes']);
  if (!classes || classes.type !== 'array') throw new EditError('the project file has no "classes" array');
  const like = classes.children?.[0];
  const indent = like ? lineIndent(text, like.offset) : lineIndent(text, classes.offset) + '  ';
  return [insertElement(text, classes, valueText(text, classToJson(cls), like, indent), index)];
}

export function renameClass(text: string, classId: string, newName: string): Edit[] {
  const doc = open(text);
  if (newName.trim() === '') throw new EditError('a class name cannot be empty');
  const entry = classEntry(doc, classId);
  const nameNode = node(doc, [...entry.path, 'name']);
  if (!nameNode) throw new EditError(`class '${classId}' has no name to rename`);
  return [replaceNode(nameNode, JSON.stringify(newName))];
}

export function deleteClass(text: string, classId: string): Edit[] {
  const doc = open(text);
  return [removeMember(text, memberOf(classEntry(doc, classId).node))];
}

/**
 * Moves a class to `value` at an intermediate level. When `value` already exists at a nested
 * level, the class also takes that value's ancestors so the tree stays consistent.
 */
export function moveClass(text: string, classId: string, level: string, value: string): Edit[] {
  const doc = open(text);
  const li = levelIndex(doc, level);
  if (isFine(doc, li)) throw new EditError(`'${level}' is the fine level: rename the class instead of moving it`);
  if (value.trim() === '') throw new EditError('the new value cannot be empty');
  const entry = classEntry(doc, classId);
  const values: Record<string, string> = { [level]: value };
  if (doc.project.levels[li].kind === 'nested') {
    for (const [l, v] of Object.entries(ancestryOf(doc, li, value, classId) ?? {})) if (entry.cls.path[l] !== v) values[l] = v;
  }
  return setPathValues(doc, entry, values);
}

// ---------------------------------------------------------------------------------------------
// Values of a level (the intermediate nodes of the tree)

/** Renames a value at a level in every class that has it (the coarse level also renames its parts key;
 *  the fine level renames the classes of that name). */
export function renameValue(text: string, level: string, oldValue: string, newValue: string): Edit[] {
  const doc = open(text);
  const li = levelIndex(doc, level);
  if (newValue.trim() === '') throw new EditError('the new value cannot be empty');
  const edits: Edit[] = [];
  for (const cls of doc.project.classes) {
    const path = doc.parsed.paths.get(cls)!;
    if (isFine(doc, li)) {
      if (cls.name === oldValue) edits.push(replaceNode(node(doc, [...path, 'name'])!, JSON.stringify(newValue)));
    } else if (cls.path[level] === oldValue) {
      edits.push(replaceNode(node(doc, [...path, 'path', level])!, JSON.stringify(newValue)));
    }
  }
  if (edits.length === 0) throw new EditError(`no class has '${oldValue}' at level '${level}'`);
  if (li === 0) {
    const partsKey = node(doc, ['parts', oldValue]);
    if (partsKey && !node(doc, ['parts', newValue])) edits.push(renameKey(partsKey.parent!, newValue));
  }
  return edits;
}

/**
 * Deletes an intermediate value. A value exists only through its classes, so this needs
 * `moveTo`: its classes move there (taking its ancestors at nested levels). Without classes
 * there is nothing to delete.
 */
export function deleteValue(text: string, level: string, value: string, moveTo?: string): Edit[] {
  const doc = open(text);
  const li = levelIndex(doc, level);
  if (isFine(doc, li)) throw new EditError(`'${level}' is the fine level: delete the classes instead`);
  const members = doc.project.classes.filter((c) => c.path[level] === value);
  if (members.length === 0) return [];
  if (moveTo === undefined || moveTo === value) {
    throw new EditError(`${level} '${value}' still has ${members.length} class${members.length === 1 ? '' : 'es'}; choose a value to move them to`);
  }
  const ancestry = doc.project.levels[li].kind === 'nested' ? ancestryOf(doc, li, moveTo) ?? {} : {};
  const edits: Edit[] = [];
  for (const cls of members) {
    const path = doc.parsed.paths.get(cls)!;
    const entry = { path, node: node(doc, path)! };
    const values: Record<string, string> = { [level]: moveTo };
    for (const [l, v] of Object.entries(ancestry)) if (cls.path[l] !== v) values[l] = v;
    edits.push(...setPathValues(doc, entry, values));
  }
  return edits;
}

// ---------------------------------------------------------------------------------------------
// Levels

export interface AddLevelOptions {
  /** Position in `levels`; default just before the fine level. Must be 1..levels.length-1. */
  index?: number;
  kind?: LevelKind;
  /** Value for each class; default: the class's value at the nearest nested level above. */
  value?: string | ((cls: TaxonomyClass) => string);
}

export function addLevel(text: string, name: string, options: AddLevelOptions = {}): Edit[] {
  const doc = open(text);
  const { levels } = doc.project;
  if (name.trim() === '') throw new EditError('a level needs a name');
  if (levels.some((l) => l.name === name)) throw new EditError(`level '${name}' already exists`);
  const index = options.index ?? levels.length - 1;
  if (index < 1 || index > levels.length - 1) throw new EditError(`a new level goes between the coarse and the fine level (index 1..${levels.length - 1})`);
  const levelsNode = node(doc, ['levels']);
  if (!levelsNode || levelsNode.type !== 'array') throw new EditError('the project file has no "levels" array');
  const level: Level = { name, kind: options.kind ?? 'nested' };
  const edits = [insertElement(text, levelsNode, inline(levelToJson(level)), index)];
  const parentIdx = parentLevelIndex(levels, index);
  for (const cls of doc.project.classes) {
    const value =
      typeof options.value === 'function'
        ? options.value(cls)
        : options.value ?? (parentIdx === undefined ? undefined : parentIdx === levels.length - 1 ? cls.name : cls.path[levels[parentIdx].name]);
    if (value === undefined) continue;
    const path = doc.parsed.paths.get(cls)!;
    edits.push(...setPathValue(doc, { path, node: node(doc, path)! }, name, value));
  }
  return edits;
}

export function removeLevel(text: string, name: string): Edit[] {
  const doc = open(text);
  const li = levelIndex(doc, name);
  if (li === 0 || isFine(doc, li)) throw new EditError(`the ${li === 0 ? 'coarse' : 'fine'} level cannot be removed`);
  const levelNode = node(doc, ['levels', li])!;
  const edits = [removeMember(text, levelNode)];
  for (const cls of doc.project.classes) {
    const v = node(doc, [...doc.parsed.paths.get(cls)!, 'path', name]);
    if (v) edits.push(removeMember(text, memberOf(v)));
  }
  return edits;
}

export function renameLevel(text: string, oldName: string, newName: string): Edit[] {
  const doc = open(text);
  const li = levelIndex(doc, oldName);
  if (newName.trim() === '') throw new EditError('a level needs a name');
  if (doc.project.levels.some((l) => l.name === newName)) throw new EditError(`level '${newName}' already exists`);
  const levelNode = node(doc, ['levels', li])!;
  const edits: Edit[] = [];
  if (levelNode.type === 'string') edits.push(replaceNode(levelNode, JSON.stringify(newName)));
  else edits.push(replaceNode(findNodeAtLocation(levelNode, ['name'])!, JSON.stringify(newName)));
  for (const cls of doc.project.classes) {
    const v = node(doc, [...doc.parsed.paths.get(cls)!, 'path', oldName]);
    if (v) edits.push(renameKey(v.parent!, newName));
  }
  // Templates that name the level keep working.
  for (const kind of ['class', 'part'] as const) {
    doc.project.templates[kind].forEach((t, i) => {
      const updated = t.split(`{level:${oldName}}`).join(`{level:${newName}}`);
      const n = node(doc, ['templates', kind, i]);
      if (updated !== t && n) edits.push(replaceNode(n, JSON.stringify(updated)));
    });
  }
  return edits;
}

export function setLevelKind(text: string, name: string, kind: LevelKind): Edit[] {
  const doc = open(text);
  const li = levelIndex(doc, name);
  if (kind === 'facet' && (li === 0 || isFine(doc, li))) throw new EditError('the coarse and fine levels cannot be facets');
  const levelNode = node(doc, ['levels', li])!;
  const json = levelToJson({ name, kind });
  return [replaceNode(levelNode, inline(json))];
}

// ---------------------------------------------------------------------------------------------
// Other fields (descriptions, aliases, parts, templates): jsonc-parser's modify, indented like the file

/** Sets (or with `undefined` removes) the value at any JSON path. */
export function setJsonValue(text: string, path: JSONPath, value: unknown): Edit[] {
  open(text);
  const unit = indentUnit(text);
  return modify(text, path, value, {
    formattingOptions: { insertSpaces: unit !== '\t', tabSize: unit === '\t' ? 4 : unit.length, eol: text.includes('\r\n') ? '\r\n' : '\n' },
  });
}

/** Sets a class's description, aliases or source (`undefined` removes the field). */
export function setClassField(text: string, classId: string, field: 'description' | 'aliases' | 'source', value: string | string[] | undefined): Edit[] {
  const doc = open(text);
  const entry = classEntry(doc, classId);
  const existing = node(doc, [...entry.path, field]);
  if (value === undefined) return existing ? [removeMember(text, memberOf(existing))] : [];
  if (existing) return [replaceNode(existing, inline(value))];
  return [insertProperty(text, entry.node, field, inline(value))];
}

/** Replaces the part list of a coarse category (adds the category when new). */
export function setParts(text: string, coarse: string, parts: Part[]): Edit[] {
  return setJsonValue(text, ['parts', coarse], parts.map((p) => ({ name: p.name, prompts: p.prompts })));
}

/** Replaces the class or part templates. */
export function setTemplates(text: string, kind: 'class' | 'part', templates: string[]): Edit[] {
  return setJsonValue(text, ['templates', kind], templates);
}

/** Applies several operations in sequence (each sees the previous one's result). */
export function applyOperations(text: string, ops: Array<(t: string) => Edit[]>): string {
  return ops.reduce((t, op) => applyEdits(t, op(t)), text);
}
