// Replies cached on disk by request hash, so asking the same thing twice costs no request. Only
// replies that parsed and matched the schema are stored; a damaged entry counts as a miss.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { canonicalJson, sha256 } from '../parts/prompts';
import { writeFileAtomic } from '../util/atomicWrite';
import type { ChatMessage, JsonSchemaFormat, LlmSettings } from './client';

export interface CachedReply {
  version: 1;
  key: string;
  model: string;
  createdAt: string;
  content: string;
}

/** Everything that shapes the reply, and nothing secret (the API key is not part of it). */
export function requestKey(settings: Pick<LlmSettings, 'baseUrl' | 'model' | 'temperature'>, messages: ChatMessage[], format: JsonSchemaFormat): string {
  const hash = sha256(canonicalJson({ v: 1, baseUrl: settings.baseUrl, model: settings.model, temperature: settings.temperature, messages, format }));
  return hash.slice('sha256:'.length);
}

function fileOf(dir: string, key: string): string {
  return path.join(dir, `${key}.json`);
}

export async function readCachedReply(dir: string, key: string): Promise<CachedReply | undefined> {
  try {
    const entry = JSON.parse(await fs.readFile(fileOf(dir, key), 'utf8')) as CachedReply;
    return entry && entry.version === 1 && entry.key === key && typeof entry.content === 'string' ? entry : undefined;
  } catch {
    return undefined;
  }
}

export async function writeCachedReply(dir: string, entry: CachedReply): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(fileOf(dir, entry.key), JSON.stringify(entry, null, 1));
}
