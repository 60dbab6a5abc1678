// Resolves `pscl.clip.model` to a local CLIP folder: a local folder is checked, a Hub repo is
// downloaded once into the cache. Downloads go to `<file>.part`, resume with HTTP Range, are
// checked against the announced size (and sha256 when the Hub gives one) and renamed into
// place only when complete, so the cache never holds a partial file under its final name.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, PsclError } from '../errors';
import {
  CLIP_MODEL_FILES,
  DEFAULT_REVISION,
  hostOf,
  hubHttpError,
  hubSettingsFromEnv,
  isHostUnknown,
  isRetryableStatus,
  networkErrorCode,
  offlineError,
  parseModelSpec,
  repoCacheDir,
  resolveUrl,
  type HubRequestContext,
} from './hub';

export interface DownloadProgress {
  phase: 'checking' | 'downloading' | 'verifying' | 'done';
  file: string;
  fileIndex: number;
  fileCount: number;
  fileDone: number;
  fileTotal: number | null;
  /** Bytes of all files (those already complete count in full). */
  done: number;
  total: number | null;
  /** Bytes per second over the last few seconds. */
  bytesPerSecond: number;
}

export interface ResolveModelOptions {
  cacheDir: string;
  revision?: string;
  /** Default: PSCL_HF_ENDPOINT, HF_ENDPOINT, https://huggingface.co. */
  endpoint?: string;
  /** Default: HF_TOKEN. Sent only to the endpoint's origin, never logged. */
  token?: string;
  /** Use the cache only. */
  offline?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Abort an attempt when no byte arrives for this long (default 30 s). */
  idleTimeoutMs?: number;
  /** Further attempts per request after a network failure (default 4). */
  retries?: number;
  /** First backoff delay; doubles per attempt (default 1000 ms). */
  retryDelayMs?: number;
  /** Relative local folders resolve against this (default process.cwd()). */
  cwd?: string;
}

export interface ResolvedModel {
  dir: string;
  source: 'local' | 'cache' | 'download';
  repo?: string;
  revision?: string;
  bytesDownloaded: number;
}

/** Checks that a folder holds every file of a CLIP model; names the missing ones. */
export async function checkModelFolder(dir: string): Promise<void> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new PsclError(`model folder not found: ${dir}: check pscl.clip.model`);
  const missing = CLIP_MODEL_FILES.filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    throw new PsclError(
      `${dir} is not a CLIP model folder: missing ${missing.join(', ')} (a Hugging Face CLIP folder holds ${CLIP_MODEL_FILES.join(', ')})`,
    );
  }
}

export async function resolveModel(spec: string, options: ResolveModelOptions): Promise<ResolvedModel> {
  const parsed = parseModelSpec(spec, options.cwd);
  if (parsed.kind === 'local') {
    await checkModelFolder(parsed.dir);
    return { dir: parsed.dir, source: 'local', bytesDownloaded: 0 };
  }
  const revision = options.revision || DEFAULT_REVISION;
  const dir = repoCacheDir(options.cacheDir, parsed.repo, revision);
  const base = { dir, repo: parsed.repo, revision };
  if (CLIP_MODEL_FILES.every((f) => existsSync(path.join(dir, f)))) return { ...base, source: 'cache', bytesDownloaded: 0 };
  if (options.offline) {
    throw new PsclError(`${parsed.repo}@${revision} is not in the model cache ${options.cacheDir}: download it first (pscl model fetch ${parsed.repo}) or use a local folder`);
  }
  const running = downloadsInThisProcess.get(dir);
  if (running) {
    // Another caller here is fetching the same model: wait for it, then look again (a cache hit
    // if it succeeded, our own attempt if it failed or was cancelled).
    await Promise.race([running.catch(() => undefined), abortPromise(options.signal)]);
    if (options.signal?.aborted) throw new CancelledError(`resolving ${parsed.repo} was cancelled`);
    return resolveModel(spec, options);
  }
  const download = (async () => {
    await fs.mkdir(dir, { recursive: true });
    const release = await lockFolder(dir, parsed.repo);
    try {
      return await new RepoDownload(parsed.repo, revision, dir, options).run();
    } finally {
      await release();
    }
  })();
  downloadsInThisProcess.set(dir, download);
  try {
    return { ...base, source: 'download', bytesDownloaded: await download };
  } finally {
    downloadsInThisProcess.delete(dir);
  }
}

/** Downloads running in this process, by cache folder. */
const downloadsInThisProcess = new Map<string, Promise<number>>();

function abortPromise(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** One process downloads into a cache folder at a time (the extension and a CLI may race). */
async function lockFolder(dir: string, repo: string): Promise<() => Promise<void>> {
  const lock = path.join(dir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fs.open(lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => fs.rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await fs.readFile(lock, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new PsclError(`${repo} is already being downloaded into ${dir} by process ${pid}: wait for it to finish or cancel it`);
      }
      await fs.rm(lock, { force: true }); // left by a process that died
    }
  }
  throw new PsclError(`could not lock ${dir} for downloading ${repo}: remove ${lock} if no download is running`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface FileMeta {
  size: number | null;
  sha256: string | null;
}

/** A failure that another attempt may fix; `error` is what the user sees if none does. */
class RetryableError extends Error {
  constructor(
    readonly error: PsclError,
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
  }
}

const SHA256 = /^[0-9a-f]{64}$/;

function sha256FromEtag(value: string | null): string | null {
  const v = (value ?? '').replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
  return SHA256.test(v) ? v : null;
}

function retryAfterMs(res: Response): number | undefined {
  const s = Number(res.headers.get('retry-after'));
  return Number.isFinite(s) && s > 0 ? Math.min(s, 60) * 1000 : undefined;
}

class RepoDownload {
  private readonly endpoint: string;
  private readonly token?: string;
  private readonly idleTimeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly metas = new Map<string, FileMeta>();
  private completedBytes = 0;
  private fetchedBytes = 0;
  private readonly samples: Array<[number, number]> = [];
  private lastReport = 0;

  constructor(
    private readonly repo: string,
    private readonly revision: string,
    private readonly dir: string,
    private readonly options: ResolveModelOptions,
  ) {
    const env = hubSettingsFromEnv();
    this.endpoint = options.endpoint || env.endpoint;
    this.token = options.token ?? env.token;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.retries = options.retries ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
  }

  async run(): Promise<number> {
    const files = CLIP_MODEL_FILES.filter((f) => !existsSync(path.join(this.dir, f)));
    for (const [i, file] of files.entries()) {
      this.report('checking', file, i, files.length, 0, null, true);
      this.metas.set(file, await this.withRetries(file, () => this.head(file)));
    }
    for (const [i, file] of files.entries()) {
      const dest = path.join(this.dir, file);
      const part = `${dest}.part`;
      const meta = this.metas.get(file)!;
      await this.withRetries(file, () => this.transfer(file, part, meta, i, files.length));
      this.report('verifying', file, i, files.length, meta.size ?? 0, meta.size, true);
      await this.verify(file, part, meta);
      await fs.rename(part, dest);
      this.completedBytes += (await fs.stat(dest)).size;
      if (i === files.length - 1) this.report('done', file, i, files.length, meta.size ?? 0, meta.size, true);
    }
    return this.fetchedBytes;
  }

  private context(file: string): HubRequestContext {
    const url = resolveUrl(this.endpoint, this.repo, this.revision, file);
    return { repo: this.repo, revision: this.revision, file, url, withToken: Boolean(this.token) };
  }

  private async withRetries<T>(file: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      this.throwIfCancelled(file);
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof RetryableError)) throw err;
        if (n >= this.retries) {
          throw new PsclError(`${err.error.message} (gave up after ${n + 1} attempts; run again to resume)`, err.error.kind);
        }
        const delay = err.retryAfterMs ?? Math.min(this.retryDelayMs * 2 ** n, 30_000);
        try {
          await sleep(delay, undefined, { signal: this.options.signal });
        } catch {
          this.throwIfCancelled(file);
        }
      }
    }
  }

  private throwIfCancelled(file: string): void {
    if (this.options.signal?.aborted) {
      throw new CancelledError(`download of ${this.repo}/${file} was cancelled; what arrived is kept in ${this.dir} to resume`);
    }
  }

  /**
   * Fetches with our own redirect handling: the Hub answers LFS files with a redirect to a CDN
   * whose first hop carries X-Linked-Size and X-Linked-Etag, and the token must not follow the
   * redirect to another host. `stopAtLinked` ends a HEAD at the hop that has the metadata.
   */
  private async fetchHops(
    file: string,
    method: 'GET' | 'HEAD',
    extra: Record<string, string>,
    signal: AbortSignal,
    stopAtLinked = false,
  ): Promise<{ res: Response; hops: Headers[] }> {
    const ctx = this.context(file);
    const origin = new URL(ctx.url).origin;
    let url = ctx.url;
    const hops: Headers[] = [];
    for (let i = 0; i < 10; i++) {
      const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'pscl-studio', ...extra };
      if (this.token && new URL(url).origin === origin) headers.authorization = `Bearer ${this.token}`;
      let res: Response;
      try {
        res = await fetch(url, { method, headers, redirect: 'manual', signal });
      } catch (err) {
        throw this.networkFailure(file, url, err);
      }
      hops.push(res.headers);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel().catch(() => undefined);
        if (stopAtLinked && res.headers.get('x-linked-size')) return { res, hops };
        url = new URL(location, url).toString();
        continue;
      }
      if (!res.ok && res.status !== 416) {
        await res.body?.cancel().catch(() => undefined);
        const error = hubHttpError(res.status, ctx);
        throw isRetryableStatus(res.status) ? new RetryableError(error, retryAfterMs(res)) : error;
      }
      return { res, hops };
    }
    throw new PsclError(`too many redirects fetching ${ctx.url}`, 'network');
  }

  /** Maps a thrown fetch/stream error: cancellation, our idle timeout, an unknown host, or a retryable failure. */
  private networkFailure(file: string, url: string, err: unknown): Error {
    if (err instanceof RetryableError || err instanceof PsclError) return err;
    if (this.options.signal?.aborted) {
      return new CancelledError(`download of ${this.repo}/${file} was cancelled; what arrived is kept in ${this.dir} to resume`);
    }
    const code = networkErrorCode(err);
    if (isHostUnknown(code)) return offlineError(url, `host not found: ${code}`);
    const reason = (err as Error)?.name === 'TimeoutError' ? `no data for ${this.idleTimeoutMs / 1000} s` : code ?? (err as Error)?.message ?? String(err);
    return new RetryableError(offlineError(url, reason));
  }

  private async head(file: string): Promise<FileMeta> {
    const timeout = AbortSignal.timeout(this.idleTimeoutMs);
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
    try {
      const { res, hops } = await this.fetchHops(file, 'HEAD', {}, signal, true);
      const linkedSize = hops.map((h) => h.get('x-linked-size')).find((v) => v);
      const length = linkedSize ?? (res.status === 200 ? res.headers.get('content-length') : null);
      const sha256 = hops.map((h) => sha256FromEtag(h.get('x-linked-etag'))).find((v) => v) ?? sha256FromEtag(hops[0].get('etag'));
      return { size: length != null && /^\d+$/.test(length) ? Number(length) : null, sha256 };
    } catch (err) {
      throw this.networkFailure(file, this.context(file).url, err);
    }
  }

  /** One attempt to bring `part` to the full size, resuming from what it holds. */
  private async transfer(file: string, part: string, meta: FileMeta, index: number, count: number): Promise<void> {
    let have = (await fs.stat(part).catch(() => null))?.size ?? 0;
    if (meta.size !== null && have > meta.size) {
      await fs.rm(part, { force: true });
      have = 0;
    }
    if (meta.size !== null && have === meta.size) return;

    const idle = new AbortController();
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, idle.signal]) : idle.signal;
    let timer = setTimeout(() => idle.abort(new DOMException('idle', 'TimeoutError')), this.idleTimeoutMs);
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(new DOMException('idle', 'TimeoutError')), this.idleTimeoutMs);
    };
    const url = this.context(file).url;
    let fh: fs.FileHandle | undefined;
    try {
      const { res } = await this.fetchHops(file, 'GET', have > 0 ? { range: `bytes=${have}-` } : {}, signal);
      if (res.status === 416) {
        // The range starts at or past the end: the part is complete if its size is the file's.
        await res.body?.cancel().catch(() => undefined);
        const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
        if (total === have) {
          meta.size ??= have;
          return;
        }
        await fs.rm(part, { force: true });
        throw new RetryableError(new PsclError(`the server refused to resume ${file}; starting it again`, 'network'));
      }
      let total: number | null;
      if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== have) {
          await res.body?.cancel().catch(() => undefined);
          await fs.rm(part, { force: true });
          throw new RetryableError(new PsclError(`the server resumed ${file} at the wrong offset; starting it again`, 'network'));
        }
        total = m[3] === '*' ? null : Number(m[3]);
        fh = await fs.open(part, 'a');
      } else {
        have = 0;
        const length = res.headers.get('content-length');
        total = length != null ? Number(length) : null;
        fh = await fs.open(part, 'w');
      }
      if (meta.size !== null && total !== null && total !== meta.size) {
        await res.body?.cancel().catch(() => undefined);
        await fh.close();
        fh = undefined;
        await fs.rm(part, { force: true });
        throw new PsclError(
          `size mismatch for ${this.repo}/${file}: the Hub announced ${meta.size} bytes but ${hostOf(url)} sends ${total}; the partial file was removed, try again later`,
          'integrity',
        );
      }
      meta.size ??= total;
      this.report('downloading', file, index, count, have, meta.size, true);
      if (!res.body) throw new RetryableError(new PsclError(`empty answer for ${file} from ${hostOf(url)}`, 'network'));
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        await fh.write(chunk);
        have += chunk.byteLength;
        this.fetchedBytes += chunk.byteLength;
        if (meta.size !== null && have > meta.size) {
          await fh.close();
          fh = undefined;
          await fs.rm(part, { force: true });
          throw new PsclError(`size mismatch for ${this.repo}/${file}: more than the announced ${meta.size} bytes arrived; the partial file was removed`, 'integrity');
        }
        this.report('downloading', file, index, count, have, meta.size);
      }
      if (meta.size !== null && have < meta.size) {
        throw new RetryableError(offlineError(url, `the connection closed after ${have} of ${meta.size} bytes of ${file}`));
      }
    } catch (err) {
      throw this.networkFailure(file, url, err);
    } finally {
      clearTimeout(timer);
      await fh?.close();
    }
  }

  private async verify(file: string, part: string, meta: FileMeta): Promise<void> {
    const size = (await fs.stat(part)).size;
    if (meta.size !== null && size !== meta.size) {
      await fs.rm(part, { force: true });
      throw new PsclError(`size mismatch for ${this.repo}/${file}: expected ${meta.size} bytes, got ${size}; the partial file was removed, run again`, 'integrity');
    }
    if (meta.sha256) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(part)) hash.update(chunk as Buffer);
      const actual = hash.digest('hex');
      if (actual !== meta.sha256) {
        await fs.rm(part, { force: true });
        throw new PsclError(`checksum mismatch for ${this.repo}/${file}: sha256 ${actual}, the Hub says ${meta.sha256}; the file was removed, run again`, 'integrity');
      }
    }
  }

  private report(phase: DownloadProgress['phase'], file: string, fileIndex: number, fileCount: number, fileDone: number, fileTotal: number | null, force = false) {
    if (!this.options.onProgress) return;
    const now = Date.now();
    if (!force && now - this.lastReport < 100) return;
    this.lastReport = now;
    this.samples.push([now, this.fetchedBytes]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 3000) this.samples.shift();
    const [t0, b0] = this.samples[0];
    const bytesPerSecond = now > t0 ? ((this.fetchedBytes - b0) * 1000) / (now - t0) : 0;
    const sizes = [...this.metas.values()].map((m) => m.size);
    const total = this.metas.size === fileCount && sizes.every((s) => s !== null) ? sizes.reduce((a, b) => a! + b!, 0)! : null;
    const done = this.completedBytes + (phase === 'downloading' || phase === 'verifying' ? fileDone : 0);
    this.options.onProgress({ phase, file, fileIndex, fileCount, fileDone, fileTotal, done: Math.min(done, total ?? done), total, bytesPerSecond });
  }
}

function formatMB(bytes: number): string {
  return (bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1);
}

/** One status line: "model.safetensors (4/4): 120.3 of 598.6 MB, 25.1 MB/s". */
export function describeDownloadProgress(p: DownloadProgress): string {
  const which = `${p.file} (${p.fileIndex + 1}/${p.fileCount})`;
  if (p.phase === 'checking') return `checking ${which}`;
  if (p.phase === 'verifying') return `verifying ${which}`;
  const amount = p.total !== null ? `${formatMB(p.done)} of ${formatMB(p.total)} MB` : `${formatMB(p.done)} MB`;
  if (p.phase === 'done') return `downloaded ${amount}`;
  return `${which}: ${amount}, ${formatMB(p.bytesPerSecond)} MB/s`;
}
