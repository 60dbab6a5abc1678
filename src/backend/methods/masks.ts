// masks/compute and masks/grid: part masks for the preview panel, with the MaskSession of a
// loaded model (backend/models.ts keeps it as long as the model), so image features stay cached
// across calls and a prompt edit only recomputes text embeddings and similarities.
import path from 'node:path';
import { ImageFile, sharpOf } from '../../core/clip/preprocess';
import { PsclError, throwIfCancelled } from '../../core/errors';
import { loadProject, ProjectLoadError } from '../../core/project';
import { isPreviewSettings, previewMaskSettings } from '../../core/masks/settings';
import { encodeLabelMap, encodeProbabilities, type GridItem, type PreviewPart } from '../../core/masks/wire';
import { MaskSession, partsCategory, type ImageMaskSettings, type ImageMasks } from '../../core/masks/session';
import { MaskRequests, type MasksComputeParams, type MasksComputeResult, type MasksGridParams, type MasksGridResult } from '../../core/rpc/masks';
import { EXECUTION_DEVICES } from '../../core/rpc/protocol';
import { coarseLevel, valueAt, type Project } from '../../core/taxonomy/model';
import { datasetFile, datasetRoot, loadImages } from '../../core/taxonomy/importers';
import { log } from '../log';
import { modelFolder } from '../models';
import { fields, oneOf, optInt, optStr, str, strArray, type Fields } from '../params';
import { defineRequest, type BackendArea, type HandlerContext } from '../registry';


/** Runs `work` with the MaskSession of the requested model (loaded once, owned by LoadedModels). */
async function withSession<T>(params: MasksComputeParams | MasksGridParams, ctx: HandlerContext, work: (session: MaskSession, modelId: string) => Promise<T>): Promise<T> {
  const { dir, id } = await modelFolder(params.model, ctx.services.modelCacheDir);
  const load = () => ctx.progress({ done: 0, total: 1, message: `loading CLIP model ${id}` });
  return ctx.services.models.use(dir, params.device ?? 'auto', (m) => work(m.masks(), id), load);
}

/** The project as the panel has it (unsaved text wins over the file). */
async function projectOf(params: MasksComputeParams | MasksGridParams): Promise<Project> {
  try {
    return (await loadProject(params.projectFile, { text: params.projectText, displayName: path.basename(params.projectFile) })).project;
  } catch (err) {
    if (err instanceof ProjectLoadError) throw new PsclError(`${err.message}: fix the project file to update the preview`);
    throw err;
  }
}

/** The coarse category of a request, with the project file named in the error. */
function coarseOf(project: Project, requested: string | undefined, file: string): string {
  try {
    return partsCategory(project, requested).coarse;
  } catch (err) {
    throw new PsclError(`${path.basename(file)}: ${(err as Error).message}`);
  }
}

function maskSettingsOf(p: MasksComputeParams | MasksGridParams, output?: { width: number; height: number }): ImageMaskSettings {
  return { ...previewMaskSettings(p.settings), backgroundPrompts: p.backgroundPrompts, output };
}

function previewParts(masks: ImageMasks): PreviewPart[] {
  return masks.parts.map((p) => ({ label: p.label, name: p.name, prompts: p.texts }));
}

/** A downscaled JPEG of the image for the page, from the decode the masks use too. */
async function jpegDataUri(image: ImageFile, longSide: number): Promise<{ dataUri: string; width: number; height: number }> {
  const decoded = await image.decode();
  try {
    const { data, info } = await (await sharpOf(decoded))
      .resize({ width: longSide, height: longSide, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 85 })
      .toBuffer({ resolveWithObject: true });
    return { dataUri: `data:image/jpeg;base64,${data.toString('base64')}`, width: info.width, height: info.height };
  } catch (err) {
    throw new PsclError(`cannot read the image ${image.path}: ${(err as Error).message}`);
  }
}

function parseCommon(m: string, p: Fields): Omit<MasksComputeParams, 'image'> {
  if (!isPreviewSettings(p.settings)) throw new PsclError(`${m}: 'settings' must be PreviewSettings (variant, switches, odd kernel, size, slidingWindow, threshold 0..1)`);
  return {
    model: typeof p.model === 'string' ? p.model : str(m, p, 'model'),
    device: oneOf(m, p, 'device', EXECUTION_DEVICES),
    projectFile: str(m, p, 'projectFile'),
    projectText: optStr(m, p, 'projectText'),
    coarse: optStr(m, p, 'coarse'),
    settings: p.settings,
    backgroundPrompts: p.backgroundPrompts === undefined ? undefined : strArray(m, p, 'backgroundPrompts', 64),
    jobId: optStr(m, p, 'jobId'),
  };
}

function parseCompute(raw: unknown): MasksComputeParams {
  const m = MaskRequests.compute.method;
  const p = fields(m, raw);
  return { ...parseCommon(m, p), image: str(m, p, 'image'), previewSize: optInt(m, p, 'previewSize', 64, 4096) };
}

function parseGrid(raw: unknown): MasksGridParams {
  const m = MaskRequests.grid.method;
  const p = fields(m, raw);
  return { ...parseCommon(m, p), maxClasses: optInt(m, p, 'maxClasses', 1, 64) };
}

async function compute(params: MasksComputeParams, ctx: HandlerContext): Promise<MasksComputeResult> {
  const project = await projectOf(params);
  const coarse = coarseOf(project, params.coarse, params.projectFile);
  return withSession(params, ctx, async (session, modelId) => {
    throwIfCancelled(ctx.signal, 'computing part masks');
    // one decode serves the model's input (when its features are not cached) and the page's JPEG
    const file = new ImageFile(params.image);
    const [masks, image] = await Promise.all([
      session.compute(project, coarse, file, maskSettingsOf(params), { signal: ctx.signal }),
      jpegDataUri(file, params.previewSize ?? 768),
    ]);
    const n = masks.probabilities.length / (masks.gridHeight * masks.gridWidth);
    return {
      coarse,
      image,
      labelMap: encodeLabelMap(masks.labels),
      probabilities: encodeProbabilities(masks.probabilities, masks.gridHeight, masks.gridWidth, n),
      parts: previewParts(masks),
      stats: masks.stats,
      timing: masks.timing,
      modelId,
    };
  });
}

async function grid(params: MasksGridParams, ctx: HandlerContext): Promise<MasksGridResult> {
  const t0 = performance.now();
  const project = await projectOf(params);
  const coarse = coarseOf(project, params.coarse, params.projectFile);
  const level = coarseLevel(project).name;
  const classes = project.classes.filter((c) => valueAt(project, c, level) === coarse);
  const { images } = await loadImages(project, params.projectFile, ctx.signal);
  const root = datasetRoot(project, params.projectFile);
  const picked: { file: string; className: string }[] = [];
  for (const cls of classes) {
    if (picked.length >= (params.maxClasses ?? 8)) break;
    const img = images.find((i) => i.classId === cls.id);
    if (!img) continue;
    try {
      picked.push({ file: datasetFile(root, img.path), className: cls.name });
    } catch (err) {
      log(`grid: ${(err as Error).message}`); // a link out of the dataset: another class's image will do
    }
  }
  if (picked.length === 0) throw new PsclError(`no dataset images found for the classes of '${coarse}' in ${project.dataset.root}`);
  return withSession(params, ctx, async (session, modelId) => {
    const items: GridItem[] = [];
    let parts: PreviewPart[] = [];
    for (const [i, it] of picked.entries()) {
      throwIfCancelled(ctx.signal, 'computing the mask grid');
      const file = new ImageFile(it.file);
      const masks = await session.compute(project, coarse, file, maskSettingsOf(params), { signal: ctx.signal });
      const thumb = await jpegDataUri(file, 256);
      parts = previewParts(masks);
      items.push({ key: it.file, imageUri: thumb.dataUri, imageWidth: thumb.width, imageHeight: thumb.height, className: it.className, labelMap: encodeLabelMap(masks.labels), stats: masks.stats });
      ctx.progress({ done: i + 1, total: picked.length, unit: 'items', message: `grid: ${i + 1} of ${picked.length} images` });
    }
    return { coarse, items, parts, timing: { ms: performance.now() - t0 }, modelId };
  });
}

export const masksArea: BackendArea = {
  requests: [defineRequest(MaskRequests.compute, parseCompute, compute), defineRequest(MaskRequests.grid, parseGrid, grid)],
};
