// Export of part label maps for use outside the editor: an 8-bit grey PNG (0 = background,
// k = part k; the training cache's mask format, docs/cache-format.md), a JSON legend, and a colour
// overlay PNG for people without the editor. Every file is written atomically.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Metadata, OutputInfo } from 'sharp';
import { decodeImage, ImageError } from '../clip/decode';
import type { LabelMap } from './labels';
import { partColour, toHexColour } from './palette';
import type { PartStats } from './stats';
import { writeFileAtomic } from '../util/atomicWrite';

export interface ExportPart {
  label: number;
  name: string;
  prompts: string[];
  colour?: string;
}

export interface MaskLegend {
  format: 'pscl-part-masks';
  version: 1;
  /** The source image, as the caller names it (usually relative to the dataset root). */
  image?: string;
  /** File names of the exported files, relative to the legend. */
  files: { labelMap: string; overlay?: string };
  width: number;
  height: number;
  background: { label: 0 };
  parts: Array<{ label: number; name: string; prompts: string[]; colour: string; pixels: number; areaFraction: number; components: number }>;
  settings: Record<string, unknown>;
  model: { id: string };
}

/** Label map -> 8-bit single-channel PNG. */
export async function encodeLabelMapPng(labels: LabelMap): Promise<Buffer> {
  const { data, width, height } = labels;
  if (data.length !== width * height) throw new Error(`label map has ${data.length} values, expected ${width}x${height}`);
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
}

/**
 * 8-bit grey PNG -> label map. `numParts` is checked against the values when given, else taken
 * as the largest value. `source` names the file in errors.
 */
export async function decodeLabelMapPng(png: Buffer, source: string, numParts?: number): Promise<LabelMap> {
  let raw: { data: Buffer; info: OutputInfo };
  let meta: Metadata;
  try {
    meta = await sharp(png).metadata();
    // sharp's raw output of a grey PNG is sRGB unless asked for one band
    raw = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`${source}: not a readable PNG label map (${(e as Error).message}); export or build the masks again`);
  }
  const { width, height } = raw.info;
  const { channels, depth } = meta;
  if (meta.format !== 'png' || channels !== 1 || depth !== 'uchar' || raw.info.channels !== 1) {
    throw new Error(`${source}: a label map must be an 8-bit single-channel PNG, this one has ${channels} channel(s) of ${depth}; export or build the masks again`);
  }
  const data = new Uint8Array(raw.data.buffer, raw.data.byteOffset, width * height).slice();
  let max = 0;
  for (let i = 0; i < data.length; i++) if (data[i] > max) max = data[i];
  if (numParts !== undefined && max > numParts) {
    throw new Error(`${source}: holds label ${max} but only ${numParts} parts are defined; the masks are stale, rebuild them`);
  }
  return { data, width, height, numParts: numParts ?? max };
}

export async function readLabelMapPng(file: string, numParts?: number): Promise<LabelMap> {
  let png: Buffer;
  try {
    png = await fs.readFile(file);
  } catch (e) {
    throw new Error(`cannot read label map ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return decodeLabelMapPng(png, file, numParts);
}

/** The overlay's longest side: larger images are scaled down as they are decoded (a 16000 px
 *  image would otherwise take 768 MB of pixels for a picture nobody views at that size). */
export const OVERLAY_MAX_SIDE = 2048;

/**
 * The image with each part blended in its colour (alpha `opacity`), at the image's own size up
 * to `maxSide` pixels on the long side; the label map is sampled nearest-neighbour.
 */
export async function overlayPng(image: string | Buffer, labels: LabelMap, parts: ExportPart[], opacity = 0.5, maxSide = OVERLAY_MAX_SIDE): Promise<Buffer> {
  const name = typeof image === 'string' ? image : 'the image';
  // the decode contract (as the model's input), read at most maxSide on the long side
  const img = await decodeImage(image, { maxSide }).catch((e: Error) => {
    throw new Error(`cannot read ${name}: ${e instanceof ImageError ? e.detail : e.message}`);
  });
  const { width, height, channels } = img;
  const colours = new Map<number, readonly [number, number, number]>();
  for (const p of parts) colours.set(p.label, partColour(p));
  const px = img.data;
  const xs = new Int32Array(width);
  for (let x = 0; x < width; x++) xs[x] = Math.min(labels.width - 1, Math.floor(((x + 0.5) * labels.width) / width));
  const a = Math.max(0, Math.min(1, opacity));
  for (let y = 0; y < height; y++) {
    const ly = Math.min(labels.height - 1, Math.floor(((y + 0.5) * labels.height) / height));
    for (let x = 0; x < width; x++) {
      const c = colours.get(labels.data[ly * labels.width + xs[x]]);
      if (!c) continue;
      const o = (y * width + x) * channels;
      for (let k = 0; k < 3; k++) px[o + k] = Math.round(px[o + k] * (1 - a) + c[k] * a);
    }
  }
  return sharp(px, { raw: { width, height, channels } }).png().toBuffer();
}

export function maskLegend(o: {
  labels: LabelMap;
  parts: ExportPart[];
  stats: PartStats[];
  settings: Record<string, unknown>;
  modelId: string;
  image?: string;
  files: MaskLegend['files'];
}): MaskLegend {
  const byLabel = new Map(o.stats.map((s) => [s.label, s]));
  return {
    format: 'pscl-part-masks',
    version: 1,
    image: o.image,
    files: o.files,
    width: o.labels.width,
    height: o.labels.height,
    background: { label: 0 },
    parts: o.parts.map((p) => {
      const s = byLabel.get(p.label);
      return {
        label: p.label,
        name: p.name,
        prompts: [...p.prompts],
        colour: toHexColour(partColour(p)),
        pixels: s?.pixels ?? 0,
        areaFraction: s?.areaFraction ?? 0,
        components: s?.components ?? 0,
      };
    }),
    settings: o.settings,
    model: { id: o.modelId },
  };
}

export interface ExportedMasks {
  labelMap: string;
  legend: string;
  overlay?: string;
}

/**
 * Writes `<base>.labels.png`, `<base>.overlay.png` (when an image is given) and
 * `<base>.legend.json` into `dir` (created if missing). The legend is written last.
 */
export async function exportPartMasks(o: {
  dir: string;
  base: string;
  labels: LabelMap;
  parts: ExportPart[];
  stats: PartStats[];
  settings: Record<string, unknown>;
  modelId: string;
  /** Path or bytes of the source image, for the overlay. */
  image?: string | Buffer;
  /** How the legend names the image (defaults to the path when `image` is one). */
  imageName?: string;
  opacity?: number;
}): Promise<ExportedMasks> {
  await fs.mkdir(o.dir, { recursive: true });
  const labelFile = `${o.base}.labels.png`;
  const overlayFile = o.image !== undefined ? `${o.base}.overlay.png` : undefined;
  const legendFile = `${o.base}.legend.json`;
  await writeFileAtomic(path.join(o.dir, labelFile), await encodeLabelMapPng(o.labels));
  if (o.image !== undefined && overlayFile) {
    await writeFileAtomic(path.join(o.dir, overlayFile), await overlayPng(o.image, o.labels, o.parts, o.opacity));
  }
  const legend = maskLegend({
    labels: o.labels,
    parts: o.parts,
    stats: o.stats,
    settings: o.settings,
    modelId: o.modelId,
    image: o.imageName ?? (typeof o.image === 'string' ? o.image : undefined),
    files: { labelMap: labelFile, overlay: overlayFile },
  });
  await writeFileAtomic(path.join(o.dir, legendFile), JSON.stringify(legend, null, 2) + '\n');
  return {
    labelMap: path.join(o.dir, labelFile),
    legend: path.join(o.dir, legendFile),
    overlay: overlayFile ? path.join(o.dir, overlayFile) : undefined,
  };
}
