// curation/findings and curation/thumbnails: the Dataset view's heavy work (src/core/curation)
// off the extension host. Findings are what `pscl curate` reports, for the same project text.
import path from 'node:path';
import { PsclError } from '../../core/errors';
import { CurationRequests, type CurationFindingsParams, type CurationFindingsResult, type CurationMapParams, type CurationMapResult, type ThumbnailsParams, type ThumbnailsResult } from '../../core/rpc/curation';
import { fields, optInt, optStr, str, strArray } from '../params';
import { defineRequest, type BackendArea, type HandlerContext } from '../registry';

const FINDINGS = CurationRequests.findings.method;
const THUMBS = CurationRequests.thumbnails.method;

function absolute(method: string, key: string, p: string): string {
  if (!path.isAbsolute(p)) throw new PsclError(`${method}: ${key} must be an absolute path, got ${p}`);
  return p;
}

function parseFindings(raw: unknown): CurationFindingsParams {
  const p = fields(FINDINGS, raw);
  const cacheDir = optStr(FINDINGS, p, 'cacheDir');
  const runDir = optStr(FINDINGS, p, 'runDir');
  return {
    projectFile: absolute(FINDINGS, 'projectFile', str(FINDINGS, p, 'projectFile')),
    text: optStr(FINDINGS, p, 'text'),
    cacheDir: cacheDir && absolute(FINDINGS, 'cacheDir', cacheDir),
    runDir: runDir && absolute(FINDINGS, 'runDir', runDir),
  };
}

async function findings(params: CurationFindingsParams, ctx: HandlerContext): Promise<CurationFindingsResult> {
  const { useProjectText, loadProject } = await import('../../core/project');
  const { curateProject } = await import('../../core/curation');
  const { newestCacheDir } = await import('../../core/curation/curate');
  const loaded = params.text !== undefined ? useProjectText(params.projectFile, params.text) : await loadProject(params.projectFile);
  const r = await curateProject({
    projectFile: params.projectFile,
    project: loaded.project,
    cacheDir: params.cacheDir ?? newestCacheDir(params.projectFile),
    runDir: params.runDir,
    signal: ctx.signal,
    onProgress: (p) => ctx.progress({ done: Math.round(p.fraction * 1000), total: 1000, message: p.message }),
  });
  return { findings: r.findings, images: r.images, excluded: r.excluded, notes: r.notes };
}

function parseThumbs(raw: unknown): ThumbnailsParams {
  const p = fields(THUMBS, raw);
  return {
    files: strArray(THUMBS, p, 'files', 2000).map((f) => absolute(THUMBS, 'files', f)),
    dir: absolute(THUMBS, 'dir', str(THUMBS, p, 'dir')),
    size: optInt(THUMBS, p, 'size', 16, 1024) ?? 160,
  };
}

async function thumbnails(params: ThumbnailsParams, ctx: HandlerContext): Promise<ThumbnailsResult> {
  const { makeThumbnails } = await import('../../core/curation/thumbnails');
  return { thumbnails: await makeThumbnails(params.files, params.dir, params.size, ctx.signal) };
}

const MAP = CurationRequests.map.method;

function parseMap(raw: unknown): CurationMapParams {
  const p = fields(MAP, raw);
  const cacheDir = optStr(MAP, p, 'cacheDir');
  return { projectFile: absolute(MAP, 'projectFile', str(MAP, p, 'projectFile')), cacheDir: cacheDir && absolute(MAP, 'cacheDir', cacheDir) };
}

async function map(params: CurationMapParams, ctx: HandlerContext): Promise<CurationMapResult> {
  const { newestCacheDir } = await import('../../core/curation/curate');
  const { readImageEmbeddings } = await import('../../core/curation/embeddings');
  const { readManifest } = await import('../../core/cache/manifest');
  const { embeddingMap } = await import('../../core/curation/map');
  const cacheDir = params.cacheDir ?? newestCacheDir(params.projectFile);
  const manifest = cacheDir ? await readManifest(cacheDir) : undefined;
  if (!cacheDir || !manifest) return { paths: [], xy: [], message: 'No training cache for this project yet: build it (PSCL: Start Training builds it, or pscl cache build) to draw the map of its image embeddings.' };
  const table = await readImageEmbeddings(cacheDir, manifest);
  if (!table || table.rows.size === 0) return { paths: [], xy: [], message: `The cache ${cacheDir} holds no image embeddings: rebuild it with this version to draw the map.` };
  const paths = [...table.rows.keys()];
  const xy = await embeddingMap(table.data, table.rows.size, table.dim, { signal: ctx.signal, onProgress: (f, message) => ctx.progress({ done: Math.round(f * 1000), total: 1000, message }) });
  return { paths, xy: Array.from(xy) };
}

export const curationArea: BackendArea = {
  requests: [defineRequest(CurationRequests.findings, parseFindings, findings), defineRequest(CurationRequests.thumbnails, parseThumbs, thumbnails), defineRequest(CurationRequests.map, parseMap, map)],
};
