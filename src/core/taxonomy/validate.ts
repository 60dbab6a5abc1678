// Semantic checks of a parsed project: what JSON Schema cannot say (uniqueness, the nesting tree,
// references between levels, parts, templates and the dataset). Linear in the file size.
import type { JSONPath } from 'jsonc-parser';
import { sortDiagnostics, type Diagnostic, type Severity } from './diagnostics';
import type { Level, Project, TaxonomyClass } from './model';
import { pathOf, rangeOf, type ParsedProject } from './project';

export interface ValidateOptions {
  /** Class ids the dataset itself defines; enables the dataset cross-checks. */
  datasetClassIds?: readonly string[];
  /** The keypoint names the dataset's parts file defines (CUB/NABirds), when it has one. */
  datasetKeypoints?: readonly string[];
  /** Every image of the dataset (path -> the dataset's class id); enables the stale-decision checks. */
  datasetImages?: ReadonlyMap<string, string>;
}

/** Parse diagnostics plus semantic ones, sorted by position. */
export function validateProject(parsed: ParsedProject, options: ValidateOptions = {}): Diagnostic[] {
  const out = [...parsed.diagnostics];
  if (parsed.project) new Validator(parsed, parsed.project, out).run(options);
  return sortDiagnostics(out);
}

/** The nearest nested level above `index`, or undefined for the coarse level. */
export function parentLevelIndex(levels: readonly Level[], index: number): number | undefined {
  for (let i = index - 1; i >= 0; i--) if (levels[i].kind !== 'facet') return i;
  return undefined;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

class Validator {
  private readonly levelNames: Set<string>;
  private readonly fine: string | undefined;

  constructor(
    private readonly parsed: ParsedProject,
    private readonly project: Project,
    private readonly out: Diagnostic[],
  ) {
    this.levelNames = new Set(project.levels.map((l) => l.name));
    this.fine = project.levels.at(-1)?.name;
  }

  private add(severity: Severity, code: string, path: JSONPath, message: string, data?: unknown, which: 'value' | 'key' = 'value') {
    this.out.push({ severity, code, message, range: rangeOf(this.parsed, path, which), data });
  }

  private classPath(cls: TaxonomyClass): JSONPath {
    return pathOf(this.parsed, cls) ?? ['classes'];
  }

  private label(cls: TaxonomyClass): string {
    return `'${cls.name}' (id ${cls.id})`;
  }

  run(options: ValidateOptions) {
    this.checkLevels();
    this.checkClasses();
    if (this.project.levels.length >= 2) this.checkNesting();
    this.checkParts();
    this.checkTemplates();
    if (options.datasetClassIds) this.checkDataset(options.datasetClassIds);
    if (options.datasetKeypoints) this.checkKeypoints(options.datasetKeypoints);
    this.checkImageDecisions(options.datasetImages);
  }

  /** `images`: paths that stay inside the dataset, one decision per image, relabels to known
   *  classes; with the dataset's images, decisions about images it no longer has are stale. */
  private checkImageDecisions(datasetImages?: ReadonlyMap<string, string>) {
    const decisions = this.project.images;
    if (!decisions) return;
    const classIds = new Set(this.project.classes.map((c) => c.id));
    const pathProblem = (p: string) => (p.trim() === '' ? 'is empty' : /^[\\/]|^[A-Za-z]:|\\/.test(p) ? "must be relative to the dataset root with '/' separators" : p.split('/').includes('..') ? "climbs out of the dataset folder with '..'" : undefined);
    const seen = new Set<string>();
    decisions.exclude.forEach((e, i) => {
      const at = pathOf(this.parsed, e) ?? ['images', 'exclude', i];
      const why = pathProblem(e.path);
      if (why) this.add('error', 'bad-image-path', [...at, 'path'], `excluded image path '${e.path}' ${why}`, { path: e.path });
      else if (seen.has(e.path)) this.add('warning', 'duplicate-decision', at, `'${e.path}' is excluded twice; remove one entry`, { path: e.path, kind: 'exclude', index: i });
      else if (datasetImages && !datasetImages.has(e.path)) {
        this.add('warning', 'stale-image-decision', [...at, 'path'], `the dataset has no image '${e.path}': this exclusion does nothing (remove it)`, { path: e.path, kind: 'exclude', index: i });
      }
      seen.add(e.path);
    });
    for (const [imagePath, classId] of Object.entries(decisions.relabel)) {
      const at: JSONPath = ['images', 'relabel', imagePath];
      const why = pathProblem(imagePath);
      if (why) {
        this.add('error', 'bad-image-path', at, `relabelled image path '${imagePath}' ${why}`, { path: imagePath }, 'key');
        continue;
      }
      if (!classIds.has(classId)) {
        this.add('error', 'relabel-unknown-class', at, `'${imagePath}' is relabelled to class id '${classId}', which is not a class of this project; choose one of its class ids or remove the relabel`, { path: imagePath, classId, kind: 'relabel' });
        continue;
      }
      if (!datasetImages) continue;
      const own = datasetImages.get(imagePath);
      if (own === undefined) this.add('warning', 'stale-image-decision', at, `the dataset has no image '${imagePath}': this relabel does nothing (remove it)`, { path: imagePath, kind: 'relabel' }, 'key');
      else if (own === classId) this.add('warning', 'stale-image-decision', at, `'${imagePath}' already has class '${classId}' in the dataset: this relabel does nothing (remove it)`, { path: imagePath, kind: 'relabel' }, 'key');
    }
  }

  private checkLevels() {
    const { levels } = this.project;
    if (levels.length < 2) {
      this.add('error', 'too-few-levels', ['levels'], 'a project needs at least two levels: the coarse category first and the fine class last (e.g. ["coarse", "species"])');
    }
    const seen = new Set<string>();
    levels.forEach((level, i) => {
      const path = pathOf(this.parsed, level) ?? ['levels', i];
      if (level.name.trim() === '') this.add('error', 'empty-name', path, 'a level needs a name');
      if (seen.has(level.name)) this.add('error', 'duplicate-level', path, `level '${level.name}' is declared twice`, { level: level.name });
      seen.add(level.name);
      if (level.kind === 'facet' && (i === 0 || i === levels.length - 1)) {
        this.add('error', 'bad-level-kind', path, `the ${i === 0 ? 'coarse (first)' : 'fine (last)'} level '${level.name}' cannot be a facet`, { level: level.name });
      }
    });
  }

  private checkClasses() {
    const { levels, classes } = this.project;
    const firstById = new Map<string, TaxonomyClass>();
    const siblings = new Map<string, TaxonomyClass>();
    const fineIndex = levels.length - 1;
    const fineParent = parentLevelIndex(levels, fineIndex);
    // Value seen at a level for a known value at the nearest nested level below: fills suggestions.
    const suggestions = this.buildSuggestions();
    for (const cls of classes) {
      const base = this.classPath(cls);
      if (cls.id.trim() === '') this.add('error', 'empty-id', [...base, 'id'], `class '${cls.name}' has an empty id`);
      const first = firstById.get(cls.id);
      if (first) {
        this.add('error', 'duplicate-id', [...base, 'id'], `duplicate class id '${cls.id}': also used by ${this.label(first)}`, {
          classId: cls.id,
          firstPath: pathOf(this.parsed, first),
        });
      } else firstById.set(cls.id, cls);
      if (cls.name.trim() === '') this.add('error', 'empty-name', [...base, 'name'], `class ${cls.id} has an empty name`, { classId: cls.id });

      if (fineIndex >= 1) {
        const parentValue = fineParent === undefined ? '' : cls.path[levels[fineParent].name] ?? '';
        const key = `${parentValue}\u0000${cls.name}`;
        const twin = siblings.get(key);
        if (twin && cls.name !== '') {
          const where = fineParent === undefined ? '' : ` under ${levels[fineParent].name} '${parentValue}'`;
          this.add('error', 'duplicate-name', [...base, 'name'], `duplicate class name '${cls.name}'${where}: also class ${twin.id}`, {
            classId: cls.id,
            otherClassId: twin.id,
            name: cls.name,
          });
        } else siblings.set(key, cls);
      }

      for (const level of levels.slice(0, -1)) {
        const v = cls.path[level.name];
        if (v === undefined || v.trim() === '') {
          const suggested = suggestions(cls, level.name);
          this.add(
            'error',
            'missing-level-value',
            v === undefined ? [...base, 'path'] : [...base, 'path', level.name],
            `class ${this.label(cls)} has no value for level '${level.name}'${suggested ? ` (other classes suggest '${suggested}')` : ''}`,
            { classId: cls.id, level: level.name, suggestedValue: suggested },
          );
        }
      }
      for (const key of Object.keys(cls.path)) {
        if (!this.levelNames.has(key) || key === this.fine) {
          const message =
            key === this.fine
              ? `'${key}' is the fine level: its value is the class "name", not a path entry`
              : `unknown level '${key}' in class ${this.label(cls)}; the levels are ${levels.map((l) => l.name).join(', ')}`;
          this.add('error', 'unknown-level', [...base, 'path', key], message, { classId: cls.id, level: key, suggestedLevel: closest(key, [...this.levelNames]) }, 'key');
        }
      }
    }
  }

  /** For a missing value: the value other classes sharing a lower nested value have. */
  private buildSuggestions() {
    const { levels, classes } = this.project;
    let index: Map<string, string> | undefined;
    return (cls: TaxonomyClass, level: string): string | undefined => {
      if (!index) {
        index = new Map();
        for (const c of classes) {
          levels.forEach((l, i) => {
            const v = valueOf(this.project, c, i);
            if (!v) return;
            for (let j = i + 1; j < levels.length - 1; j++) {
              const below = c.path[levels[j].name];
              if (below) index!.set(`${l.name}\u0000${levels[j].name}\u0000${below}`, v);
            }
          });
        }
      }
      const at = levels.findIndex((l) => l.name === level);
      for (let j = at + 1; j < levels.length - 1; j++) {
        const below = cls.path[levels[j].name];
        const hit = below ? index.get(`${level}\u0000${levels[j].name}\u0000${below}`) : undefined;
        if (hit) return hit;
      }
      return undefined;
    };
  }

  private checkNesting() {
    const { levels, classes } = this.project;
    for (let i = 1; i < levels.length - 1; i++) {
      const level = levels[i];
      if (level.kind === 'facet') continue;
      const pi = parentLevelIndex(levels, i);
      if (pi === undefined) continue;
      const parentLevel = levels[pi].name;
      const first = new Map<string, { parent: string; cls: TaxonomyClass }>();
      const parentsPerValue = new Map<string, Set<string>>();
      for (const cls of classes) {
        const v = cls.path[level.name];
        const p = cls.path[parentLevel];
        if (!v || !p) continue;
        let set = parentsPerValue.get(v);
        if (!set) parentsPerValue.set(v, (set = new Set()));
        set.add(p);
        const seen = first.get(v);
        if (!seen) {
          first.set(v, { parent: p, cls });
          continue;
        }
        if (seen.parent === p) continue;
        this.add(
          'error',
          'nesting-conflict',
          [...this.classPath(cls), 'path', level.name],
          `${level.name} '${v}' is under ${parentLevel} '${p}' here, but under '${seen.parent}' in class ${this.label(seen.cls)}; a nested level's value has one parent (make '${level.name}' a facet if it cuts across ${parentLevel})`,
          { classId: cls.id, level: level.name, value: v, parentLevel, parent: p, expectedParent: seen.parent, firstClassId: seen.cls.id },
        );
      }
      const conflicting = [...parentsPerValue.values()].filter((s) => s.size > 1).length;
      if (conflicting >= 2 && conflicting >= 0.25 * parentsPerValue.size) {
        this.add(
          'info',
          'facet-suggested',
          pathOf(this.parsed, level) ?? ['levels', i],
          `${conflicting} of ${parentsPerValue.size} values of '${level.name}' occur under several ${parentLevel} values: '${level.name}' looks like a facet ({"name": "${level.name}", "kind": "facet"})`,
          { level: level.name, conflictingValues: conflicting },
        );
      }
    }
  }

  private checkParts() {
    const { levels, classes, parts } = this.project;
    if (levels.length === 0) return;
    const coarse = levels[0].name;
    const coarseValues = new Set<string>();
    for (const c of classes) {
      const v = valueOf(this.project, c, 0);
      if (v) coarseValues.add(v);
    }
    for (const [category, list] of Object.entries(parts)) {
      if (!coarseValues.has(category)) {
        this.add('warning', 'unknown-coarse-in-parts', ['parts', category], `parts for '${category}', which is not a value of the coarse level '${coarse}' (values: ${[...coarseValues].slice(0, 8).join(', ') || 'none'})`, {
          coarse: category,
          suggestedCoarse: closest(category, [...coarseValues]),
          known: [...coarseValues],
        }, 'key');
      }
      const names = new Set<string>();
      const keypointOwner = new Map<string, string>();
      list.forEach((part, i) => {
        const path = pathOf(this.parsed, part) ?? ['parts', category, i];
        if (part.name.trim() === '') this.add('error', 'empty-name', [...path, 'name'], `part #${i + 1} of '${category}' has an empty name`);
        if (names.has(part.name)) this.add('error', 'duplicate-part', [...path, 'name'], `part '${part.name}' appears twice for '${category}'`, { coarse: category, part: part.name });
        names.add(part.name);
        if (part.prompts.length === 0) this.add('error', 'no-prompts', [...path, 'prompts'], `part '${part.name}' has no prompts`, { coarse: category, part: part.name });
        part.prompts.forEach((prompt, j) => {
          if (prompt.trim() === '') this.add('error', 'empty-prompt', [...path, 'prompts', j], `empty prompt for part '${part.name}'`, { coarse: category, part: part.name, index: j });
        });
        (part.keypoints ?? []).forEach((k, j) => {
          const at = [...path, 'keypoints', j];
          if (k.trim() === '') this.add('error', 'empty-keypoint', at, `empty keypoint name for part '${part.name}'`, { coarse: category, part: part.name, index: j });
          else if (keypointOwner.has(k)) this.add('warning', 'duplicate-keypoint', at, `keypoint '${k}' is mapped to part '${keypointOwner.get(k)}' and to '${part.name}' of '${category}': a keypoint counts for one part only`, { coarse: category, part: part.name, keypoint: k });
          else keypointOwner.set(k, part.name);
        });
      });
    }
    for (const v of coarseValues) {
      if (!(v in parts)) this.add('warning', 'coarse-without-parts', ['parts'], `no parts for coarse category '${v}': its images get no part masks`, { coarse: v }, 'key');
    }
  }

  private checkTemplates() {
    const known = new Set(['name', 'part', 'coarse']);
    const levelNames = [...this.levelNames];
    for (const kind of ['class', 'part'] as const) {
      const list = this.project.templates[kind];
      if (list.length === 0) this.add('warning', 'no-templates', ['templates', kind], `no ${kind} templates: the default is used`);
      list.forEach((template, i) => {
        const path: JSONPath = ['templates', kind, i];
        if (template.trim() === '') {
          this.add('error', 'empty-prompt', path, `empty ${kind} template`, { template: kind, index: i });
          return;
        }
        // `{{` and `}}` are literal braces (src/core/parts/templates.ts), not placeholders
        for (const m of template.replace(/\{\{|\}\}/g, '').matchAll(PLACEHOLDER)) {
          const ph = m[1];
          const levelRef = ph.startsWith('level:') ? ph.slice(6) : undefined;
          if (levelRef !== undefined ? this.levelNames.has(levelRef) : known.has(ph)) {
            if (kind === 'class' && ph === 'part') this.add('error', 'part-placeholder-in-class-template', path, 'a class template has no part: {part} only works in part templates', { template: kind, index: i });
            continue;
          }
          const suggestion = levelRef !== undefined ? closest(levelRef, levelNames) : closest(ph, [...known]);
          this.add(
            'error',
            'unknown-template-placeholder',
            path,
            `unknown placeholder {${ph}} in ${kind} template; use {name}, {part}, {coarse} or {level:NAME} with NAME one of ${levelNames.join(', ')}`,
            { template: kind, index: i, placeholder: ph, suggestion: suggestion && (levelRef !== undefined ? `level:${suggestion}` : suggestion) },
          );
        }
        if (kind === 'part' && !template.includes('{part}')) this.add('warning', 'template-missing-part', path, 'this part template has no {part}: every part gets the same text', { template: kind, index: i });
      });
    }
  }

  private checkDataset(datasetIds: readonly string[]) {
    const inDataset = new Set(datasetIds);
    const inFile = new Set<string>();
    for (const cls of this.project.classes) {
      inFile.add(cls.id);
      if (!inDataset.has(cls.id)) {
        this.add('error', 'class-not-in-dataset', [...this.classPath(cls), 'id'], `class id '${cls.id}' (${cls.name}) is not a class of the dataset`, { classId: cls.id });
      }
    }
    const missing = datasetIds.filter((id) => !inFile.has(id));
    if (missing.length > 0) {
      const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ', ...' : '');
      this.add('warning', 'class-missing-from-file', ['classes'], `${missing.length} dataset class${missing.length === 1 ? ' is' : 'es are'} missing from this file: ${shown}`, { classIds: missing }, 'key');
    }
  }

  /** The part keypoint mapping against the dataset's parts file. */
  private checkKeypoints(names: readonly string[]) {
    const known = new Set(names);
    for (const [coarse, list] of Object.entries(this.project.parts)) {
      list.forEach((part, i) => {
        (part.keypoints ?? []).forEach((k, j) => {
          if (k.trim() === '' || known.has(k)) return;
          const path = [...(pathOf(this.parsed, part) ?? ['parts', coarse, i]), 'keypoints', j];
          this.add('warning', 'unknown-keypoint', path, `keypoint '${k}' of part '${part.name}' is not a part of the dataset's parts file (it has: ${names.slice(0, 15).join(', ')})`, {
            coarse,
            part: part.name,
            keypoint: k,
            suggestedKeypoint: closest(k, [...names]),
          });
        });
      });
    }
  }
}

function valueOf(project: Project, cls: TaxonomyClass, levelIndex: number): string | undefined {
  return levelIndex === project.levels.length - 1 ? cls.name : cls.path[project.levels[levelIndex].name];
}

/** The candidate within a small edit distance, for "did you mean" data. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 4) return Math.abs(a.length - b.length);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
