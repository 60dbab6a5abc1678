// Edits of the project file's curation decisions (`images.exclude`, `images.relabel`): each call
// is one decision (any number of images) returned as jsonc-parser Edits that touch only the
// `images` section, so the extension applies it as one WorkspaceEdit (one Ctrl+Z) and the CLI
// writes the same text.
import { findNodeAtLocation, type Node } from 'jsonc-parser';
import { applyEdits, EditError, type Edit } from '../taxonomy/edits';
import { block, diffEdit, eolOf, indentUnit, inline, insertElement, insertProperty, lineIndent, removeMember, replaceNode } from '../taxonomy/jsonText';
import { parseProject } from '../taxonomy/project';

interface Doc {
  text: string;
  root: Node;
}

function open(text: string): Doc {
  const parsed = parseProject(text);
  if (!parsed.project || !parsed.root || parsed.diagnostics.some((d) => d.code === 'syntax')) {
    throw new EditError('the project file has syntax errors; fix them before recording image decisions');
  }
  const images = findNodeAtLocation(parsed.root, ['images']);
  if (images && images.type !== 'object') throw new EditError('"images" in the project file is not an object; fix it before recording image decisions');
  return { text, root: parsed.root };
}

const at = (doc: Doc, path: (string | number)[]) => findNodeAtLocation(doc.root, path);

/** Indentation of the members of the top-level object. */
function topIndent(doc: Doc): string {
  const first = doc.root.children?.[0];
  return first ? lineIndent(doc.text, first.offset) : indentUnit(doc.text);
}

/** `"images": {...}` added to the project with one member, laid out like the rest of the file. */
function addImagesSection(doc: Doc, key: 'exclude' | 'relabel', items: string[]): Edit {
  const eol = eolOf(doc.text);
  const i1 = topIndent(doc);
  const unit = indentUnit(doc.text);
  const i2 = i1 + unit;
  const i3 = i2 + unit;
  const inner = block(items, i3, i2, key === 'exclude' ? '[' : '{', key === 'exclude' ? ']' : '}').replace(/\n/g, eol);
  return insertProperty(doc.text, doc.root, 'images', `{${eol}${i2}${JSON.stringify(key)}: ${inner}${eol}${i1}}`);
}

/** One edit from a sequence of single-step changes (each sees the previous one's text). */
function steps(text: string, ops: Array<(t: string) => Edit[]>): Edit[] {
  const after = ops.reduce((t, op) => applyEdits(t, op(t)), text);
  return after === text ? [] : [diffEdit(text, after)];
}

function exclusionIndex(doc: Doc, imagePath: string): number {
  const list = at(doc, ['images', 'exclude']);
  if (list?.type !== 'array') return -1;
  return (list.children ?? []).findIndex((item) => item.type === 'object' && findNodeAtLocation(item, ['path'])?.value === imagePath);
}

/** Leaves images out (a reason each). Images already excluded keep their entry. */
export function excludeImages(text: string, items: ReadonlyArray<{ path: string; reason: string }>): Edit[] {
  open(text);
  const unique = [...new Map(items.map((i) => [i.path, i])).values()];
  return steps(text, unique.map((item) => (t: string) => {
    const doc = open(t);
    if (exclusionIndex(doc, item.path) >= 0) return [];
    const entry = inline({ path: item.path, reason: item.reason });
    const images = at(doc, ['images']);
    if (!images) return [addImagesSection(doc, 'exclude', [entry])];
    const list = at(doc, ['images', 'exclude']);
    if (!list) {
      const i2 = lineIndent(t, images.children?.[0]?.offset ?? images.offset) || topIndent(doc) + indentUnit(t);
      return [insertProperty(t, images, 'exclude', block([entry], i2 + indentUnit(t), i2, '[', ']').replace(/\n/g, eolOf(t)))];
    }
    if (list.type !== 'array') throw new EditError('"images.exclude" is not an array; fix it before excluding images');
    return [insertElement(t, list, entry)];
  }));
}

/** Takes images back in (removes their exclusions). */
export function includeImages(text: string, paths: readonly string[]): Edit[] {
  open(text);
  return steps(text, [...new Set(paths)].map((p) => (t: string) => {
    const doc = open(t);
    const i = exclusionIndex(doc, p);
    return i < 0 ? [] : [removeMember(t, at(doc, ['images', 'exclude', i])!)];
  }));
}

/**
 * Gives images another class. `datasetClassOf` (the dataset's own label of a path) turns a relabel
 * back to the dataset's class into removing the relabel.
 */
export function relabelImages(text: string, paths: readonly string[], classId: string, datasetClassOf?: (path: string) => string | undefined): Edit[] {
  open(text);
  if (classId.trim() === '') throw new EditError('choose the class to relabel the images to');
  return steps(text, [...new Set(paths)].map((p) => (t: string) => {
    const doc = open(t);
    const existing = at(doc, ['images', 'relabel', p]);
    if (datasetClassOf?.(p) === classId) return existing ? [removeMember(t, existing.parent!)] : [];
    if (existing) return existing.value === classId ? [] : [replaceNode(existing, JSON.stringify(classId))];
    const images = at(doc, ['images']);
    const entry = `${JSON.stringify(p)}: ${JSON.stringify(classId)}`;
    if (!images) return [addImagesSection(doc, 'relabel', [entry])];
    const map = at(doc, ['images', 'relabel']);
    if (!map) {
      const i2 = lineIndent(t, images.children?.[0]?.offset ?? images.offset) || topIndent(doc) + indentUnit(t);
      return [insertProperty(t, images, 'relabel', block([entry], i2 + indentUnit(t), i2, '{', '}').replace(/\n/g, eolOf(t)))];
    }
    if (map.type !== 'object') throw new EditError('"images.relabel" is not an object; fix it before relabelling images');
    if ((map.children ?? []).length === 0) {
      const i2 = lineIndent(t, map.offset);
      return [replaceNode(map, block([entry], i2 + indentUnit(t), i2, '{', '}').replace(/\n/g, eolOf(t)))];
    }
    return [insertProperty(t, map, p, JSON.stringify(classId))];
  }));
}

/** Gives images their dataset's label back (removes their relabels). */
export function clearRelabels(text: string, paths: readonly string[]): Edit[] {
  open(text);
  return steps(text, [...new Set(paths)].map((p) => (t: string) => {
    const doc = open(t);
    const node = at(doc, ['images', 'relabel', p]);
    return node ? [removeMember(t, node.parent!)] : [];
  }));
}

/** Removes one decision (the quick fix of a stale one). */
export function removeDecision(text: string, kind: 'exclude' | 'relabel', imagePath: string): Edit[] {
  return kind === 'exclude' ? includeImages(text, [imagePath]) : clearRelabels(text, [imagePath]);
}
