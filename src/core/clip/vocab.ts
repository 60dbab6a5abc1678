// The CLIP BPE vocabulary and the tokenizer.json/tokenizer_config.json that describe it, built the
// way OpenAI's CLIP builds its vocabulary: the 256 byte characters, the same with '</w>', one
// token per merge (in merge order), then <|startoftext|> and <|endoftext|>.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export const START_TOKEN = '<|startoftext|>';
export const END_TOKEN = '<|endoftext|>';
/** How many merges CLIP uses from bpe_simple_vocab_16e6.txt.gz (49408 tokens in all). */
export const CLIP_MERGE_COUNT = 49152 - 256 - 2;

/** GPT-2/CLIP's reversible byte -> printable character map, in CLIP's vocabulary order. */
export function byteCharacters(): string[] {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = bytes.map((b) => String.fromCharCode(b));
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) chars.push(String.fromCharCode(256 + n++));
  }
  return chars;
}

/** The merges of the real CLIP tokenizer from its gzipped merges file. */
export function readClipMerges(gzFile: string, count = CLIP_MERGE_COUNT): [string, string][] {
  const lines = gunzipSync(readFileSync(gzFile)).toString('utf8').split('\n');
  // line 0 is a version header
  return lines.slice(1, 1 + count).map((line, i) => {
    const parts = line.split(' ');
    if (parts.length !== 2) throw new Error(`${gzFile}: merge line ${i + 2} is not 'a b': ${JSON.stringify(line)}`);
    return parts as [string, string];
  });
}

export function buildVocab(merges: [string, string][]): string[] {
  const bytes = byteCharacters();
  return [...bytes, ...bytes.map((c) => c + '</w>'), ...merges.map(([a, b]) => a + b), START_TOKEN, END_TOKEN];
}

const SPLIT_REGEX = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/** tokenizer.json in the layout of transformers' CLIPTokenizerFast. */
export function buildTokenizerJson(merges: [string, string][]): Record<string, unknown> {
  const vocab = buildVocab(merges);
  const ids: Record<string, number> = {};
  vocab.forEach((t, i) => (ids[t] = i));
  const sot = vocab.length - 2;
  const eot = vocab.length - 1;
  const added = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(sot, START_TOKEN), added(eot, END_TOKEN)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: SPLIT_REGEX }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [END_TOKEN, eot], cls: [START_TOKEN, sot], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: END_TOKEN,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab: ids,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

export function buildTokenizerConfig(contextLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'CLIPTokenizer',
    model_max_length: contextLength,
    bos_token: START_TOKEN,
    eos_token: END_TOKEN,
    unk_token: END_TOKEN,
    pad_token: END_TOKEN,
    do_lower_case: true,
  };
}
