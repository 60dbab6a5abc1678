// The image lists CUB-200-2011 and NABirds share: images.txt (`<image id> <path below images/>`),
// image_class_labels.txt (`<image id> <class id>`), train_test_split.txt (`<image id> <1 train|0 test>`).
import path from 'node:path';
import type { ImageEntry } from '../model';
import { checkCancelled, eachPair, ImportError, imagePathProblem, readOptional, readSplitMap, readText } from './common';

export async function readImageLists(root: string, classIds: ReadonlySet<string>, warnings: string[], signal?: AbortSignal, onProgress?: (message: string) => void): Promise<ImageEntry[]> {
  const imagesFile = path.join(root, 'images.txt');
  const imagesText = await readOptional(imagesFile);
  if (imagesText === undefined) {
    warnings.push(`${imagesFile} not found: the project has no image list`);
    return [];
  }
  onProgress?.(`reading the image lists in ${root}`);
  const labelsFile = path.join(root, 'image_class_labels.txt');
  const splitFile = path.join(root, 'train_test_split.txt');
  const [labelsText, splitText] = await Promise.all([readText(labelsFile, "it gives each image's class"), readOptional(splitFile)]);
  const labels = new Map<string, string>();
  eachPair(labelsText, labelsFile, (id, cls) => labels.set(id, cls));
  const splits = splitText === undefined ? undefined : readSplitMap(splitText, splitFile);
  if (!splits) warnings.push(`${splitFile} not found: every image is in the train split`);
  checkCancelled(signal);
  const images: ImageEntry[] = [];
  let skipped = 0;
  eachPair(imagesText, imagesFile, (key, rel, line) => {
    const why = imagePathProblem(rel);
    if (why) throw new ImportError(`${imagesFile}:${line}: image path '${rel}' ${why}; fix the line (the dataset's images must be inside ${root})`);
    const classId = labels.get(key);
    if (classId === undefined || !classIds.has(classId)) {
      skipped++;
      return;
    }
    images.push({ key, path: `images/${rel}`, classId, split: splits?.get(key) ?? 'train' });
  });
  if (skipped > 0) warnings.push(`${skipped} images in ${imagesFile} have no known class in ${labelsFile}: skipped`);
  return images;
}
