// Where CLIP models come from: a local folder or a Hugging Face Hub repo, the Hub's URLs,
// the cache layout and the user-facing errors for the Hub's answers. The transfer itself is
// in download.ts.
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PsclError } from '../errors';

export const DEFAULT_CLIP_MODEL = 'openai/clip-vit-base-patch16';
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

/** The files of a Hugging Face CLIP folder, small ones first so a wrong repo fails fast. */
export const CLIP_MODEL_FILES = ['config.json', 'tokenizer_config.json', 'tokenizer.json', 'model.safetensors'] as const;

export type ModelSpec = { kind: 'local'; dir: string } | { kind: 'repo'; repo: string };

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9_.-]+$/;

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function looksLikePath(spec: string): boolean {
  return path.isAbsolute(spec) || spec.startsWith('.') || spec.startsWith('~') || spec.includes('\\');
}

/**
 * Reads a `pscl.clip.model` value. An existing folder wins over a repo id of the same
 * spelling (as in transformers); relative folders resolve against `cwd`.
 */
export function parseModelSpec(spec: string, cwd = process.cwd()): ModelSpec {
  const s = spec.trim();
  if (!s) throw new PsclError(`the model is empty: set pscl.clip.model to a Hub repo id (e.g. ${DEFAULT_CLIP_MODEL}) or a local folder`);
  const local = path.resolve(cwd, expandHome(s));
  if (looksLikePath(s) || (existsSync(local) && statSync(local).isDirectory())) return { kind: 'local', dir: local };
  if (REPO_ID.test(s) && !s.includes('..') && !s.includes('--')) return { kind: 'repo', repo: s };
  throw new PsclError(`'${s}' is neither a Hub repo id (owner/name, e.g. ${DEFAULT_CLIP_MODEL}) nor an existing folder: check pscl.clip.model`);
}

export interface HubSettings {
  endpoint: string;
  token?: string;
}

/** PSCL_HF_ENDPOINT (or HF_ENDPOINT) and HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) from an environment. */
export function hubSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const endpoint = env.PSCL_HF_ENDPOINT || env.HF_ENDPOINT || DEFAULT_HF_ENDPOINT;
  const token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  return { endpoint, token };
}

/** `~/.cache/pscl-studio/models`, or under XDG_CACHE_HOME when set. */
export function defaultModelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'pscl-studio', 'models');
}

export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** `<cache>/<owner>--<name>/<revision>`; the revision is escaped so "refs/pr/1" stays one folder. */
export function repoCacheDir(cacheDir: string, repo: string, revision: string): string {
  return path.join(cacheDir, repo.replace('/', '--'), encodeURIComponent(revision));
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export interface HubRequestContext {
  repo: string;
  revision: string;
  file: string;
  url: string;
  withToken: boolean;
}

/** The error for a Hub HTTP status that will not improve by retrying. */
export function hubHttpError(status: number, ctx: HubRequestContext): PsclError {
  const where = `${ctx.repo}@${ctx.revision}/${ctx.file} at ${hostOf(ctx.url)}`;
  if (status === 404) {
    return new PsclError(`repo or file not found: ${where} (HTTP 404): check pscl.clip.model (a Hub repo id such as ${DEFAULT_CLIP_MODEL}, or a local folder) and the revision`, 'input');
  }
  if (status === 401 || status === 403) {
    const advice = ctx.withToken
      ? 'the token in HF_TOKEN was refused or lacks access: check it, and accept the model\'s terms on the Hub if it is gated'
      : 'the repo is gated or private: accept its terms on the Hub and set HF_TOKEN, or point pscl.clip.model at a local folder';
    return new PsclError(`access denied to ${where} (HTTP ${status}): ${advice}`, 'auth');
  }
  return new PsclError(`the Hub answered HTTP ${status} for ${where}`, status >= 500 || status === 429 || status === 408 ? 'network' : 'input');
}

/** Statuses worth another attempt. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** The system error code behind a fetch failure (fetch wraps it in `cause`). */
export function networkErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.cause?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Name resolution failures: the machine is offline or the endpoint is misspelt. */
export function isHostUnknown(code: string | undefined): boolean {
  return code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

export function offlineError(url: string, reason: string): PsclError {
  return new PsclError(
    `cannot reach ${hostOf(url)} (${reason}): check the network connection or PSCL_HF_ENDPOINT, or set pscl.clip.model to a local folder holding ${CLIP_MODEL_FILES.join(', ')}`,
    'network',
  );
}
