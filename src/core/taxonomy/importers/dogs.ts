// Stanford Dogs: Images/<synset>-<Breed_Name>/<synset>_<n>.jpg. Class ids are the WordNet synsets
// (n02085620). Splits from train_list.txt / test_list.txt (paths relative to Images/, one per
// line: the lists of the .mat files as text) when present, else every image is train.
import path from 'node:path';
import { builtInParts, defaultTemplates } from '../defaultParts';
import type { ImageEntry, Project, Split, TaxonomyClass } from '../model';
import { checkCancelled, datasetRootFor, exists, humanize, ImportError, isImageFile, lines, listDir, readOptional, type ImportOptions, type ImportResult } from './common';

const FOLDER = /^(n\d{8})-(.+)$/;

export async function importDogs(root: string, options: ImportOptions = {}): Promise<ImportResult> {
  const warnings: string[] = [];
  const coarse = options.coarse ?? 'dog';
  let imagesDir = 'Images';
  if (!(await exists(path.join(root, imagesDir)))) imagesDir = 'images';
  const dir = path.join(root, imagesDir);
  if (!(await exists(dir))) throw new ImportError(`no Images/ folder in ${root}: is --root the Stanford Dogs folder?`);
  const { dirs } = await listDir(dir);
  const classes: TaxonomyClass[] = [];
  const folders: string[] = [];
  for (const d of dirs) {
    const m = FOLDER.exec(d);
    if (!m) {
      warnings.push(`${path.join(dir, d)}: not a '<synset>-<Breed>' folder: skipped`);
      continue;
    }
    classes.push({ id: m[1], name: humanize(m[2]), path: { coarse }, source: d });
    folders.push(d);
  }
  if (classes.length === 0) throw new ImportError(`${dir} holds no '<synset>-<Breed>' folders (e.g. n02085620-Chihuahua)`);

  const images: ImageEntry[] = [];
  if (!options.skipImages) {
    const splitOf = new Map<string, Split>();
    let lists = 0;
    for (const split of ['train', 'test'] as Split[]) {
      const text = await readOptional(path.join(root, `${split}_list.txt`));
      if (text === undefined) continue;
      lists++;
      for (const l of lines(text)) splitOf.set(l.replace(/\\/g, '/'), split);
    }
    if (lists === 0) warnings.push(`no train_list.txt / test_list.txt in ${root}: every image is in the train split`);
    let unlisted = 0;
    for (let i = 0; i < folders.length; i++) {
      checkCancelled(options.signal);
      options.onProgress?.(`reading ${folders[i]}`, i / folders.length);
      const { files } = await listDir(path.join(dir, folders[i]));
      for (const f of files) {
        if (!isImageFile(f)) continue;
        const rel = `${folders[i]}/${f}`;
        const split = lists === 0 ? 'train' : splitOf.get(rel);
        if (!split) {
          unlisted++;
          continue;
        }
        images.push({ key: rel, path: `${imagesDir}/${rel}`, classId: classes[i].id, split });
      }
    }
    if (unlisted > 0) warnings.push(`${unlisted} images are in neither train_list.txt nor test_list.txt: skipped`);
  }
  const project: Project = {
    version: 1,
    name: options.name ?? 'Stanford Dogs',
    dataset: { format: 'dogs', root: datasetRootFor(root, options.projectFile) },
    levels: [
      { name: 'coarse', kind: 'nested' },
      { name: 'breed', kind: 'nested' },
    ],
    classes,
    parts: { [coarse]: builtInParts('dog') },
    templates: defaultTemplates(),
  };
  return { project, images, warnings };
}
