// clip/textEmbeddings and clip/denseFeatures over the ClipEngine seam (src/backend/clipEngine.ts).
// The model param is resolved without network: a local folder or a repo already downloaded.
import { PsclError, throwIfCancelled } from '../../core/errors';
import { EXECUTION_DEVICES, Requests, type DenseFeaturesParams, type ExecutionDevice, type TextEmbeddingsParams } from '../../core/rpc/protocol';
import { decodeFloat32, encodeFloat32 } from '../../core/rpc/tensor';
import type { ClipEngine, DenseImageInput } from '../clipEngine';
import { modelFolder } from '../models';
import { fields, oneOf, optBool, optInt, optStr, str, strArray, type Fields } from '../params';
import { defineRequest, type BackendArea, type HandlerContext } from '../registry';

/** Texts per engine call: bounds latency between cancellation checks and progress reports. */
const TEXT_BATCH = 64;

/** Runs `work` with the engine of the requested model (resolved without network: a folder, a downloaded repo or 'demo'). */
async function withEngine<T>(params: { model: string; cacheDir?: string; device?: ExecutionDevice }, ctx: HandlerContext, work: (engine: ClipEngine) => Promise<T>): Promise<T> {
  const { dir } = await modelFolder(params.model, params.cacheDir ?? ctx.services.modelCacheDir);
  return ctx.services.models.use(dir, params.device ?? 'auto', ({ engine }) => work(engine));
}

/** Scales each row of `dim` values to unit length (zero rows stay zero). */
function normalizeRows(data: Float32Array, dim: number): void {
  for (let off = 0; off < data.length; off += dim) {
    let sum = 0;
    for (let i = off; i < off + dim; i++) sum += data[i] * data[i];
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let i = off; i < off + dim; i++) data[i] *= scale;
  }
}

function parseText(raw: unknown): TextEmbeddingsParams {
  const m = Requests.textEmbeddings.method;
  const p = fields(m, raw);
  return {
    model: str(m, p, 'model'),
    cacheDir: optStr(m, p, 'cacheDir'),
    texts: strArray(m, p, 'texts', 100_000),
    normalize: optBool(m, p, 'normalize'),
    device: oneOf(m, p, 'device', EXECUTION_DEVICES),
  };
}

function textEmbeddings(params: TextEmbeddingsParams, ctx: HandlerContext) {
  return withEngine(params, ctx, async (engine) => {
    const rows: Float32Array[] = [];
    for (let start = 0; start < params.texts.length; start += TEXT_BATCH) {
      throwIfCancelled(ctx.signal, 'computing text embeddings');
      const batch = params.texts.slice(start, start + TEXT_BATCH);
      const out = await engine.embedTexts(batch, { signal: ctx.signal });
      if (out.length !== batch.length) throw new Error(`the CLIP engine returned ${out.length} embeddings for ${batch.length} texts`);
      rows.push(...out);
      ctx.progress({ done: rows.length, total: params.texts.length, unit: 'items', message: `text embeddings: ${rows.length} of ${params.texts.length}` });
    }
    const dim = rows[0].length;
    if (rows.some((r) => r.length !== dim)) throw new Error('the CLIP engine returned text embeddings of different sizes');
    const data = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => data.set(r, i * dim));
    if (params.normalize !== false) normalizeRows(data, dim);
    return { embeddings: encodeFloat32(data, [rows.length, dim]), device: engine.device };
  });
}

function parseSwitches(m: string, p: Fields): DenseFeaturesParams['switches'] {
  if (p.switches === undefined || p.switches === null) return undefined;
  const s = fields(`${m} switches`, p.switches);
  const residual = optBool(m, s, 'residual');
  const feedForward = optBool(m, s, 'feedForward');
  const attention = oneOf(m, s, 'attention', ['qk', 'qq'] as const);
  if (residual === undefined || feedForward === undefined || attention === undefined) {
    throw new PsclError(`${m}: 'switches' needs residual (boolean), feedForward (boolean) and attention ("qk" or "qq")`);
  }
  return { residual, feedForward, attention };
}

function parseDense(raw: unknown): DenseFeaturesParams {
  const m = Requests.denseFeatures.method;
  const p = fields(m, raw);
  const params: DenseFeaturesParams = {
    model: str(m, p, 'model'),
    cacheDir: optStr(m, p, 'cacheDir'),
    image: optStr(m, p, 'image'),
    pixels: p.pixels === undefined || p.pixels === null ? undefined : (p.pixels as DenseFeaturesParams['pixels']),
    size: optInt(m, p, 'size', 16, 8192),
    variant: str(m, p, 'variant'),
    switches: parseSwitches(m, p),
    normalize: optBool(m, p, 'normalize'),
    device: oneOf(m, p, 'device', EXECUTION_DEVICES),
  };
  if ((params.image === undefined) === (params.pixels === undefined)) throw new PsclError(`${m}: give exactly one of 'image' (a file path) and 'pixels' (a [3, H, W] tensor)`);
  if (params.variant === 'custom' && !params.switches) throw new PsclError(`${m}: variant "custom" needs 'switches'`);
  return params;
}

function denseInput(params: DenseFeaturesParams): DenseImageInput {
  if (params.image !== undefined) return { kind: 'image', path: params.image, size: params.size };
  const m = Requests.denseFeatures.method;
  let data: Float32Array;
  try {
    data = decodeFloat32(params.pixels!, `${m}: 'pixels'`);
  } catch (err) {
    throw new PsclError((err as Error).message);
  }
  const shape = params.pixels!.shape;
  if (shape.length !== 3 || shape[0] !== 3) throw new PsclError(`${m}: 'pixels' must have shape [3, H, W], got [${shape.join(', ')}]`);
  return { kind: 'pixels', data, height: shape[1], width: shape[2] };
}

function denseFeatures(params: DenseFeaturesParams, ctx: HandlerContext) {
  const input = denseInput(params);
  return withEngine(params, ctx, async (engine) => {
    const onProgress = (done: number, total: number) => ctx.progress({ done, total, unit: 'items', message: `dense features: ${done} of ${total}` });
    const out = await engine.denseFeatures({ input, variant: params.variant, switches: params.switches }, { signal: ctx.signal, onProgress });
    throwIfCancelled(ctx.signal, 'computing dense features');
    const [h, w, d] = out.shape;
    if (out.data.length !== h * w * d) throw new Error(`the CLIP engine returned ${out.data.length} values for shape [${out.shape.join(', ')}]`);
    if (params.normalize !== false) normalizeRows(out.data, d);
    return { features: encodeFloat32(out.data, [h, w, d]), device: engine.device };
  });
}

export const clipArea: BackendArea = {
  requests: [defineRequest(Requests.textEmbeddings, parseText, textEmbeddings), defineRequest(Requests.denseFeatures, parseDense, denseFeatures)],
};
