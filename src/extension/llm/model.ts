// The extension's side of LLM suggestions without the vscode module: what the review list shows,
// how a selection and a rename reach the core's SuggestionReview, which classes a tree row means,
// and the messages for every outcome (always naming the project file, never holding the key).
// The commands in llm/commands.ts only put these on screen.
import { describeSuggestion, LlmError, redact, SuggestionReview, type LlmSettings, type Suggestion, type SuggestionKind } from '../../core/llm';
import type { Project } from '../../core/taxonomy/model';

/** The part of vscode.WorkspaceConfiguration (section 'pscl') the LLM settings are read from. */
export interface SettingSource {
  get<T>(key: string): T | undefined;
  inspect<T>(key: string): { globalValue?: T; defaultValue?: T } | undefined;
}

/**
 * `pscl.llm.*` as the core takes them. Untrusted (Restricted Mode): the base URL and model come
 * from the user settings only, since a folder's own settings could send the key to any server.
 */
export function llmSettingsFrom(cfg: SettingSource, trusted: boolean): Partial<LlmSettings> {
  const text = (key: string) => {
    const i = trusted ? undefined : cfg.inspect<string>(key);
    const v = trusted ? cfg.get<string>(key) : (i?.globalValue ?? i?.defaultValue);
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const num = (key: string) => {
    const v = cfg.get<number>(key);
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const timeout = num('llm.timeoutSeconds');
  const retries = num('llm.maxRetries');
  return {
    baseUrl: text('llm.baseUrl'),
    model: text('llm.model'),
    temperature: num('llm.temperature'),
    timeoutMs: timeout !== undefined && timeout > 0 ? timeout * 1000 : undefined,
    maxRetries: retries !== undefined && retries >= 0 ? Math.floor(retries) : undefined,
  };
}

export const KIND_TITLES: Record<SuggestionKind, string> = {
  intermediate: 'intermediate categories',
  parts: 'part prompts',
  descriptions: 'class descriptions',
};

/** One row of the review list. */
export interface ReviewRow {
  id: string;
  label: string;
  description: string;
  detail: string;
  /** Accepted rows start ticked (all of them, at first: "accept all" is the default). */
  picked: boolean;
}

export function reviewRows(review: SuggestionReview, classNames: ReadonlyMap<string, string>): ReviewRow[] {
  return review.items.map((item) => {
    const text = describeSuggestion(item.suggestion, classNames);
    return {
      id: item.id,
      label: text.label,
      description: `${item.id}${item.renamed ? ' · edited' : ''}`,
      detail: text.details.join(' — '),
      picked: item.state !== 'rejected',
    };
  });
}

/** The ticked rows become accepted, every other one rejected. */
export function applySelection(review: SuggestionReview, pickedIds: readonly string[]): void {
  review.acceptOnly(review.items.map((i) => i.id).filter((id) => pickedIds.includes(id)));
}

/** What an "edit name" button on a row can rename: the level and each value, a part, a text. */
export interface RenameTarget {
  label: string;
  current: string;
  /** The value to rename (intermediate levels); undefined for the level, part or description. */
  value?: string;
}

export function renameTargets(s: Suggestion): RenameTarget[] {
  if (s.kind === 'intermediate') {
    return [{ label: `level name`, current: s.level.name }, ...s.values.map((v) => ({ label: `value of '${s.level.name}'`, current: v.name, value: v.name }))];
  }
  if (s.kind === 'parts') return [{ label: 'part name', current: s.name }];
  return [{ label: `description of '${s.className}'`, current: s.description }];
}

/** Why a rename would be refused, without doing it (the input box checks as the user types). */
export function renameProblem(review: SuggestionReview, id: string, name: string, value?: string): string | undefined {
  const copy = new SuggestionReview({ kind: review.kind, suggestions: review.items.map((i) => i.suggestion), rejected: [], classIds: [] });
  return copy.rename(id, name, value);
}

/** The fine class ids below a taxonomy row: a value of `level` (all its classes), or all. */
export function classesUnder(project: Project, at?: { level: string; value: string } | { classIds: readonly string[] }): string[] | undefined {
  if (!at) return undefined;
  if ('classIds' in at) return [...at.classIds];
  return project.classes.filter((c) => c.path[at.level] === at.value).map((c) => c.id);
}

/** The coarse categories of a project (part suggestions are asked for one of them). */
export function coarseValues(project: Project): string[] {
  const level = project.levels[0]?.name;
  return level ? [...new Set(project.classes.map((c) => c.path[level]).filter((v): v is string => !!v))] : [];
}

/** The origin (scheme://host:port) an API key is bound to, or undefined for a URL that does not parse. */
export function originOf(baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return undefined;
  try {
    const u = new URL(baseUrl);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

export const SEND_KEY = 'Send the Key';
export const WITHOUT_KEY = 'Continue Without Key';

/**
 * The question asked before the stored key goes to a server it was not entered for (undefined:
 * the key may go, no question). The key is bound to the origin it was entered for; a base URL
 * set by a workspace (or changed since) must not receive it silently.
 */
export function keyOriginQuestion(keyOrigin: string | undefined, baseUrl: string | undefined, setBy: 'workspace' | 'user' | 'default'): { message: string; detail: string } | undefined {
  const target = originOf(baseUrl);
  if (!target || keyOrigin === target) return undefined;
  const where = setBy === 'workspace' ? " (set by this workspace's settings)" : setBy === 'user' ? ' (your user settings)' : '';
  return {
    message: keyOrigin
      ? `Send your LLM API key to ${target}? It was entered for ${keyOrigin}.`
      : `Send your LLM API key to ${target}? It was stored without a server.`,
    detail:
      `pscl.llm.baseUrl points to ${target}${where}. A key goes only to the server it was entered for unless you agree here. ` +
      `"${WITHOUT_KEY}" sends the request without it; to use the key with ${target} from now on, set it again with 'PSCL: Set LLM API Key'.`,
  };
}

/** Buttons offered with a setup problem, in order. */
export const SETUP_ACTIONS = ['Set Base URL', 'Set API Key', 'Open Settings'] as const;
export type SetupAction = (typeof SETUP_ACTIONS)[number];

/** The message of a failed request, naming the file and that nothing was written; key redacted. */
export function failureMessage(err: unknown, file: string, kind: SuggestionKind, apiKey: string | undefined): string {
  const what = `Suggest ${KIND_TITLES[kind]} for ${file}`;
  if (err instanceof LlmError) {
    if (err.code === 'cancelled') return `${what}: cancelled; ${file} was not changed.`;
    return redact(`${what}: ${err.message}. ${file} was not changed.`, apiKey);
  }
  const message = err instanceof Error ? err.message : String(err);
  return redact(`${what} failed: ${message}. ${file} was not changed.`, apiKey);
}

/** Summary of a reply with nothing to review (all rejected, or none suggested); outcome first. */
export function nothingToReviewMessage(result: { suggestions: readonly unknown[]; rejected: ReadonlyArray<{ item: string; reason: string }> }, file: string, kind: SuggestionKind): string {
  if (result.rejected.length === 0) return `The LLM suggested no ${KIND_TITLES[kind]} for ${file}; nothing was changed.`;
  const cut = (t: string) => (t.length > 140 ? `${t.slice(0, 137)}...` : t);
  const shown = result.rejected.slice(0, 3).map((r) => `${r.item}: ${cut(r.reason)}`).join('; ');
  const more = result.rejected.length > 3 ? `; and ${result.rejected.length - 3} more` : '';
  const n = result.rejected.length;
  return `Every suggested item was rejected, so ${file} was not changed (${n === 1 ? 'one item' : `${n} items`}; all reasons in the PSCL output): ${shown}${more}.`;
}

/** Text of the review list's title line. */
export function reviewTitle(kind: SuggestionKind, file: string, count: number, rejected: number, cached: boolean): string {
  const extra = [rejected > 0 ? `${rejected} rejected by validation` : '', cached ? 'from the cache' : ''].filter(Boolean).join(', ');
  return `Review ${count} suggested ${KIND_TITLES[kind]} for ${file}${extra ? ` (${extra})` : ''}`;
}

/** The message after applying: which suggestions went into the one edit. */
export function appliedMessage(applied: readonly string[], file: string): string {
  return `Applied ${applied.length} suggestion${applied.length === 1 ? '' : 's'} (${applied.join(', ')}) to ${file} as one edit: undo it with Ctrl+Z in the editor; save to keep it.`;
}

/** The message when the accepted suggestions no longer fit the file (re-checked at apply time). */
export function refusedMessage(reasons: readonly string[], file: string): string {
  const shown = reasons.slice(0, 4).join('; ') + (reasons.length > 4 ? `; and ${reasons.length - 4} more` : '');
  return `The accepted suggestions cannot be applied to ${file}: ${shown}. ${file} was not changed.`;
}
