// The three ways into the mask preview: the palette, a taxonomy node, an image in the Explorer.
import path from 'node:path';
import * as vscode from 'vscode';
import { coarseLevel, valueAt, type Project } from '../../core/taxonomy/model';
import { datasetRoot, loadImages } from '../../core/taxonomy/importers';
import { pickNode, pickProject } from '../taxonomy/pick';
import type { CommandFactory, Ctx } from '../ctx';
import type { ProjectNode, TaxonomyNode } from '../taxonomy/model';
import { IMAGE_FILTERS } from './panel';

interface Loaded {
  uri: vscode.Uri;
  project: Project;
}

function loaded(node: ProjectNode | TaxonomyNode): Loaded | undefined {
  const project = node.snapshot.parsed.project;
  if (!project) {
    void vscode.window.showErrorMessage(`${node.snapshot.relativePath} does not parse: fix it before previewing masks.`);
    return undefined;
  }
  return { uri: vscode.Uri.parse(node.snapshot.key), project };
}

/** One dataset image of each of `classIds` (in order), as absolute paths with the class. */
async function datasetImages(p: Loaded, classIds: readonly string[] | undefined, perClass: number): Promise<{ file: string; classId: string }[]> {
  const { images } = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'PSCL: reading the dataset' }, () => loadImages(p.project, p.uri.fsPath));
  const root = datasetRoot(p.project, p.uri.fsPath);
  const wanted = classIds ? new Set(classIds) : undefined;
  const count = new Map<string, number>();
  const out: { file: string; classId: string }[] = [];
  for (const img of images) {
    if (wanted && !wanted.has(img.classId)) continue;
    const n = count.get(img.classId) ?? 0;
    if (n >= perClass) continue;
    count.set(img.classId, n + 1);
    out.push({ file: path.join(root, ...img.path.split('/')), classId: img.classId });
  }
  if (classIds) out.sort((a, b) => classIds.indexOf(a.classId) - classIds.indexOf(b.classId));
  return out;
}

function coarseOf(project: Project, classId: string): string | undefined {
  const cls = project.classes.find((c) => c.id === classId);
  return cls && valueAt(project, cls, coarseLevel(project).name);
}

function openOn(ctx: Ctx, p: Loaded, image: string, coarse?: string): void {
  ctx.previews.open({ project: p.uri.toString(), image, coarse: coarse && p.project.parts[coarse]?.length ? coarse : undefined });
}

/** PSCL: Open Mask Preview — a project, then an image file or one of the dataset's. */
export const openMaskPreview: CommandFactory = (ctx) => async () => {
  if (!ctx.backend.get('The mask preview')) return;
  const node = await pickProject(ctx);
  const p = node && loaded(node);
  if (!p) return;
  const browse = { label: '$(folder-opened) Choose an image file...', file: '', classId: '' };
  const items = (await datasetImages(p, undefined, 1).catch(() => [])).map((i) => ({
    label: p.project.classes.find((c) => c.id === i.classId)?.name ?? i.classId,
    description: path.basename(i.file),
    ...i,
  }));
  const picked = await vscode.window.showQuickPick([browse, ...items], { placeHolder: 'Image to preview the part masks on', matchOnDescription: true });
  if (!picked) return;
  let file = picked.file;
  if (!file) {
    const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, filters: IMAGE_FILTERS, title: 'Image to preview' });
    if (!chosen?.[0]) return;
    file = chosen[0].fsPath;
  }
  openOn(ctx, p, file, picked.classId ? coarseOf(p.project, picked.classId) : undefined);
};

/** Preview Masks for this Class/Category — from a taxonomy node (or picked from the palette). */
export const previewMasksForNode: CommandFactory = (ctx) => async (arg?: TaxonomyNode) => {
  if (!ctx.backend.get('The mask preview')) return;
  const node = arg ?? (await pickNode(ctx, 'Class or category to preview', (n) => n.kind === 'class' || n.kind === 'value'));
  if (!node) return;
  const p = loaded(node);
  if (!p) return;
  const classIds =
    node.kind === 'class'
      ? [node.classId]
      : node.kind === 'project'
        ? undefined
        : [...ctx.taxonomy.model.walk(node)].flatMap((n) => (n.kind === 'class' ? [n.classId] : []));
  const images = await datasetImages(p, classIds, 1);
  if (images.length === 0) {
    void vscode.window.showWarningMessage(`No dataset images found for this ${node.kind === 'class' ? 'class' : 'category'} under ${p.project.dataset.root}.`);
    return;
  }
  openOn(ctx, p, images[0].file, coarseOf(p.project, images[0].classId));
};

/** Preview Part Masks — an image file from the Explorer, with the project picked. */
export const previewMasksForFile: CommandFactory = (ctx) => async (uri?: vscode.Uri) => {
  if (!ctx.backend.get('The mask preview')) return;
  const image = uri ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: IMAGE_FILTERS }))?.[0];
  if (!image) return;
  const node = await pickProject(ctx);
  const p = node && loaded(node);
  if (p) openOn(ctx, p, image.fsPath);
};
