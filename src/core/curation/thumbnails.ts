// Thumbnails for the Dataset view: made once by sharp (EXIF orientation applied, long side
// `size`, JPEG) and kept in a folder named by the source file's path, size and mtime, so a
// changed image gets a new one and an unchanged one is never decoded again.
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomicWrite';

type Sharp = typeof import('sharp').default;
let sharpModule: Promise<Sharp> | undefined;
const loadSharp = () => (sharpModule ??= import('sharp').then((m) => ((m as { default?: Sharp }).default ?? (m as unknown as Sharp))));

/** The thumbnail file of an image as it is now (undefined when the image is missing). */
export async function thumbnailFile(file: string, dir: string, size: number): Promise<string | undefined> {
  const st = await fs.stat(file).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  const id = createHash('sha256').update(`${path.resolve(file)}\0${st.size}\0${st.mtimeMs}\0${size}`).digest('hex').slice(0, 32);
  return path.join(dir, id.slice(0, 2), `${id}.jpg`);
}

/** Makes (or finds) the thumbnail of one image; null when the image cannot be read. */
export async function makeThumbnail(file: string, dir: string, size: number): Promise<string | null> {
  const out = await thumbnailFile(file, dir, size);
  if (!out) return null;
  if (existsSync(out)) return out;
  const sharp = await loadSharp();
  try {
    const jpeg = await sharp(file, { failOn: 'error' }).rotate().resize(size, size, { fit: 'inside', withoutEnlargement: true }).flatten({ background: '#808080' }).jpeg({ quality: 72 }).toBuffer();
    await fs.mkdir(path.dirname(out), { recursive: true });
    await writeFileAtomic(out, jpeg);
    return out;
  } catch {
    return null;
  }
}

/** Thumbnails of several images, a few decoded at once. */
export async function makeThumbnails(files: readonly string[], dir: string, size: number, signal?: AbortSignal): Promise<(string | null)[]> {
  const out: (string | null)[] = new Array(files.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < files.length && !signal?.aborted) {
      const i = next++;
      out[i] = await makeThumbnail(files[i]!, dir, size);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return out;
}
