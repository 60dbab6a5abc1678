// A trained run's class probabilities for every image, for the confident-learning check: the
// run's exported model.onnx through the same preprocessing as the evaluation (src/core/runs/classify.ts).
import { preprocessImage, RunClassifier } from '../runs/classify';
import { PsclError } from '../errors';
import { datasetFile } from '../taxonomy/importers';
import type { ImageEntry } from '../taxonomy/model';

export interface RunPredictions {
  /** The run's class ids, the columns of `probs`. */
  classIds: string[];
  /** Image path -> row of `probs`. */
  rows: Map<string, number>;
  probs: Float32Array;
}

export function softmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Probabilities of the run's classes for each image (unreadable images are left out). */
export async function runPredictions(runDir: string, root: string, images: readonly ImageEntry[], options: { signal?: AbortSignal; onProgress?: (fraction: number) => void } = {}): Promise<RunPredictions> {
  // a run without an exported model (or a damaged one) is the user's to fix: its message says how
  const classifier = await RunClassifier.load(runDir).catch((err: Error) => {
    throw err instanceof PsclError ? err : new PsclError(err.message);
  });
  try {
    const classIds = classifier.model.classes.map((c, i) => c.id ?? String(i));
    const rows = new Map<string, number>();
    const chunks: Float32Array[] = [];
    for (let i = 0; i < images.length; i++) {
      if (options.signal?.aborted) throw new PsclError('curation cancelled', 'cancelled');
      const img = images[i]!;
      try {
        const logits = await classifier.logits(await preprocessImage(datasetFile(root, img.path), classifier.model));
        rows.set(img.path, chunks.length);
        chunks.push(softmax(logits));
      } catch {
        // an unreadable image is its own finding
      }
      if ((i & 15) === 0) options.onProgress?.(i / images.length);
    }
    const probs = new Float32Array(chunks.length * classIds.length);
    chunks.forEach((p, r) => probs.set(p, r * classIds.length));
    options.onProgress?.(1);
    return { classIds, rows, probs };
  } finally {
    await classifier.dispose();
  }
}
