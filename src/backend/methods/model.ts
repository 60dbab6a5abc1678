// model/resolve: a local folder or a Hub repo id -> a local CLIP folder, downloading with
// progress when needed. Also a job kind, so a download can run in the background.
import { describeDownloadProgress, resolveModel } from '../../core/clip/download';
import { Requests, type ModelResolveParams, type ModelResolveResult } from '../../core/rpc/protocol';
import { fields, optBool, optStr, str } from '../params';
import { defineJob, defineRequest, type BackendArea, type HandlerContext } from '../registry';

const METHOD = Requests.modelResolve.method;

function parse(raw: unknown): ModelResolveParams {
  const p = fields(METHOD, raw);
  return {
    model: str(METHOD, p, 'model'),
    revision: optStr(METHOD, p, 'revision'),
    cacheDir: optStr(METHOD, p, 'cacheDir'),
    endpoint: optStr(METHOD, p, 'endpoint'),
    offline: optBool(METHOD, p, 'offline'),
  };
}

async function resolve(params: ModelResolveParams, ctx: HandlerContext): Promise<ModelResolveResult> {
  return resolveModel(params.model, {
    cacheDir: params.cacheDir ?? ctx.services.modelCacheDir,
    revision: params.revision,
    endpoint: params.endpoint,
    offline: params.offline,
    signal: ctx.signal,
    onProgress: (p) => ctx.progress({ done: p.done, total: p.total, unit: 'bytes', rate: p.bytesPerSecond, message: describeDownloadProgress(p) }),
  });
}

export const modelArea: BackendArea = {
  requests: [defineRequest(Requests.modelResolve, parse, resolve)],
  jobs: [defineJob(METHOD, parse, resolve)],
};
