// What the cache builder needs from a CLIP model: normalised text embeddings, image loading at the
// model's input size, and dense patch features. The backend passes the ClipModel it already holds
// (clipEncoders); the interface keeps the builder independent of how the model runs.
import path from 'node:path';
import type { ClipModel } from '../clip/model';
import { ImageError, loadImagePixels, type PixelImage } from '../clip/preprocess';
import type { DenseFeatures } from '../masks/similarity';

export interface EncoderModel {
  /** Display name (the model folder's name). */
  id: string;
  /** 'sha256:...' of the weights and config: part of every cache hash. */
  hash: string;
  embedDim: number;
  imageSize: number;
  patchSize: number;
}

/** An image ready for the model, with the size of the original (EXIF orientation applied). */
export interface LoadedImage {
  pixels: PixelImage;
  width: number;
  height: number;
}

export interface CacheEncoders {
  model: EncoderModel;
  /** L2-normalised embeddings, row-major [texts.length, embedDim]. */
  embedTexts(texts: string[], signal?: AbortSignal): Promise<Float32Array>;
  /** Decodes an image and resizes it so its long side is `inputSize` (sides multiples of the patch). */
  loadImage(file: string, inputSize: number): Promise<LoadedImage>;
  /** Dense patch features of each image (L2-normalised per patch) through a last-block variant. */
  denseFeatures(images: PixelImage[], options: { variant: string; signal?: AbortSignal }): Promise<DenseFeatures[]>;
}

type Sharp = typeof import('sharp').default;
let sharpModule: Promise<Sharp> | undefined;
const loadSharp = () => (sharpModule ??= import('sharp').then((m) => m.default));

/** Width and height as displayed (EXIF orientations 5-8 swap them). */
export async function imageSize(file: string): Promise<{ width: number; height: number }> {
  const sharp = await loadSharp();
  const meta = await sharp(file)
    .metadata()
    .catch((err: Error) => {
      throw new ImageError(`${file}: cannot read the image (${err.message})`);
    });
  if (!meta.width || !meta.height) throw new ImageError(`${file}: the image has no size`);
  return (meta.orientation ?? 1) >= 5 ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

/** The encoders over a loaded ClipModel (owned by the caller: not disposed here). */
export function clipEncoders(model: ClipModel, options: { batchSize?: number } = {}): CacheEncoders {
  return {
    model: {
      id: path.basename(path.resolve(model.dir)),
      hash: `sha256:${model.hash}`,
      embedDim: model.embedDim,
      imageSize: model.imageSize,
      patchSize: model.patchSize,
    },
    async embedTexts(texts, signal) {
      return (await model.embedTexts(texts, { signal })).data;
    },
    async loadImage(file, inputSize) {
      // decode first: its error names the file, and a bad file then costs one read
      const pixels = await loadImagePixels(file, { mode: 'fit', size: inputSize, multipleOf: model.patchSize });
      return { pixels, ...(await imageSize(file)) };
    },
    async denseFeatures(images, { variant, signal }) {
      const maps = await model.denseFeatures(images, { variant, signal, batchSize: options.batchSize ?? Math.max(1, images.length) });
      return maps.map((m) => ({ data: m.data, h: m.height, w: m.width, dim: m.dim }));
    },
  };
}
