// Image file -> normalised float CHW pixels, with sharp: decoded once by the decode contract
// (decode.ts, docs/image-decoding.md), then resized to the model's input in one of three ways:
//   'crop':   CLIP's own preprocessing: shortest side to `size` (bicubic), centre crop size x size
//   'resize': plain resize to exactly width x height (dense maps keep the whole image)
//   'fit':    long side to `size`, keeping the aspect ratio, each side rounded to a multiple of
//             `multipleOf` (the patch size): large images for sliding-window inference
import { decodeImage, ImageError, imageInfo, loadSharp, WORKING_MAX_SIDE, type DecodedImage } from './decode';

export { decodeImage, imageInfo, ImageError, WORKING_MAX_SIDE, type DecodedImage, type DecodeOptions, type ImageInfo } from './decode';

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** Normalised pixels, [3, height, width] row-major. */
export interface PixelImage {
  data: Float32Array;
  height: number;
  width: number;
}

export type ResizeMode =
  | { mode: 'crop'; size: number }
  | { mode: 'resize'; width: number; height: number }
  | { mode: 'fit'; size: number; multipleOf?: number };

/** The decoded image as a sharp pipeline (for resizing and encoding it). */
export async function sharpOf(img: DecodedImage) {
  const sharp = await loadSharp();
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
}

/** The model's input from a decoded image. */
export async function pixelsOf(img: DecodedImage, resize: ResizeMode): Promise<PixelImage> {
  let pipeline = await sharpOf(img);
  if (resize.mode === 'crop') {
    pipeline = pipeline.resize(resize.size, resize.size, { fit: 'cover', position: 'centre', kernel: 'cubic' });
  } else if (resize.mode === 'resize') {
    pipeline = pipeline.resize(resize.width, resize.height, { fit: 'fill', kernel: 'cubic' });
  } else {
    const m = resize.multipleOf ?? 1;
    const scale = resize.size / Math.max(img.width, img.height);
    const round = (v: number) => Math.max(m, Math.round((v * scale) / m) * m);
    pipeline = pipeline.resize(round(img.width), round(img.height), { fit: 'fill', kernel: 'cubic' });
  }
  try {
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    return normalizeHwc(data, info.height, info.width, info.channels);
  } catch (err) {
    throw new ImageError(`${img.file}: cannot resize the image (${(err as Error).message})`);
  }
}

/** Decodes (the working decode, as ImageFile) and resizes in one call. */
export async function loadImagePixels(file: string, resize: ResizeMode): Promise<PixelImage> {
  return pixelsOf(await decodeImage(file, { maxSide: WORKING_MAX_SIDE }), resize);
}

/**
 * An image file whose decode is shared by whoever needs it during one request (the preview's
 * model input and its JPEG; the cache's model input). The working decode is the whole image up
 * to WORKING_MAX_SIDE on the long side (every size a path asks for: input sizes and previews are
 * at most that); larger images are shrunk while they are read, so memory stays bounded whatever
 * the file claims (docs/reliability.md, "Memory per image"). Every path feeds the model pixels
 * resized from this one decode, so the preview, `pscl masks` and the cache agree.
 */
export class ImageFile {
  private decoded?: Promise<DecodedImage>;
  private header?: Promise<{ width: number; height: number }>;

  constructor(readonly path: string) {}

  decode(): Promise<DecodedImage> {
    return (this.decoded ??= decodeImage(this.path, { maxSide: WORKING_MAX_SIDE }));
  }

  /** The image's full size as displayed (EXIF orientation applied), from its header. */
  size(): Promise<{ width: number; height: number }> {
    return (this.header ??= imageInfo(this.path).then(({ width, height }) => ({ width, height })));
  }
}

/** 8-bit HWC (1 or 3+ channels) -> CLIP-normalised float CHW. */
export function normalizeHwc(bytes: Uint8Array, height: number, width: number, channels: number): PixelImage {
  const plane = height * width;
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const src = channels === 1 ? 0 : c;
    const mean = CLIP_MEAN[c]!;
    const std = CLIP_STD[c]!;
    for (let i = 0; i < plane; i++) data[c * plane + i] = (bytes[i * channels + src]! / 255 - mean) / std;
  }
  return { data, height, width };
}
