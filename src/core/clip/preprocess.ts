// Image file -> normalised float CHW pixels, with sharp. Two ways to reach the model's input:
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

export async function loadImagePixels(file: string, resize: ResizeMode): Promise<PixelImage> {
  if (!existsSync(file)) throw new ImageError(`${file}: image not found`);
  const sharp = await loadSharp();
  try {
    let img = sharp(file, { failOn: 'error' }).rotate(); // honour EXIF orientation
    if (resize.mode === 'crop') {
      img = img.resize(resize.size, resize.size, { fit: 'cover', position: 'centre', kernel: 'cubic' });
    } else if (resize.mode === 'resize') {
      img = img.resize(resize.width, resize.height, { fit: 'fill', kernel: 'cubic' });
    } else {
      const meta = await sharp(file).metadata();
      const [w0, h0] = (meta.orientation ?? 1) >= 5 ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
      const m = resize.multipleOf ?? 1;
      const scale = resize.size / Math.max(w0, h0);
      const round = (v: number) => Math.max(m, Math.round((v * scale) / m) * m);
      img = img.resize(round(w0), round(h0), { fit: 'fill', kernel: 'cubic' });
    }
    const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return normalizeHwc(data, info.height, info.width, info.channels);
  } catch (err) {
    throw new ImageError(`${file}: cannot read the image (${(err as Error).message})`);
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
