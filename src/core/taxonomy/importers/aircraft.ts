// FGVC-Aircraft (2013b): data/variants.txt, families.txt, manufacturers.txt (one name per line)
// and data/images_{variant,family,manufacturer}_{train,val,test,trainval}.txt (`<7-digit id>
// <name with spaces>`). The names files have no hierarchy: manufacturer -> family -> variant
// comes from the labels the image lists give the same image. Class ids are the variant names
// (the dataset's own labels).
import path from 'node:path';
import { builtInParts, defaultTemplates } from '../defaultParts';
import type { ImageEntry, Project, Split, TaxonomyClass } from '../model';
import { checkCancelled, datasetRootFor, exists, ImportError, lines, readOptional, readText, toPosix, type ImportOptions, type ImportResult } from './common';

type Kind = 'variant' | 'family' | 'manufacturer';

/** `<id> <name>`: the name keeps its spaces and slashes. */
function readLabels(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of lines(text)) {
    const sp = line.indexOf(' ');
    if (sp > 0) m.set(line.slice(0, sp), line.slice(sp + 1).trim());
  }
  return m;
}

export async function importAircraft(root: string, options: ImportOptions = {}): Promise<ImportResult> {
  const warnings: string[] = [];
  const coarse = options.coarse ?? 'aircraft';
  const dataDir = (await exists(path.join(root, 'data', 'variants.txt'))) ? path.join(root, 'data') : root;
  const variantsFile = path.join(dataDir, 'variants.txt');
  const variants = lines(await readText(variantsFile, 'is --root the fgvc-aircraft-2013b folder (or its data/ folder)?'));
  checkCancelled(options.signal);

  // Split files: train/val/test, or trainval when train and val are absent.
  const splitNames: Array<[string, Split]> = [];
  for (const s of ['train', 'val', 'test'] as const) {
    if (await exists(path.join(dataDir, `images_variant_${s}.txt`))) splitNames.push([s, s]);
  }
  if (!splitNames.some(([s]) => s === 'train' || s === 'val') && (await exists(path.join(dataDir, 'images_variant_trainval.txt')))) {
    splitNames.push(['trainval', 'train']);
  }
  if (splitNames.length === 0) {
    throw new ImportError(`no images_variant_{train,val,test}.txt in ${dataDir}: FGVC-Aircraft's manufacturer -> family -> variant nesting comes from those image lists`);
  }

  const familyOf = new Map<string, string>();
  const manufacturerOf = new Map<string, string>();
  const conflicts = new Set<string>();
  const images: ImageEntry[] = [];
  const rel = toPosix(path.relative(root, dataDir));
  const prefix = rel === '' ? '' : `${rel}/`;
  for (const [file, split] of splitNames) {
    const read = async (kind: Kind) => {
      const f = path.join(dataDir, `images_${kind}_${file}.txt`);
      const text = kind === 'variant' ? await readText(f, '') : await readOptional(f);
      if (text === undefined) throw new ImportError(`${f} not found: it gives each image's ${kind}, needed next to images_variant_${file}.txt`);
      return readLabels(text);
    };
    const [v, fam, man] = await Promise.all([read('variant'), read('family'), read('manufacturer')]);
    for (const [id, variant] of v) {
      const family = fam.get(id);
      const manufacturer = man.get(id);
      if (family !== undefined) {
        const prev = familyOf.get(variant);
        if (prev !== undefined && prev !== family) conflicts.add(`variant '${variant}' is labelled family '${prev}' and '${family}'`);
        else familyOf.set(variant, family);
        if (manufacturer !== undefined) {
          const prevM = manufacturerOf.get(family);
          if (prevM !== undefined && prevM !== manufacturer) conflicts.add(`family '${family}' is labelled manufacturer '${prevM}' and '${manufacturer}'`);
          else manufacturerOf.set(family, manufacturer);
        }
      }
      if (!options.skipImages) images.push({ key: id, path: `${prefix}images/${id}.jpg`, classId: variant, split });
    }
    checkCancelled(options.signal);
  }
  for (const c of conflicts) warnings.push(`inconsistent labels: ${c} (the first one is kept)`);

  const known = new Set(variants);
  const classes: TaxonomyClass[] = variants.map((variant) => {
    const family = familyOf.get(variant);
    const manufacturer = family !== undefined ? manufacturerOf.get(family) : undefined;
    if (family === undefined || manufacturer === undefined) warnings.push(`variant '${variant}' has no image with a family and manufacturer: its values are 'unknown'`);
    return { id: variant, name: variant, path: { coarse, manufacturer: manufacturer ?? 'unknown', family: family ?? 'unknown' } };
  });
  const strays = images.filter((i) => !known.has(i.classId));
  if (strays.length > 0) warnings.push(`${strays.length} images have a variant not in ${variantsFile}: skipped`);
  // Families and manufacturers named in their own files but never seen on an image.
  for (const [kind, seen] of [['families', new Set(familyOf.values())], ['manufacturers', new Set(manufacturerOf.values())]] as const) {
    const text = await readOptional(path.join(dataDir, `${kind}.txt`));
    if (text === undefined) continue;
    const unseen = lines(text).filter((n) => !seen.has(n));
    if (unseen.length > 0) warnings.push(`${unseen.length} ${kind} in ${kind}.txt have no image: ${unseen.slice(0, 5).join(', ')}`);
  }
  const project: Project = {
    version: 1,
    name: options.name ?? 'FGVC-Aircraft',
    dataset: { format: 'aircraft', root: datasetRootFor(root, options.projectFile) },
    levels: [
      { name: 'coarse', kind: 'nested' },
      { name: 'manufacturer', kind: 'nested' },
      { name: 'family', kind: 'nested' },
      { name: 'variant', kind: 'nested' },
    ],
    classes,
    parts: { [coarse]: builtInParts('aircraft') },
    templates: defaultTemplates(),
  };
  return { project, images: strays.length > 0 ? images.filter((i) => known.has(i.classId)) : images, warnings };
}
