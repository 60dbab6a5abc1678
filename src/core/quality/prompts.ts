// The text prompts zero-shot classification scores with, per taxonomy level and variant:
//   flat          the project's class templates with the value's name (what the prototypes encode)
//   hierarchical  the same with the value's ancestors in the name (CHiLS-style):
//                 "a photo of a Red crowned Finch (Pictofringilla, Fringillidae), a type of bird."
//   descriptions  fine level: each template followed by the class's description (the LLM
//                 suggestions a user accepted write them), CuPL-style; classes without one: flat
//   control       WaffleCLIP's honest baseline: each template with the same K random descriptors
//                 appended for every value ("..., which has jbfeq wrtul."); if descriptions do no
//                 better than this, their words are not what helps
// Each value's texts are averaged (then normalised) into one prototype. The fine level classifies
// the classes themselves (two classes of one name stay apart); other levels their distinct values.
import { classTemplateValues } from '../parts/prompts';
import { expandTemplate } from '../parts/templates';
import { DEFAULT_TEMPLATES, valueAt, type Project, type TaxonomyClass } from '../taxonomy/model';
import { levelValues } from '../taxonomy/tree';
import { mulberry32 } from '../util/random';

export type Variant = 'flat' | 'hierarchical' | 'descriptions' | 'control';
export const VARIANTS: readonly Variant[] = ['flat', 'hierarchical', 'descriptions', 'control'];

export interface ControlOptions {
  /** Random descriptors per template (WaffleCLIP uses 15-30 pairs; 8 keeps text encoding cheap). */
  descriptors: number;
  seed: number;
}

export const CONTROL_DEFAULTS: ControlOptions = { descriptors: 8, seed: 0 };

/** The classes of one level: its distinct values (fine level: every class), and each class's index among them. */
export interface LevelClasses {
  level: string;
  /** Display names, one per class of this level. */
  names: string[];
  /** For every project class: its index in `names`. */
  ofClass: Int32Array;
  /** A project class carrying each value (its {coarse} and {level:X} fill the templates). */
  representative: TaxonomyClass[];
}

export function levelClasses(project: Project): LevelClasses[] {
  const values = levelValues(project);
  const fine = project.levels.length - 1;
  return project.levels.map((level, li) => {
    if (li === fine) return { level: level.name, names: project.classes.map((c) => c.name), ofClass: Int32Array.from(project.classes.keys()), representative: [...project.classes] };
    const names = values.get(level.name) ?? [];
    const index = new Map(names.map((v, i) => [v, i]));
    const representative: TaxonomyClass[] = [];
    const ofClass = Int32Array.from(project.classes, (c) => {
      const i = index.get(valueAt(project, c, level.name) ?? '') ?? -1;
      if (i >= 0 && !representative[i]) representative[i] = c;
      return i;
    });
    return { level: level.name, names, ofClass, representative };
  });
}

function classTemplates(project: Project): string[] {
  return project.templates?.class?.length ? project.templates.class : DEFAULT_TEMPLATES.class;
}

/** Template texts for a value, with its name replaced by `name`. */
function expand(project: Project, cls: TaxonomyClass, level: string, name?: string): string[] {
  const values = classTemplateValues(project, cls, level);
  if (name !== undefined) values.name = name;
  return classTemplates(project).map((t, i) => expandTemplate(t, values, `templates.class[${i}] for '${values.name}'`));
}

/** The value's ancestors, nearest first, below the coarse level (the templates name that one). */
function ancestors(project: Project, cls: TaxonomyClass, levelIndex: number): string[] {
  const out: string[] = [];
  for (let i = levelIndex - 1; i >= 1; i--) {
    const v = valueAt(project, cls, project.levels[i].name);
    if (v !== undefined && !out.includes(v)) out.push(v);
  }
  return out;
}

/** Deterministic random "words" of letters (mulberry32). */
export function randomDescriptors(options: ControlOptions): string[] {
  const next = mulberry32(options.seed);
  const word = () => Array.from({ length: 3 + Math.floor(next() * 6) }, () => String.fromCharCode(97 + Math.floor(next() * 26))).join('');
  return Array.from({ length: options.descriptors }, () => `${word()} ${word()}`);
}

/** A sentence that ends the template's text before a continuation. */
function stem(text: string): string {
  return text.replace(/[.\s]+$/, '');
}

/**
 * The texts of every class of a level, for a variant; undefined when the variant does not apply
 * (descriptions: no class of the project has one; at other levels than the fine one it is flat).
 */
export function levelPrompts(project: Project, lc: LevelClasses, variant: Variant, control: ControlOptions = CONTROL_DEFAULTS): string[][] | undefined {
  const li = project.levels.findIndex((l) => l.name === lc.level);
  const fine = li === project.levels.length - 1;
  switch (variant) {
    case 'flat':
      return lc.representative.map((c) => expand(project, c, lc.level));
    case 'hierarchical':
      return lc.representative.map((c) => {
        const up = ancestors(project, c, li);
        const name = valueAt(project, c, lc.level)!;
        return expand(project, c, lc.level, up.length > 0 ? `${name} (${up.join(', ')})` : name);
      });
    case 'descriptions': {
      if (!project.classes.some((c) => c.description?.trim())) return undefined;
      return lc.representative.map((c) => {
        const flat = expand(project, c, lc.level);
        const d = fine ? c.description?.trim() : undefined;
        return d ? flat.map((t) => `${stem(t)}. ${d.charAt(0).toUpperCase()}${d.slice(1)}${/[.!?]$/.test(d) ? '' : '.'}`) : flat;
      });
    }
    case 'control': {
      const descriptors = randomDescriptors(control);
      return lc.representative.map((c) => expand(project, c, lc.level).flatMap((t) => descriptors.map((d) => `${stem(t)}, which has ${d}.`)));
    }
  }
}
