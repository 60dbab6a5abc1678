// Text-level JSON helpers for writing and editing project files without reformatting them:
// compact one-line values, and insert/remove/replace edits computed from jsonc-parser nodes.
import type { Edit, Node } from 'jsonc-parser';

/** One-line JSON with spaces after separators: `{ "a": 1, "b": [1, 2] }`. */
export function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`).join(', ')} }`;
  }
  return JSON.stringify(value);
}

/** Items one per line between open/close brackets. */
export function block(items: string[], indent: string, closeIndent: string, open: string, close: string): string {
  if (items.length === 0) return open + close;
  return `${open}\n${items.map((i) => indent + i).join(',\n')}\n${closeIndent}${close}`;
}

export function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** Leading whitespace of the line holding `offset`. */
export function lineIndent(text: string, offset: number): string {
  let start = offset;
  while (start > 0 && text[start - 1] !== '\n' && text[start - 1] !== '\r') start--;
  let end = start;
  while (text[end] === ' ' || text[end] === '\t') end++;
  return text.slice(start, end);
}

/** The indentation unit the file uses (first indented line), two spaces by default. */
export function indentUnit(text: string): string {
  const m = /\n([ \t]+)\S/.exec(text);
  return m ? (m[1].startsWith('\t') ? '\t' : m[1].length >= 4 && m[1].length % 4 === 0 ? '    ' : '  ') : '  ';
}

function spansLines(text: string, node: Node): boolean {
  const s = text.slice(node.offset, node.offset + node.length);
  return s.includes('\n');
}

/** JSON text for a new value placed like `like` (one line, or indented when `like` spans lines). */
export function valueText(text: string, value: unknown, like: Node | undefined, indent: string): string {
  if (!like || !spansLines(text, like)) return inline(value);
  const unit = indentUnit(text);
  return JSON.stringify(value, null, unit).replace(/\n/g, eolOf(text) + indent);
}

export function replaceNode(node: Node, content: string): Edit {
  return { offset: node.offset, length: node.length, content };
}

/** The element of an array or the property of an object that holds `node`. */
export function memberOf(node: Node): Node {
  return node.parent?.type === 'property' ? node.parent : node;
}

/** Removes an array element or object property (give the property node), with its comma. */
export function removeMember(text: string, member: Node): Edit {
  const container = member.parent!;
  const siblings = container.children!;
  const i = siblings.indexOf(member);
  const end = member.offset + member.length;
  if (siblings.length === 1) {
    return { offset: container.offset + 1, length: container.length - 2, content: '' };
  }
  if (i < siblings.length - 1) {
    // Up to and including the comma after it; whole lines when the member has its own line.
    let j = end;
    while (j < text.length && text[j] !== ',') j++;
    j++;
    const lineStart = member.offset - lineIndent(text, member.offset).length;
    const ownsLine = lineStart === 0 || text[lineStart - 1] === '\n';
    let k = j;
    while (text[k] === ' ' || text[k] === '\t') k++;
    // A line comment after the comma belongs to this member.
    if (ownsLine && text.startsWith('//', k)) while (k < text.length && text[k] !== '\n' && text[k] !== '\r') k++;
    if (ownsLine && (text[k] === '\n' || text[k] === '\r')) {
      if (text[k] === '\r') k++;
      if (text[k] === '\n') k++;
      return { offset: lineStart, length: k - lineStart, content: '' };
    }
    return { offset: member.offset, length: k - member.offset, content: '' };
  }
  const prev = siblings[i - 1];
  const from = prev.offset + prev.length;
  return { offset: from, length: end - from, content: '' };
}

/** Inserts `content` (already JSON text) into an array at `index` (default: at the end). */
export function insertElement(text: string, array: Node, content: string, index?: number): Edit {
  const items = array.children ?? [];
  const at = index === undefined || index > items.length ? items.length : index;
  if (items.length === 0) {
    const indent = lineIndent(text, array.offset);
    const eol = eolOf(text);
    return { offset: array.offset, length: array.length, content: `[${eol}${indent}${indentUnit(text)}${content}${eol}${indent}]` };
  }
  const sep = separator(text, array, items);
  if (at < items.length) return { offset: items[at].offset, length: 0, content: content + ',' + sep };
  const last = items[items.length - 1];
  return { offset: last.offset + last.length, length: 0, content: ',' + sep + content };
}

/** Adds `"key": content` to an object after its last property. */
export function insertProperty(text: string, object: Node, key: string, content: string): Edit {
  return insertProperties(text, object, { [key]: content });
}

/** Adds several `"key": content` members (content already JSON text) in one edit. */
export function insertProperties(text: string, object: Node, members: Record<string, string>): Edit {
  const props = object.children ?? [];
  const list = Object.entries(members).map(([k, v]) => `${JSON.stringify(k)}: ${v}`);
  if (props.length === 0) return { offset: object.offset, length: object.length, content: `{ ${list.join(', ')} }` };
  const last = props[props.length - 1];
  const sep = separator(text, object, props);
  return { offset: last.offset + last.length, length: 0, content: list.map((m) => ',' + sep + m).join('') };
}

/** Whitespace between members: what the file uses between the first two, else newline+indent or a space. */
function separator(text: string, container: Node, members: Node[]): string {
  if (members.length >= 2) {
    const between = text.slice(members[0].offset + members[0].length, members[1].offset);
    const afterComma = between.slice(between.indexOf(',') + 1);
    if (/^\s*$/.test(afterComma)) return afterComma;
  }
  const before = text.slice(container.offset + 1, members[0].offset);
  if (before.includes('\n')) return eolOf(text) + lineIndent(text, members[0].offset);
  return ' ';
}

/** Replaces a property's key text. */
export function renameKey(property: Node, newKey: string): Edit {
  const key = property.children![0];
  return { offset: key.offset, length: key.length, content: JSON.stringify(newKey) };
}

/** One replace edit covering what differs between two texts (common prefix and suffix kept). */
export function diffEdit(before: string, after: string): Edit {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endB = before.length;
  let endA = after.length;
  while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) {
    endB--;
    endA--;
  }
  return { offset: start, length: endB - start, content: after.slice(start, endA) };
}
