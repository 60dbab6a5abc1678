// The CLIP tokenizer through transformers.js (AutoTokenizer on the model folder's tokenizer.json,
// never the network), padded or truncated to the text encoder's context length.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from './checkpoint';
import { PsclError } from '../errors';

interface HfTokenizer {
  encode(text: string): number[];
  pad_token_id?: number | null;
  eos_token_id?: number | null;
}

/** Bad input the user can fix (kind 'input' for the backend's error mapping). */
export class TokenizerError extends PsclError {
  override name = 'TokenizerError';
}

/** Token ids of a batch, row-major [count, contextLength], as numbers (transformers.js hands BigInts to ORT). */
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
    private readonly tokenizer: HfTokenizer,
    readonly contextLength: number,
    readonly padId: number,
    readonly eosId: number,
  ) {}

  static async load(dir: string, contextLength: number): Promise<ClipTokenizer> {
    checkTokenizerFiles(dir);
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = path.dirname(path.resolve(dir)) + path.sep;
    let tokenizer: HfTokenizer;
    try {
      tokenizer = (await AutoTokenizer.from_pretrained(path.basename(path.resolve(dir)), { local_files_only: true })) as unknown as HfTokenizer;
    } catch (err) {
      throw new TokenizerError(`${path.join(dir, TOKENIZER_FILE)}: cannot load the tokenizer (${(err as Error).message})`);
    }
    const eos = tokenizer.eos_token_id;
    if (typeof eos !== 'number') throw new TokenizerError(`${path.join(dir, TOKENIZER_CONFIG_FILE)}: no eos_token; CLIP needs <|endoftext|>`);
    const pad = typeof tokenizer.pad_token_id === 'number' ? tokenizer.pad_token_id : eos;
    return new ClipTokenizer(tokenizer, contextLength, pad, eos);
  }

  /** Ids of one text with <|startoftext|> and <|endoftext|>, not padded. */
  encodeOne(text: string): number[] {
    return this.tokenizer.encode(text).map(Number);
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
