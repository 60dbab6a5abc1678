// Stanford Cars: 196 class names `Make Model [Body] Year` (class_names.txt, one per line in
// class-id order, as exported from the devkit's cars_meta.mat; or names.csv). Make is a nested
// level, body type a facet (a sedan is a sedan whatever its make). Images, when present, come
// from anno_train.csv / anno_test.csv (`file,x1,y1,x2,y2,class` with 1-based class ids) with the
// pictures in cars_train/ and cars_test/.
import path from 'node:path';
import { builtInParts, defaultTemplates } from '../defaultParts';
import type { ImageEntry, Project, Split, TaxonomyClass } from '../model';
import { datasetRootFor, exists, ImportError, lines, readOptional, type ImportOptions, type ImportResult } from './common';

/** Makes of more than one word; every other make is the first word. */
export const MULTI_WORD_MAKES = ['AM General', 'Aston Martin', 'Land Rover', 'Rolls Royce', 'Alfa Romeo'];

/** Body types as they appear in the names, longest first where one contains another. */
const BODIES = ['Crew Cab', 'Extended Cab', 'Regular Cab', 'Quad Cab', 'Club Cab', 'SuperCab', 'Cargo Van', 'Passenger Van', 'Minivan', 'Van', 'Sedan', 'SUV', 'Convertible', 'Coupe', 'Hatchback', 'Wagon', 'Cab'];

export const OTHER_BODY = 'other';

export interface CarName {
  make: string;
  model: string;
  body: string;
  year?: string;
}

/** Splits `Make Model [Body] Year`; the body is the last known body word(s), else 'other'. */
export function parseCarName(name: string): CarName {
  const make = MULTI_WORD_MAKES.find((m) => name === m || name.startsWith(m + ' ')) ?? name.split(' ')[0];
  let words = name.slice(make.length).trim().split(/\s+/).filter(Boolean);
  let year: string | undefined;
  if (words.length > 0 && /^(19|20)\d\d$/.test(words[words.length - 1])) year = words.pop();
  let body = OTHER_BODY;
  outer: for (let i = words.length - 1; i >= 1; i--) {
    for (const b of BODIES) {
      const bw = b.split(' ');
      const start = i - bw.length + 1;
      if (start >= 1 && bw.every((w, k) => words[start + k] === w)) {
        body = b;
        break outer;
      }
    }
  }
  words = words.filter(Boolean);
  return { make, model: words.join(' '), body, year };
}

export async function importCars(root: string, options: ImportOptions = {}): Promise<ImportResult> {
  const warnings: string[] = [];
  const coarse = options.coarse ?? 'car';
  let names: string[] | undefined;
  for (const f of ['class_names.txt', 'names.csv', path.join('devkit', 'class_names.txt')]) {
    const text = await readOptional(path.join(root, f));
    if (text !== undefined) {
      names = lines(text).map((l) => l.replace(/^"(.*)"$/, '$1'));
      break;
    }
  }
  if (!names) {
    throw new ImportError(`no class_names.txt in ${root}: write the 196 names of devkit/cars_meta.mat (class_names) there, one per line in class-id order`);
  }
  const classes: TaxonomyClass[] = names.map((name, i) => {
    const parsed = parseCarName(name);
    return { id: String(i + 1), name, path: { coarse, make: parsed.make, body: parsed.body } };
  });
  const others = classes.filter((c) => c.path.body === OTHER_BODY).map((c) => c.name);
  if (others.length > 0) warnings.push(`${others.length} class names carry no body type (body '${OTHER_BODY}'): ${others.slice(0, 4).join('; ')}${others.length > 4 ? '; ...' : ''}`);

  const images: ImageEntry[] = [];
  if (!options.skipImages) {
    let any = false;
    for (const split of ['train', 'test'] as Split[]) {
      const annoFile = path.join(root, `anno_${split}.csv`);
      const text = await readOptional(annoFile);
      if (text === undefined) continue;
      any = true;
      const folder = (await exists(path.join(root, `cars_${split}`))) ? `cars_${split}` : split;
      lines(text).forEach((line, i) => {
        const cols = line.split(',');
        const cls = cols[cols.length - 1]?.trim();
        if (i === 0 && !/^\d+$/.test(cls ?? '')) return; // header
        if (cols.length < 2 || !/^\d+$/.test(cls) || Number(cls) < 1 || Number(cls) > classes.length) {
          throw new ImportError(`${annoFile}:${i + 1}: expected 'file,x1,y1,x2,y2,class' with a class id 1..${classes.length}`);
        }
        const file = cols[0].trim();
        images.push({ key: `${split}/${file}`, path: file.includes('/') ? file : `${folder}/${file}`, classId: cls, split });
      });
    }
    if (!any) warnings.push(`no anno_train.csv / anno_test.csv in ${root}: the project has no image list`);
  }
  const project: Project = {
    version: 1,
    name: options.name ?? 'Stanford Cars',
    dataset: { format: 'cars', root: datasetRootFor(root, options.projectFile) },
    levels: [
      { name: 'coarse', kind: 'nested' },
      { name: 'make', kind: 'nested' },
      { name: 'body', kind: 'facet' },
      { name: 'model', kind: 'nested' },
    ],
    classes,
    parts: { [coarse]: builtInParts('car') },
    templates: defaultTemplates(),
  };
  return { project, images, warnings };
}
