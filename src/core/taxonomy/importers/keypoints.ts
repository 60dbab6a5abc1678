// Part keypoints of the datasets that ship them: CUB-200-2011 and NABirds, `parts/parts.txt`
// (`<part id> <name>`; CUB counts from 1, NABirds from 0) and `parts/part_locs.txt`
// (`<image key> <part id> <x> <y> <visible>`, pixels from the top-left corner of the image; the key
// is CUB's image id, NABirds' image uuid, as in images.txt). A project maps them to its parts by
// name (`parts.<coarse>[].keypoints`); the prompt-quality hit rate counts the visible ones.
import path from 'node:path';
import type { DatasetFormat } from '../model';
import { ImportError, readOptional } from './common';

export const KEYPOINT_FORMATS: readonly DatasetFormat[] = ['cub', 'nabirds'];
export const PARTS_FILE = path.join('parts', 'parts.txt');
export const PART_LOCS_FILE = path.join('parts', 'part_locs.txt');

export interface Keypoint {
  /** The dataset's part name (parts.txt). */
  part: string;
  x: number;
  y: number;
}

export interface DatasetKeypoints {
  /** The dataset's part names, in parts.txt order. */
  names: string[];
  /** The visible keypoints of every image that has any, by image key. */
  byImage: Map<string, Keypoint[]>;
  /** Every listed keypoint, visible or not. */
  listed: number;
  file: string;
}

/** `<id> <name>` lines: id -> name, in file order. */
function readPartsFile(text: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const m = /^(\S+)\s+(.+)$/.exec(line);
    if (!m) throw new ImportError(`${file}:${i + 1}: expected '<part id> <name>', got '${line.slice(0, 80)}'`);
    if (out.has(m[1])) throw new ImportError(`${file}:${i + 1}: part id ${m[1]} is listed twice`);
    out.set(m[1], m[2].trim());
  });
  return out;
}

/** The dataset's keypoint names (parts.txt), or undefined for a format or dataset without them. */
export async function readKeypointNames(format: DatasetFormat, root: string): Promise<string[] | undefined> {
  if (!KEYPOINT_FORMATS.includes(format)) return undefined;
  const file = path.join(root, PARTS_FILE);
  const text = await readOptional(file);
  return text === undefined ? undefined : [...readPartsFile(text, file).values()];
}

/**
 * The dataset's part keypoints, or undefined when it has none (another format, or no
 * part_locs.txt). A malformed line is an ImportError naming the file and line.
 */
export async function readKeypoints(format: DatasetFormat, root: string, signal?: AbortSignal): Promise<DatasetKeypoints | undefined> {
  if (!KEYPOINT_FORMATS.includes(format)) return undefined;
  const locsFile = path.join(root, PART_LOCS_FILE);
  const locs = await readOptional(locsFile);
  if (locs === undefined) return undefined;
  const partsFile = path.join(root, PARTS_FILE);
  const partsText = await readOptional(partsFile);
  if (partsText === undefined) throw new ImportError(`${partsFile} not found: ${locsFile} names parts by id, and the ids are defined there`);
  const parts = readPartsFile(partsText, partsFile);
  const byImage = new Map<string, Keypoint[]>();
  let listed = 0;
  const lines = locs.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (i % 50_000 === 0 && signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
    const line = lines[i].trim();
    if (!line) continue;
    const f = line.split(/\s+/);
    const where = `${locsFile}:${i + 1}`;
    if (f.length !== 5) throw new ImportError(`${where}: expected '<image> <part id> <x> <y> <visible>', got '${line.slice(0, 80)}'`);
    const part = parts.get(f[1]);
    if (part === undefined) throw new ImportError(`${where}: part id ${f[1]} is not in ${partsFile}`);
    const x = Number(f[2]);
    const y = Number(f[3]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new ImportError(`${where}: the position '${f[2]} ${f[3]}' is not two numbers`);
    if (f[4] !== '0' && f[4] !== '1') throw new ImportError(`${where}: visible must be 0 or 1, got '${f[4]}'`);
    listed++;
    if (f[4] !== '1') continue;
    let list = byImage.get(f[0]);
    if (!list) byImage.set(f[0], (list = []));
    list.push({ part, x, y });
  }
  return { names: [...parts.values()], byImage, listed, file: locsFile };
}
