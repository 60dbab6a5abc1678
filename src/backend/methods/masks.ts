// masks/compute and masks/grid: part masks for the preview panel. One MaskSession per loaded
// model lives here for the backend's lifetime, so image features stay cached across calls and
// a prompt edit only recomputes text embeddings and similarities.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ClipModel } from '../../core/clip';
import { DEMO_MODEL_ID, ensureDemoModel } from '../../core/clip/demoModel';
import { resolveModel } from '../../core/clip/download';
import { PsclError, throwIfCancelled } from '../../core/errors';
import { encodeLabelMap, encodeProbabilities, graphVariantName, isPreviewSettings, type GridItem, type PreviewPart } from '../../core/masks/previewProtocol';
import { MaskSession, type ImageMaskSettings, type ImageMasks } from '../../core/masks/session';
import { DEMO_MODEL_SPEC, MaskRequests, type MasksComputeParams, type MasksComputeResult, type MasksGridParams, type MasksGridResult } from '../../core/rpc/masks';
import type { ExecutionDevice } from '../../core/rpc/protocol';
import { coarseLevel, valueAt, type Project } from '../../core/taxonomy/model';
import { datasetFile, loadImages } from '../../core/taxonomy/importers';
import { parseProject } from '../../core/taxonomy/project';
import { psclCacheRoot } from '../../core/util/cacheDir';
import { log } from '../log';
import { fields, oneOf, optInt, optStr, str, strArray, type Fields } from '../params';
import { defineRequest, type BackendArea, type HandlerContext } from '../registry';

/** dist/backend.js lives one folder below the package root (the demo model looks for shared data there). */
const PACKAGE_ROOT = path.resolve(__dirname, '..');
const DEVICES: readonly ExecutionDevice[] = ['auto', 'cpu', 'cuda'];
const MAX_SESSIONS = 2;

interface LoadedSession {
  session: MaskSession;
  modelId: string;
}

const sessions = new Map<string, Promise<LoadedSession>>();

export async function modelDir(spec: string, ctx: HandlerContext): Promise<{ dir: string; id: string }> {
  if (spec === '' || spec === DEMO_MODEL_SPEC) return { dir: await ensureDemoModel(psclCacheRoot(), PACKAGE_ROOT), id: DEMO_MODEL_ID };
  const r = await resolveModel(spec, { cacheDir: ctx.services.modelCacheDir, offline: true });
  return { dir: r.dir, id: r.repo ?? path.basename(r.dir) };
}

/** The session of a model, loading it once; the least recently used beyond MAX_SESSIONS is closed. */
async function sessionFor(spec: string, device: ExecutionDevice | undefined, ctx: HandlerContext): Promise<LoadedSession> {
  const { dir, id } = await modelDir(spec, ctx);
  const key = `${device ?? 'auto'}\0${dir}`;
  let loaded = sessions.get(key);
  if (loaded) {
    sessions.delete(key);
  } else {
    ctx.progress({ done: 0, total: 1, message: `loading CLIP model ${id}` });
    log(`masks: loading ${dir} (device ${device ?? 'auto'})`);
    loaded = ClipModel.load(dir, { provider: device ?? 'auto', log }).then((model) => ({ session: new MaskSession(model), modelId: id }));
    loaded.catch(() => sessions.delete(key));
  }
  sessions.set(key, loaded);
  while (sessions.size > MAX_SESSIONS) {
    const [oldKey, old] = sessions.entries().next().value!;
    sessions.delete(oldKey);
    old.then((s) => s.session.model.dispose(), () => undefined);
  }
  return loaded;
}

async function loadProject(params: MasksComputeParams | MasksGridParams): Promise<Project> {
  const name = path.basename(params.projectFile);
  let text = params.projectText;
  if (text === undefined) {
    try {
      text = await readFile(params.projectFile, 'utf8');
    } catch (err) {
      throw new PsclError(`cannot read the project file ${params.projectFile}: ${(err as Error).message}`);
    }
  }
  const parsed = parseProject(text, params.projectFile);
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (!parsed.project || errors.length > 0) {
    const first = errors[0];
    const where = first ? `${name}:${first.range.start.line + 1}: ${first.message}` : `${name} is not a project file`;
    throw new PsclError(`${where}${errors.length > 1 ? ` (and ${errors.length - 1} more problem(s))` : ''}: fix the project file to update the preview`);
  }
  return parsed.project;
}

function pickCoarse(project: Project, requested: string | undefined, file: string): string {
  const withParts = Object.keys(project.parts).filter((c) => project.parts[c].length > 0);
  if (requested !== undefined) {
    if (!project.parts[requested]?.length) {
      throw new PsclError(`${path.basename(file)} has no parts for '${requested}' (parts exist for: ${withParts.join(', ') || 'none'}): add them under "parts"`);
    }
    return requested;
  }
  if (withParts.length === 0) throw new PsclError(`${path.basename(file)} has no parts: add part prompts under "parts" to preview masks`);
  return withParts[0];
}

function maskSettings(p: MasksComputeParams | MasksGridParams, output?: { width: number; height: number }): ImageMaskSettings {
  const s = p.settings;
  return {
    variant: graphVariantName(s),
    size: s.size,
    slidingWindow: s.slidingWindow,
    kernel: s.kernel,
    threshold: s.threshold,
    backgroundPrompts: p.backgroundPrompts,
    output,
  };
}

function previewParts(masks: ImageMasks): PreviewPart[] {
  return masks.parts.map((p) => ({ label: p.label, name: p.name, prompts: p.texts }));
}

async function jpegDataUri(file: string, longSide: number): Promise<{ dataUri: string; width: number; height: number }> {
  const sharp = (await import('sharp')).default;
  try {
    const { data, info } = await sharp(file, { failOn: 'error' })
      .rotate()
      .resize({ width: longSide, height: longSide, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 85 })
      .toBuffer({ resolveWithObject: true });
    return { dataUri: `data:image/jpeg;base64,${data.toString('base64')}`, width: info.width, height: info.height };
  } catch (err) {
    throw new PsclError(`cannot read the image ${file}: ${(err as Error).message}`);
  }
}

function parseCommon(m: string, p: Fields): Omit<MasksComputeParams, 'image'> {
  if (!isPreviewSettings(p.settings)) throw new PsclError(`${m}: 'settings' must be PreviewSettings (variant, switches, odd kernel, size, slidingWindow, threshold 0..1)`);
  return {
    model: typeof p.model === 'string' ? p.model : str(m, p, 'model'),
    device: oneOf(m, p, 'device', DEVICES),
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
  const project = await loadProject(params);
  const coarse = pickCoarse(project, params.coarse, params.projectFile);
  const { session, modelId } = await sessionFor(params.model, params.device, ctx);
  throwIfCancelled(ctx.signal, 'computing part masks');
  const [masks, image] = await Promise.all([
    session.compute(project, coarse, params.image, maskSettings(params), { signal: ctx.signal }),
    jpegDataUri(params.image, params.previewSize ?? 768),
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
}

async function grid(params: MasksGridParams, ctx: HandlerContext): Promise<MasksGridResult> {
  const t0 = performance.now();
  const project = await loadProject(params);
  const coarse = pickCoarse(project, params.coarse, params.projectFile);
  const level = coarseLevel(project).name;
  const classes = project.classes.filter((c) => valueAt(project, c, level) === coarse);
  const { images } = await loadImages(project, params.projectFile, ctx.signal);
  const root = path.resolve(path.dirname(params.projectFile), project.dataset.root);
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
  const { session, modelId } = await sessionFor(params.model, params.device, ctx);
  const items: GridItem[] = [];
  let parts: PreviewPart[] = [];
  for (const [i, it] of picked.entries()) {
    throwIfCancelled(ctx.signal, 'computing the mask grid');
    const masks = await session.compute(project, coarse, it.file, maskSettings(params), { signal: ctx.signal });
    const thumb = await jpegDataUri(it.file, 256);
    parts = previewParts(masks);
    items.push({ key: it.file, imageUri: thumb.dataUri, imageWidth: thumb.width, imageHeight: thumb.height, className: it.className, labelMap: encodeLabelMap(masks.labels), stats: masks.stats });
    ctx.progress({ done: i + 1, total: picked.length, unit: 'items', message: `grid: ${i + 1} of ${picked.length} images` });
  }
  return { coarse, items, parts, timing: { ms: performance.now() - t0 }, modelId };
}

export const masksArea: BackendArea = {
  requests: [defineRequest(MaskRequests.compute, parseCompute, compute), defineRequest(MaskRequests.grid, parseGrid, grid)],
};
