// Built graphs on disk, keyed by what they depend on (weights hash, graph kind, variant, input
// size, builder version), so a second start loads them instead of rebuilding. Files are written
// atomically; a cache folder can be deleted at any time.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomicSync as writeFileAtomic } from '../util/atomicWrite';
import { hashFiles } from './checkpoint';

/** Bump when a graph builder changes what it emits: old cache entries are then ignored. */
export const GRAPH_BUILDER_VERSION = 2;

export function defaultCacheDir(): string {
  if (process.env.PSCL_CACHE_DIR) return path.join(process.env.PSCL_CACHE_DIR, 'clip');
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'pscl', 'clip');
}

export class GraphCache {
  constructor(readonly dir: string) {}

  file(key: Record<string, unknown>): string {
    const digest = createHash('sha256').update(JSON.stringify({ ...key, builder: GRAPH_BUILDER_VERSION })).digest('hex').slice(0, 32);
    return path.join(this.dir, `${String(key.kind)}-${digest}.onnx`);
  }

  /**
   * The cached graph (its path), building and storing it first when missing. When the cache
   * folder cannot be written the built bytes come back instead, with the reason: the model still
   * works, only the next start is slower.
   */
  getOrBuild(key: Record<string, unknown>, build: () => Uint8Array): { file: string; built: boolean; bytes?: Uint8Array; unwritable?: string } {
    const file = this.file(key);
    if (existsSync(file)) return { file, built: false };
    const bytes = build();
    try {
      writeFileAtomic(file, bytes);
    } catch (err) {
      return { file, built: true, bytes, unwritable: (err as Error).message };
    }
    return { file, built: true };
  }

  /**
   * sha256 of the files, remembered per (path, size, mtime) in `hashes.json` so a second start
   * does not reread gigabytes of weights.
   */
  hashFiles(files: string[]): string {
    const index = path.join(this.dir, 'hashes.json');
    let known: Record<string, string> = {};
    try {
      known = JSON.parse(readFileSync(index, 'utf8')) as Record<string, string>;
    } catch {
      known = {};
    }
    const id = JSON.stringify(files.map((f) => {
      const s = statSync(f);
      return [path.resolve(f), s.size, s.mtimeMs];
    }));
    const hit = known[id];
    if (hit) return hit;
    const hash = hashFiles(files);
    known[id] = hash;
    try {
      writeFileAtomic(index, JSON.stringify(known, null, 1));
    } catch {
      // an unwritable cache only means hashing again next time
    }
    return hash;
  }
}
