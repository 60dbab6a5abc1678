// What a suggestion request yields: validated suggestions, and what was rejected and why.
import type { LevelKind } from '../taxonomy/model';
import type { SuggestionKind } from './schemas';

export type { SuggestionKind } from './schemas';

export interface IntermediateValue {
  name: string;
  /** The value of the nearest nested level above that every member shares ('' for a facet). */
  parent: string;
  /** Fine class ids. */
  members: string[];
}

/** How a suggested level lines up with one level the project already has. */
export interface HierarchyComparison {
  level: string;
  /** e.g. "'Boeing 737 family' = family '737'", "'twinjet' groups family 'A320', 'A330'" */
  agreements: string[];
  /** e.g. "'narrow-body' splits family '767' (2 of 3 classes)" */
  disagreements: string[];
}

export interface IntermediateSuggestion {
  kind: 'intermediate';
  id: string;
  /** The new level; it goes right below the existing level `after`. */
  level: { name: string; kind: LevelKind; after: string };
  values: IntermediateValue[];
  /** Non-fatal remarks, e.g. classes left without a value (they keep their parent's value). */
  notes: string[];
  comparison: HierarchyComparison[];
}

export interface PartSuggestion {
  kind: 'parts';
  id: string;
  coarse: string;
  name: string;
  /** Phrasings to add (only the new ones when the part exists). */
  prompts: string[];
  /** Set when a part of this name (compared case-insensitively) exists: its exact name. */
  existing?: string;
}

export interface DescriptionSuggestion {
  kind: 'descriptions';
  id: string;
  classId: string;
  className: string;
  description: string;
  previous?: string;
}

export type Suggestion = IntermediateSuggestion | PartSuggestion | DescriptionSuggestion;

export interface Rejected {
  /** What was rejected, e.g. "level 'body type'" or "description of class 12". */
  item: string;
  reason: string;
}

export interface ValidatedReply {
  suggestions: Suggestion[];
  rejected: Rejected[];
}

export interface SuggestResult extends ValidatedReply {
  kind: SuggestionKind;
  /** The fine classes the request was about (review re-checks suggestions against them). */
  classIds: string[];
  /** True when every reply came from the cache (no request was made). */
  cached: boolean;
  /** Requests the server actually answered (0 when cached). */
  requests: number;
}
