// quality/score: prompt quality on the training cache with the model LoadedModels holds. A
// PromptScorer is kept per (model, cache) with the model, and the text embeddings per model, so
// scoring again after an edit encodes only the changed texts and recomputes only what they touch.
import { statSync } from 'node:fs';
import path from 'node:path';
import { PsclError } from '../../core/errors';
import { loadProject, ProjectLoadError } from '../../core/project';
import { QualityRequests, type LevelConfusion, type QualityScoreParams, type QualityScoreResult } from '../../core/rpc/quality';
import { EXECUTION_DEVICES } from '../../core/rpc/protocol';
import { log } from '../log';
import { modelFolder } from '../models';
import { fields, oneOf, optBool, optInt, optStr, str } from '../params';
import { defineRequest, type BackendArea, type HandlerContext } from '../registry';

const METHOD = QualityRequests.score.method;
const MAX_CONFUSION_CLASSES = 400;

function parse(raw: unknown): QualityScoreParams {
  const p = fields(METHOD, raw);
  const projectFile = str(METHOD, p, 'projectFile');
  if (!path.isAbsolute(projectFile)) throw new PsclError(`${METHOD}: projectFile must be an absolute path, got ${projectFile}`);
  return {
    projectFile,
    projectText: optStr(METHOD, p, 'projectText'),
    model: optStr(METHOD, p, 'model') ?? '',
    device: oneOf(METHOD, p, 'device', EXECUTION_DEVICES),
    cacheDir: optStr(METHOD, p, 'cacheDir'),
    build: oneOf(METHOD, p, 'build', ['auto', 'never'] as const),
    split: oneOf(METHOD, p, 'split', ['all', 'train', 'test', 'val'] as const),
    perClass: optInt(METHOD, p, 'perClass', 1, 1_000_000),
    topK: optInt(METHOD, p, 'topK', 1, 1000),
    masks: optBool(METHOD, p, 'masks'),
  };
}

async function score(params: QualityScoreParams, ctx: HandlerContext): Promise<QualityScoreResult> {
  const started = performance.now();
  const { project } = await loadProject(params.projectFile, { require: 'valid', text: params.projectText, displayName: path.basename(params.projectFile) }).catch((err: Error) => {
    throw err instanceof ProjectLoadError ? new PsclError(`${err.message}; fix it to score its prompts (the Problems view lists every problem)`) : err;
  });
  // loaded on first use: the cache and the scorer pull in sharp
  const { openPromptScorer, TextEmbeddings, whyBuild } = await import('../../core/quality');
  const { formatCacheProgress } = await import('../../core/cache');
  const { defaultCacheDir } = await import('../../core/cache/location');
  const { dir, id } = await modelFolder(params.model, ctx.services.modelCacheDir);
  return ctx.services.models.use(
    dir,
    params.device ?? 'auto',
    async (m) => {
      const clip = m.clip();
      const texts = m.keep('quality:texts', () => new TextEmbeddings(async (t, signal) => (await clip.embedTexts(t, { signal })).data, clip.embedDim));
      const cacheDir = path.resolve(params.cacheDir ?? defaultCacheDir(params.projectFile, project.name, `sha256:${clip.hash}`));
      const manifest = path.join(cacheDir, 'manifest.json');
      const stamp = () => {
        try {
          const st = statSync(manifest);
          return `${st.size}:${st.mtimeMs}`;
        } catch {
          return 'none';
        }
      };
      // the scorer of this cache, opened again when the cache changed on disk
      const kept = m.keep(`quality:scorer:${cacheDir}`, () => ({ stamp: '', scorer: undefined as undefined | Awaited<ReturnType<typeof openPromptScorer>>['scorer'] }));
      let cacheBuilt = false;
      if (!kept.scorer || kept.stamp !== stamp() || (params.build === 'auto' && (await whyBuild(cacheDir, `sha256:${clip.hash}`, project, params.projectFile)))) {
        const opened = await openPromptScorer({
          projectFile: params.projectFile,
          project,
          model: clip,
          session: m.masks(),
          cacheDir,
          build: params.build === 'auto' ? 'auto' : 'never',
          texts,
          signal: ctx.signal,
          onCacheProgress: (p) => ctx.progress({ done: p.done, total: p.total, unit: 'items', message: `training cache: ${formatCacheProgress(p)}` }),
          log: (msg) => log(`quality: ${msg}`),
        });
        cacheBuilt = !!opened.built;
        kept.scorer = opened.scorer;
        kept.stamp = stamp();
      }
      const { scores, detail } = await kept.scorer.score(project, {
        split: params.split,
        perClass: params.perClass,
        topK: params.topK,
        masks: params.masks,
        signal: ctx.signal,
        onProgress: (message, done, total) => ctx.progress({ done, total, message: `prompt quality: ${message}` }),
      });
      const confusion: Record<string, LevelConfusion> = {};
      for (const [level, r] of detail.zeroShot.get('flat') ?? []) {
        const names = detail.levelNames.get(level) ?? [];
        if (names.length <= MAX_CONFUSION_CLASSES) confusion[level] = { names, counts: Array.from(r.confusion) };
      }
      log(`quality: ${project.name} scored on ${cacheDir} in ${((performance.now() - started) / 1000).toFixed(2)}s (${texts.encoded} texts encoded so far)`);
      return { scores, confusion, cacheBuilt, seconds: (performance.now() - started) / 1000 };
    },
    () => ctx.progress({ done: 0, total: null, message: `loading CLIP model ${id}` }),
  );
}

export const qualityArea: BackendArea = {
  requests: [defineRequest(QualityRequests.score, parse, score)],
};
