// Small project files for the LLM and part tests, built from real FGVC-Aircraft names
// (test/data/aircraft).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Project } from '../../../src/core/taxonomy/model';
import { serializeProject } from '../../../src/core/taxonomy/project';
import { testData } from '../../helpers/paths';

function names(file: string): Set<string> {
  return new Set(readFileSync(path.join(testData, 'aircraft', file), 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean));
}

/** variant, family, manufacturer: as FGVC-Aircraft labels them. */
export const AIRCRAFT_SUBSET: Array<[string, string, string]> = [
  ['737-300', 'Boeing 737', 'Boeing'],
  ['737-800', 'Boeing 737', 'Boeing'],
  ['747-400', 'Boeing 747', 'Boeing'],
  ['767-300', 'Boeing 767', 'Boeing'],
  ['777-300', 'Boeing 777', 'Boeing'],
  ['A320', 'A320', 'Airbus'],
  ['A321', 'A320', 'Airbus'],
  ['A330-300', 'A330', 'Airbus'],
  ['A380', 'A380', 'Airbus'],
  ['ATR-72', 'ATR-72', 'ATR'],
  ['E-190', 'Embraer E-Jet', 'Embraer'],
  ['ERJ 145', 'Embraer ERJ 145', 'Embraer'],
  ['Fokker 100', 'Fokker 100', 'Fokker'],
];

/** The subset, checked against the dataset's own name files (throws if a name is not real). */
export function realAircraftSubset(rows = AIRCRAFT_SUBSET): Array<[string, string, string]> {
  const variants = names('variants.txt');
  const families = names('families.txt');
  const manufacturers = names('manufacturers.txt');
  for (const [v, f, m] of rows) {
    if (!variants.has(v) || !families.has(f) || !manufacturers.has(m)) throw new Error(`fixture row ${v}/${f}/${m} is not in ${testData}/aircraft`);
  }
  return rows;
}

export function aircraftProject(rows = realAircraftSubset()): Project {
  return {
    version: 1,
    name: 'FGVC-Aircraft subset',
    dataset: { format: 'aircraft', root: 'fgvc-aircraft-2013b' },
    levels: [
      { name: 'coarse', kind: 'nested' },
      { name: 'manufacturer', kind: 'nested' },
      { name: 'family', kind: 'nested' },
      { name: 'variant', kind: 'nested' },
    ],
    classes: rows.map(([v, f, m]) => ({ id: v, name: v, path: { coarse: 'aircraft', manufacturer: m, family: f } })),
    parts: { aircraft: [{ name: 'wing', prompts: ['wing'] }, { name: 'engine', prompts: ['engine', 'jet engine'] }] },
    templates: { class: ['a photo of a {name}, a type of {coarse}.'], part: ['a photo of the {part} of a {coarse}.'] },
  };
}

/** The project file text, with a comment so tests see that edits keep what they do not touch. */
export function aircraftProjectText(rows?: Array<[string, string, string]>): string {
  return serializeProject(aircraftProject(rows)).replace('{\n', '{\n  // curated by hand; keep this comment\n');
}

/** A suggested facet level the LLM tests reply with: body type over the subset. */
export function bodyLevel() {
  return {
    name: 'body',
    kind: 'facet' as const,
    after: 'family',
    values: [
      { name: 'narrow-body airliner', parent: '', members: ['737-300', '737-800', 'A320', 'A321'] },
      { name: 'wide-body airliner', parent: '', members: ['747-400', '767-300', '777-300', 'A330-300', 'A380'] },
      { name: 'regional airliner', parent: '', members: ['ATR-72', 'E-190', 'ERJ 145', 'Fokker 100'] },
    ],
  };
}
