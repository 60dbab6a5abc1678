// The embedded default model: a small random CLIP of the real layout, generated once,
// deterministically, so the demo, the CLI and the tests run with no download. Its masks show how
// the pipeline behaves, not what a trained CLIP sees; point `--model` / `pscl.clip.model` at a
// real checkpoint for that.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeTinyClip, sharedMergesFile, type TinyClipOptions } from './tiny';

export const DEMO_MODEL_ID = 'pscl-tiny-clip-v1';

export const DEMO_MODEL_OPTIONS: Partial<TinyClipOptions> = {
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

const REQUIRED = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

/**
 * The demo model's folder under `cacheRoot`, generated on first use. The real CLIP vocabulary is
 * used when its merges file is available (repoRoot/../shared/data or PSCL_SHARED_DATA), else a
 * small one: the folder name says which, so both can coexist.
 */
export async function ensureDemoModel(cacheRoot: string, repoRoot?: string): Promise<string> {
  const merges = repoRoot ? sharedMergesFile(repoRoot) : undefined;
  const real = merges !== undefined && existsSync(merges);
  const dir = path.join(cacheRoot, 'models', `${DEMO_MODEL_ID}-${real ? 'clipvocab' : 'smallvocab'}`);
  if (REQUIRED.every((f) => existsSync(path.join(dir, f)))) return dir;
  makeTinyClip(dir, { ...DEMO_MODEL_OPTIONS, vocab: real ? 'real' : 'small', mergesFile: merges });
  return dir;
}
