// Which CLIP model a CLI command uses: --model (a folder or a Hub repo id, downloaded once with
// progress; `demo` as in pscl.clip.model), else $PSCL_CLIP_MODEL, else the embedded demo model (a small CLIP trained on the
// tiny-birds sample's world, committed in models/demo-clip/; its random stand-in where that is
// not installed).
import path from 'node:path';
import { ClipModel } from '../core/clip';
import { describeDemoModel, resolveDemoModel, type DemoModel } from '../core/clip/demoModel';
import { describeDownloadProgress, resolveModel as resolveModelSpec } from '../core/clip/download';
import { defaultModelCacheDir } from '../core/clip/hub';
import { DEMO_MODEL_SPEC } from '../core/rpc/masks';
import { psclCacheRoot } from '../core/util/cacheDir';
import { CliError } from './command';

/** The package root: dist/cli.js lives one folder below it. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

export interface ResolvedModel {
  dir: string;
  id: string;
  demo: boolean;
  /** The demo model found (trained, or its random stand-in) when `demo`. */
  demoModel?: DemoModel;
}

export async function resolveModel(command: string, arg?: string): Promise<ResolvedModel> {
  const given = arg ?? process.env.PSCL_CLIP_MODEL;
  if (!given || given === DEMO_MODEL_SPEC) {
    try {
      const demoModel = await resolveDemoModel(psclCacheRoot(), PACKAGE_ROOT);
      return { dir: demoModel.dir, id: demoModel.id, demo: true, demoModel };
    } catch (err) {
      throw new CliError(`${command}: ${(err as Error).message}`, 2);
    }
  }
  let lastLine = 0;
  try {
    const r = await resolveModelSpec(given, {
      cacheDir: defaultModelCacheDir(),
      onProgress: (p) => {
        if (Date.now() - lastLine < 500 && p.phase === 'downloading') return;
        lastLine = Date.now();
        process.stderr.write(`${command}: ${describeDownloadProgress(p)}\n`);
      },
    });
    return { dir: r.dir, id: r.repo ?? path.basename(r.dir), demo: false };
  } catch (err) {
    throw new CliError(`${command}: ${(err as Error).message}`, 2);
  }
}

export async function loadModel(command: string, resolved: ResolvedModel, log?: (m: string) => void): Promise<ClipModel> {
  if (resolved.demoModel) {
    process.stderr.write(`${command}: using ${describeDemoModel(resolved.demoModel)}; pass --model DIR|REPO for a real checkpoint\n`);
  }
  try {
    return await ClipModel.load(resolved.dir, { log });
  } catch (err) {
    throw new CliError(`${command}: ${(err as Error).message}`, 2);
  }
}
