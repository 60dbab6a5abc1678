// The table of `pscl` commands by topic (as in the README), each loaded when it runs, and the
// package version: shared by main.ts (help, dispatch); completion.ts is handed the table.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CommandEntry as Entry } from './command';

export const TOPICS: Array<[string, Record<string, Entry>]> = [
  [
    'Project files',
    {
      import: { summary: "build a project file from a dataset's own files", load: () => import('./commands/import').then((m) => m.command) },
      validate: { summary: 'check project files: FILE:LINE:COL problems, exit 1 on errors', load: () => import('./commands/validate').then((m) => m.command) },
      info: { summary: 'levels, classes, parts and images per split of a project', load: () => import('./commands/info').then((m) => m.command) },
      curate: { summary: "what is wrong with a project's images: leaks, mislabels, duplicates, unreadable files", load: () => import('./commands/curate').then((m) => m.command) },
    },
  ],
  [
    'LLM suggestions',
    {
      suggest: { summary: 'intermediate categories, part prompts or class descriptions from an LLM, as a diff', load: () => import('./commands/suggest').then((m) => m.command) },
    },
  ],
  [
    'Part masks and CLIP',
    {
      masks: { summary: "ClearCLIP part masks of an image with a project's part prompts", load: () => import('./commands/masks').then((m) => m.command) },
      clip: { summary: 'CLIP text embeddings, dense features, and the tiny test model', load: () => import('./commands/clip').then((m) => m.command) },
      model: { summary: 'fetch a CLIP model from the Hugging Face Hub into the cache', load: () => import('./commands/model').then((m) => m.command) },
    },
  ],
  [
    'Training cache',
    {
      cache: { summary: 'build or verify the training cache (masks, prototypes, manifest)', load: () => import('./commands/cache').then((m) => m.command) },
      lint: { summary: 'taxonomy lint from the text prototypes (siblings CLIP cannot tell apart)', load: () => import('./commands/lint').then((m) => m.command) },
      prompts: { summary: 'prompt quality: zero-shot accuracy per level, part hit rates, A/B of two prompt sets', load: () => import('./commands/prompts').then((m) => m.command) },
    },
  ],
  [
    'Runs',
    {
      train: { summary: 'train a PSCL model into a run folder, streaming progress', load: () => import('./commands/train').then((m) => m.command) },
      runs: { summary: 'list the runs of a folder with their status and best accuracy', load: () => import('./commands/runs').then((m) => m.command) },
      eval: { summary: "a run's per-level accuracy and most confused classes", load: () => import('./commands/eval').then((m) => m.command) },
      classify: { summary: "top classes of an image with a run's exported model", load: () => import('./commands/classify').then((m) => m.command) },
    },
  ],
  [
    'Shell',
    {
      completion: { summary: 'print a completion script: pscl completion bash|zsh', load: () => import('./completion').then((m) => m.completionCommand(COMMANDS)) },
    },
  ],
];

export const COMMANDS: Record<string, Entry> = Object.assign({}, ...TOPICS.map(([, entries]) => entries));

/** The version in the package.json above this file (the bundle lives in dist/, the source in src/cli/). */
export function version(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pscl-studio' && pkg.version) return pkg.version;
    }
  }
  return 'unknown';
}
