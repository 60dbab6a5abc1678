// cache/build: the training cache of a project, built (or brought up to date: only stale images
// are recomputed) with the model LoadedModels holds (the preview's, when it is the same model).
import path from 'node:path';
import { PsclError } from '../../core/errors';
import { loadProject, ProjectLoadError } from '../../core/project';
import { CacheRequests, type CacheBuildParams, type CacheBuildSummary } from '../../core/rpc/cache';
import { EXECUTION_DEVICES } from '../../core/rpc/protocol';
import { log } from '../log';
import { fields, oneOf, optBool, optStr, str } from '../params';
import { defineJob, defineRequest, type BackendArea, type HandlerContext } from '../registry';
import { modelFolder } from '../models';

const METHOD = CacheRequests.build.method;

function parse(raw: unknown): CacheBuildParams {
  const p = fields(METHOD, raw);
  const projectFile = str(METHOD, p, 'projectFile');
  if (!path.isAbsolute(projectFile)) throw new PsclError(`${METHOD}: projectFile must be an absolute path, got ${projectFile}`);
  return { projectFile, model: optStr(METHOD, p, 'model') ?? '', device: oneOf(METHOD, p, 'device', EXECUTION_DEVICES), outDir: optStr(METHOD, p, 'outDir'), force: optBool(METHOD, p, 'force') };
}

async function build(params: CacheBuildParams, ctx: HandlerContext): Promise<CacheBuildSummary> {
  // the saved file, validated, as `pscl cache build` reads it (unsaved edits in an editor are not used)
  const { project } = await loadProject(params.projectFile, { require: 'valid', displayName: path.basename(params.projectFile) }).catch((err: Error) => {
    throw err instanceof ProjectLoadError ? new PsclError(`${err.message}; fix it before building the cache (the Problems view lists every problem)`) : err;
  });
  // loaded on first use: the cache builder pulls in sharp, which the backend need not load at start
  const { buildCache, clipEncoders, defaultCacheDir, formatCacheProgress } = await import('../../core/cache');
  const { dir, id } = await modelFolder(params.model, ctx.services.modelCacheDir);
  const load = () => ctx.progress({ done: 0, total: null, message: `loading CLIP model ${id}` });
  return ctx.services.models.use(
    dir,
    params.device ?? 'auto',
    async (m) => {
      const encoders = clipEncoders(m.clip(), { session: m.masks() });
      const outDir = params.outDir ?? defaultCacheDir(params.projectFile, project.name, encoders.model.hash);
      const r = await buildCache({
        projectFile: params.projectFile,
        project,
        outDir,
        encoders,
        signal: ctx.signal,
        force: params.force,
        onProgress: (p) => ctx.progress({ done: p.done, total: p.total, unit: 'items', rate: p.imagesPerSecond, message: formatCacheProgress(p) }),
        log: (msg) => log(`cache: ${msg}`),
        lockHolder: 'PSCL Studio (Build Training Cache)',
        onWait: (msg) => ctx.progress({ done: 0, total: null, message: `${msg} (cancel to stop waiting)` }),
      });
      return { dir: r.dir, images: { total: r.images.total, computed: r.images.computed, reused: r.images.reused, errors: r.images.errors }, embeddings: { computed: r.embeddings.computed, reused: r.embeddings.reused }, seconds: r.seconds };
    },
    load,
  );
}

export const cacheArea: BackendArea = {
  requests: [defineRequest(CacheRequests.build, parse, build)],
  jobs: [defineJob(METHOD, parse, build)],
};
