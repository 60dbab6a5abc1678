// What the demo CLIP reads: captions of whole birds (class names at every level of the sample's
// taxonomy, in several templates, the project's own among them, and the head colour that decides
// the class) and phrases of parts (the project's part phrasings in several templates, plus the
// colours the world paints them). Every caption lists the classes it is true of.
import { CLASSES, REGIONS } from '../sample-world.mjs';

const COARSE = 'bird';
const LEVELS = ['species', 'genus', 'family', 'order'];

/** Templates for a taxonomy value `{v}` at any level; the second is the sample project's class template. */
const VALUE_TEMPLATES = ['a photo of a {v}.', 'a photo of a {v}, a type of bird.', 'a {v}.', 'a picture of a {v}.', '{v}'];
/** Templates that name the level, or the parent value (hierarchical prompts). */
const LEVEL_TEMPLATES = { genus: 'a photo of a bird of the genus {v}.', family: 'a photo of a bird of the family {v}.', order: 'a photo of a bird of the order {v}.' };
const PARENT_TEMPLATES = ['a photo of a {v}, a type of {p}.', 'a {v}, a kind of {p}.'];
const COLOUR_TEMPLATES = ['a bird with a {c} crown.', 'a photo of a bird with a {c} crown.', 'a bird with a {c} head.', 'a {c} crown.', 'a {c}-crowned bird.'];

/** The phrasings of each part: the CUB importer's (name first, then its synonyms). */
export const PART_PHRASINGS = {
  back: ['back'],
  beak: ['beak', 'bill'],
  belly: ['belly'],
  breast: ['breast'],
  crown: ['crown', 'top of the head'],
  forehead: ['forehead'],
  eye: ['eye'],
  leg: ['leg'],
  wing: ['wing'],
  nape: ['nape', 'back of the neck'],
  tail: ['tail', 'tail feathers'],
  throat: ['throat', 'throat and chin'],
};
/** Part templates; the first is the sample project's part template. */
const PART_TEMPLATES = ['a photo of the {p} of a bird.', 'the {p} of a bird.', "a bird's {p}.", 'the {p}.', '{p}'];
/** Colours the world paints a part whatever the class ({c} for the head's colour). */
const PART_COLOURS = { beak: ['orange'], eye: ['black'], leg: ['brown'], crown: ['{c}'], forehead: ['{c}'], nape: ['{c}'], throat: ['{c}'] };
const COLOUR_PART_TEMPLATES = ['a {c} {p}.', 'the {c} {p} of a bird.'];
export const BACKGROUND_PHRASES = ['background', 'the background.', 'a photo of the background.'];

const fill = (t, values) => t.replace(/\{(\w)\}/g, (_, k) => values[k]);
const nameOf = (cls) => cls.label.replace(/_/g, ' ');

/**
 * Whole-bird captions in sets: one set per (level, template), with one caption per value of the
 * level, so a set is a zero-shot classifier of that level. { level, texts: [{ text, classes }] },
 * `classes` the indices of the classes a caption is true of (level: species | genus | family |
 * order | colour).
 */
export function captionSets() {
  const sets = [];
  const valuesAt = (level) => {
    const out = new Map();
    CLASSES.forEach((cls, c) => {
      const v = level === 'species' ? nameOf(cls) : level === 'scientific' ? cls.species : cls[level];
      const parents = { species: [cls.genus, cls.family], scientific: [cls.genus, cls.family], genus: [cls.family], family: [cls.order], order: [COARSE] }[level];
      const e = out.get(v) ?? { v, parents, classes: [] };
      e.classes.push(c);
      out.set(v, e);
    });
    return [...out.values()];
  };
  for (const level of [...LEVELS, 'scientific']) {
    const values = valuesAt(level);
    const as = level === 'scientific' ? 'species' : level;
    const templates = [...VALUE_TEMPLATES, ...(LEVEL_TEMPLATES[level] ? [LEVEL_TEMPLATES[level]] : [])];
    for (const t of templates) sets.push({ level: as, texts: values.map((e) => ({ text: fill(t, { v: e.v }), classes: e.classes })) });
    for (let p = 0; p < values[0].parents.length; p++) {
      for (const t of PARENT_TEMPLATES) sets.push({ level: as, texts: values.map((e) => ({ text: fill(t, { v: e.v, p: e.parents[p] }), classes: e.classes })) });
    }
  }
  for (const t of COLOUR_TEMPLATES) sets.push({ level: 'colour', texts: CLASSES.map((cls, c) => ({ text: fill(t, { c: cls.colour }), classes: [c] })) });
  return sets;
}

/**
 * Phrases of each part: `generic` (true of that part on every bird) and `byClass` (per class, the
 * phrases naming the colour the part has there; the same for every class when it never changes).
 */
export function partPhrases() {
  return Object.fromEntries(
    REGIONS.map((region) => {
      const generic = PART_PHRASINGS[region].flatMap((p) => PART_TEMPLATES.map((t) => fill(t, { p })));
      const byClass = CLASSES.map((cls) =>
        (PART_COLOURS[region] ?? []).flatMap((colour) => COLOUR_PART_TEMPLATES.map((t) => fill(t, { c: fill(colour, { c: cls.colour }), p: PART_PHRASINGS[region][0] }))),
      );
      return [region, { generic, byClass }];
    }),
  );
}

export function classInfo() {
  return CLASSES.map((cls) => ({ name: nameOf(cls), species: cls.species, genus: cls.genus, family: cls.family, order: cls.order, colour: cls.colour }));
}

/** CLIP's byte -> character map (printable bytes stand for themselves), as src/core/clip/vocab.ts. */
function byteCharacters() {
  const bytes = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = new Map(bytes.map((b) => [b, String.fromCharCode(b)]));
  let n = 0;
  for (let b = 0; b < 256; b++) if (!chars.has(b)) chars.set(b, String.fromCharCode(256 + n++));
  return chars;
}

const SPLIT = /'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/gu;

/**
 * BPE merges learnt from `texts` the way CLIP's tokenizer applies them (words split by CLIP's
 * pattern, bytes as characters, '</w>' on the last of a word): repeatedly the most frequent
 * adjacent pair (ties: the smaller pair as a string), until no pair occurs twice or `max` merges.
 * Short token sequences make the text tower cheap; words it never saw still tokenize, byte by byte.
 */
export function learnMerges(texts, max) {
  const chars = byteCharacters();
  const words = new Map();
  for (const text of texts) {
    const norm = text.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
    for (const w of norm.match(SPLIT) ?? []) {
      const symbols = [...Buffer.from(w, 'utf8')].map((b) => chars.get(b));
      symbols[symbols.length - 1] += '</w>';
      const key = symbols.join(' ');
      words.set(key, { symbols, count: (words.get(key)?.count ?? 0) + 1 });
    }
  }
  const known = new Set([...chars.values()].flatMap((c) => [c, c + '</w>']));
  const merges = [];
  while (merges.length < max) {
    const pairs = new Map();
    for (const { symbols, count } of words.values()) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const k = symbols[i] + ' ' + symbols[i + 1];
        pairs.set(k, (pairs.get(k) ?? 0) + count);
      }
    }
    let best;
    for (const [k, n] of pairs) {
      const [a, b] = k.split(' ');
      if (n < 2 || known.has(a + b)) continue;
      if (!best || n > best.n || (n === best.n && k < best.k)) best = { k, n };
    }
    if (!best) break;
    const [a, b] = best.k.split(' ');
    merges.push([a, b]);
    known.add(a + b);
    for (const w of words.values()) {
      const out = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.symbols[i]);
      }
      w.symbols = out;
    }
  }
  return merges;
}

/** Every text the demo CLIP trains on. */
export function allTexts() {
  const parts = Object.values(partPhrases()).flatMap((p) => [...p.generic, ...p.byClass.flat()]);
  return [...captionSets().flatMap((set) => set.texts.map((t) => t.text)), ...parts, ...BACKGROUND_PHRASES];
}
