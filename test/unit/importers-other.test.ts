import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { builtInParts, defaultParts, mergeSidedParts } from '../../src/core/taxonomy/defaultParts';
import { importAircraft, importCars, importDataset, importDogs, importImageFolder, ImportError, parseCarName } from '../../src/core/taxonomy/importers';
import { parseProject, serializeProject } from '../../src/core/taxonomy/project';
import { levelValues, taxonomyTree } from '../../src/core/taxonomy/tree';
import { validateProject } from '../../src/core/taxonomy/validate';
import { writeAircraftFixture } from '../fixtures/aircraft';
import { writeCarsFixture, writeDogsFixture, writeImageFolderFixture } from '../fixtures/datasets';
import { tempDir, testData } from '../helpers/paths';

const DATA = testData;
const tmp = tempDir();
after(tmp.cleanup);

function errorsAndWarnings(project: Parameters<typeof serializeProject>[0]) {
  return validateProject(parseProject(serializeProject(project))).filter((d) => d.severity !== 'info' && d.code !== 'coarse-without-parts');
}

describe('FGVC-Aircraft importer', () => {
  it('derives manufacturer > family > variant from synthesised image lists of the real names', async () => {
    const root = path.join(tmp.dir, 'fgvc-aircraft-2013b');
    const fx = writeAircraftFixture(path.join(DATA, 'aircraft'), root);
    const { project, images, warnings } = await importAircraft(root);
    assert.deepEqual(warnings, []);
    const values = levelValues(project);
    assert.equal(values.get('variant')!.length, 100);
    assert.equal(values.get('family')!.length, 70);
    assert.equal(values.get('manufacturer')!.length, 30);
    assert.deepEqual(new Set(values.get('family')), new Set(fx.families));
    assert.deepEqual(new Set(values.get('manufacturer')), new Set(fx.manufacturers));
    for (const cls of project.classes) {
      assert.equal(cls.path.family, fx.familyOf.get(cls.name));
      assert.equal(cls.path.manufacturer, fx.manufacturerOf.get(cls.path.family));
    }
    const f16 = project.classes.find((c) => c.id === 'F-16A/B')!;
    assert.deepEqual(f16.path, { coarse: 'aircraft', manufacturer: 'Lockheed Martin', family: 'F-16' });
    assert.equal(project.classes.find((c) => c.id === 'BAE 146-200')!.path.family, 'BAE 146');
    assert.equal(images.length, fx.images);
    assert.deepEqual(images[0], { key: '1000000', path: 'data/images/1000000.jpg', classId: '707-320', split: 'train' });
    assert.deepEqual(new Set(images.map((i) => i.split)), new Set(['train', 'val', 'test']));
    assert.deepEqual(project.parts.aircraft.map((p) => p.name), ['nose', 'cockpit', 'wing', 'engine', 'vertical stabilizer', 'landing gear', 'fuselage']);
    assert.deepEqual(errorsAndWarnings(project), []);
  });

  it('refuses to guess the nesting without image lists', async () => {
    await assert.rejects(importAircraft(path.join(DATA, 'aircraft')), (err: Error) => err instanceof ImportError && /images_variant_\{train,val,test\}\.txt/.test(err.message));
  });
});

describe('Stanford Cars importer', () => {
  it('parses make and body from the 196 real names', async () => {
    const { project, warnings } = await importCars(path.join(DATA, 'cars'));
    const values = levelValues(project);
    assert.equal(project.classes.length, 196);
    assert.equal(values.get('make')!.length, 49);
    for (const make of ['AM General', 'Aston Martin', 'Land Rover']) assert.ok(values.get('make')!.includes(make), make);
    assert.deepEqual(project.levels.find((l) => l.name === 'body'), { name: 'body', kind: 'facet' });
    const ram = project.classes.find((c) => c.name === 'Ram C/V Cargo Van Minivan 2012')!;
    assert.deepEqual(ram.path, { coarse: 'car', make: 'Ram', body: 'Minivan' });
    assert.equal(project.classes[0].id, '1');
    assert.ok(warnings.some((w) => /class names carry no body type/.test(w)));
    // A facet takes no part in the nesting checks: the import validates cleanly.
    assert.deepEqual(errorsAndWarnings(project), []);
    const tree = taxonomyTree(project);
    assert.equal(tree.roots[0].children.length, 49);
    assert.ok(tree.facets[0].groups.find((g) => g.value === 'Sedan')!.classCount > 30);
  });

  it('splits tricky names', () => {
    assert.deepEqual(parseCarName('Aston Martin V8 Vantage Convertible 2012'), { make: 'Aston Martin', model: 'V8 Vantage Convertible', body: 'Convertible', year: '2012' });
    assert.equal(parseCarName('Chevrolet Silverado 1500 Hybrid Crew Cab 2012').body, 'Crew Cab');
    assert.equal(parseCarName('Ford E-Series Wagon Van 2012').body, 'Van');
    assert.equal(parseCarName('Infiniti G Coupe IPL 2012').body, 'Coupe');
    assert.equal(parseCarName('Chevrolet Corvette ZR1 2012').body, 'other');
  });

  it('reads images from anno_train.csv / anno_test.csv', async () => {
    const root = path.join(tmp.dir, 'cars');
    const names = readFileSync(path.join(DATA, 'cars', 'class_names.txt'), 'utf8').trim().split('\n');
    writeCarsFixture(root, names);
    const { images } = await importCars(root);
    assert.deepEqual(images, [
      { key: 'train/00001.jpg', path: 'cars_train/00001.jpg', classId: '14', split: 'train' },
      { key: 'train/00002.jpg', path: 'cars_train/00002.jpg', classId: '3', split: 'train' },
      { key: 'test/00001.jpg', path: 'test/00001.jpg', classId: '181', split: 'test' },
    ]);
  });
});

describe('Stanford Dogs importer', () => {
  it('reads synset folders and the train/test lists', async () => {
    const root = path.join(tmp.dir, 'dogs');
    writeDogsFixture(root);
    const { project, images, warnings } = await importDogs(root);
    assert.deepEqual(project.classes.map((c) => [c.id, c.name]), [['n02085620', 'Chihuahua'], ['n02085782', 'Japanese spaniel'], ['n02113799', 'standard poodle']]);
    assert.deepEqual(project.levels.map((l) => l.name), ['coarse', 'breed']);
    assert.equal(images.length, 6);
    assert.equal(images.filter((i) => i.split === 'test').length, 3);
    assert.deepEqual(images[0], { key: 'n02085620-Chihuahua/n02085620_0.jpg', path: 'Images/n02085620-Chihuahua/n02085620_0.jpg', classId: 'n02085620', split: 'test' });
    assert.ok(warnings.some((w) => w.includes('not-a-breed')));
    assert.ok(warnings.some((w) => w.startsWith('3 images are in neither')));
    assert.deepEqual(project.parts.dog.map((p) => p.name), ['head', 'ear', 'muzzle', 'eye', 'body', 'leg', 'tail', 'paw']);
  });
});

describe('ImageFolder importer', () => {
  it('turns nested folders into levels and train/val folders into splits', async () => {
    const root = path.join(tmp.dir, 'folders');
    writeImageFolderFixture(root);
    const { project, images } = await importDataset('imagefolder', root, { coarse: 'thing' });
    assert.deepEqual(project.levels.map((l) => l.name), ['coarse', 'level1', 'level2', 'class']);
    const byId = Object.fromEntries(project.classes.map((c) => [c.id, c]));
    assert.deepEqual(Object.keys(byId).sort(), ['animals/cats/tabby', 'animals/dog', 'vehicles/cars/hatchback', 'vehicles/cars/sedan', 'vehicles/trucks/pickup']);
    assert.deepEqual(byId['vehicles/cars/sedan'].path, { coarse: 'thing', level1: 'vehicles', level2: 'cars' });
    assert.deepEqual(byId['animals/dog'].path, { coarse: 'thing', level1: 'animals', level2: 'animals' }, 'a shallow class repeats the value above');
    assert.equal(images.length, 20, 'two images per class and split; notes.txt and hidden folders skipped');
    assert.deepEqual(new Set(images.map((i) => i.split)), new Set(['train', 'val']));
    assert.ok(images.some((i) => i.path === 'val/animals/dog/val_2.png' && i.classId === 'animals/dog'));
    assert.deepEqual(errorsAndWarnings(project), []);
  });

  it('fails clearly on a folder without class folders', async () => {
    await assert.rejects(importImageFolder(path.join(tmp.dir, 'folders', 'train', 'animals', 'dog')), /no class folders with images/);
  });
});

describe('default parts', () => {
  it('merges left/right parts of the dataset parts file and falls back to built-in sets', () => {
    const cub = defaultParts('bird', readFileSync(path.join(DATA, 'cub', 'parts', 'parts.txt'), 'utf8'));
    assert.deepEqual(cub.map((p) => p.name), ['back', 'beak', 'belly', 'breast', 'crown', 'forehead', 'eye', 'leg', 'wing', 'nape', 'tail', 'throat']);
    assert.deepEqual(cub.find((p) => p.name === 'beak')!.prompts, ['beak', 'bill']);
    assert.deepEqual(mergeSidedParts(['Left Wing', 'right wing', 'tail']).map((p) => p.name), ['wing', 'tail']);
    // each part keeps the dataset's keypoints it was made from (the hit rate's mapping)
    assert.deepEqual(cub.find((p) => p.name === 'eye')!.keypoints, ['left_eye', 'right_eye']);
    assert.deepEqual(cub.find((p) => p.name === 'beak')!.keypoints, ['beak']);
    assert.deepEqual(mergeSidedParts(['bill', 'left eye', 'right eye']).map((p) => p.keypoints), [['bill'], ['left eye', 'right eye']]);
    assert.equal(builtInParts('bird')[0].keypoints, undefined);
    assert.deepEqual(defaultParts('bird', '\n').map((p) => p.name), builtInParts('bird').map((p) => p.name));
    assert.deepEqual(builtInParts('car').map((p) => p.name), ['headlight', 'grille', 'wheel', 'side mirror', 'windshield', 'bumper', 'taillight', 'door']);
  });
});

describe('import progress and cancellation', () => {
  it('reports progress and stops when cancelled', async () => {
    const root = path.join(tmp.dir, 'dogs-cancel');
    writeDogsFixture(root);
    const seen: string[] = [];
    await importDogs(root, { onProgress: (m) => seen.push(m) });
    assert.deepEqual(seen, ['reading n02085620-Chihuahua', 'reading n02085782-Japanese_spaniel', 'reading n02113799-standard_poodle']);
    const controller = new AbortController();
    await assert.rejects(
      importDogs(root, { signal: controller.signal, onProgress: () => controller.abort() }),
      (err: Error) => err instanceof ImportError && err.message === 'import cancelled',
    );
  });
});
