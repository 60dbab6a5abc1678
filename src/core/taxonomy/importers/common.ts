// What every importer shares: options, results, reading the dataset's text files with errors
// that name the file, and walking folders. Importers only read; they never write to the dataset.
import { promises as fs, realpathSync } from 'node:fs';
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

/**
 * Calls `fn(first, rest, lineNumber)` for each `<first> <rest>` line (separated by spaces or a
 * tab). A byte order mark, spaces around the line and blank lines are ignored: a BOM or an
 * indent glued to the first id would otherwise make that id unknown and drop its class.
 */
export function eachPair(text: string, file: string, fn: (first: string, rest: string, line: number) => void): void {
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let lineNo = 0;
  const n = text.length;
  const blank = (c: number) => c === 32 || c === 9 || c === 13;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    lineNo++;
    let s = start;
    while (s < end && blank(text.charCodeAt(s))) s++;
    let e = end;
    while (e > s && blank(text.charCodeAt(e - 1))) e--;
    if (e > s) {
      let sp = s;
      while (sp < e && text.charCodeAt(sp) !== 32 && text.charCodeAt(sp) !== 9) sp++;
      if (sp >= e) throw new ImportError(`${file}:${lineNo}: expected '<id> <value>', got '${text.slice(s, e)}'`);
      let v = sp;
      while (v < e && (text.charCodeAt(v) === 32 || text.charCodeAt(v) === 9)) v++;
      fn(text.slice(s, sp), text.slice(v, e), lineNo);
    }
    start = end + 1;
  }
}

/**
 * Throws an ImportError at FILE:LINE naming the first cycle of a child -> parent map (a cycle
 * would make every walk up the tree loop forever). `lineOf` gives the line of each child's entry.
 */
export function checkAcyclic(parent: ReadonlyMap<string, string>, lineOf: ReadonlyMap<string, number>, file: string): void {
  const state = new Map<string, 'open' | 'done'>();
  for (const start of parent.keys()) {
    const walk: string[] = [];
    let n: string | undefined = start;
    while (n !== undefined && !state.has(n)) {
      state.set(n, 'open');
      walk.push(n);
      n = parent.get(n);
    }
    if (n !== undefined && state.get(n) === 'open') {
      const cycle = walk.slice(walk.indexOf(n));
      const lines = cycle.map((c) => lineOf.get(c) ?? 0);
      const at = Math.max(...lines);
      throw new ImportError(
        `${file}:${at}: the hierarchy has a cycle: ${[...cycle, n].join(' -> ')} (each node's parent follows it; lines ${lines.join(', ')}); ` +
          'a node cannot be its own ancestor: fix one of these lines',
      );
    }
    for (const w of walk) state.set(w, 'done');
  }
}

/**
 * Why an image path from a dataset's list cannot be used (undefined when fine): it must be
 * relative and stay inside the dataset folder ('../' or an absolute path would read any file).
 */
export function imagePathProblem(rel: string): string | undefined {
  if (rel === '' || rel.includes('\0')) return 'is empty or holds a NUL character';
  if (path.isAbsolute(rel) || path.posix.isAbsolute(rel) || path.win32.isAbsolute(rel)) return 'is absolute; image paths are relative to the dataset folder';
  if (rel.split(/[\\/]/).includes('..')) return "climbs out of the dataset folder with '..'";
  return undefined;
}

/** Environment switch that lets symbolic links inside a dataset point outside it. */
export const ALLOW_OUTSIDE_LINKS_ENV = 'PSCL_DATASET_LINKS_OUTSIDE';

export function outsideLinksAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes|allow)$/i.test(env[ALLOW_OUTSIDE_LINKS_ENV] ?? '');
}

/**
 * The absolute file of a dataset image, checked to be inside `root` once symbolic links are
 * resolved (unless PSCL_DATASET_LINKS_OUTSIDE=1). Throws ImportError naming the image; a file
 * that does not exist is returned as is (the caller reports it missing).
 */
export function datasetFile(root: string, rel: string, options: { allowOutsideLinks?: boolean } = {}): string {
  const why = imagePathProblem(rel);
  if (why) throw new ImportError(`image path '${rel}' ${why}`);
  const file = path.join(root, ...rel.split('/'));
  if (options.allowOutsideLinks ?? outsideLinksAllowed()) return file;
  let real: string;
  let realRoot: string;
  try {
    real = realpathSync(file);
    realRoot = realpathSync(root);
  } catch {
    return file;
  }
  const inside = path.relative(realRoot, real);
  if (inside.startsWith('..' + path.sep) || inside === '..' || path.isAbsolute(inside)) {
    throw new ImportError(
      `image '${rel}' is a symbolic link to ${real}, outside the dataset folder ${realRoot}; ` +
        `copy the images into the dataset, or allow links out of it with ${ALLOW_OUTSIDE_LINKS_ENV}=1 (setting pscl.datasets.allowLinksOutside in VS Code)`,
    );
  }
  return file;
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
