// The model-free look at every image: content hash, size, colour, and a perceptual hash (DCT of
// a 32x32 grey thumbnail, 64 bits) that survives resizing and re-compression. Decoded once per
// image with sharp; kept in a scan file next to the project's cache keyed by the file's size and
// mtime, so a second run reads only what changed.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PsclError } from '../errors';
import { datasetFile } from '../taxonomy/importers';
import type { ImageEntry } from '../taxonomy/model';
import { writeFileAtomic } from '../util/atomicWrite';

export const SCAN_FORMAT = 'pscl-image-scan';
/** Bump when what a scan computes changes. */
export const SCAN_VERSION = 1;

export interface ImageScan {
  /** File size and mtime the scan was made from. */
  bytes: number;
  mtimeMs: number;
  /** 'sha256:...' of the file's bytes. */
  sha256: string;
  /** Undefined when the file cannot be decoded (see `error`). */
  width?: number;
  height?: number;
  /** Mean spread between the colour channels (0..255) of the thumbnail; 0 for a one-channel image. */
  chroma?: number;
  /** 64-bit perceptual hash, 16 hex digits. */
  phash?: string;
  error?: string;
}

export interface ScanProgress {
  done: number;
  total: number;
  /** Images read from the scan file. */
  reused: number;
}

export interface ScanOptions {
  /** Where the scan is kept between runs (none: nothing is kept). */
  scanFile?: string;
  signal?: AbortSignal;
  onProgress?: (p: ScanProgress) => void;
  /** Images decoded at once (default 4). */
  concurrency?: number;
}

export function defaultScanFile(projectFile: string, projectName: string): string {
  const slug = projectName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'project';
  return path.join(path.dirname(path.resolve(projectFile)), '.pscl-cache', `${slug}-images.json`);
}

type Sharp = typeof import('sharp').default;
let sharpModule: Promise<Sharp> | undefined;
const loadSharp = () => (sharpModule ??= import('sharp').then((m) => ((m as { default?: Sharp }).default ?? (m as unknown as Sharp))));

const N = 32;
const COS: Float64Array[] = Array.from({ length: 8 }, (_, u) => Float64Array.from({ length: N }, (_, x) => Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N))));

/** pHash of a 32x32 grey image: the 8x8 lowest DCT frequencies against their median (DC left out of the median). */
export function perceptualHash(grey: ArrayLike<number>): string {
  const rows = new Float64Array(N * 8); // rows[y * 8 + v] = sum_x grey[y][x] cos_v(x)
  for (let y = 0; y < N; y++) {
    for (let v = 0; v < 8; v++) {
      let s = 0;
      const c = COS[v]!;
      for (let x = 0; x < N; x++) s += grey[y * N + x]! * c[x]!;
      rows[y * 8 + v] = s;
    }
  }
  const coef = new Float64Array(64);
  for (let u = 0; u < 8; u++) {
    const c = COS[u]!;
    for (let v = 0; v < 8; v++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += rows[y * 8 + v]! * c[y]!;
      coef[u * 8 + v] = s;
    }
  }
  const median = [...coef.slice(1)].sort((a, b) => a - b)[31]!;
  let hex = '';
  for (let i = 0; i < 64; i += 4) {
    let nibble = 0;
    for (let b = 0; b < 4; b++) nibble = (nibble << 1) | (coef[i + b]! > median ? 1 : 0);
    hex += nibble.toString(16);
  }
  return hex;
}

/** Bits that differ between two perceptual hashes. */
export function hashDistance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 16; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}

/** Scans one file (never throws: an undecodable file is an entry with `error`). */
export async function scanFile(file: string): Promise<ImageScan> {
  const st = await fs.stat(file);
  const data = await fs.readFile(file);
  const out: ImageScan = { bytes: st.size, mtimeMs: st.mtimeMs, sha256: 'sha256:' + createHash('sha256').update(data).digest('hex') };
  const sharp = await loadSharp();
  try {
    const img = sharp(data, { failOn: 'error' }).rotate();
    const meta = await img.metadata();
    if (!meta.width || !meta.height) throw new Error('no image size');
    const swap = (meta.orientation ?? 1) >= 5;
    out.width = swap ? meta.height : meta.width;
    out.height = swap ? meta.width : meta.height;
    const { data: px, info } = await img.resize(N, N, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const grey = new Float64Array(N * N);
    let spread = 0;
    for (let i = 0; i < N * N; i++) {
      if (info.channels >= 3) {
        const r = px[i * info.channels]!, g = px[i * info.channels + 1]!, b = px[i * info.channels + 2]!;
        grey[i] = 0.299 * r + 0.587 * g + 0.114 * b;
        spread += Math.max(r, g, b) - Math.min(r, g, b);
      } else grey[i] = px[i * info.channels]!;
    }
    out.chroma = info.channels >= 3 ? spread / (N * N) : 0;
    out.phash = perceptualHash(grey);
  } catch (err) {
    out.error = (err as Error).message.split('\n')[0] || 'cannot be decoded';
  }
  return out;
}

interface ScanFileJson {
  format: string;
  version: number;
  images: Record<string, ImageScan>;
}

async function readScanFile(file: string | undefined): Promise<Map<string, ImageScan>> {
  if (!file) return new Map();
  try {
    const j = JSON.parse(await fs.readFile(file, 'utf8')) as ScanFileJson;
    if (j.format !== SCAN_FORMAT || j.version !== SCAN_VERSION || typeof j.images !== 'object' || !j.images) return new Map();
    return new Map(Object.entries(j.images));
  } catch {
    return new Map(); // missing or damaged: scanned again
  }
}

export class ScanCancelled extends PsclError {
  constructor() {
    super('image scan cancelled', 'cancelled');
    this.name = 'AbortError';
  }
}

/**
 * Scans the images (paths relative to `root`), reusing the scan file's entries whose file size and
 * mtime are unchanged. Missing files are entries with an error. Returns path -> scan.
 */
export async function scanImages(root: string, images: readonly ImageEntry[], options: ScanOptions = {}): Promise<Map<string, ImageScan>> {
  const prior = await readScanFile(options.scanFile);
  const out = new Map<string, ImageScan>();
  let done = 0;
  let reused = 0;
  let changed = false;
  const total = images.length;
  let last = 0;
  const report = (force = false) => {
    const now = Date.now();
    if (force || now - last > 200) {
      last = now;
      options.onProgress?.({ done, total, reused });
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < images.length) {
      if (options.signal?.aborted) throw new ScanCancelled();
      const img = images[next++]!;
      let file: string;
      try {
        file = datasetFile(root, img.path);
      } catch (err) {
        out.set(img.path, { bytes: 0, mtimeMs: 0, sha256: '', error: (err as Error).message });
        done++;
        continue;
      }
      const st = await fs.stat(file).catch(() => undefined);
      if (!st?.isFile()) {
        out.set(img.path, { bytes: 0, mtimeMs: 0, sha256: '', error: `image not found: ${file}` });
      } else {
        const p = prior.get(img.path);
        if (p && p.bytes === st.size && p.mtimeMs === st.mtimeMs && p.sha256) {
          out.set(img.path, p);
          reused++;
        } else {
          out.set(img.path, await scanFile(file).catch((err: Error) => ({ bytes: st.size, mtimeMs: st.mtimeMs, sha256: '', error: err.message })));
          changed = true;
        }
      }
      done++;
      report();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  } finally {
    // what was scanned is kept even when cancelled
    if (options.scanFile && (changed || out.size !== prior.size)) {
      // entries of images not asked for this time (excluded ones) stay: they may come back
      const keep = new Map([...prior, ...out]);
      await fs.mkdir(path.dirname(options.scanFile), { recursive: true });
      await writeFileAtomic(options.scanFile, JSON.stringify({ format: SCAN_FORMAT, version: SCAN_VERSION, images: Object.fromEntries(keep) }) + '\n');
    }
  }
  report(true);
  return out;
}
