// What every importer shares: options, results, reading the dataset's text files with errors
// that name the file, and walking folders. Importers only read; they never write to the dataset.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ImageEntry, Project, Split } from '../model';

export interface ImportOptions {
  /** Project name; default from the dataset. */
  name?: string;
  /** The coarse category value for single-coarse datasets (bird, aircraft, car, dog ...). */
  coarse?: string;
  /** CUB: a `<parent> <child>` hierarchy file (or an indented tree file). */
  hierarchy?: string;
  /** CUB: names of the hierarchy's nodes (`<id> <name>`); default: found next to the hierarchy. */
  hierarchyNames?: string;
  /** Where the project file will live: `dataset.root` is written relative to it. */
  projectFile?: string;
  /** Skip reading the image lists (taxonomy only). */
  skipImages?: boolean;
  signal?: AbortSignal;
  /** Progress of long imports (folder walks, large lists): what is being read, and a fraction when known. */
  onProgress?: (message: string, fraction?: number) => void;
}

export interface ImportResult {
  project: Project;
  images: ImageEntry[];
  warnings: string[];
}

/** A dataset that cannot be imported: the message names the file and what to do. */
export class ImportError extends Error {}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

export async function readText(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImportError(code === 'ENOENT' ? `${file} not found: ${what}` : `cannot read ${file}: ${(err as Error).message}`);
  }
}

export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImportError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Calls `fn(first, rest, lineNumber)` for each `<first> <rest>` line; trailing spaces and blank lines are ignored. */
export function eachPair(text: string, file: string, fn: (first: string, rest: string, line: number) => void): void {
  let start = 0;
  let lineNo = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    lineNo++;
    let e = end;
    while (e > start && (text.charCodeAt(e - 1) === 13 || text.charCodeAt(e - 1) === 32 || text.charCodeAt(e - 1) === 9)) e--;
    if (e > start) {
      const sp = text.indexOf(' ', start);
      if (sp < 0 || sp >= e) throw new ImportError(`${file}:${lineNo}: expected '<id> <value>', got '${text.slice(start, e)}'`);
      fn(text.slice(start, sp), text.slice(sp + 1, e).trimStart(), lineNo);
    }
    start = end + 1;
  }
}

/** Non-empty lines, trimmed. */
export function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** `<id> <0|1>` train/test files: 1 is train. */
export function readSplitMap(text: string, file: string): Map<string, Split> {
  const m = new Map<string, Split>();
  eachPair(text, file, (id, flag, line) => {
    if (flag !== '0' && flag !== '1') throw new ImportError(`${file}:${line}: expected 0 or 1, got '${flag}'`);
    m.set(id, flag === '1' ? 'train' : 'test');
  });
  return m;
}

/** `root` as written in the project: relative to the project file when known, '/'-separated. */
export function datasetRootFor(root: string, projectFile?: string): string {
  if (!projectFile) return toPosix(root);
  const rel = path.relative(path.dirname(path.resolve(projectFile)), path.resolve(root));
  return toPosix(rel === '' ? '.' : rel);
}

export function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.gif', '.tif', '.tiff']);

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

export interface DirEntries {
  dirs: string[];
  files: string[];
}

/** Sorted sub-folders and files of a folder, hidden entries skipped. */
export async function listDir(dir: string): Promise<DirEntries> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new ImportError(`cannot list ${dir}: ${(err as Error).message}`);
  }
  const dirs: string[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) dirs.push(e.name);
    else if (e.isFile()) files.push(e.name);
  }
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return { dirs: dirs.sort(byName), files: files.sort(byName) };
}

export function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new ImportError('import cancelled');
}

/** `Black_footed_Albatross` -> `Black footed Albatross`. */
export function humanize(label: string): string {
  return label.replace(/_/g, ' ').replace(/\s+/g, ' ').trim();
}
