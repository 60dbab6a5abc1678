// Which CLIP model a CLI command uses: --model DIR, else $PSCL_CLIP_MODEL, else the embedded
// demo model (a small random CLIP generated once under the cache folder).
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClipModel } from '../core/clip';
import { DEMO_MODEL_ID, ensureDemoModel } from '../core/clip/demoModel';
import { CliError } from './command';

/** The package root: dist/cli.js lives one folder below it. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

export function cacheRoot(): string {
  if (process.env.PSCL_CACHE_DIR) return process.env.PSCL_CACHE_DIR;
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'pscl');
}

export interface ResolvedModel {
  dir: string;
  id: string;
  demo: boolean;
}

export async function resolveModel(command: string, arg?: string): Promise<ResolvedModel> {
  const given = arg ?? process.env.PSCL_CLIP_MODEL;
  if (given) {
    const dir = path.resolve(given);
    if (!existsSync(dir)) {
      throw new CliError(`${command}: model folder ${given} does not exist; give a Hugging Face CLIP folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json)`, 2);
    }
    return { dir, id: path.basename(dir), demo: false };
  }
  const dir = await ensureDemoModel(cacheRoot(), PACKAGE_ROOT);
  return { dir, id: DEMO_MODEL_ID, demo: true };
}

export async function loadModel(command: string, resolved: ResolvedModel, log?: (m: string) => void): Promise<ClipModel> {
  if (resolved.demo) {
    process.stderr.write(`${command}: using the built-in demo model (a small random CLIP: masks show the pipeline, not real parts); pass --model DIR for a real checkpoint\n`);
  }
  try {
    return await ClipModel.load(resolved.dir, { log });
  } catch (err) {
    throw new CliError(`${command}: ${(err as Error).message}`, 2);
  }
}
