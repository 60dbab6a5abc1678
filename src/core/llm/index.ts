// The LLM suggestion API for the extension and the CLI: ask (suggest), review, apply (one edit).
export { configurationProblem, createLlmClient, DEFAULT_LLM_SETTINGS, HOW_TO_CONFIGURE, LlmError, redact } from './client';
export type { ChatMessage, LlmClient, LlmErrorCode, LlmLogLevel, LlmSettings } from './client';
export { describeSuggestion, type SuggestionText } from './describe';
export { inverseEdit, singleEdit, SuggestionReview, type ReviewItem, type ReviewOutcome, type ReviewState } from './review';
export { SUGGESTION_KINDS, type SuggestionKind } from './schemas';
export { resolveCoarse, resolveSettings, selectClasses, suggest, type SuggestControl, type SuggestOptions, type SuggestProgress } from './suggest';
export type * from './types';
