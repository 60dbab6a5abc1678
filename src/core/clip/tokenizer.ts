// The CLIP tokenizer of a model folder (tokenizer.json + tokenizer_config.json, read by bpe.ts:
// no network, no other package), padded or truncated to the text encoder's context length.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BpeTokenizer, TokenizerError } from './bpe';
import { TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from './checkpoint';

export { TokenizerError };

/** Token ids of a batch, row-major [count, contextLength]. */
export interface TokenBatch {
  ids: number[];
  count: number;
  contextLength: number;
}

/** Fails early, naming the file, when a folder lacks the tokenizer files. */
export function checkTokenizerFiles(dir: string): void {
  for (const f of [TOKENIZER_FILE, TOKENIZER_CONFIG_FILE]) {
    if (!existsSync(path.join(dir, f))) {
      const hint = f === TOKENIZER_CONFIG_FILE ? ` (a file containing {} is enough)` : '';
      throw new TokenizerError(`${dir}: missing ${f}${hint}; a CLIP model folder needs ${TOKENIZER_FILE} and ${TOKENIZER_CONFIG_FILE}`);
    }
  }
}

export class ClipTokenizer {
  private constructor(
    private readonly tokenizer: BpeTokenizer,
    readonly contextLength: number,
    readonly padId: number,
    readonly eosId: number,
  ) {}

  static async load(dir: string, contextLength: number): Promise<ClipTokenizer> {
    checkTokenizerFiles(dir);
    const file = path.join(dir, TOKENIZER_FILE);
    const configFile = path.join(dir, TOKENIZER_CONFIG_FILE);
    const json = readJson(file);
    const config = readJson(configFile);
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new TokenizerError(`${configFile}: must hold a JSON object`);
    const cfg = config as Record<string, unknown>;
    const tokenizer = new BpeTokenizer(json, file, { removeSpace: cfg.remove_space === true, lowercaseAndRemoveAccents: cfg.do_lowercase_and_remove_accent === true });
    const eosToken = configToken(cfg, 'eos_token', configFile);
    const eos = eosToken === undefined ? undefined : tokenizer.tokenId(eosToken);
    if (eos === undefined) throw new TokenizerError(`${configFile}: no eos_token in the vocabulary; CLIP needs <|endoftext|>`);
    const padToken = configToken(cfg, 'pad_token', configFile);
    const pad = padToken === undefined ? undefined : tokenizer.tokenId(padToken);
    return new ClipTokenizer(tokenizer, contextLength, pad ?? eos, eos);
  }

  /** Ids of one text with <|startoftext|> and <|endoftext|>, not padded. */
  encodeOne(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  /** Pads with the pad token; a text too long keeps its first tokens and still ends with <|endoftext|>. */
  encode(texts: string[]): TokenBatch {
    const n = this.contextLength;
    const ids: number[] = [];
    for (const text of texts) {
      const row = this.encodeOne(text);
      if (row.length > n) {
        row.length = n;
        row[n - 1] = this.eosId;
      }
      while (row.length < n) row.push(this.padId);
      ids.push(...row);
    }
    return { ids, count: texts.length, contextLength: n };
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TokenizerError(`${file}: cannot load the tokenizer (${(err as Error).message})`);
  }
}

/** A token named in tokenizer_config.json: a string, or {"content": ...} (an AddedToken). */
function configToken(config: Record<string, unknown>, key: string, file: string): string | undefined {
  const v = config[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  throw new TokenizerError(`${file}: ${key} must be a string or {"content": ...}`);
}
