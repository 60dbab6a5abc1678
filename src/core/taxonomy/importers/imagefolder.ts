// Generic ImageFolder: one folder per class, holding its images. Nested folders become levels
// (a/b/c: intermediate levels level1 = a, level2 = b, class c), below one coarse value (--coarse,
// default 'object'). Top folders named train/ and test/ or val/ are splits holding the same class
// tree. Class ids are the class folders' paths below the split folder.
import path from 'node:path';
import { defaultTemplates } from '../defaultParts';
import type { ImageEntry, Level, Project, Split, TaxonomyClass } from '../model';
import { checkCancelled, datasetRootFor, humanize, ImportError, isImageFile, listDir, type ImportOptions, type ImportResult } from './common';

const SPLIT_FOLDERS: Record<string, Split> = { train: 'train', training: 'train', test: 'test', testing: 'test', val: 'val', valid: 'val', validation: 'val' };

export async function importImageFolder(root: string, options: ImportOptions = {}): Promise<ImportResult> {
  const warnings: string[] = [];
  const coarse = options.coarse ?? 'object';
  const top = await listDir(root);
  const splitDirs = top.dirs.filter((d) => SPLIT_FOLDERS[d.toLowerCase()] !== undefined);
  const bySplit: Array<[string, Split]> = splitDirs.length > 0 ? splitDirs.map((d) => [d, SPLIT_FOLDERS[d.toLowerCase()]]) : [['', 'train']];
  if (splitDirs.length > 0 && splitDirs.length < top.dirs.length) {
    warnings.push(`${root}: folders besides ${splitDirs.join(', ')} are ignored (${top.dirs.filter((d) => !splitDirs.includes(d)).join(', ')})`);
  }
  const classSegments = new Map<string, string[]>();
  const images: ImageEntry[] = [];
  for (const [splitDir, split] of bySplit) {
    const base = path.join(root, splitDir);
    const walk = async (segments: string[]): Promise<void> => {
      checkCancelled(options.signal);
      if (segments.length === 1) options.onProgress?.(`reading ${[splitDir, ...segments].filter(Boolean).join('/')}`);
      const { dirs, files } = await listDir(path.join(base, ...segments));
      const pictures = files.filter(isImageFile);
      if (pictures.length > 0 && segments.length > 0) {
        const id = segments.join('/');
        if (!classSegments.has(id)) classSegments.set(id, segments);
        if (!options.skipImages) {
          for (const f of pictures) {
            const rel = [splitDir, ...segments, f].filter(Boolean).join('/');
            images.push({ key: rel, path: rel, classId: id, split });
          }
        }
      } else if (pictures.length > 0) warnings.push(`${pictures.length} images directly in ${base} belong to no class folder: skipped`);
      for (const d of dirs) await walk([...segments, d]);
    };
    await walk([]);
  }
  if (classSegments.size === 0) throw new ImportError(`no class folders with images under ${root}: an ImageFolder dataset has one folder per class holding its images`);

  const ids = [...classSegments.keys()].sort();
  const depth = Math.max(...ids.map((id) => classSegments.get(id)!.length));
  const intermediate = Array.from({ length: depth - 1 }, (_, i) => `level${i + 1}`);
  const classes: TaxonomyClass[] = ids.map((id) => {
    const segs = classSegments.get(id)!;
    const p: Record<string, string> = { coarse };
    intermediate.forEach((level, d) => {
      p[level] = d < segs.length - 1 ? humanize(segs[d]) : p[d === 0 ? 'coarse' : intermediate[d - 1]];
    });
    const last = segs[segs.length - 1];
    const name = humanize(last);
    return name === last ? { id, name, path: p } : { id, name, path: p, source: last };
  });
  const levels: Level[] = [{ name: 'coarse', kind: 'nested' }, ...intermediate.map((name) => ({ name, kind: 'nested' as const })), { name: 'class', kind: 'nested' }];
  const project: Project = {
    version: 1,
    name: options.name ?? path.basename(path.resolve(root)),
    dataset: { format: 'imagefolder', root: datasetRootFor(root, options.projectFile) },
    levels,
    classes,
    parts: { [coarse]: [] },
    templates: defaultTemplates(),
  };
  warnings.push(`no part vocabulary is known for '${coarse}': add parts to the project file`);
  return { project, images, warnings };
}
