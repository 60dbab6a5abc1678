// Default part vocabularies per coarse category, the data the importers start a project with
// (and that parts/ may offer too: it sits below both). Birds read the dataset's own parts file
// when there is one (CUB: 15 parts, NABirds: 11), merging left/right into one part because a
// text prompt cannot tell the sides apart, and mapping each part to the dataset's keypoints it
// came from; the built-in lists are the fallback.
import { DEFAULT_TEMPLATES, type Part, type Templates } from './model';

export type CoarseKind = 'bird' | 'aircraft' | 'car' | 'dog';

/** Extra phrasings for common part names (the name itself always comes first). */
const SYNONYMS: Record<string, string[]> = {
  beak: ['bill'],
  bill: ['beak'],
  crown: ['top of the head'],
  nape: ['back of the neck'],
  throat: ['throat and chin'],
  tail: ['tail feathers'],
  'vertical stabilizer': ['tail fin'],
  'landing gear': ['wheels of the landing gear'],
  windshield: ['windscreen'],
  taillight: ['rear light'],
  muzzle: ['snout'],
};

const BIRD = ['back', 'beak', 'belly', 'breast', 'crown', 'forehead', 'eye', 'leg', 'wing', 'nape', 'tail', 'throat'];
const AIRCRAFT = ['nose', 'cockpit', 'wing', 'engine', 'vertical stabilizer', 'landing gear', 'fuselage'];
const CAR = ['headlight', 'grille', 'wheel', 'side mirror', 'windshield', 'bumper', 'taillight', 'door'];
const DOG = ['head', 'ear', 'muzzle', 'eye', 'body', 'leg', 'tail', 'paw'];

const BUILT_IN: Record<CoarseKind, string[]> = { bird: BIRD, aircraft: AIRCRAFT, car: CAR, dog: DOG };

export function partFromName(name: string): Part {
  return { name, prompts: [name, ...(SYNONYMS[name] ?? [])] };
}

/** The built-in starter set for a coarse category. */
export function builtInParts(kind: CoarseKind): Part[] {
  return BUILT_IN[kind].map(partFromName);
}

/** Names from a `<id> <name>` parts file (CUB `parts/parts.txt`, NABirds the same, 0-based). */
export function readPartNames(text: string): string[] {
  const names: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const space = line.search(/\s/);
    if (space < 0) continue;
    names.push(line.slice(space + 1).trim());
  }
  return names;
}

/**
 * `left_eye`, `right eye` -> `eye`; keeps first-seen order. Each part keeps the dataset's names it
 * was made from as its `keypoints` (both sides of `eye`), the mapping the hit rate uses.
 */
export function mergeSidedParts(names: readonly string[]): Part[] {
  const byName = new Map<string, Part>();
  for (const raw of names) {
    const name = raw.replace(/_/g, ' ').replace(/^(left|right)\s+/i, '').trim().toLowerCase();
    if (!name) continue;
    const part = byName.get(name) ?? { ...partFromName(name), keypoints: [] };
    byName.set(name, part);
    if (!part.keypoints!.includes(raw.trim())) part.keypoints!.push(raw.trim());
  }
  return [...byName.values()];
}

/** Parts for a coarse category: from the dataset's parts file text when given, else built in. */
export function defaultParts(kind: CoarseKind, partsFileText?: string): Part[] {
  if (partsFileText !== undefined) {
    const parts = mergeSidedParts(readPartNames(partsFileText));
    if (parts.length > 0) return parts;
  }
  return builtInParts(kind);
}

/** A fresh copy of the default templates (DEFAULT_TEMPLATES) for a new project. */
export function defaultTemplates(): Templates {
  return { class: [...DEFAULT_TEMPLATES.class], part: [...DEFAULT_TEMPLATES.part] };
}
