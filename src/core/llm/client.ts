// A thin client for any OpenAI-compatible chat completions server (the `openai` package). The API
// key comes from the caller only (SecretStorage in the extension, the environment in the CLI) and
// is redacted from every message this module produces or passes on.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

export interface LlmSettings {
  /** e.g. https://api.openai.com/v1 or http://localhost:11434/v1 */
  baseUrl: string;
  model: string;
  temperature: number;
  /** The whole request: every attempt, the reading of each reply and the waits between them. */
  timeoutMs: number;
  /** Retries after the first attempt (429, 5xx, timeouts, dropped connections). */
  maxRetries: number;
}

export const DEFAULT_LLM_SETTINGS: Omit<LlmSettings, 'baseUrl' | 'model'> = {
  temperature: 0.2,
  timeoutMs: 120_000,
  maxRetries: 2,
};

/** The longest wait between attempts, whatever a server's Retry-After asks for. */
export const MAX_RETRY_WAIT_MS = 60_000;
/** Replies larger than this are refused unread (a suggestion reply is tens of kilobytes). */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;

export type LlmErrorCode =
  | 'not-configured'
  | 'input'
  | 'cancelled'
  | 'timeout'
  | 'unreachable'
  | 'auth'
  | 'rate-limited'
  | 'server'
  | 'http'
  | 'malformed'
  | 'too-large'
  | 'truncated'
  | 'refusal';

/** Every failure of a request, with a message meant for the user (never holding the key). */
export class LlmError extends Error {
  constructor(
    readonly code: LlmErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LlmError';
  }
}

export const HOW_TO_CONFIGURE =
  'No LLM is configured. Set a base URL and a model: in VS Code the settings pscl.llm.baseUrl and pscl.llm.model ' +
  "(and 'PSCL: Set LLM API Key' if the server needs a key); on the command line --base-url and --model " +
  '(or PSCL_LLM_BASE_URL / PSCL_LLM_MODEL) with the key in PSCL_LLM_API_KEY or OPENAI_API_KEY. ' +
  'Any OpenAI-compatible server works, local ones included (e.g. http://localhost:11434/v1).';

const OPENAI_HOST = /(^|\.)openai\.com$/i;

/** Why these settings cannot make a request, or undefined when they can. */
export function configurationProblem(settings: Partial<LlmSettings>, apiKey: string | undefined): string | undefined {
  if (!settings.baseUrl || !settings.model) return HOW_TO_CONFIGURE;
  let url: URL;
  try {
    url = new URL(settings.baseUrl);
  } catch {
    return `The LLM base URL '${settings.baseUrl}' is not a URL (expected e.g. http://localhost:11434/v1).`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `The LLM base URL '${settings.baseUrl}' must start with http:// or https://.`;
  if (OPENAI_HOST.test(url.hostname) && !apiKey) {
    return `${settings.baseUrl} needs an API key: set it with 'PSCL: Set LLM API Key' in VS Code, or PSCL_LLM_API_KEY / OPENAI_API_KEY for the CLI.`;
  }
  if (!(settings.temperature === undefined || (settings.temperature >= 0 && settings.temperature <= 2))) return `The LLM temperature must be between 0 and 2 (got ${settings.temperature}).`;
  return undefined;
}

/** Replaces every occurrence of the secret (and of its long fragments) in a text. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  let out = text.split(secret).join('[redacted]');
  // Servers often echo a shortened key ("sk-abc...wxyz"): drop any 8+ character slice of it too.
  if (secret.length >= 12) {
    for (let len = Math.min(secret.length - 1, 24); len >= 8; len--) {
      for (let i = 0; i + len <= secret.length; i++) {
        const piece = secret.slice(i, i + len);
        if (out.includes(piece)) out = out.split(piece).join('[redacted]');
      }
    }
  }
  return out;
}

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

export interface JsonSchemaFormat {
  name: string;
  schema: Record<string, unknown>;
}

export interface ChatReply {
  /** The message content (JSON text when the server honoured the schema). */
  content: string;
  model: string;
  /** HTTP attempts made, retries included. */
  attempts: number;
}

export interface CompleteOptions {
  signal?: AbortSignal;
  /** Called before each HTTP attempt after the first. */
  onRetry?: (attempt: number) => void;
  /** Called before waiting between attempts: how long, and why (e.g. "the server asks to wait 5 s (429)"). */
  onWait?: (seconds: number, why: string) => void;
}

export interface LlmClient {
  readonly settings: LlmSettings;
  complete(messages: ChatMessage[], format: JsonSchemaFormat, options?: CompleteOptions): Promise<ChatReply>;
}

export type LlmLogLevel = 'off' | 'error' | 'warn' | 'info' | 'debug';

export interface CreateClientOptions {
  /** Receives the openai package's log lines, already redacted. */
  log?: (line: string) => void;
  /** How much the openai package logs (default 'warn'; 'debug' shows each request). */
  logLevel?: LlmLogLevel;
}

export function createLlmClient(settings: LlmSettings, apiKey: string | undefined, options: CreateClientOptions = {}): LlmClient {
  const problem = configurationProblem(settings, apiKey);
  if (problem) throw new LlmError('not-configured', problem);
  const clean = (s: string) => redact(s, apiKey);
  const log = options.log ?? (() => {});
  const line = (level: string) => (message: string, ...rest: unknown[]) => log(clean(`[${level}] ${[message, ...rest.map(describe)].join(' ')}`));
  const logger = { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug') };
  let mode: 'json_schema' | 'json_object' = 'json_schema';

  async function complete(messages: ChatMessage[], format: JsonSchemaFormat, opts: CompleteOptions = {}): Promise<ChatReply> {
    if (opts.signal?.aborted) throw new LlmError('cancelled', 'cancelled');
    // One deadline for the whole request (attempts, reading replies, waits), and one signal that
    // fires on the caller's cancel or at the deadline: every await below listens to it.
    const started = Date.now();
    const deadline = started + settings.timeoutMs;
    const overall = new AbortController();
    const onCancel = () => overall.abort();
    opts.signal?.addEventListener('abort', onCancel, { once: true });
    const timer = setTimeout(() => overall.abort(), settings.timeoutMs);
    const cancelled = () => opts.signal?.aborted === true;
    const timedOut = () => !cancelled() && (overall.signal.aborted || Date.now() >= deadline);
    // One client per call: the attempt count is this call's, whatever else runs at the same time.
    let attempts = 0;
    const openai = new OpenAI({
      baseURL: settings.baseUrl,
      // Local servers take no key; the package insists on one, and sends it as a bearer token.
      apiKey: apiKey || 'no-key',
      timeout: settings.timeoutMs,
      // Retries are ours: the package's would wait as long as Retry-After says, deaf to cancel.
      maxRetries: 0,
      logLevel: options.logLevel ?? 'warn',
      logger,
      fetch: async (url, init) => {
        attempts++;
        return readBounded(await fetch(url, init), settings.baseUrl, init?.signal ?? undefined);
      },
    });
    const ask = (mode: 'json_schema' | 'json_object') =>
      openai.chat.completions.create(
        {
          model: settings.model,
          temperature: settings.temperature,
          messages: mode === 'json_schema' ? messages : withSchemaInstruction(messages, format),
          response_format:
            mode === 'json_schema' ? { type: 'json_schema', json_schema: { name: format.name, strict: true, schema: format.schema } } : { type: 'json_object' },
        },
        { signal: overall.signal, timeout: Math.max(1, deadline - Date.now()) },
      );
    const tooLong = () =>
      new LlmError('timeout', `no complete reply from the LLM server at ${settings.baseUrl} within ${settings.timeoutMs / 1000} s${attemptsText(attempts)}; check the server or raise the timeout (--timeout, pscl.llm.timeoutSeconds)`);
    try {
      for (let retry = 0; ; ) {
        let completion: OpenAI.Chat.Completions.ChatCompletion;
        try {
          completion = await ask(mode);
        } catch (err) {
          if (cancelled()) throw new LlmError('cancelled', 'cancelled');
          if (timedOut()) throw tooLong();
          // Servers without structured output refuse json_schema; JSON mode plus the schema in the
          // prompt still gets JSON, and validation is as strict either way.
          if (mode === 'json_schema' && rejectsJsonSchema(err)) {
            mode = 'json_object';
            continue;
          }
          const failure = translateError(err, settings, attempts, opts.signal, clean);
          if (!retryable(err) || retry >= settings.maxRetries) throw failure;
          const asked = retryAfterMs(err);
          const waitMs = asked ?? backoffMs(retry);
          const left = deadline - Date.now();
          if (asked !== undefined && (asked > MAX_RETRY_WAIT_MS || asked > left)) {
            const limit = Math.max(0, Math.round(Math.min(MAX_RETRY_WAIT_MS, left) / 1000));
            const why = left < MAX_RETRY_WAIT_MS ? 'the time left of the request: --timeout, pscl.llm.timeoutSeconds' : `waits between attempts are capped at ${MAX_RETRY_WAIT_MS / 1000} s`;
            throw new LlmError(failure.code, `${failure.message.replace(/; try again later$/, '')}: server asks to wait ${Math.ceil(asked / 1000)} s; giving up, limit ${limit} s (${why}); try again later`);
          }
          if (waitMs >= left) throw tooLong();
          log(clean(`[info] attempt ${attempts} failed (${statusOf(err)}: ${short(failure.message, 160)}); retrying in ${(waitMs / 1000).toFixed(1)} s`));
          opts.onWait?.(Math.ceil(waitMs / 1000), asked !== undefined ? `the server asks to wait ${Math.ceil(asked / 1000)} s (${statusOf(err)})` : `backing off after ${failure.code}`);
          await sleep(waitMs, overall.signal);
          if (cancelled()) throw new LlmError('cancelled', 'cancelled');
          if (timedOut()) throw tooLong();
          retry++;
          opts.onRetry?.(attempts + 1);
          continue;
        }
        return readReply(completion, settings, attempts, clean);
      }
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onCancel);
    }
  }

  return { settings, complete };
}

/** Reads a reply whole, refusing one larger than MAX_REPLY_BYTES; the signal stops a slow body too. */
async function readBounded(res: Response, at: string, signal: AbortSignal | undefined): Promise<Response> {
  const tooLarge = () => new LlmError('too-large', `the LLM server at ${at} sent a reply larger than ${MAX_REPLY_BYTES / (1024 * 1024)} MB; it was not read. Check the base URL and the model`);
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_REPLY_BYTES) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(signal?.reason ?? new Error('aborted'));
      if (signal?.aborted) fail();
      else signal?.addEventListener('abort', fail, { once: true });
    });
    aborted.catch(() => {});
    try {
      for (;;) {
        const { done, value } = await Promise.race([reader.read(), aborted]);
        if (done) break;
        size += value.byteLength;
        if (size > MAX_REPLY_BYTES) throw tooLarge();
        chunks.push(value);
      }
    } catch (err) {
      await reader.cancel().catch(() => {});
      throw err;
    }
  }
  const body = res.status === 204 || res.status === 304 ? null : Buffer.concat(chunks);
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** 408, 409, 429 and 5xx answers, and connections that failed or timed out, are worth another try. */
function retryable(err: unknown): boolean {
  if (err instanceof APIError && err.status !== undefined) return err.status === 408 || err.status === 409 || err.status === 429 || err.status >= 500;
  if (err instanceof APIConnectionError) return !(ownError(err) instanceof LlmError);
  return false;
}

function statusOf(err: unknown): string {
  return err instanceof APIError && err.status ? String(err.status) : 'no answer';
}

/** What a server asks us to wait (Retry-After in seconds or as a date, or retry-after-ms), in ms. */
function retryAfterMs(err: unknown): number | undefined {
  const headers = err instanceof APIError ? (err.headers as Headers | undefined) : undefined;
  if (!headers || typeof headers.get !== 'function') return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** 0.5 s, 1 s, 2 s ... up to 8 s, with a little jitter so clients do not retry in step. */
function backoffMs(retry: number): number {
  return Math.min(8000, 500 * 2 ** retry) * (0.75 + Math.random() * 0.25);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Our own error thrown inside the fetch wrapper, which the package wraps as a connection error. */
function ownError(err: unknown): unknown {
  return (err as { cause?: unknown } | null)?.cause;
}

function rejectsJsonSchema(err: unknown): boolean {
  return err instanceof APIError && (err.status === 400 || err.status === 422) && /response_format|json_schema|structured output/i.test(err.message);
}

function withSchemaInstruction(messages: ChatMessage[], format: JsonSchemaFormat): ChatMessage[] {
  const instruction = `Reply with one JSON object that matches this JSON schema exactly:\n${JSON.stringify(format.schema)}`;
  return [{ role: 'system', content: instruction }, ...messages];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function short(text: string, max = 300): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, max) + '...' : one;
}

function attemptsText(n: number): string {
  return n > 1 ? ` (${n} attempts)` : '';
}

function translateError(err: unknown, s: LlmSettings, attempts: number, signal: AbortSignal | undefined, clean: (s: string) => string): LlmError {
  const at = s.baseUrl;
  if (err instanceof APIUserAbortError || signal?.aborted) return new LlmError('cancelled', 'cancelled');
  if (err instanceof LlmError) return err;
  if (ownError(err) instanceof LlmError) return ownError(err) as LlmError;
  if (err instanceof APIConnectionTimeoutError) {
    return new LlmError('timeout', `no reply from the LLM server at ${at} within ${s.timeoutMs / 1000} s${attemptsText(attempts)}; check the server or raise the timeout`);
  }
  if (err instanceof APIConnectionError) {
    const cause = (err as { cause?: { message?: string; code?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? err.message;
    return new LlmError('unreachable', clean(`cannot reach the LLM server at ${at} (${short(String(why), 120)})${attemptsText(attempts)}; check the base URL and that the server is running`));
  }
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    const detail = short(clean(err.message), 300);
    if (status === 401 || status === 403) {
      return new LlmError('auth', `the LLM server at ${at} refused the request (${detail}); check the API key ('PSCL: Set LLM API Key', or PSCL_LLM_API_KEY for the CLI)`);
    }
    if (status === 429) return new LlmError('rate-limited', `the LLM server at ${at} is rate limiting requests (${detail})${attemptsText(attempts)}; try again later`);
    if (status >= 500) return new LlmError('server', `the LLM server at ${at} failed (${detail})${attemptsText(attempts)}; try again later`);
    if (status === 404) return new LlmError('http', `the LLM server at ${at} answered 404 (${detail}); check the base URL (it usually ends in /v1) and the model '${s.model}'`);
    return new LlmError('http', `the LLM server at ${at} rejected the request (${detail}); it must support chat completions with response_format json_schema`);
  }
  if (err instanceof SyntaxError) {
    return new LlmError('malformed', `the LLM server at ${at} sent a reply that is not JSON (${short(clean(err.message), 120)}); check that the base URL points at an OpenAI-compatible API`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LlmError('http', clean(`request to the LLM server at ${at} failed: ${short(message)}`));
}

function readReply(completion: OpenAI.Chat.Completions.ChatCompletion, s: LlmSettings, attempts: number, clean: (s: string) => string): ChatReply {
  const at = s.baseUrl;
  const choice = completion?.choices?.[0];
  if (!choice || !choice.message) throw new LlmError('malformed', `the LLM server at ${at} sent a reply without a message (no choices)`);
  const { message } = choice;
  if (message.refusal) throw new LlmError('refusal', `the model refused: ${short(clean(message.refusal), 200)}`);
  if (choice.finish_reason === 'content_filter') throw new LlmError('refusal', 'the reply was stopped by the server\'s content filter');
  const content = typeof message.content === 'string' ? message.content : '';
  if (choice.finish_reason === 'length') {
    throw new LlmError('truncated', `the reply was cut off at the token limit (${content.length} characters received); ask about fewer classes at a time`);
  }
  if (content.trim() === '') throw new LlmError('malformed', `the LLM server at ${at} sent an empty reply`);
  return { content, model: completion.model ?? s.model, attempts };
}
