// Reading the project file with source positions, and writing it. Parsing is lenient: a file
// with structural mistakes still yields a Project (bad entries skipped) plus diagnostics, so the
// editor can show every problem at once.
import { findNodeAtLocation, parseTree, printParseErrorCode, type JSONPath, type Node, type ParseError } from 'jsonc-parser';
import { block, inline } from './jsonText';
import { LineIndex, type Diagnostic, type Range, type Severity } from './diagnostics';
import {
  DATASET_FORMATS,
  DEFAULT_TEMPLATES,
  type DatasetFormat,
  type ImageDecisions,
  type ImageExclusion,
  type Level,
  type Part,
  type Project,
  type TaxonomyClass,
  type Templates,
} from './model';

export type { JSONPath, Node } from 'jsonc-parser';

export interface ParsedProject {
  text: string;
  file?: string;
  root?: Node;
  /** Undefined only when the text is not a JSON object at all. */
  project?: Project;
  /** Syntax and structure problems (semantic ones come from validateProject). */
  diagnostics: Diagnostic[];
  lines: LineIndex;
  /** Where each model object (level, class, part) came from in the file. */
  paths: WeakMap<object, JSONPath>;
}

const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':'",
  CommaExpected: "expected ','",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: 'unexpected text after the end of the JSON value',
  InvalidCommentToken: 'invalid comment',
  UnexpectedEndOfComment: 'comment not closed',
  UnexpectedEndOfString: 'string not closed',
  UnexpectedEndOfNumber: 'number not finished',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in string',
};

/** Larger files are refused before parsing (a NABirds project is about 0.2 MB). */
export const MAX_PROJECT_CHARS = 32 * 1024 * 1024;
/** Deeper nesting is refused before parsing: a project needs 5 levels, and the tree parser recurses. */
export const MAX_JSON_DEPTH = 64;

const TOP_FIELDS = new Set(['$schema', 'version', 'name', 'dataset', 'levels', 'classes', 'parts', 'templates', 'images']);
const CLASS_FIELDS = new Set(['id', 'name', 'path', 'aliases', 'description', 'source']);

/** Parses a project file. Never throws on bad input. */
export function parseProject(text: string, file?: string): ParsedProject {
  const lines = new LineIndex(text);
  const limit = limitProblem(text);
  if (limit) {
    const diagnostics: Diagnostic[] = [{ severity: 'error', code: limit.code, message: limit.message, range: lines.rangeAt(limit.offset, 1) }];
    return { text, file, diagnostics, lines, paths: new WeakMap() };
  }
  // A UTF-8 byte order mark is allowed (and kept: offsets stay those of `text`).
  const source = text.charCodeAt(0) === 0xfeff ? ' ' + text.slice(1) : text;
  const errors: ParseError[] = [];
  const root = parseTree(source, errors, { allowTrailingComma: true, disallowComments: false });
  const parsed: ParsedProject = { text, file, root, diagnostics: [], lines, paths: new WeakMap() };
  for (const e of errors) {
    const code = printParseErrorCode(e.error);
    parsed.diagnostics.push({
      severity: 'error',
      message: `syntax error: ${SYNTAX_MESSAGES[code] ?? code}`,
      range: lines.rangeAt(e.offset, Math.max(e.length, 1)),
      code: 'syntax',
      data: { parseError: code },
    });
  }
  if (!root || root.type !== 'object') {
    if (errors.length === 0 || root) {
      parsed.diagnostics.push({
        severity: 'error',
        message: 'a project file must hold one JSON object ({ "version": 1, "name": ..., "levels": [...], "classes": [...] })',
        range: root ? lines.rangeAt(root.offset, root.length) : lines.rangeAt(0, 0),
        code: 'not-an-object',
      });
    }
    return parsed;
  }
  parsed.project = new ProjectReader(parsed).read(root);
  return parsed;
}

/** A file too large or nested too deep to parse safely, with the offset to point at. */
function limitProblem(text: string): { code: string; message: string; offset: number } | undefined {
  if (text.length > MAX_PROJECT_CHARS) {
    const mb = (n: number) => `${Math.round(n / (1024 * 1024))} MB`;
    return { code: 'too-large', offset: 0, message: `the file is ${mb(text.length)}; a project file may be at most ${mb(MAX_PROJECT_CHARS)}` };
  }
  // Brackets outside strings and comments; iterative, so any depth is safe to measure.
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22 || d === 0x0a || d === 0x0d) break;
      }
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2f) {
      while (i < text.length && text.charCodeAt(i) !== 0x0a && text.charCodeAt(i) !== 0x0d) i++;
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) {
        return { code: 'too-deep', offset: i, message: `objects and arrays are nested more than ${MAX_JSON_DEPTH} deep here; a project file needs a handful of levels` };
      }
    } else if (c === 0x7d || c === 0x5d) depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/** Range of the node at a JSON path (or of its nearest existing ancestor). */
export function rangeOf(parsed: ParsedProject, path: JSONPath, which: 'value' | 'key' = 'value'): Range {
  const node = nodeAt(parsed, path);
  if (!node) return parsed.lines.rangeAt(0, 0);
  const target = which === 'key' && node.parent?.type === 'property' ? node.parent.children![0] : node;
  return parsed.lines.rangeAt(target.offset, target.length);
}

/** The node at a JSON path, or its nearest existing ancestor. */
export function nodeAt(parsed: ParsedProject, path: JSONPath): Node | undefined {
  if (!parsed.root) return undefined;
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? parsed.root : findNodeAtLocation(parsed.root, path.slice(0, n));
    if (node) return node;
  }
  return undefined;
}

/** The JSON path a model object was read from, if it came from this file. */
export function pathOf(parsed: ParsedProject, obj: object): JSONPath | undefined {
  return parsed.paths.get(obj);
}

class ProjectReader {
  constructor(private readonly parsed: ParsedProject) {}

  private report(node: Node, severity: Severity, code: string, message: string, data?: unknown) {
    this.parsed.diagnostics.push({ severity, code, message, range: this.parsed.lines.rangeAt(node.offset, node.length), data });
  }

  private keyNode(node: Node): Node {
    return node.parent?.type === 'property' ? node.parent.children![0] : node;
  }

  private readonly propsCache = new WeakMap<Node, Map<string, Node>>();

  /** An object's properties; a repeated key is reported once (the last one wins, as in JSON.parse). */
  private props(obj: Node): Map<string, Node> {
    let m = this.propsCache.get(obj);
    if (m) return m;
    m = new Map<string, Node>();
    for (const p of obj.children ?? []) {
      const [k, v] = p.children ?? [];
      if (!k || !v) continue;
      const key = String(k.value);
      if (m.has(key)) this.report(k, 'warning', 'duplicate-key', `property '${key}' appears twice in this object; the last one is used`, { property: key });
      m.set(key, v);
    }
    this.propsCache.set(obj, m);
    return m;
  }

  private expect(node: Node | undefined, type: Node['type'], what: string): node is Node {
    if (!node) return false;
    if (node.type === type) return true;
    const article = type === 'array' || type === 'object' ? 'an' : 'a';
    this.report(node, 'error', 'wrong-type', `${what} must be ${article} ${type}, not ${node.type === 'null' ? 'null' : `a ${node.type}`}`);
    return false;
  }

  private string(node: Node | undefined, what: string): string | undefined {
    return this.expect(node, 'string', what) ? (node.value as string) : undefined;
  }

  private stringArray(node: Node | undefined, what: string): string[] | undefined {
    if (!this.expect(node, 'array', what)) return undefined;
    const out: string[] = [];
    for (const item of node.children ?? []) {
      const s = this.string(item, `each entry of ${what}`);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  private unknownFields(obj: Node, known: Set<string>, where: string) {
    for (const [k, v] of this.props(obj)) {
      if (!known.has(k)) this.report(this.keyNode(v), 'warning', 'unknown-field', `unknown property '${k}' in ${where}; it is ignored`, { property: k });
    }
  }

  read(root: Node): Project {
    const top = this.props(root);
    const missing = ['version', 'name', 'dataset', 'levels', 'classes'].filter((k) => !top.has(k));
    for (const k of missing) {
      this.report(root, 'error', 'missing-field', `the project file has no "${k}" property`, { property: k });
    }
    // The range of a missing top-level field is the opening brace only, not the whole file.
    for (const d of this.parsed.diagnostics) {
      if (d.code === 'missing-field') d.range = this.parsed.lines.rangeAt(root.offset, 1);
    }
    this.unknownFields(root, TOP_FIELDS, 'the project');

    const versionNode = top.get('version');
    if (versionNode && (versionNode.type !== 'number' || versionNode.value !== 1)) {
      this.report(versionNode, 'error', 'unsupported-version', `unsupported version ${JSON.stringify(versionNode.value)}: this PSCL Studio reads version 1`);
    }
    const name = this.string(top.get('name'), '"name"') ?? '';
    const project: Project = {
      version: 1,
      name,
      dataset: this.readDataset(top.get('dataset')),
      levels: this.readLevels(top.get('levels')),
      classes: this.readClasses(top.get('classes')),
      parts: this.readParts(top.get('parts')),
      templates: this.readTemplates(top.get('templates')),
    };
    const images = this.readImageDecisions(top.get('images'));
    if (images) project.images = images;
    return project;
  }

  private readDataset(node: Node | undefined): Project['dataset'] {
    const dataset = { format: 'imagefolder' as DatasetFormat, root: '.' };
    if (!this.expect(node, 'object', '"dataset"')) return dataset;
    const p = this.props(node);
    const format = this.string(p.get('format'), '"dataset.format"');
    if (format !== undefined) {
      if ((DATASET_FORMATS as readonly string[]).includes(format)) dataset.format = format as DatasetFormat;
      else this.report(p.get('format')!, 'error', 'unknown-format', `unknown dataset format '${format}'; use one of ${DATASET_FORMATS.join(', ')}`, { format });
    } else if (!p.has('format')) this.report(this.keyNode(node), 'error', 'missing-field', '"dataset" has no "format"', { property: 'format' });
    const root = this.string(p.get('root'), '"dataset.root"');
    if (root !== undefined) dataset.root = root;
    else if (!p.has('root')) this.report(this.keyNode(node), 'error', 'missing-field', '"dataset" has no "root" (the dataset folder, relative to this file)', { property: 'root' });
    this.unknownFields(node, new Set(['format', 'root']), '"dataset"');
    return dataset;
  }

  private readLevels(node: Node | undefined): Level[] {
    const levels: Level[] = [];
    if (!this.expect(node, 'array', '"levels"')) return levels;
    (node.children ?? []).forEach((item, i) => {
      let level: Level | undefined;
      if (item.type === 'string') level = { name: item.value as string, kind: 'nested' };
      else if (item.type === 'object') {
        const p = this.props(item);
        const name = this.string(p.get('name'), 'a level\'s "name"');
        if (name === undefined && !p.has('name')) this.report(item, 'error', 'missing-field', 'a level object needs a "name"', { property: 'name' });
        const kindNode = p.get('kind');
        let kind: Level['kind'] = 'nested';
        if (kindNode) {
          const k = this.string(kindNode, 'a level\'s "kind"');
          if (k === 'nested' || k === 'facet') kind = k;
          else if (k !== undefined) this.report(kindNode, 'error', 'bad-value', `level kind must be "nested" or "facet", not '${k}'`);
        }
        this.unknownFields(item, new Set(['name', 'kind']), 'a level');
        if (name !== undefined) level = { name, kind };
      } else this.report(item, 'error', 'wrong-type', 'a level is a name ("genus") or an object ({"name": "body", "kind": "facet"})');
      if (level) {
        this.parsed.paths.set(level, ['levels', i]);
        levels.push(level);
      }
    });
    return levels;
  }

  private readClasses(node: Node | undefined): TaxonomyClass[] {
    const classes: TaxonomyClass[] = [];
    if (!this.expect(node, 'array', '"classes"')) return classes;
    (node.children ?? []).forEach((item, i) => {
      if (!this.expect(item, 'object', 'a class')) return;
      const p = this.props(item);
      const idNode = p.get('id');
      let id: string | undefined;
      if (idNode?.type === 'number') id = String(idNode.value);
      else id = this.string(idNode, 'a class "id"');
      const name = this.string(p.get('name'), 'a class "name"');
      for (const k of ['id', 'name']) {
        if (!p.has(k)) this.report(item, 'error', 'missing-field', `class #${i + 1} has no "${k}"`, { property: k, index: i });
      }
      // Keys are the user's level names: no prototype, so '__proto__' is a key like any other.
      const path: Record<string, string> = Object.create(null);
      const pathNode = p.get('path');
      if (pathNode && this.expect(pathNode, 'object', 'a class "path"')) {
        for (const [k, v] of this.props(pathNode)) {
          const s = this.string(v, `the value of "${k}"`);
          if (s !== undefined) path[k] = s;
        }
      }
      const cls: TaxonomyClass = { id: id ?? '', name: name ?? '', path };
      const aliases = p.has('aliases') ? this.stringArray(p.get('aliases'), '"aliases"') : undefined;
      if (aliases) cls.aliases = aliases;
      const description = p.has('description') ? this.string(p.get('description'), '"description"') : undefined;
      if (description !== undefined) cls.description = description;
      const source = p.has('source') ? this.string(p.get('source'), '"source"') : undefined;
      if (source !== undefined) cls.source = source;
      this.unknownFields(item, CLASS_FIELDS, 'a class');
      if (id === undefined || name === undefined) return;
      this.parsed.paths.set(cls, ['classes', i]);
      classes.push(cls);
    });
    return classes;
  }

  private readParts(node: Node | undefined): Record<string, Part[]> {
    const parts: Record<string, Part[]> = Object.create(null);
    if (!node || !this.expect(node, 'object', '"parts"')) return parts;
    for (const [coarse, list] of this.props(node)) {
      if (!this.expect(list, 'array', `"parts.${coarse}"`)) continue;
      const out: Part[] = [];
      (list.children ?? []).forEach((item, i) => {
        let part: Part | undefined;
        if (item.type === 'string') part = { name: item.value as string, prompts: [item.value as string] };
        else if (this.expect(item, 'object', 'a part')) {
          const p = this.props(item);
          const name = this.string(p.get('name'), 'a part "name"');
          if (!p.has('name')) this.report(item, 'error', 'missing-field', 'a part needs a "name"', { property: 'name' });
          const prompts = p.has('prompts') ? this.stringArray(p.get('prompts'), '"prompts"') : undefined;
          const keypoints = p.has('keypoints') ? this.stringArray(p.get('keypoints'), '"keypoints"') : undefined;
          this.unknownFields(item, new Set(['name', 'prompts', 'keypoints']), 'a part');
          if (name !== undefined) part = keypoints ? { name, prompts: prompts ?? [name], keypoints } : { name, prompts: prompts ?? [name] };
        }
        if (part) {
          this.parsed.paths.set(part, ['parts', coarse, i]);
          out.push(part);
        }
      });
      parts[coarse] = out;
    }
    return parts;
  }

  /** `images`: exclusions (path + reason) and relabels (path -> class id). */
  private readImageDecisions(node: Node | undefined): ImageDecisions | undefined {
    if (!node || !this.expect(node, 'object', '"images"')) return undefined;
    const p = this.props(node);
    this.unknownFields(node, new Set(['exclude', 'relabel']), '"images"');
    const exclude: ImageExclusion[] = [];
    const list = p.get('exclude');
    if (list && this.expect(list, 'array', '"images.exclude"')) {
      (list.children ?? []).forEach((item, i) => {
        if (!this.expect(item, 'object', 'an entry of "images.exclude" ({"path": ..., "reason": ...})')) return;
        const e = this.props(item);
        const path = this.string(e.get('path'), 'an exclusion\'s "path"');
        if (!e.has('path')) this.report(item, 'error', 'missing-field', 'an exclusion needs the "path" of the image (relative to the dataset root)', { property: 'path' });
        const reason = e.has('reason') ? this.string(e.get('reason'), 'an exclusion\'s "reason"') : '';
        this.unknownFields(item, new Set(['path', 'reason']), 'an exclusion');
        if (path === undefined) return;
        const entry: ImageExclusion = { path, reason: reason ?? '' };
        this.parsed.paths.set(entry, ['images', 'exclude', i]);
        exclude.push(entry);
      });
    }
    const relabel: Record<string, string> = Object.create(null);
    const map = p.get('relabel');
    if (map && this.expect(map, 'object', '"images.relabel"')) {
      for (const [imagePath, v] of this.props(map)) {
        const id = v.type === 'number' ? String(v.value) : this.string(v, `the class id for '${imagePath}'`);
        if (id !== undefined) relabel[imagePath] = id;
      }
    }
    return { exclude, relabel };
  }

  private readTemplates(node: Node | undefined): Templates {
    if (!node || !this.expect(node, 'object', '"templates"')) return { class: [...DEFAULT_TEMPLATES.class], part: [...DEFAULT_TEMPLATES.part] };
    const p = this.props(node);
    this.unknownFields(node, new Set(['class', 'part']), '"templates"');
    return {
      class: (p.has('class') ? this.stringArray(p.get('class'), '"templates.class"') : undefined) ?? [...DEFAULT_TEMPLATES.class],
      part: (p.has('part') ? this.stringArray(p.get('part'), '"templates.part"') : undefined) ?? [...DEFAULT_TEMPLATES.part],
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** A level as written in the file: nested levels as plain names. */
export function levelToJson(level: Level): string | { name: string; kind: 'facet' } {
  return level.kind === 'facet' ? { name: level.name, kind: 'facet' } : level.name;
}

/** A class as written in the file (stable key order). */
export function classToJson(cls: TaxonomyClass): Record<string, unknown> {
  const out: Record<string, unknown> = { id: cls.id, name: cls.name, path: cls.path };
  if (cls.aliases && cls.aliases.length > 0) out.aliases = cls.aliases;
  if (cls.description) out.description = cls.description;
  if (cls.source !== undefined && cls.source !== cls.name) out.source = cls.source;
  return out;
}

/** A new project file: 2-space JSON, one class (and one part) per line so large taxonomies stay
 *  readable and diffs stay small. */
export function serializeProject(project: Project, schemaRef?: string): string {
  const s = JSON.stringify;
  const lines: string[] = ['{'];
  if (schemaRef) lines.push(`  "$schema": ${s(schemaRef)},`);
  lines.push(`  "version": ${project.version},`);
  lines.push(`  "name": ${s(project.name)},`);
  lines.push(`  "dataset": ${inline(project.dataset)},`);
  lines.push(`  "levels": ${inline(project.levels.map(levelToJson))},`);
  lines.push(`  "classes": ${block(project.classes.map((c) => inline(classToJson(c))), '    ', '  ', '[', ']')},`);
  const partEntries = Object.entries(project.parts).map(
    ([coarse, parts]) => `${s(coarse)}: ${block(parts.map((p) => inline(p)), '      ', '    ', '[', ']')}`,
  );
  lines.push(`  "parts": ${block(partEntries, '    ', '  ', '{', '}')},`);
  const templates = `  "templates": ${block([`"class": ${inline(project.templates.class)}`, `"part": ${inline(project.templates.part)}`], '    ', '  ', '{', '}')}`;
  const images = project.images && (project.images.exclude.length > 0 || Object.keys(project.images.relabel).length > 0) ? project.images : undefined;
  lines.push(images ? templates + ',' : templates);
  if (images) {
    const exclude = `"exclude": ${block(images.exclude.map((e) => inline({ path: e.path, reason: e.reason })), '      ', '    ', '[', ']')}`;
    const relabel = `"relabel": ${block(Object.entries(images.relabel).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`), '      ', '    ', '{', '}')}`;
    lines.push(`  "images": ${block([exclude, relabel], '    ', '  ', '{', '}')}`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
