// What the Parts view shows, without the vscode module: project -> coarse category -> part ->
// phrasing, with labels, icons and menus. tree.ts maps these to TreeItems; unit tests run
// this part directly. Problems (duplicates, empty phrasings...) come from the diagnostics.
import type { Project } from '../../core/taxonomy/model';
import type { ProjectSnapshot } from '../project/store';
import type { NodeView } from '../taxonomy/model';
import { partBadge, partScoreTooltip, phrasingBadge, type ScoresOf } from '../quality/model';

interface Base {
  id: string;
  snapshot: ProjectSnapshot;
  parent?: PartsNode;
}

export interface PartsProjectNode extends Base {
  kind: 'project';
}

export interface CoarseNode extends Base {
  kind: 'coarse';
  coarse: string;
  /** False for a key of "parts" that no class has as its coarse value. */
  known: boolean;
}

export interface PartNode extends Base {
  kind: 'part';
  coarse: string;
  name: string;
  /** Position in the coarse category's list (the mask label is index + 1). */
  index: number;
  prompts: readonly string[];
}

export interface PhrasingNode extends Base {
  kind: 'phrasing';
  coarse: string;
  part: string;
  index: number;
  text: string;
}

/** The project's templates, class and part (a sibling of the coarse categories). */
export interface TemplatesNode extends Base {
  kind: 'templates';
}

export interface TemplateNode extends Base {
  kind: 'template';
  templateKind: 'class' | 'part';
  index: number;
  text: string;
}

export interface PartsMessageNode extends Base {
  kind: 'message';
  text: string;
}

export type PartsNode = PartsProjectNode | CoarseNode | PartNode | PhrasingNode | TemplatesNode | TemplateNode | PartsMessageNode;

/** Coarse categories in the order the classes name them, then part-only keys. */
export function coarseCategories(project: Project): Array<{ coarse: string; known: boolean }> {
  const level = project.levels[0]?.name;
  const known = level ? [...new Set(project.classes.map((c) => c.path[level]).filter((v): v is string => !!v))] : [];
  const extra = Object.keys(project.parts).filter((k) => !known.includes(k));
  return [...known.map((coarse) => ({ coarse, known: true })), ...extra.map((coarse) => ({ coarse, known: false }))];
}

export class PartsModel {
  private roots: PartsProjectNode[] = [];
  /** The latest prompt scores of a project (badges: keypoint hit rate per part and phrasing). */
  scoresOf: ScoresOf = () => undefined;
  private readonly children = new WeakMap<PartsNode, PartsNode[]>();

  /** Unchanged snapshots keep their nodes (and so their expansion state). */
  setSnapshots(snapshots: readonly ProjectSnapshot[]): void {
    const previous = new Map(this.roots.map((r) => [r.snapshot, r]));
    this.roots = [...snapshots]
      .sort((a, b) => a.relativePath.localeCompare(b.relativePath))
      .map((s) => previous.get(s) ?? { kind: 'project', id: `parts:${s.key}`, snapshot: s });
  }

  getRoots(): readonly PartsProjectNode[] {
    return this.roots;
  }

  getChildren(node?: PartsNode): readonly PartsNode[] {
    if (!node) return this.roots;
    let list = this.children.get(node);
    if (!list) this.children.set(node, (list = this.build(node)));
    return list;
  }

  *walk(node?: PartsNode): Generator<PartsNode> {
    for (const child of this.getChildren(node)) {
      yield child;
      yield* this.walk(child);
    }
  }

  private build(node: PartsNode): PartsNode[] {
    const { snapshot } = node;
    const project = snapshot.parsed.project;
    switch (node.kind) {
      case 'project': {
        if (!project) return [{ kind: 'message', id: `${node.id}#message`, snapshot, parent: node, text: 'unreadable: see Problems' }];
        const list = coarseCategories(project);
        if (list.length === 0) return [{ kind: 'message', id: `${node.id}#message`, snapshot, parent: node, text: 'no classes, so no coarse categories yet' }];
        const coarse: PartsNode[] = list.map(({ coarse, known }) => ({ kind: 'coarse', id: `${node.id}/${encodeURIComponent(coarse)}`, snapshot, parent: node, coarse, known }));
        return [...coarse, { kind: 'templates', id: `${node.id}#templates`, snapshot, parent: node }];
      }
      case 'templates':
        return (['class', 'part'] as const).flatMap((templateKind) =>
          (project?.templates[templateKind] ?? []).map((text, index): TemplateNode => ({ kind: 'template', id: `${node.id}/${templateKind}/${index}`, snapshot, parent: node, templateKind, index, text })),
        );
      case 'coarse':
        return (project?.parts[node.coarse] ?? []).map((p, index) => ({
          kind: 'part',
          id: `${node.id}/${index}:${encodeURIComponent(p.name)}`,
          snapshot,
          parent: node,
          coarse: node.coarse,
          name: p.name,
          index,
          prompts: p.prompts,
        }));
      case 'part':
        return node.prompts.map((text, index) => ({
          kind: 'phrasing',
          id: `${node.id}/${index}`,
          snapshot,
          parent: node,
          coarse: node.coarse,
          part: node.name,
          index,
          text,
        }));
      default:
        return [];
    }
  }

  view(node: PartsNode): NodeView {
    switch (node.kind) {
      case 'project': {
        const project = node.snapshot.parsed.project;
        const parts = project ? Object.values(project.parts).reduce((n, list) => n + list.length, 0) : 0;
        return {
          label: project?.name || node.snapshot.relativePath,
          description: project ? `${parts} part${parts === 1 ? '' : 's'} · ${node.snapshot.relativePath}` : node.snapshot.relativePath,
          tooltip: `Part prompts of \`${node.snapshot.relativePath}\``,
          icon: { id: 'symbol-misc' },
          contextValue: project ? 'pscl.parts.project' : 'pscl.parts.invalid',
          collapsible: this.roots.length === 1 ? 'expanded' : 'collapsed',
        };
      }
      case 'coarse': {
        const count = node.snapshot.parsed.project?.parts[node.coarse]?.length ?? 0;
        const none = count === 0;
        return {
          label: node.coarse,
          description: !node.known ? 'no class has this coarse category' : none ? 'no parts yet' : `${count} part${count === 1 ? '' : 's'}`,
          tooltip: node.known
            ? `Parts of **${node.coarse}**: one mask label each, in this order (label 0 is the background).`
            : `"parts" has an entry **${node.coarse}**, but no class has this coarse value: see Problems.`,
          icon: !node.known || none ? { id: 'warning', color: 'problemsWarningIcon.foreground' } : { id: 'symbol-namespace' },
          contextValue: 'pscl.parts.coarse',
          collapsible: none ? 'none' : 'expanded',
        };
      }
      case 'part': {
        const scores = this.scoresOf(node.snapshot.key);
        const badge = partBadge(scores, node.coarse, node.name);
        const phrasings = node.prompts.map((p) => `"${p}"`).join(', ');
        const score = partScoreTooltip(scores, node.coarse, node.name);
        return {
          label: node.name,
          description: badge ? `${badge} · ${phrasings}` : phrasings,
          tooltip: `Part **${node.name}** of ${node.coarse} (mask label ${node.index + 1})\n\nPhrasings: ${phrasings || 'none'}${score ? `\n\n${score}` : ''}`,
          icon: { id: 'symbol-field' },
          contextValue: 'pscl.parts.part',
          collapsible: 'collapsed',
        };
      }
      case 'phrasing':
        return {
          label: node.text,
          description: phrasingBadge(this.scoresOf(node.snapshot.key), node.coarse, node.part, node.text) ?? (node.index === 0 ? 'phrasing' : undefined),
          tooltip: `Phrasing ${node.index + 1} of part **${node.part}**: the part templates put it in place of {part}.`,
          icon: { id: 'quote' },
          contextValue: 'pscl.parts.phrasing',
          collapsible: 'none',
        };
      case 'templates': {
        const t = node.snapshot.parsed.project?.templates;
        return {
          label: 'templates',
          description: t ? `${t.class.length} class · ${t.part.length} part` : undefined,
          tooltip: 'Text templates around class and part prompts: {name}, {part}, {coarse}, {level:NAME}.',
          icon: { id: 'symbol-string' },
          contextValue: 'pscl.parts.templates',
          collapsible: 'collapsed',
        };
      }
      case 'template':
        return {
          label: node.text,
          description: `${node.templateKind} template`,
          tooltip: `${node.templateKind === 'class' ? 'Class' : 'Part'} template ${node.index + 1}; prompts are averaged over the templates.`,
          icon: { id: node.templateKind === 'class' ? 'symbol-class' : 'symbol-field' },
          contextValue: 'pscl.parts.template',
          collapsible: 'none',
        };
      case 'message':
        return { label: node.text, tooltip: node.text, icon: { id: 'info' }, contextValue: 'pscl.parts.message', collapsible: 'none' };
    }
  }
}
