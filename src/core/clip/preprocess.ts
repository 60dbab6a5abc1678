// Image file -> normalised float CHW pixels, with sharp: decoded once (decodeImage), then resized
// to the model's input in one of three ways:
//   'crop':   CLIP's own preprocessing: shortest side to `size` (bicubic), centre crop size x size
//   'resize': plain resize to exactly width x height (dense maps keep the whole image)
//   'fit':    long side to `size`, keeping the aspect ratio, each side rounded to a multiple of
//             `multipleOf` (the patch size): large images for sliding-window inference
import { existsSync } from 'node:fs';
import { PsclError } from '../errors';

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

/** Bad input the user can fix (kind 'input' for the backend's error mapping). */
export class ImageError extends PsclError {
  override name = 'ImageError';
}

type Sharp = typeof import('sharp').default;
let sharpModule: Promise<Sharp> | undefined;
const loadSharp = () => (sharpModule ??= import('sharp').then((m) => m.default));

/**
 * An image decoded once: 8-bit sRGB, row-major HWC, EXIF orientation applied, alpha dropped.
 * Every size the model or a viewer needs is resized from this, so one request decodes its file
 * once (the mask preview needs the model's input and a JPEG for the page), and every path
 * (preview, `pscl masks`, the training cache) feeds the model the very same pixels.
 */
export interface DecodedImage {
  file: string;
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export async function decodeImage(file: string): Promise<DecodedImage> {
  if (!existsSync(file)) throw new ImageError(`${file}: image not found`);
  const sharp = await loadSharp();
  try {
    const { data, info } = await sharp(file, { failOn: 'error' }).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { file, data, width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    throw new ImageError(`${file}: cannot read the image (${(err as Error).message})`);
  }
}

/** The decoded image as a sharp pipeline (for resizing and encoding it). */
export async function sharpOf(img: DecodedImage) {
  const sharp = await loadSharp();
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 2 | 3 | 4 } });
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

/** Decodes and resizes in one call. */
export async function loadImagePixels(file: string, resize: ResizeMode): Promise<PixelImage> {
  return pixelsOf(await decodeImage(file), resize);
}

/** An image file whose decode is shared by whoever needs it during one request. */
export class ImageFile {
  private decoded?: Promise<DecodedImage>;

  constructor(readonly path: string) {}

  decode(): Promise<DecodedImage> {
    return (this.decoded ??= decodeImage(this.path));
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
