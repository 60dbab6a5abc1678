// One entry point for the three suggestion kinds: build the messages, ask the server (or the cache),
// validate the reply. Returns suggestions for review; writes nothing but the cache.
import type { Project, TaxonomyClass } from '../taxonomy/model';
import { readCachedReply, requestKey, writeCachedReply } from './cache';
import { createLlmClient, DEFAULT_LLM_SETTINGS, LlmError, type ChatMessage, type LlmClient, type LlmLogLevel, type LlmSettings } from './client';
import { descriptionsMessages, intermediateMessages, partsMessages } from './prompts';
import { SCHEMAS, type DescriptionsReply, type IntermediateReply, type PartsReply, type SuggestionKind } from './schemas';
import type { SuggestResult, ValidatedReply } from './types';
import { parseReplyJson, validateDescriptions, validateIntermediate, validateParts } from './validate';

export interface SuggestOptions {
  /** baseUrl and model are required; the rest default to DEFAULT_LLM_SETTINGS. */
  settings: Partial<LlmSettings>;
  /** From SecretStorage (extension) or the environment (CLI); never stored or logged. */
  apiKey?: string;
  /** Fine class ids to ask about; default every class. */
  classes?: readonly string[];
  /** Coarse category for part suggestions; default the only one there is. */
  coarse?: string;
  /** Folder for cached replies; no caching without it. */
  cacheDir?: string;
  /** Descriptions asked per request (default 40). */
  batchSize?: number;
  /** Receives the HTTP client's log lines, redacted. */
  log?: (line: string) => void;
  /** Default 'warn'; 'debug' logs every request and response. */
  logLevel?: LlmLogLevel;
  /** A client to reuse instead of creating one from settings/apiKey. */
  client?: LlmClient;
}

export interface SuggestProgress {
  message: string;
  /** Requests finished so far, out of `total`. */
  done: number;
  total: number;
}

export interface SuggestControl {
  signal?: AbortSignal;
  onProgress?: (p: SuggestProgress) => void;
}

export function resolveSettings(partial: Partial<LlmSettings>): LlmSettings {
  return {
    baseUrl: partial.baseUrl ?? '',
    model: partial.model ?? '',
    temperature: partial.temperature ?? DEFAULT_LLM_SETTINGS.temperature,
    timeoutMs: partial.timeoutMs ?? DEFAULT_LLM_SETTINGS.timeoutMs,
    maxRetries: partial.maxRetries ?? DEFAULT_LLM_SETTINGS.maxRetries,
  };
}

/** The classes named by id (all when none are given); unknown ids are an 'input' error. */
export function selectClasses(project: Project, ids: readonly string[] | undefined): TaxonomyClass[] {
  if (!ids || ids.length === 0) return project.classes;
  const byId = new Map(project.classes.map((c) => [c.id, c]));
  const unknown = ids.filter((id) => !byId.has(id));
  if (unknown.length > 0) throw new LlmError('input', `unknown class id${unknown.length > 1 ? 's' : ''}: ${unknown.slice(0, 10).join(', ')}`);
  return [...new Set(ids)].map((id) => byId.get(id)!);
}

/** The coarse category to suggest parts for: the one given, or the only one there is. */
export function resolveCoarse(project: Project, coarse: string | undefined): string {
  const coarseName = project.levels[0]?.name;
  const values = [...new Set(project.classes.map((c) => c.path[coarseName] ?? '').filter((v) => v !== ''))];
  if (coarse !== undefined) {
    if (!values.includes(coarse)) throw new LlmError('input', `'${coarse}' is not a coarse category of this project (${values.join(', ') || 'none'})`);
    return coarse;
  }
  if (values.length === 1) return values[0];
  throw new LlmError('input', `choose a coarse category for part suggestions: ${values.join(', ') || 'the project has none'}`);
}

interface Job {
  messages: ChatMessage[];
  validate: (reply: unknown) => ValidatedReply;
}

function jobsFor(kind: SuggestionKind, project: Project, options: SuggestOptions, classes: TaxonomyClass[]): Job[] {
  if (classes.length === 0) throw new LlmError('input', 'the project has no classes to ask about');
  if (kind === 'intermediate') {
    if (classes.length < 2) throw new LlmError('input', 'intermediate categories need at least two classes');
    return [{ messages: intermediateMessages(project, classes), validate: (r) => validateIntermediate({ project, requested: classes }, r as IntermediateReply) }];
  }
  if (kind === 'parts') {
    const coarse = resolveCoarse(project, options.coarse);
    const members = classes.filter((c) => c.path[project.levels[0].name] === coarse);
    return [{ messages: partsMessages(project, coarse, members), validate: (r) => validateParts(project, coarse, r as PartsReply) }];
  }
  const size = Math.max(1, options.batchSize ?? 40);
  const jobs: Job[] = [];
  let nextId = 1;
  for (let i = 0; i < classes.length; i += size) {
    const batch = classes.slice(i, i + size);
    jobs.push({
      messages: descriptionsMessages(project, batch),
      validate: (r) => {
        const v = validateDescriptions(project, batch, r as DescriptionsReply, nextId);
        nextId += v.suggestions.length;
        return v;
      },
    });
  }
  return jobs;
}

/**
 * Asks for suggestions of one kind. Throws LlmError (not configured, input, cancelled, timeout,
 * unreachable, malformed, truncated, refusal...) when no usable reply came back; otherwise returns
 * the validated suggestions and the rejected items with reasons.
 */
export async function suggest(kind: SuggestionKind, project: Project, options: SuggestOptions, control: SuggestControl = {}): Promise<SuggestResult> {
  const { signal, onProgress } = control;
  const settings = resolveSettings(options.client?.settings ?? options.settings);
  const classes = selectClasses(project, options.classes);
  const jobs = jobsFor(kind, project, options, classes);
  const client = options.client ?? createLlmClient(settings, options.apiKey, { log: options.log, logLevel: options.logLevel });
  const format = SCHEMAS[kind];
  const result: SuggestResult = { kind, classIds: classes.map((c) => c.id), suggestions: [], rejected: [], cached: true, requests: 0 };
  for (const [i, job] of jobs.entries()) {
    if (signal?.aborted) throw new LlmError('cancelled', 'cancelled');
    const step = jobs.length > 1 ? ` (${i + 1} of ${jobs.length})` : '';
    const key = requestKey(settings, job.messages, format);
    let content = options.cacheDir ? (await readCachedReply(options.cacheDir, key))?.content : undefined;
    let model = settings.model;
    const fresh = content === undefined;
    if (content === undefined) {
      onProgress?.({ message: `asking ${settings.model} at ${settings.baseUrl} for ${kind}${step}`, done: i, total: jobs.length });
      const reply = await client.complete(job.messages, format, {
        signal,
        onRetry: (attempt) => onProgress?.({ message: `retrying (attempt ${attempt})${step}`, done: i, total: jobs.length }),
        onWait: (seconds, why) => onProgress?.({ message: `${why}; waiting ${seconds} s before retrying${step}`, done: i, total: jobs.length }),
      });
      content = reply.content;
      model = reply.model;
      result.cached = false;
      result.requests++;
    } else {
      onProgress?.({ message: `using the cached reply${step}`, done: i, total: jobs.length });
    }
    const parsed = parseReplyJson(content, kind);
    if (options.cacheDir && fresh) {
      await writeCachedReply(options.cacheDir, { version: 1, key, model, createdAt: new Date().toISOString(), content }).catch((err: Error) =>
        options.log?.(`[warn] could not write the LLM reply cache in ${options.cacheDir}: ${err.message}`),
      );
    }
    const validated = job.validate(parsed);
    result.suggestions.push(...validated.suggestions);
    result.rejected.push(...validated.rejected);
  }
  onProgress?.({ message: 'done', done: jobs.length, total: jobs.length });
  return result;
}
