// Zero-shot classification of cached image embeddings against text prototypes: top-1 and top-5
// per image (kept per image so an A/B comparison can pair them), per class, and the confusion.
import type { MatrixProduct } from '../clip/matmul';

export interface ZeroShotResult {
  /** Images scored (truth >= 0). */
  images: number;
  top1: number;
  top5: number;
  /** Per image (all N, -1 / 0 where not scored): predicted class, correct at top-1 / top-5. */
  predicted: Int32Array;
  hit1: Uint8Array;
  hit5: Uint8Array;
  /** Per class of the level: images, top-1 and top-5 hits. */
  perClass: { images: Int32Array; hit1: Int32Array; hit5: Int32Array };
  /** [classes x classes] counts, row = truth, column = top-1 prediction. */
  confusion: Int32Array;
}

/** Dot product of two rows (4 accumulators: V8 keeps them in registers). */
export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < dim; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  for (; j < dim; j++) s0 += a[ao + j] * b[bo + j];
  return s0 + s1 + s2 + s3;
}

/** The product in plain JavaScript (tests, and where ONNX Runtime is not at hand). */
export const jsProduct: MatrixProduct = async (a, rows, b, k, dim) => {
  const out = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) for (let c = 0; c < k; c++) out[i * k + c] = dot(a, i * dim, b, c * dim, dim);
  return out;
};

/**
 * `images` [N, dim] against `prototypes` [C, dim] (both L2-normalised rows); `truth[i]` is image
 * i's class, -1 to leave it out. Ties go to the lower class index.
 */
export async function zeroShot(images: Float32Array, truth: Int32Array, prototypes: Float32Array, classes: number, dim: number, product: MatrixProduct = jsProduct): Promise<ZeroShotResult> {
  return zeroShotFromScores(await product(images, truth.length, prototypes, classes, dim), truth, classes);
}

/** The same from the similarities [N, classes]. */
export function zeroShotFromScores(all: Float32Array, truth: Int32Array, classes: number): ZeroShotResult {
  const n = truth.length;
  const predicted = new Int32Array(n).fill(-1);
  const hit1 = new Uint8Array(n);
  const hit5 = new Uint8Array(n);
  const perClass = { images: new Int32Array(classes), hit1: new Int32Array(classes), hit5: new Int32Array(classes) };
  const confusion = new Int32Array(classes * classes);
  let scored = 0;
  let sum1 = 0;
  let sum5 = 0;
  for (let i = 0; i < n; i++) {
    const t = truth[i];
    if (t < 0 || t >= classes) continue;
    const o = i * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (all[o + c] > all[o + best]) best = c;
    // the truth's rank: classes scoring strictly higher, and equal ones before it
    const st = all[o + t];
    let above = 0;
    for (let c = 0; c < classes; c++) if (all[o + c] > st || (all[o + c] === st && c < t)) above++;
    predicted[i] = best;
    hit1[i] = best === t ? 1 : 0;
    hit5[i] = above < 5 ? 1 : 0;
    scored++;
    sum1 += hit1[i];
    sum5 += hit5[i];
    perClass.images[t]++;
    perClass.hit1[t] += hit1[i];
    perClass.hit5[t] += hit5[i];
    confusion[t * classes + best]++;
  }
  return { images: scored, top1: scored ? sum1 / scored : 0, top5: scored ? sum5 / scored : 0, predicted, hit1, hit5, perClass, confusion };
}
