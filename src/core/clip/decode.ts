// The decode contract (docs/image-decoding.md): what every pixel of an image file becomes, the
// same in every place that reads images: the mask preview, `pscl masks`, the training cache,
// classify (sharp, here) and the trainer's data path (Pillow, trainer/pscl_trainer/imageio.py).
// 8-bit RGB, row-major HWC:
//   - EXIF orientation applied
//   - embedded ICC profiles ignored: stored values are taken as sRGB (Pillow does not colour-manage)
//   - CMYK (Adobe-inverted JPEGs as well): per channel (255 - K) - round(X (255 - K) / 255), in
//     Pillow's integer form, with no profile
//   - 16-bit samples: the high byte (v >> 8)
//   - palette: its RGB colours; grey (1, 8 or 16 bit) replicated to R, G and B
//   - alpha dropped, colour kept as stored (no compositing)
// A test decodes generated files of each kind with both and compares them pixel for pixel.
//
// Memory: `maxSide` shrinks larger images while they are read (JPEG shrink-on-load, PNG line by
// line), so a 16000 x 16000 image never takes its full 768 MB.
import { existsSync } from 'node:fs';
import { PsclError } from '../errors';

/** Bad input the user can fix (kind 'input' for the backend's error mapping). */
export class ImageError extends PsclError {
  override name = 'ImageError';
  /** What the decoder said, without the file name. */
  detail = '';
}

/** The long side of the working decode (ImageFile): the largest input or view any path asks for. */
export const WORKING_MAX_SIDE = 4096;

type Sharp = typeof import('sharp').default;
let sharpModule: Promise<Sharp> | undefined;
export const loadSharp = () => (sharpModule ??= import('sharp').then((m) => m.default));

/** An image decoded by the contract: 8-bit RGB, row-major HWC. */
export interface DecodedImage {
  file: string;
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

/** What the header says: the size as displayed (orientation applied) and as stored. */
export interface ImageInfo {
  width: number;
  height: number;
  storedWidth: number;
  storedHeight: number;
  orientation: number;
  /** libvips' name of the colour space ('srgb', 'cmyk', 'b-w', 'grey16', 'rgb16', ...). */
  space: string;
}

export interface DecodeOptions {
  /** Longest side of the result: larger images are shrunk while they are read (default: whole). */
  maxSide?: number;
  /** Only these rows of the image as displayed (at full size; not with maxSide). */
  rows?: { top: number; height: number };
}

function nameOf(file: string | Buffer): string {
  return typeof file === 'string' ? file : 'the image';
}

function failure(file: string | Buffer, err: unknown): ImageError {
  const detail = (err as Error).message;
  const e = new ImageError(`${nameOf(file)}: cannot read the image (${detail})`);
  e.detail = detail;
  return e;
}

/** The header of an image file (nothing decoded). */
export async function imageInfo(file: string | Buffer): Promise<ImageInfo> {
  if (typeof file === 'string' && !existsSync(file)) throw new ImageError(`${file}: image not found`);
  const sharp = await loadSharp();
  let meta: import('sharp').Metadata;
  try {
    meta = await sharp(file).metadata();
  } catch (err) {
    throw failure(file, err);
  }
  if (!meta.width || !meta.height) throw failure(file, new Error('no width or height in its header'));
  const orientation = meta.orientation ?? 1;
  const turned = orientation >= 5 && orientation <= 8;
  return {
    width: turned ? meta.height : meta.width,
    height: turned ? meta.width : meta.height,
    storedWidth: meta.width,
    storedHeight: meta.height,
    orientation,
    space: meta.space ?? 'srgb',
  };
}

/** Decodes an image file by the contract (above), whole or shrunk to `maxSide`. */
export async function decodeImage(file: string | Buffer, options: DecodeOptions = {}): Promise<DecodedImage> {
  const info = await imageInfo(file);
  const sharp = await loadSharp();
  const cmyk = info.space === 'cmyk';
  try {
    let img = sharp(file, { failOn: 'error', ignoreIcc: true });
    if (cmyk) img = img.pipelineColourspace('cmyk');
    img = img.rotate();
    const { maxSide, rows } = options;
    if (maxSide !== undefined && Number.isFinite(maxSide) && Math.max(info.width, info.height) > maxSide) {
      img = img.resize({ width: maxSide, height: maxSide, fit: 'inside' });
    } else if (rows) {
      img = img.extract({ left: 0, top: rows.top, width: info.width, height: rows.height });
    }
    img = cmyk ? img.toColourspace('cmyk') : img.removeAlpha().toColourspace('srgb');
    const { data, info: out } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const px = cmyk ? cmykToRgb(data, out.width * out.height, out.channels) : toRgb(data, out.width * out.height, out.channels);
    return { file: nameOf(file), data: px, width: out.width, height: out.height, channels: 3 };
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw failure(file, err);
  }
}

/** Grey (1 band) replicated, RGB kept; the buffer is reused when it already is RGB. */
function toRgb(data: Buffer, n: number, channels: number): Uint8Array {
  const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (channels === 3) return src.subarray(0, n * 3);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = src[i * channels]!;
  return out;
}

/** CMYK -> RGB without a profile, exactly as Pillow's cmyk2rgb (MULDIV255 rounding). */
export function cmykToRgb(data: Uint8Array, n: number, channels: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    const nk = 255 - data[o + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = data[o + c]! * nk + 128;
      const v = nk - (((t >> 8) + t) >> 8);
      out[i * 3 + c] = v < 0 ? 0 : v;
    }
  }
  return out;
}
