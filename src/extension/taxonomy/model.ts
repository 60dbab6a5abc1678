// What the Taxonomy view shows, without the vscode module: nodes built lazily from the core's
// taxonomy tree, their labels, counts, icons and menus, and the filter. The tree provider only
// maps these to vscode.TreeItem, so benchmarks and unit tests run this part directly.
import type { Project } from '../../core/taxonomy/model';
import { taxonomyTree, type FacetGrouping, type TaxonomyTree, type TreeNode } from '../../core/taxonomy/tree';
import type { ProjectSnapshot } from '../project/store';
import { levelRows, type ScoresOf } from '../quality/model';

export type NodeKind = 'project' | 'value' | 'class' | 'facetLevel' | 'facetValue' | 'message' | 'scores' | 'levelScore';

interface NodeBase {
  kind: NodeKind;
  /** Unique in the view; also keys VS Code's expansion state. */
  id: string;
  snapshot: ProjectSnapshot;
  parent?: TaxonomyNode;
}

export interface ProjectNode extends NodeBase {
  kind: 'project';
}

/** A value at an intermediate (nested) level: a branch of the taxonomy tree. */
export interface ValueNode extends NodeBase {
  kind: 'value';
  tree: TreeNode;
}

export interface ClassNode extends NodeBase {
  kind: 'class';
  classId: string;
  name: string;
  /** Nested-level ancestors (for the tree position) or the facet group holding it. */
  tree?: TreeNode;
}

export interface FacetLevelNode extends NodeBase {
  kind: 'facetLevel';
  grouping: FacetGrouping;
}

export interface FacetValueNode extends NodeBase {
  kind: 'facetValue';
  level: string;
  value: string;
  classIds: readonly string[];
  classCount: number;
  imageCount: number;
}

export interface MessageNode extends NodeBase {
  kind: 'message';
  text: string;
  severity: 'error' | 'info';
}

/** The project's zero-shot accuracy (prompt scores), with one row per level below it. */
export interface ScoresNode extends NodeBase {
  kind: 'scores';
}

export interface LevelScoreNode extends NodeBase {
  kind: 'levelScore';
  level: string;
  description: string;
  tooltip: string;
}

export type TaxonomyNode = ProjectNode | ValueNode | ClassNode | FacetLevelNode | FacetValueNode | MessageNode | ScoresNode | LevelScoreNode;

/** Presentation of a node, independent of the vscode module. */
export interface NodeView {
  label: string;
  /** Character ranges of the label to highlight (filter matches). */
  highlights?: [number, number][];
  description?: string;
  /** Markdown. */
  tooltip: string;
  /** Codicon id, with an optional theme colour id. */
  icon: { id: string; color?: string };
  contextValue: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
}

// ---------------------------------------------------------------------------------------------
// The filter

/** Case-insensitive substring filter over names, ids and aliases. A branch stays when it or
 *  anything below it matches; matching branches open so matches are visible. */
export class TaxonomyFilter {
  readonly needle: string;
  private readonly visibleCache = new WeakMap<TreeNode, boolean>();

  constructor(readonly query: string) {
    this.needle = query.trim().toLowerCase();
  }

  get active(): boolean {
    return this.needle.length > 0;
  }

  matchesText(text: string): boolean {
    return text.toLowerCase().includes(this.needle);
  }

  matchesClass(project: Project, classId: string, name: string): boolean {
    if (!this.active || this.matchesText(name) || this.matchesText(classId)) return true;
    const cls = classById(project).get(classId);
    return !!cls?.aliases?.some((a) => this.matchesText(a));
  }

  /** A tree node stays visible when its value or any class below matches. */
  keeps(project: Project, node: TreeNode): boolean {
    if (!this.active) return true;
    const cached = this.visibleCache.get(node);
    if (cached !== undefined) return cached;
    const keep =
      node.classId !== undefined
        ? this.matchesClass(project, node.classId, node.value)
        : this.matchesText(node.value) || node.children.some((c) => this.keeps(project, c));
    this.visibleCache.set(node, keep);
    return keep;
  }

  highlights(label: string): [number, number][] | undefined {
    if (!this.active) return undefined;
    const at = label.toLowerCase().indexOf(this.needle);
    return at < 0 ? undefined : [[at, at + this.needle.length]];
  }
}

const classIndex = new WeakMap<Project, Map<string, Project['classes'][number]>>();
function classById(project: Project): Map<string, Project['classes'][number]> {
  let m = classIndex.get(project);
  if (!m) classIndex.set(project, (m = new Map(project.classes.map((c) => [c.id, c]))));
  return m;
}

const treeCache = new WeakMap<ProjectSnapshot, TaxonomyTree>();
/** The core's tree for a snapshot, built once per snapshot (i.e. per document version). */
export function treeOf(snapshot: ProjectSnapshot): TaxonomyTree | undefined {
  const project = snapshot.parsed.project;
  if (!project || project.levels.length === 0) return undefined;
  let tree = treeCache.get(snapshot);
  if (!tree) treeCache.set(snapshot, (tree = taxonomyTree(project, snapshot.imageCounts)));
  return tree;
}

// ---------------------------------------------------------------------------------------------
// Children, built on demand and cached per (snapshot, filter) so ids and parents stay stable.

export class TaxonomyModel {
  private snapshots: ProjectSnapshot[] = [];
  private roots: ProjectNode[] = [];
  private readonly children = new WeakMap<TaxonomyNode, TaxonomyNode[]>();
  filter = new TaxonomyFilter('');
  /** The latest prompt scores of a project: its zero-shot accuracy per level. */
  private scoresOf: ScoresOf = () => undefined;

  /** New scores: the project nodes are rebuilt (same ids, so the tree keeps what is open). */
  setScores(scoresOf: ScoresOf): void {
    this.scoresOf = scoresOf;
    this.roots = this.snapshots.map((s) => this.projectNode(s));
  }

  /** Replaces the project list; unchanged snapshots keep their nodes (and expansion state). */
  setSnapshots(snapshots: readonly ProjectSnapshot[]): void {
    const previous = new Map(this.roots.map((r) => [r.snapshot, r]));
    this.snapshots = [...snapshots].sort((a, b) => a.relativePath.localeCompare(b.relativePath));
    this.roots = this.snapshots.map((s) => previous.get(s) ?? this.projectNode(s));
  }

  setFilter(query: string): void {
    this.filter = new TaxonomyFilter(query);
    this.roots = this.snapshots.map((s) => this.projectNode(s));
  }

  getRoots(): readonly ProjectNode[] {
    return this.roots;
  }

  getChildren(node?: TaxonomyNode): readonly TaxonomyNode[] {
    if (!node) return this.roots;
    let list = this.children.get(node);
    if (!list) this.children.set(node, (list = this.buildChildren(node)));
    return list;
  }

  /** Every node of every project, depth first (for pickers and benchmarks). */
  *walk(node?: TaxonomyNode): Generator<TaxonomyNode> {
    for (const child of this.getChildren(node)) {
      yield child;
      yield* this.walk(child);
    }
  }

  /** The node of a class in the nested tree (for reveal after edits). */
  findClass(snapshotKey: string, classId: string): ClassNode | undefined {
    const root = this.roots.find((r) => r.snapshot.key === snapshotKey);
    if (!root) return undefined;
    for (const n of this.walk(root)) if (n.kind === 'class' && n.classId === classId && !n.parent?.kind.startsWith('facet')) return n;
    return undefined;
  }

  private idPrefix(snapshot: ProjectSnapshot): string {
    // A filtered view gets its own ids so its branches open by default without disturbing the
    // user's expansion state of the unfiltered view.
    return this.filter.active ? `${snapshot.key}?filter=${encodeURIComponent(this.filter.needle)}` : snapshot.key;
  }

  private projectNode(snapshot: ProjectSnapshot): ProjectNode {
    return { kind: 'project', id: this.idPrefix(snapshot), snapshot };
  }

  private buildChildren(node: TaxonomyNode): TaxonomyNode[] {
    const { snapshot } = node;
    const project = snapshot.parsed.project;
    switch (node.kind) {
      case 'project': {
        const tree = treeOf(snapshot);
        if (!project || !tree) {
          const errors = snapshot.diagnostics.filter((d) => d.severity === 'error').length;
          return [
            {
              kind: 'message',
              id: `${node.id}#message`,
              snapshot,
              parent: node,
              severity: 'error',
              text: errors > 0 ? `${errors} error${errors === 1 ? '' : 's'}: see Problems` : 'no levels declared',
            },
          ];
        }
        const out: TaxonomyNode[] = this.treeNodes(node, tree.roots);
        for (const grouping of tree.facets) {
          const facetLevel: FacetLevelNode = { kind: 'facetLevel', id: `${node.id}#facet:${grouping.level}`, snapshot, parent: node, grouping };
          if (this.getChildren(facetLevel).length > 0) out.push(facetLevel);
        }
        if (out.length === 0 && this.filter.active) {
          out.push({ kind: 'message', id: `${node.id}#nomatch`, snapshot, parent: node, severity: 'info', text: `nothing matches '${this.filter.query}'` });
        }
        if (!this.filter.active && this.scoresOf(snapshot.key)) out.push({ kind: 'scores', id: `${node.id}#scores`, snapshot, parent: node });
        return out;
      }
      case 'scores': {
        const scores = this.scoresOf(snapshot.key);
        return (scores ? levelRows(scores) : []).map((r) => ({ kind: 'levelScore', id: `${node.id}/${encodeURIComponent(r.level)}`, snapshot, parent: node, ...r }));
      }
      case 'value':
        return this.treeNodes(node, node.tree.children);
      case 'facetLevel': {
        const out: FacetValueNode[] = [];
        for (const g of node.grouping.groups) {
          const v: FacetValueNode = {
            kind: 'facetValue',
            id: `${node.id}/${encodeURIComponent(g.value)}`,
            snapshot,
            parent: node,
            level: node.grouping.level,
            value: g.value,
            classIds: g.classIds,
            classCount: g.classCount,
            imageCount: g.imageCount,
          };
          if (!this.filter.active || this.filter.matchesText(g.value) || this.getChildren(v).length > 0) out.push(v);
        }
        return out;
      }
      case 'facetValue': {
        if (!project) return [];
        const byId = classById(project);
        const showAll = this.filter.matchesText(node.value);
        const out: ClassNode[] = [];
        for (const id of node.classIds) {
          const cls = byId.get(id);
          if (!cls || (!showAll && !this.filter.matchesClass(project, id, cls.name))) continue;
          out.push({ kind: 'class', id: `${node.id}/c:${encodeURIComponent(id)}`, snapshot, parent: node, classId: id, name: cls.name });
        }
        return out;
      }
      default:
        return [];
    }
  }

  private treeNodes(parent: TaxonomyNode, nodes: readonly TreeNode[]): TaxonomyNode[] {
    const project = parent.snapshot.parsed.project!;
    // Once a branch's own value matches, everything below it is shown.
    const showAll = !this.filter.active || (parent.kind === 'value' && this.isMatchedBranch(parent));
    const out: TaxonomyNode[] = [];
    for (const t of nodes) {
      if (!showAll && !this.filter.keeps(project, t)) continue;
      if (t.classId !== undefined) {
        out.push({ kind: 'class', id: `${parent.id}/c:${encodeURIComponent(t.classId)}`, snapshot: parent.snapshot, parent, classId: t.classId, name: t.value, tree: t });
      } else {
        out.push({ kind: 'value', id: `${parent.id}/${encodeURIComponent(t.value)}`, snapshot: parent.snapshot, parent, tree: t });
      }
    }
    return out;
  }

  private isMatchedBranch(node: TaxonomyNode): boolean {
    for (let n: TaxonomyNode | undefined = node; n; n = n.parent) if (n.kind === 'value' && this.filter.matchesText(n.tree.value)) return true;
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // Presentation

  view(node: TaxonomyNode): NodeView {
    const open = this.filter.active ? 'expanded' : 'collapsed';
    switch (node.kind) {
      case 'project':
        return this.projectView(node);
      case 'value': {
        const t = node.tree;
        const label = t.value === '' ? `(no ${t.level})` : t.value;
        return {
          label,
          highlights: this.filter.highlights(label),
          description: `${t.level} · ${counts(t.classCount, t.imageCount, node.snapshot)}`,
          tooltip: `**${escapeMd(label)}**\n\n${t.level} (level ${t.levelIndex + 1} of ${node.snapshot.parsed.project!.levels.length}) · ${counts(t.classCount, t.imageCount, node.snapshot)}${t.value === '' ? '\n\nThese classes have no value for this level.' : ''}`,
          icon: t.value === '' ? { id: 'warning', color: 'problemsWarningIcon.foreground' } : { id: t.levelIndex === 0 ? 'symbol-namespace' : 'symbol-folder' },
          contextValue: 'pscl.value',
          collapsible: t.children.length > 0 ? (this.filter.active && !this.filter.matchesText(t.value) ? 'expanded' : 'collapsed') : 'none',
        };
      }
      case 'class':
        return this.classView(node);
      case 'facetLevel': {
        const g = node.grouping;
        return {
          label: `by ${g.level}`,
          description: `facet · ${g.groups.length} value${g.groups.length === 1 ? '' : 's'}`,
          tooltip: `**${escapeMd(g.level)}** is a facet: a grouping that cuts across the tree (any combination with the other levels is allowed).`,
          icon: { id: 'symbol-enum' },
          contextValue: 'pscl.facetLevel',
          collapsible: open,
        };
      }
      case 'facetValue': {
        const label = node.value === '' ? `(no ${node.level})` : node.value;
        return {
          label,
          highlights: this.filter.highlights(label),
          description: `${node.level} · ${counts(node.classCount, node.imageCount, node.snapshot)}`,
          tooltip: `**${escapeMd(label)}**\n\n${node.level} (facet) · ${counts(node.classCount, node.imageCount, node.snapshot)}`,
          icon: { id: 'symbol-enum-member' },
          contextValue: 'pscl.facetValue',
          collapsible: this.filter.active && !this.filter.matchesText(node.value) ? 'expanded' : 'collapsed',
        };
      }
      case 'scores': {
        const s = this.scoresOf(node.snapshot.key);
        return {
          label: 'zero-shot accuracy',
          description: s ? `${s.images} images · ${s.model}` : undefined,
          tooltip: 'Zero-shot accuracy of the class prompts per level, on the training cache\'s image embeddings (PSCL: Open Prompt Report for the details). Scored again after every save.',
          icon: { id: 'graph' },
          contextValue: 'pscl.scores',
          collapsible: 'expanded',
        };
      }
      case 'levelScore':
        return { label: node.level, description: node.description, tooltip: node.tooltip, icon: { id: 'symbol-numeric' }, contextValue: 'pscl.levelScore', collapsible: 'none' };
      case 'message':
        return {
          label: node.text,
          tooltip: escapeMd(node.text),
          icon: node.severity === 'error' ? { id: 'error', color: 'problemsErrorIcon.foreground' } : { id: 'info' },
          contextValue: 'pscl.message',
          collapsible: 'none',
        };
    }
  }

  private projectView(node: ProjectNode): NodeView {
    const { snapshot } = node;
    const project = snapshot.parsed.project;
    const errors = snapshot.diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = snapshot.diagnostics.filter((d) => d.severity === 'warning').length;
    const label = project?.name || basename(snapshot.relativePath);
    const parts = [project ? `${project.classes.length} classes` : 'unreadable'];
    if (errors > 0) parts.push(`${errors} error${errors === 1 ? '' : 's'}`);
    else if (warnings > 0) parts.push(`${warnings} warning${warnings === 1 ? '' : 's'}`);
    parts.push(snapshot.relativePath);
    const levels = project?.levels.map((l) => (l.kind === 'facet' ? `${l.name} (facet)` : l.name)).join(' › ') ?? '';
    const tooltip = [
      `**${escapeMd(label)}** — \`${escapeMd(snapshot.relativePath)}\``,
      project ? `Dataset: ${project.dataset.format} at \`${escapeMd(project.dataset.root)}\`` : '',
      project ? `Levels: ${escapeMd(levels)}` : '',
      project ? `${counts(project.classes.length, totalImages(snapshot), snapshot)}` : '',
      errors + warnings > 0 ? `${errors} errors, ${warnings} warnings (see Problems)` : 'No problems',
    ]
      .filter(Boolean)
      .join('\n\n');
    return {
      label,
      highlights: undefined,
      description: parts.join(' · '),
      tooltip,
      icon: errors > 0 ? { id: 'error', color: 'problemsErrorIcon.foreground' } : { id: 'type-hierarchy' },
      contextValue: errors > 0 ? 'pscl.project.invalid' : 'pscl.project',
      collapsible: this.roots.length === 1 || this.filter.active ? 'expanded' : 'collapsed',
    };
  }

  private classView(node: ClassNode): NodeView {
    const project = node.snapshot.parsed.project!;
    const cls = classById(project).get(node.classId);
    const images = node.snapshot.imageCounts?.get(node.classId);
    const fine = project.levels.at(-1)?.name ?? 'class';
    const path = project.levels.slice(0, -1).map((l) => `${l.name}: ${cls?.path[l.name] ?? '—'}`);
    const tooltip = [
      `**${escapeMd(node.name)}** (${escapeMd(fine)}, id \`${escapeMd(node.classId)}\`)`,
      path.map(escapeMd).join('  \n'),
      cls?.aliases?.length ? `Aliases: ${cls.aliases.map(escapeMd).join(', ')}` : '',
      cls?.description ? `*${escapeMd(cls.description)}*` : '',
      images !== undefined ? `${images} image${images === 1 ? '' : 's'}` : '',
    ]
      .filter(Boolean)
      .join('\n\n');
    return {
      label: node.name,
      highlights: this.filter.highlights(node.name),
      description: images !== undefined ? `#${node.classId} · ${images} image${images === 1 ? '' : 's'}` : `#${node.classId}`,
      tooltip,
      icon: { id: 'symbol-class' },
      contextValue: 'pscl.class',
      collapsible: 'none',
    };
  }
}

function counts(classes: number, images: number, snapshot: ProjectSnapshot): string {
  const c = `${classes} class${classes === 1 ? '' : 'es'}`;
  return snapshot.imageCounts ? `${c} · ${images} image${images === 1 ? '' : 's'}` : c;
}

function totalImages(snapshot: ProjectSnapshot): number {
  let n = 0;
  for (const v of snapshot.imageCounts?.values() ?? []) n += v;
  return n;
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

/** Where a drop on `target` moves a class: the level and value it stands for. */
export function dropTarget(target: TaxonomyNode | undefined): { level: string; value: string } | undefined {
  if (!target) return undefined;
  switch (target.kind) {
    case 'value':
      return { level: target.tree.level, value: target.tree.value };
    case 'facetValue':
      return { level: target.level, value: target.value };
    case 'class':
      return dropTarget(target.parent);
    default:
      return undefined;
  }
}
