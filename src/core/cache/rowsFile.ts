// What the cache's per-image float files share (image embeddings, keypoint features): a name that
// carries 8 hex digits of the file's sha256, so a build writes its new file beside the old one and
// the previous manifest stays valid until the new manifest replaces it; vectors in journal lines
// as base64 of float32 little-endian.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomicWrite';
import { bytesSha256, shortHash } from './hashes';

/** `<prefix>-<8 hex>.safetensors`, and nothing else (never a path). */
export function isContentNamed(prefix: string, name: string): boolean {
  return new RegExp(`^${prefix}-[0-9a-f]{8}\\.safetensors$`).test(name);
}

/** Writes `bytes` as `<prefix>-<h>.safetensors` (unless that file already holds them); returns its name and hash. */
export async function writeContentNamed(dir: string, prefix: string, bytes: Buffer): Promise<{ file: string; sha256: string }> {
  const sha256 = bytesSha256(bytes);
  const file = `${prefix}-${shortHash(sha256)}.safetensors`;
  const existing = await fs.readFile(path.join(dir, file)).catch(() => undefined);
  if (!existing || bytesSha256(existing) !== sha256) await writeFileAtomic(path.join(dir, file), bytes);
  return { file, sha256 };
}

/** The journal of shard K of N for a journal named `progress-X.jsonl`: `progress-X-shard-K-of-N.jsonl`. */
export function shardJournalName(journal: string, index: number, count: number): string {
  return journal.replace(/\.jsonl$/, `-shard-${index}-of-${count}.jsonl`);
}

/** The journals of `journal` in DIR: the whole build's, then the shards' (sharded builds, build.ts). */
export async function journalFiles(dir: string, journal: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const stem = journal.replace(/\.jsonl$/, '');
  const shards = names.filter((n) => n.startsWith(`${stem}-shard-`) && /-shard-\d+-of-\d+\.jsonl$/.test(n)).sort();
  return [...(names.includes(journal) ? [journal] : []), ...shards];
}

/** Files of `prefix` other than `keep`, and the journals (shards' too), once the manifest no longer needs them. */
export async function removeContentNamed(dir: string, prefix: string, keep: string | undefined, journal: string): Promise<void> {
  for (const file of await journalFiles(dir, journal)) await fs.rm(path.join(dir, file), { force: true });
  for (const name of await fs.readdir(dir)) {
    if (isContentNamed(prefix, name) && name !== keep) await fs.rm(path.join(dir, name), { force: true });
  }
}

export function floatsToBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/** The vector, or undefined when the text is not `count` float32 values. */
export function floatsFromBase64(s: string, count: number): Float32Array | undefined {
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length !== count * 4) return undefined;
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
