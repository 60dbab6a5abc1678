// The one user cache folder of PSCL Studio's CLI and backend (the extension passes its global
// storage instead): PSCL_CACHE_DIR, else $XDG_CACHE_HOME/pscl-studio, else ~/.cache/pscl-studio.
// Below it: graphs/ (built ONNX graphs), models/ (downloaded and demo CLIP models), llm/ (replies).
import os from 'node:os';
import path from 'node:path';

export function psclCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PSCL_CACHE_DIR) return path.resolve(env.PSCL_CACHE_DIR);
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'pscl-studio');
}

export function psclCacheDir(kind: 'graphs' | 'models' | 'llm', env: NodeJS.ProcessEnv = process.env): string {
  if (kind === 'models' && env.PSCL_MODEL_CACHE) return path.resolve(env.PSCL_MODEL_CACHE);
  return path.join(psclCacheRoot(env), kind);
}
