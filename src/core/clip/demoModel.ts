// The embedded default model (`demo`): a small CLIP trained on the world of the tiny-birds sample
// (scripts/demo-clip/, weights committed in models/demo-clip/), so the demo, the CLI and the tests
// run with no download and get meaningful answers on the sample: its masks find the birds' parts
// and it tells the six species apart. It knows nothing beyond that world; point `--model` /
// `pscl.clip.model` at a real checkpoint for real images.
//
// The trained weights (5.9 MB) do not fit the VSIX's size budget, so an installed extension has
// no models/demo-clip: there `demo` falls back to a small random CLIP of the real layout,
// generated once in the cache, which shows the pipeline but not real parts. `resolveDemoModel`
// says which one it found.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CheckpointError, CONFIG_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE } from './checkpoint';
import { makeTinyClip, sharedMergesFile, type TinyClipOptions } from './tiny';

export const DEMO_MODEL_ID = 'pscl-demo-clip';
/** The random stand-in when the trained model is not installed. */
export const RANDOM_DEMO_MODEL_ID = 'pscl-tiny-clip-v1';

/** Where the trained demo model lives below the package (or repository) root. */
export const DEMO_MODEL_PATH = path.join('models', 'demo-clip');

/** The random stand-in's shape (also the tests' small model of the real layout). */
export const RANDOM_DEMO_OPTIONS: Partial<TinyClipOptions> = {
  width: 64,
  layers: 3,
  heads: 4,
  patch: 16,
  imageSize: 224,
  textWidth: 64,
  textLayers: 2,
  textHeads: 4,
  embedDim: 64,
  seed: 2026,
};

const REQUIRED = [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE];

/**
 * The trained demo model's folder: `models/demo-clip` in `packageRoot` or the nearest folder above
 * it that has one (the bundles run from dist/, the sources from src/<area>/); undefined when there
 * is none. A folder that lacks one of the files the core needs is an error naming them, not a
 * reason to fall back.
 */
export function findDemoModel(packageRoot: string): string | undefined {
  let dir = path.resolve(packageRoot);
  for (let up = 0; up < 4; up++) {
    const model = path.join(dir, DEMO_MODEL_PATH);
    if (existsSync(model)) {
      const missing = REQUIRED.filter((f) => !existsSync(path.join(model, f)));
      if (missing.length > 0) {
        throw new CheckpointError(
          `the demo CLIP model is incomplete: ${missing.map((f) => path.join(model, f)).join(', ')} missing; in a checkout run \`npm run demo-clip\` to make it again (or \`git checkout ${DEMO_MODEL_PATH}\`)`,
        );
      }
      return model;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** The trained demo model's folder, or an error saying where it was looked for. */
export function demoModelDir(packageRoot: string): string {
  const dir = findDemoModel(packageRoot);
  if (!dir) throw new CheckpointError(`the trained demo CLIP model (${DEMO_MODEL_PATH}) is not in ${path.resolve(packageRoot)} or a folder above it`);
  return dir;
}

export interface DemoModel {
  dir: string;
  id: string;
  /** false: the random stand-in (masks show the pipeline, not parts). */
  trained: boolean;
}

/** The trained demo model when the package has it, else the random stand-in, generated once under `cacheRoot`. */
export async function resolveDemoModel(cacheRoot: string, packageRoot: string): Promise<DemoModel> {
  const trained = findDemoModel(packageRoot);
  if (trained) return { dir: trained, id: DEMO_MODEL_ID, trained: true };
  return { dir: await ensureRandomDemoModel(cacheRoot, packageRoot), id: RANDOM_DEMO_MODEL_ID, trained: false };
}

/** The demo model's folder (trained, else the random stand-in): for callers that need only the path. */
export async function ensureDemoModel(cacheRoot: string, packageRoot: string): Promise<string> {
  return (await resolveDemoModel(cacheRoot, packageRoot)).dir;
}

/**
 * The random stand-in's folder under `cacheRoot`, generated on first use. The real CLIP
 * vocabulary is used when its merges file is available (repoRoot/../shared/data or
 * PSCL_SHARED_DATA), else a small one: the folder name says which, so both can coexist.
 */
export async function ensureRandomDemoModel(cacheRoot: string, repoRoot?: string): Promise<string> {
  const merges = repoRoot ? sharedMergesFile(repoRoot) : undefined;
  const real = merges !== undefined && existsSync(merges);
  const dir = path.join(cacheRoot, 'models', `${RANDOM_DEMO_MODEL_ID}-${real ? 'clipvocab' : 'smallvocab'}`);
  if (REQUIRED.every((f) => existsSync(path.join(dir, f)))) return dir;
  makeTinyClip(dir, { ...RANDOM_DEMO_OPTIONS, vocab: real ? 'real' : 'small', mergesFile: merges });
  return dir;
}

/** What a command says when it uses the demo model. */
export function describeDemoModel(m: DemoModel): string {
  return m.trained
    ? 'the built-in demo model (a small CLIP trained on the tiny-birds sample\'s world only)'
    : `the random stand-in of the demo model (${DEMO_MODEL_PATH} is not installed here: the trained one ships with the repository, not the extension package; masks show the pipeline, not real parts)`;
}
