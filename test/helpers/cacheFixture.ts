// Fixtures for the cache tests and benchmark: the tiny CLIP (generated), a private copy of the
// sample dataset (so tests may edit the project and corrupt images), and JSON edits of a project.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { buildCache, clipEncoders, type BuildCacheOptions, type CacheBuildResult, type CacheEncoders } from '../../src/core/cache';
import { ClipModel } from '../../src/core/clip/model';
import { makeTinyClip, type TinyClipOptions } from '../../src/core/clip/tiny';
import { repoRoot, tempDir } from './paths';

export const SAMPLE_DIR = path.join(repoRoot, 'samples', 'tiny-birds');
export const SAMPLE_PROJECT = 'tiny-birds.pscl.json';

/** Writes the tiny CLIP (or another shape) into `dir` and returns it. */
export function tinyModel(dir: string, options: Partial<TinyClipOptions> = {}): string {
  makeTinyClip(dir, options);
  return dir;
}

/** cpSync's filter for a copy of the sample: the committed files only, not the training cache a
 * `pscl train --project` in the checkout leaves beside them (git ignores it; a test expects none). */
export const sampleFilesOnly = (src: string): boolean => path.basename(src) !== '.pscl-cache';

/** Copies samples/tiny-birds into `dir`; returns the project file there. */
export function copySample(dir: string, keepImages?: number): string {
  cpSync(SAMPLE_DIR, dir, { recursive: true, filter: sampleFilesOnly });
  if (keepImages !== undefined) {
    // CUB lists: keep the first N images (the importer reads images.txt)
    const list = path.join(dir, 'CUB_tiny', 'images.txt');
    writeFileSync(list, readFileSync(list, 'utf8').split('\n').filter(Boolean).slice(0, keepImages).join('\n') + '\n');
  }
  return path.join(dir, SAMPLE_PROJECT);
}

/** Rewrites a project file through a function of its JSON. */
export interface ProjectJson {
  name: string;
  classes: { id: string; name: string; path: Record<string, string> }[];
  parts: Record<string, { name: string; prompts: string[] }[]>;
  templates: { class: string[]; part: string[] };
}

export function editProject(file: string, edit: (p: ProjectJson) => void): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as ProjectJson;
  edit(p);
  writeFileSync(file, JSON.stringify(p, null, 2));
}

/**
 * What a cache test file shares: a temp folder, the tiny CLIP loaded once (before/after hooks of
 * the calling file), private copies of the sample, and a build at input size 32 in batches of 4.
 */
export function cacheTestBed(prefix: string) {
  const tmp = tempDir(prefix);
  after(tmp.cleanup);
  let model: ClipModel | undefined;
  let encoders: CacheEncoders | undefined;
  before(async () => {
    model = await ClipModel.load(tinyModel(path.join(tmp.dir, 'tiny')), { provider: 'cpu', cacheDir: path.join(tmp.dir, 'graphs') });
    encoders = clipEncoders(model);
  });
  after(() => model?.dispose());
  let n = 0;
  return {
    tmp,
    model: () => model!,
    encoders: () => encoders!,
    sample(): { project: string; out: string } {
      const dir = path.join(tmp.dir, `sample${n++}`);
      return { project: copySample(dir), out: path.join(dir, 'cache') };
    },
    build: (project: string, out: string, extra: Partial<BuildCacheOptions> = {}): Promise<CacheBuildResult> =>
      buildCache({ projectFile: project, outDir: out, encoders: encoders!, batchSize: 4, settings: { inputSize: 32 }, ...extra }),
  };
}
