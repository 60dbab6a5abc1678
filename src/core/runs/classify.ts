// Classify one image with a run's exported model.onnx (onnxruntime-node), preprocessed exactly as
// the trainer evaluates (trainer/pscl_trainer/data.py, CacheDataset with train=False): the decode
// contract (docs/image-decoding.md), `resize((R, R), BILINEAR)` of the whole image, /255,
// (x - mean) / std in float32. PIL's resampler is reproduced bit for bit (fixed-point coefficients, 8-bit rounding
// after the horizontal pass), so the model sees the same tensor as PyTorch did.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage, ImageError, imageInfo } from '../clip/decode';
import { ONNX_FILE, RunFileError } from './folder';
import { runTrainerCommand } from './python';

export const PREPROCESS_FILE = 'preprocess.json';
export const CLASSES_FILE = 'classes.json';

export interface ExportedModel {
  dir: string;
  onnx: string;
  /** [height, width] */
  inputSize: [number, number];
  mean: [number, number, number];
  std: [number, number, number];
  levels: string[];
  classes: { index: number; id?: string; name: string; path: Record<string, string> }[];
  /** How the run reads P from the logits (preprocess.json `probability`, the run's loss_form; older exports: sigmoid). */
  probability: 'softmax' | 'sigmoid';
}

export interface Prediction {
  index: number;
  id?: string;
  name: string;
  /** Value at every level, coarse to fine. */
  path: Record<string, string>;
  logit: number;
  /** The model's probability of the class: softmax over the classes, or sigmoid(logit) for runs trained with the sigmoid loss. */
  prob: number;
}

async function readJson(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new RunFileError(file, `missing: ${what}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new RunFileError(file, `not valid JSON (${(err as Error).message}); export the model again (pscl_trainer export --run DIR)`);
  }
}

const EXPORT_HINT = 'export the model again (Classify Image does it, or PYTHONPATH=trainer python3 -m pscl_trainer export --run DIR)';

/** The exported model of a run: model.onnx with the preprocess.json and classes.json written beside it. */
export async function readExportedModel(runDir: string): Promise<ExportedModel> {
  const onnx = path.join(runDir, ONNX_FILE);
  if (!existsSync(onnx)) throw new RunFileError(onnx, `missing: the run has no exported model; ${EXPORT_HINT}`);
  const preFile = path.join(runDir, PREPROCESS_FILE);
  const pre = await readJson(preFile, `written with model.onnx; ${EXPORT_HINT}`);
  const size = pre.input_size;
  const nums = (v: unknown, n: number) => Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!nums(size, 2) || !(size as number[]).every((x) => Number.isInteger(x) && x > 0)) throw new RunFileError(preFile, `"input_size" must be [height, width] in pixels; ${EXPORT_HINT}`);
  if (!nums(pre.mean, 3) || !nums(pre.std, 3) || (pre.std as number[]).some((x) => x === 0)) throw new RunFileError(preFile, `"mean" and "std" must be three numbers each (std non-zero); ${EXPORT_HINT}`);
  if (pre.scale !== undefined && Math.abs((pre.scale as number) - 1 / 255) > 1e-12) throw new RunFileError(preFile, `"scale" ${String(pre.scale)} is not 1/255, which is the only scale the trainer uses`);
  const clsFile = path.join(runDir, CLASSES_FILE);
  const cls = await readJson(clsFile, `written with model.onnx; ${EXPORT_HINT}`);
  if (!Array.isArray(cls.levels) || !Array.isArray(cls.classes)) throw new RunFileError(clsFile, `needs "levels" and "classes" arrays; ${EXPORT_HINT}`);
  const classes = (cls.classes as Record<string, unknown>[]).map((c, i) => {
    if (typeof c !== 'object' || c === null || c.index !== i || typeof c.name !== 'string') throw new RunFileError(clsFile, `classes[${i}] needs "index": ${i} and a "name"; ${EXPORT_HINT}`);
    return { index: i, id: typeof c.id === 'string' ? c.id : undefined, name: c.name, path: (c.path ?? {}) as Record<string, string> };
  });
  if (pre.probability !== undefined && pre.probability !== 'softmax' && pre.probability !== 'sigmoid') throw new RunFileError(preFile, `"probability" must be "softmax" or "sigmoid", got ${JSON.stringify(pre.probability)}; ${EXPORT_HINT}`);
  const probability = pre.probability === 'softmax' ? 'softmax' : 'sigmoid';
  return { dir: runDir, onnx, inputSize: size as [number, number], mean: pre.mean as ExportedModel['mean'], std: pre.std as ExportedModel['std'], levels: cls.levels as string[], classes, probability };
}

/** 8-bit RGB pixels, row-major HWC. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Decodes by the decode contract (src/core/clip/decode.ts, docs/image-decoding.md), which the
 * trainer's data path holds too: EXIF orientation applied, ICC profiles ignored, CMYK and 16-bit
 * converted the same way, alpha dropped, grey replicated. `rows`: only those rows of the image as
 * displayed (strips of a large image).
 */
export async function decodeRgb(file: string, rows?: { top: number; height: number; width: number }): Promise<RgbImage> {
  if (!existsSync(file)) throw new Error(`${file}: image not found`);
  try {
    const img = await decodeImage(file, rows ? { rows: { top: rows.top, height: rows.height } } : {});
    return { data: img.data, width: img.width, height: img.height };
  } catch (err) {
    const detail = err instanceof ImageError && err.detail ? err.detail : (err as Error).message;
    throw new Error(`${file}: cannot decode the image (${detail}); use a JPEG, PNG or WebP file`);
  }
}

// PIL's fixed-point precision for 8-bit images (libImaging/Resample.c)
const PRECISION_BITS = 32 - 8 - 2;

/** PIL's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter. */
function bilinearCoeffs(inSize: number, outSize: number): { bounds: Int32Array; kk: Int32Array; ksize: number } {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1.0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1.0 / filterscale;
    // C's (int) cast truncates toward zero
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      w[x] = t < 1 ? 1 - t : 0;
      ww += w[x]!;
    }
    for (let x = 0; x < ksize; x++) {
      const k = x < xmax && ww !== 0 ? w[x]! / ww : x < xmax ? w[x]! : 0;
      kk[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS)) : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, kk, ksize };
}

const clip8 = (v: number) => {
  const x = v >> PRECISION_BITS;
  return x < 0 ? 0 : x > 255 ? 255 : x;
};

/**
 * One resampling pass (PIL's ImagingResampleHorizontal/Vertical_8bpc): output pixel (i, j) along
 * the resampled axis sums `ksize` source pixels `step` apart, starting at bounds[2i] + offset.
 * `at(i, j)` is the byte index of the first source pixel for output index i (unshifted) in line j.
 */
function resamplePass(src: Uint8Array, out: Uint8Array, c: ReturnType<typeof bilinearCoeffs>, outLen: number, lines: number, step: number, first: (i: number, j: number, start: number) => number, outAt: (i: number, j: number) => number): void {
  const half = 1 << (PRECISION_BITS - 1);
  for (let j = 0; j < lines; j++) {
    for (let i = 0; i < outLen; i++) {
      const n = c.bounds[i * 2 + 1]!;
      const k0 = i * c.ksize;
      let p = first(i, j, c.bounds[i * 2]!);
      let s0 = half, s1 = half, s2 = half;
      for (let x = 0; x < n; x++, p += step) {
        const k = c.kk[k0 + x]!;
        s0 += src[p]! * k;
        s1 += src[p + 1]! * k;
        s2 += src[p + 2]! * k;
      }
      const o = outAt(i, j);
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
}

/** `Image.resize((outW, outH), Image.BILINEAR)` of an RGB image, bit-exact with Pillow. */
export function resizeBilinearLikePil(src: RgbImage, outW: number, outH: number): RgbImage {
  if (src.width === outW && src.height === outH) return { data: src.data.slice(), width: outW, height: outH };
  const horiz = bilinearCoeffs(src.width, outW);
  const vert = bilinearCoeffs(src.height, outH);
  // only the rows the vertical pass reads are resampled horizontally
  const yFirst = vert.bounds[0]!;
  const yLast = vert.bounds[outH * 2 - 2]! + vert.bounds[outH * 2 - 1]!;
  let cur = src;
  let rowOffset = 0;
  if (outW !== src.width) {
    const h = yLast - yFirst;
    const tmp = new Uint8Array(outW * h * 3);
    resamplePass(src.data, tmp, horiz, outW, h, 3, (xx, y, xmin) => ((y + yFirst) * src.width + xmin) * 3, (xx, y) => (y * outW + xx) * 3);
    cur = { data: tmp, width: outW, height: h };
    rowOffset = yFirst;
  }
  if (outH === src.height) return cur.height === outH ? cur : { data: cur.data.slice(0, outW * outH * 3), width: outW, height: outH };
  const out = new Uint8Array(outW * outH * 3);
  resamplePass(cur.data, out, vert, outH, outW, outW * 3, (yy, xx, ymin) => ((ymin - rowOffset) * outW + xx) * 3, (yy, xx) => (yy * outW + xx) * 3);
  return { data: out, width: outW, height: outH };
}

/** The trainer's normalisation in float32 (torch: x / 255.0, then (x - mean) / std), HWC -> CHW. */
export function normalizeLikeTrainer(img: RgbImage, mean: readonly number[], std: readonly number[]): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const m = f(mean[c]!);
    const s = f(std[c]!);
    // fround of each double result equals the float32 operation (double rounding is exact for + - * /)
    for (let i = 0; i < plane; i++) out[c * plane + i] = f(f(f(img.data[i * 3 + c]! / 255) - m) / s);
  }
  return out;
}

/**
 * Decoded bytes above which an image is read in strips of rows: a 16000 x 16000 PNG of a few
 * hundred kilobytes would otherwise take 768 MB at once. Memory per image stays below this plus
 * outW x H x 3 bytes for the horizontally resampled rows (docs/reliability.md).
 */
export const MAX_DECODE_BYTES = 32 * 1024 * 1024;

/** The model's input tensor for one image file: [3, H, W] float32. */
export async function preprocessImage(file: string, model: Pick<ExportedModel, 'inputSize' | 'mean' | 'std'>, options: { maxDecodeBytes?: number } = {}): Promise<Float32Array> {
  const [h, w] = model.inputSize;
  const limit = options.maxDecodeBytes ?? MAX_DECODE_BYTES;
  const size = existsSync(file) ? await displayedSize(file) : undefined;
  const resized = size && size.width * size.height * 3 > limit ? await resizeFileInStrips(file, size, w, h, limit) : resizeBilinearLikePil(await decodeRgb(file), w, h);
  return normalizeLikeTrainer(resized, model.mean, model.std);
}

/** Width and height as displayed (EXIF orientation applied), or undefined when unreadable. */
async function displayedSize(file: string): Promise<{ width: number; height: number } | undefined> {
  return imageInfo(file).then(({ width, height }) => ({ width, height }), () => undefined);
}

/**
 * resizeBilinearLikePil of a large file without decoding it whole: each strip of rows is
 * decoded and resampled horizontally (the same pass, so the result is bit-identical), then the
 * vertical pass runs over the resampled rows.
 */
async function resizeFileInStrips(file: string, size: { width: number; height: number }, outW: number, outH: number, maxBytes: number): Promise<RgbImage> {
  const { width, height } = size;
  const horiz = bilinearCoeffs(width, outW);
  const vert = bilinearCoeffs(height, outH);
  const yFirst = vert.bounds[0]!;
  const yLast = vert.bounds[outH * 2 - 2]! + vert.bounds[outH * 2 - 1]!;
  const rows = yLast - yFirst;
  const tmp = new Uint8Array(outW * rows * 3);
  const stripRows = Math.max(1, Math.floor(maxBytes / (width * 3)));
  for (let top = yFirst; top < yLast; top += stripRows) {
    const n = Math.min(stripRows, yLast - top);
    const strip = await decodeRgb(file, { top, height: n, width });
    const at = (top - yFirst) * outW * 3;
    if (outW === width) tmp.set(strip.data, at);
    else resamplePass(strip.data, tmp, horiz, outW, n, 3, (xx, y, xmin) => (y * width + xmin) * 3, (xx, y) => at + (y * outW + xx) * 3);
  }
  if (outH === height) return { data: tmp, width: outW, height: outH };
  const out = new Uint8Array(outW * outH * 3);
  resamplePass(tmp, out, vert, outH, outW, outW * 3, (yy, xx, ymin) => ((ymin - yFirst) * outW + xx) * 3, (yy, xx) => (yy * outW + xx) * 3);
  return { data: out, width: outW, height: outH };
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.slice(0, Math.max(0, k));
}

type Ort = typeof import('onnxruntime-node');

/** A loaded exported model; reuse it for several images. */
export class RunClassifier {
  private constructor(
    readonly model: ExportedModel,
    private readonly ort: Ort,
    private readonly session: import('onnxruntime-node').InferenceSession,
  ) {}

  static async load(runDir: string): Promise<RunClassifier> {
    const model = await readExportedModel(runDir);
    const ort = await import('onnxruntime-node');
    let session;
    try {
      session = await ort.InferenceSession.create(model.onnx);
    } catch (err) {
      throw new RunFileError(model.onnx, `cannot be loaded by onnxruntime (${(err as Error).message}); ${EXPORT_HINT}`);
    }
    if (!session.inputNames.includes('image') || !session.outputNames.includes('logits')) {
      throw new RunFileError(model.onnx, `expected input "image" and output "logits", found ${session.inputNames.join(', ')} -> ${session.outputNames.join(', ')}; ${EXPORT_HINT}`);
    }
    return new RunClassifier(model, ort, session);
  }

  /** Logits of one preprocessed image. */
  async logits(input: Float32Array): Promise<Float32Array> {
    const [h, w] = this.model.inputSize;
    const out = await this.session.run({ image: new this.ort.Tensor('float32', input, [1, 3, h, w]) });
    const logits = out.logits!.data as Float32Array;
    if (logits.length !== this.model.classes.length) {
      throw new RunFileError(this.model.onnx, `gives ${logits.length} logits but ${CLASSES_FILE} lists ${this.model.classes.length} classes; ${EXPORT_HINT}`);
    }
    return logits;
  }

  async classify(file: string, top = 5): Promise<Prediction[]> {
    const logits = await this.logits(await preprocessImage(file, this.model));
    const probs = probabilities(logits, this.model.probability);
    return topK(logits, top).map((i) => {
      const c = this.model.classes[i]!;
      return { index: i, id: c.id, name: c.name, path: c.path, logit: logits[i]!, prob: probs[i]! };
    });
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** P from the logits as the run's loss reads it: softmax over the classes (stable: max subtracted) or a sigmoid each. */
export function probabilities(logits: Float32Array | number[], form: 'softmax' | 'sigmoid'): number[] {
  const z = Array.from(logits);
  if (form === 'sigmoid') return z.map((v) => 1 / (1 + Math.exp(-v)));
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** "bird › Passeriformes › Fringillidae › Red crowned Finch": the class's taxonomy path. */
export function predictionPath(p: Prediction, levels: readonly string[]): string {
  const values = levels.map((l) => p.path[l]).filter((v): v is string => !!v);
  if (values[values.length - 1] !== p.name) values.push(p.name);
  return values.join(' › ');
}

/**
 * Writes model.onnx, classes.json and preprocess.json into the run folder with the trainer's
 * `export` (best checkpoint as the trainer picks it). Rejects with the trainer's last error line.
 */
export async function exportRunModel(o: { python: string; trainerPath: string; runDir: string }): Promise<void> {
  const r = await runTrainerCommand({ python: o.python, trainerPath: o.trainerPath, args: ['export', '--run', o.runDir], cwd: o.runDir });
  if (r.code !== 0) {
    const last = r.lastError ?? r.stderrTail.join('\n');
    throw new Error(`exporting ${path.join(o.runDir, ONNX_FILE)} failed (exit ${r.code}): ${last || 'no output'}`);
  }
}
