// A Hugging Face `tokenizer.json` of the kind CLIP checkpoints ship (byte-level BPE with an
// end-of-word suffix), read and run in TypeScript. It gives the ids transformers.js gives for the
// same files (test/unit/clip/bpe-parity.test.ts compares them on thousands of strings); parts of
// the format that CLIP tokenizers do not use are refused with an error that names them.
import { PsclError } from '../errors';

/** Bad input the user can fix (kind 'input' for the backend's error mapping). */
export class TokenizerError extends PsclError {
  override name = 'TokenizerError';
}

type Json = Record<string, unknown>;
type Normalizer = (text: string) => string;
type PreTokenizer = (text: string) => string[];

interface AddedToken {
  id: number;
  content: string;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** GPT-2's reversible byte -> printable character map (the printable bytes map to themselves). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
})();

/**
 * A pattern of tokenizer.json (Rust `regex`/Oniguruma syntax) as a JavaScript RegExp: `\s`, `\d`
 * and their negations mean the Unicode classes there (JS `\s` also matches U+FEFF and misses U+0085).
 */
function compilePattern(pattern: unknown, where: string, literalGroup = false): RegExp {
  if (!isObject(pattern)) throw new TokenizerError(`${where}: pattern must be {"Regex": ...} or {"String": ...}`);
  if (typeof pattern.String === 'string') {
    const escaped = pattern.String.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(literalGroup ? `(${escaped})` : escaped, 'gu');
  }
  if (typeof pattern.Regex !== 'string') throw new TokenizerError(`${where}: pattern must be {"Regex": ...} or {"String": ...}`);
  const rewritten = pattern.Regex.replace(/\\(.)/gu, (m, c: string) => ({ s: '\\p{White_Space}', S: '\\P{White_Space}', d: '\\p{Nd}', D: '\\P{Nd}' })[c] ?? m);
  try {
    return new RegExp(rewritten, 'gu');
  } catch (err) {
    throw new TokenizerError(`${where}: cannot use the pattern ${JSON.stringify(pattern.Regex)} (${(err as Error).message})`);
  }
}

function makeNormalizer(spec: unknown, where: string): Normalizer | undefined {
  if (spec === null || spec === undefined) return undefined;
  if (!isObject(spec)) throw new TokenizerError(`${where}: must be an object or null`);
  switch (spec.type) {
    case 'Sequence': {
      const steps = (Array.isArray(spec.normalizers) ? spec.normalizers : []).map((n, i) => makeNormalizer(n, `${where}.normalizers[${i}]`));
      return (text) => steps.reduce((t, step) => (step ? step(t) : t), text);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = spec.type;
      return (text) => text.normalize(form);
    }
    case 'Lowercase':
      return (text) => text.toLowerCase();
    case 'Strip': {
      const left = spec.strip_left !== false;
      const right = spec.strip_right !== false;
      return (text) => (left && right ? text.trim() : left ? text.trimStart() : right ? text.trimEnd() : text);
    }
    case 'Replace': {
      const re = compilePattern(spec.pattern, `${where}.pattern`);
      const content = typeof spec.content === 'string' ? spec.content : '';
      return (text) => text.replaceAll(re, content);
    }
    default:
      throw new TokenizerError(`${where}: normalizer type ${JSON.stringify(spec.type)} is not supported (CLIP tokenizers use Sequence, NFC, Replace and Lowercase)`);
  }
}

/** GPT-2's split of the byte-level pre-tokenizer (used when `use_regex` is on). */
const BYTE_LEVEL_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function byteLevel(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) out += BYTE_TO_CHAR[b];
  return out;
}

function makePreTokenizer(spec: unknown, where: string): PreTokenizer | undefined {
  if (spec === null || spec === undefined) return undefined;
  if (!isObject(spec)) throw new TokenizerError(`${where}: must be an object or null`);
  switch (spec.type) {
    case 'Sequence': {
      const steps = (Array.isArray(spec.pretokenizers) ? spec.pretokenizers : []).map((p, i) => makePreTokenizer(p, `${where}.pretokenizers[${i}]`));
      return (text) => steps.reduce<string[]>((pieces, step) => (step ? pieces.flatMap(step) : pieces), [text]);
    }
    case 'Split': {
      const invert = spec.invert === true;
      const behavior = String(spec.behavior ?? '').toLowerCase();
      if (!invert && behavior !== 'removed' && behavior !== 'isolated') {
        throw new TokenizerError(`${where}: Split behavior ${JSON.stringify(spec.behavior)} is not supported (Removed or Isolated, or invert: true)`);
      }
      const re = compilePattern(spec.pattern, `${where}.pattern`, !invert);
      if (invert) return (text) => (text.match(re) ?? []).filter((p) => p.length > 0);
      if (behavior === 'removed') return (text) => text.split(re).filter((p) => p !== undefined && p.length > 0);
      return (text) => isolate(text, re);
    }
    case 'ByteLevel': {
      const prefix = spec.add_prefix_space === true;
      const useRegex = spec.use_regex !== false;
      return (text) => {
        const t = prefix && !text.startsWith(' ') ? ' ' + text : text;
        return (useRegex ? t.match(BYTE_LEVEL_SPLIT) ?? [] : [t]).map(byteLevel);
      };
    }
    default:
      throw new TokenizerError(`${where}: pre-tokenizer type ${JSON.stringify(spec.type)} is not supported (CLIP tokenizers use Sequence, Split and ByteLevel)`);
  }
}

/** Splits around the matches, keeping both the matches and what lies between them. */
function isolate(text: string, re: RegExp): string[] {
  const out: string[] = [];
  let prev = 0;
  for (const m of text.matchAll(re)) {
    if (prev < m.index!) out.push(text.slice(prev, m.index));
    if (m[0].length > 0) out.push(m[0]);
    prev = m.index! + m[0].length;
  }
  if (prev < text.length) out.push(text.slice(prev));
  return out;
}

/** The post-processor's tokens around the text's tokens: [before, after] (token strings). */
function makePostProcessor(spec: unknown, where: string): [string[], string[]] {
  if (spec === null || spec === undefined) return [[], []];
  if (!isObject(spec)) throw new TokenizerError(`${where}: must be an object or null`);
  const first = (pair: unknown, key: string): string => {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string') throw new TokenizerError(`${where}.${key}: must be [token, id]`);
    return pair[0];
  };
  switch (spec.type) {
    case 'RobertaProcessing':
    case 'BertProcessing':
      return [[first(spec.cls, 'cls')], [first(spec.sep, 'sep')]];
    case 'ByteLevel':
      return [[], []];
    case 'TemplateProcessing': {
      const before: string[] = [];
      const after: string[] = [];
      let seen = false;
      for (const item of Array.isArray(spec.single) ? spec.single : []) {
        if (isObject(item) && isObject(item.SpecialToken) && typeof item.SpecialToken.id === 'string') (seen ? after : before).push(item.SpecialToken.id);
        else if (isObject(item) && isObject(item.Sequence) && item.Sequence.id === 'A') seen = true;
      }
      return [before, after];
    }
    default:
      throw new TokenizerError(`${where}: post-processor type ${JSON.stringify(spec.type)} is not supported (CLIP tokenizers use RobertaProcessing)`);
  }
}

/** Longest added-token match at each position, left to right; the text between them as sections. */
function splitOnTokens(text: string, tokens: string[]): string[] {
  if (tokens.length === 0) return [text];
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; ) {
    let match = '';
    for (const t of tokens) if (t.length > match.length && text.startsWith(t, i)) match = t;
    if (match) {
      if (i > start) out.push(text.slice(start, i));
      out.push(match);
      i += match.length;
      start = i;
    } else i++;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** Applies lstrip/rstrip of the added tokens among `sections` to their neighbours. */
function stripAround(sections: string[], added: Map<string, AddedToken>): void {
  sections.forEach((s, i) => {
    const token = added.get(s);
    if (!token) return;
    if (token.lstrip && i > 0) sections[i - 1] = sections[i - 1]!.trimEnd();
    if (token.rstrip && i < sections.length - 1) sections[i + 1] = sections[i + 1]!.trimStart();
  });
}

export interface BpeOptions {
  /** tokenizer_config.json `remove_space`: trim and collapse whitespace first. */
  removeSpace?: boolean;
  /** tokenizer_config.json `do_lowercase_and_remove_accent`. */
  lowercaseAndRemoveAccents?: boolean;
}

export class BpeTokenizer {
  private readonly vocab = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly added = new Map<string, AddedToken>();
  private readonly rawAdded: string[] = [];
  private readonly normalizedAdded: string[] = [];
  private readonly normalize: Normalizer | undefined;
  private readonly preTokenize: PreTokenizer | undefined;
  private readonly around: [string[], string[]];
  private readonly suffix: string;
  private readonly continuingSuffix: string;
  private readonly unk: string | undefined;
  private readonly byteFallback: boolean;
  private readonly ignoreMerges: boolean;
  private readonly cache = new Map<string, string[]>();

  /** `file` names the source in errors. */
  constructor(json: unknown, private readonly file: string, private readonly options: BpeOptions = {}) {
    if (!isObject(json)) throw new TokenizerError(`${file}: not a tokenizer.json object`);
    const model = json.model;
    if (!isObject(model) || (model.type !== undefined && model.type !== 'BPE')) {
      throw new TokenizerError(`${file}: model type ${JSON.stringify(isObject(model) ? model.type : model)} is not supported (CLIP tokenizers are BPE)`);
    }
    if (!isObject(model.vocab)) throw new TokenizerError(`${file}: model.vocab must map tokens to ids`);
    for (const [token, id] of Object.entries(model.vocab)) {
      if (typeof id !== 'number') throw new TokenizerError(`${file}: model.vocab[${JSON.stringify(token)}] is not a number`);
      this.vocab.set(token, id);
    }
    if (!Array.isArray(model.merges)) throw new TokenizerError(`${file}: model.merges must be a list`);
    model.merges.forEach((m: unknown, rank) => {
      const pair = Array.isArray(m) ? m : typeof m === 'string' ? m.split(' ', 2) : undefined;
      if (!pair || pair.length < 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') throw new TokenizerError(`${file}: model.merges[${rank}] is not a pair`);
      const key = pair[0] + '\u0000' + pair[1];
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    this.suffix = typeof model.end_of_word_suffix === 'string' ? model.end_of_word_suffix : '';
    this.continuingSuffix = typeof model.continuing_subword_suffix === 'string' ? model.continuing_subword_suffix : '';
    this.unk = typeof model.unk_token === 'string' ? model.unk_token : undefined;
    this.byteFallback = model.byte_fallback === true;
    this.ignoreMerges = model.ignore_merges === true;

    this.normalize = makeNormalizer(json.normalizer, `${file}: normalizer`);
    this.preTokenize = makePreTokenizer(json.pre_tokenizer, `${file}: pre_tokenizer`);
    this.around = makePostProcessor(json.post_processor, `${file}: post_processor`);
    for (const [i, t] of (Array.isArray(json.added_tokens) ? json.added_tokens : []).entries()) {
      if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number') throw new TokenizerError(`${file}: added_tokens[${i}] needs content and id`);
      const token: AddedToken = { id: t.id, content: t.content, lstrip: t.lstrip === true, rstrip: t.rstrip === true, normalized: t.normalized !== false };
      this.vocab.set(token.content, token.id);
      this.added.set(token.content, token);
      if (token.normalized && this.normalize) {
        const n = this.normalize(token.content);
        this.normalizedAdded.push(n);
        this.added.set(n, token);
      } else this.rawAdded.push(token.content);
    }
  }

  /** The id of a token (added tokens included), or undefined. */
  tokenId(token: string): number | undefined {
    return this.added.get(token)?.id ?? this.vocab.get(token);
  }

  /** Ids of one text, with the post-processor's special tokens around it. */
  encode(text: string): number[] {
    const tokens = [...this.around[0], ...this.tokenize(text), ...this.around[1]];
    return tokens.map((t) => {
      const id = this.added.get(t)?.id ?? this.vocab.get(t) ?? (this.unk !== undefined ? this.vocab.get(this.unk) : undefined);
      if (id === undefined) throw new TokenizerError(`${this.file}: token ${JSON.stringify(t)} has no id and there is no unk_token`);
      return id;
    });
  }

  /** Token strings of one text, without special tokens around it. */
  tokenize(text: string): string[] {
    const sections = splitOnTokens(text, this.rawAdded);
    stripAround(sections, this.added);
    return sections.flatMap((section) => {
      if (section.length === 0) return [];
      if (this.added.has(section)) return [section];
      let t = section;
      if (this.options.removeSpace) t = t.trim().split(/\s+/).join(' ');
      if (this.options.lowercaseAndRemoveAccents) t = t.toLowerCase().replace(/\p{M}/gu, '');
      if (this.normalize) t = this.normalize(t);
      if (t.length === 0) return [];
      const parts = splitOnTokens(t, this.normalizedAdded);
      stripAround(parts, this.added);
      return parts.flatMap((part) => {
        if (part.length === 0) return [];
        if (this.added.has(part)) return [part];
        const words = this.preTokenize ? this.preTokenize(part) : [part];
        return words.flatMap((w) => this.wordTokens(w));
      });
    });
  }

  private wordTokens(word: string): string[] {
    if (this.ignoreMerges && this.vocab.has(word)) return [word];
    const out: string[] = [];
    for (const t of this.bpe(word)) {
      if (this.vocab.has(t)) out.push(t);
      else if (this.byteFallback) {
        const bytes = [...Buffer.from(t, 'utf8')].map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
        if (bytes.every((b) => this.vocab.has(b))) out.push(...bytes);
        else if (this.unk !== undefined) out.push(this.unk);
      } else if (this.unk !== undefined) out.push(this.unk);
    }
    return out;
  }

  /** CLIP's BPE: merge the adjacent pair of lowest rank (every occurrence, left to right) until none is left. */
  private bpe(word: string): string[] {
    if (word.length === 0) return [];
    const cached = this.cache.get(word);
    if (cached) return cached;
    let parts = Array.from(word);
    parts[parts.length - 1] += this.suffix;
    while (parts.length > 1) {
      let best = Infinity;
      let bestKey = '';
      for (let i = 0; i + 1 < parts.length; i++) {
        const key = parts[i] + '\u0000' + parts[i + 1];
        const rank = this.ranks.get(key);
        if (rank !== undefined && rank < best) {
          best = rank;
          bestKey = key;
        }
      }
      if (best === Infinity) break;
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] + '\u0000' + parts[i + 1] === bestKey) {
          next.push(parts[i]! + parts[i + 1]!);
          i++;
        } else next.push(parts[i]!);
      }
      parts = next;
    }
    if (this.continuingSuffix) parts = parts.map((p, i) => (i < parts.length - 1 ? p + this.continuingSuffix : p));
    if (this.cache.size >= 10000) this.cache.clear();
    this.cache.set(word, parts);
    return parts;
  }
}
