// The project's tokenizer.json reader (src/core/clip/bpe.ts) against an independent
// implementation, transformers.js (a dev dependency only for this test): the same ids on the real
// CLIP merges for the class names and prompts of the benchmarks, hand-picked edge cases (Unicode
// normalisation, odd whitespace, special tokens in the text, contractions, very long words) and
// thousands of seeded random strings; plus variants of the format CLIP tokenizers may use.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { SeededRandom } from '../../../src/core/clip/tiny';
import { ClipTokenizer } from '../../../src/core/clip/tokenizer';
import { buildTokenizerConfig, buildTokenizerJson, readClipMerges } from '../../../src/core/clip/vocab';
import { tempDir, testData } from './helpers';

interface Reference {
  encode(text: string): number[];
}

const merges = readClipMerges(path.join(testData, 'clip', 'bpe_simple_vocab_16e6.txt.gz'));
const root = tempDir('pscl-bpe-');

/** Writes a model folder and loads it with both tokenizers. */
async function both(name: string, json: Record<string, unknown>, config: Record<string, unknown> = buildTokenizerConfig(77)) {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = root + path.sep;
  const ref = (await AutoTokenizer.from_pretrained(name, { local_files_only: true })) as unknown as Reference;
  const ours = await ClipTokenizer.load(dir, 77);
  return { ours, ref: (t: string) => ref.encode(t).map(Number) };
}

function compare(ours: ClipTokenizer, ref: (t: string) => number[], texts: string[]) {
  let differ = 0;
  const first: string[] = [];
  for (const t of texts) {
    const a = ours.encodeOne(t);
    const b = ref(t);
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
      differ++;
      if (first.length < 5) first.push(`${JSON.stringify(t)}: ours ${JSON.stringify(a)}, transformers.js ${JSON.stringify(b)}`);
    }
  }
  assert.equal(differ, 0, `${differ} of ${texts.length} texts differ:\n${first.join('\n')}`);
}

const lines = (file: string) => readFileSync(path.join(testData, file), 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);

/** Class names of the benchmarks as prompts put them, with the part phrasings. */
function benchmarkTexts(): string[] {
  const cub = lines('cub/classes.txt').map((l) => l.split(' ')[1]!.slice(4).replace(/_/g, ' '));
  const names = [...cub, ...lines('aircraft/variants.txt'), ...lines('aircraft/families.txt'), ...lines('aircraft/manufacturers.txt'), ...lines('cars/class_names.txt')];
  const parts = ['beak', 'bill', 'crown', 'nape', 'left eye', 'right wing', 'tail feathers', 'wing-tip', "bird's head", 'landing gear', 'tail fin', 'headlights', 'front grille'];
  return [
    ...names,
    ...names.map((n) => `a photo of a ${n}, a type of bird.`),
    ...names.map((n) => `the ${parts[n.length % parts.length]} of a ${n.toUpperCase()}.`),
    ...parts.map((p) => `a photo of the ${p} of a bird.`),
  ];
}

const EDGE_CASES = [
  '', ' ', '   ', '\t\n', '\r\n\r\n', 'a', 'A   Photo  of a CAT.', "it's", "IT'S", "don't", "we'll", "they're", "I'm", "you've", "she'd", "'s", "''", "rock'n'roll",
  '2026', '3.14159', '1,000,000', 'F/A-18', '737-800', 'BAE 146-200', 'Ram C/V Cargo Van Minivan 2012', '!!!???', '...', '—–-', '(parenthesised) [bracketed] {braced}',
  'café', 'cafe\u0301', 'ﬁne ﬂowers', 'Σίσυφος', 'İstanbul', 'STRASSE straße', 'Ǆ ǅ ǆ', 'ＡＢＣ ｆｕｌｌｗｉｄｔｈ', '鸟的照片', '日本語のテキスト', 'هذا طائر', 'यह एक पक्षी है', 'ปีกนก',
  '🐦 bird 🦅', '👨‍👩‍👧 family', '🏳️‍🌈', 'a\u00a0non-breaking space', '\ufeffBOM first', 'next\u0085line', 'line\u2028separator', 'zero\u200bwidth', 'soft\u00adhyphen', 'tab\there',
  'lone \ud800 surrogate', '\udc00', '<|startoftext|>hello<|endoftext|>', '<|ENDOFTEXT|>', 'a<|endoftext|>b', '<|endoftext', 'endoftext|>', '<|startoftext|><|startoftext|>',
  'a'.repeat(300), 'ab'.repeat(200), 'supercalifragilisticexpialidocious '.repeat(3), 'x'.repeat(1000), '1234567890'.repeat(5), '$5.99 & 20% off #sale @home',
  'C:\\path\\to\\file.jpg', 'https://example.com/a?b=c', 'e-mail: someone@example.org', 'x² + y³ = ½', '∑∫√∞≈≠', 'naïve coöperate résumé', 'Ⅻ Ⅳ ⅻ',
];

function randomTexts(count: number, seed: number): string[] {
  const rng = new SeededRandom(seed);
  const pools = [
    'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
    '0123456789',
    " .,;:!?'\"-_/()[]{}<>|@#$%^&*+=~`\\",
    ' \t\n\u00a0\u2003\u3000\ufeff\u0085\u200b',
    'àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœŒÆØÅ',
    '\u0300\u0301\u0308\u0327\u20dd',
    '鸟猫狗日本語한국어ไทยعربيहिन्दीΑΒΓαβγДЖЯдж',
    '🐦🦅🐧👍🏽❤️✨🚗✈️',
  ];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = Math.floor(rng.uniform() * 40);
    let s = '';
    for (let k = 0; k < n; k++) {
      const pool = Array.from(pools[Math.floor(rng.uniform() * pools.length)]!);
      s += pool[Math.floor(rng.uniform() * pool.length)];
    }
    // Now and then a special token or a word from the real vocabulary's range.
    if (rng.uniform() < 0.05) s += '<|endoftext|>';
    if (rng.uniform() < 0.2) s = `a photo of ${s}`;
    out.push(s);
  }
  return out;
}

describe('CLIP tokenizer: the same ids as transformers.js', () => {
  let real: Awaited<ReturnType<typeof both>>;
  before(async () => {
    real = await both('real', buildTokenizerJson(merges));
  });

  it('on the real merges: the benchmarks\' class names and prompts', () => compare(real.ours, real.ref, benchmarkTexts()));
  it('on the real merges: Unicode, whitespace, special tokens, contractions, long words', () => compare(real.ours, real.ref, EDGE_CASES));
  it('on the real merges: 3000 seeded random strings', () => compare(real.ours, real.ref, randomTexts(3000, 17)));

  it('on the byte-only vocabulary of the tiny test models (no merges)', async () => {
    const small = await both('small', buildTokenizerJson([]));
    compare(small.ours, small.ref, [...EDGE_CASES, ...randomTexts(500, 3)]);
  });

  it('on format variants: GPT-2 byte-level split, template post-processor, added tokens with lstrip/rstrip, a string pattern, unknown tokens', async () => {
    const json = buildTokenizerJson(merges.slice(0, 5000)) as Record<string, any>;
    json.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Strip', strip_left: true, strip_right: true }, { type: 'Replace', pattern: { String: '  ' }, content: ' ' }, { type: 'Lowercase' }] };
    json.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
    json.post_processor = { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|startoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|endoftext|>', type_id: 0 } }], pair: [], special_tokens: {} };
    const sep = json.added_tokens.length + json.model.merges.length;
    json.added_tokens.push({ id: 49408, content: '[SEP]', single_word: false, lstrip: true, rstrip: true, normalized: false, special: true });
    json.model.vocab['[SEP]'] = 49408;
    // Drop a few merged tokens from the vocabulary: BPE still makes them, so they become unk.
    for (const t of ['photo</w>', 'bird</w>', 'the</w>']) delete json.model.vocab[t];
    assert.ok(sep > 0);
    const variant = await both('variant', json);
    compare(variant.ours, variant.ref, [...EDGE_CASES, 'left [SEP] right', 'left[SEP]right', '  [SEP]  ', 'a photo of the bird', ...randomTexts(1000, 5), ...benchmarkTexts().slice(0, 300)]);
  });

  it('special tokens of tokenizer_config.json: pad falls back to eos, both as strings or {content}', async () => {
    const { ours } = await both('config', buildTokenizerJson([]), { eos_token: { content: '<|endoftext|>', __type: 'AddedToken' }, pad_token: '!' });
    assert.equal(ours.eosId, 513);
    assert.equal(ours.padId, 0);
    const { ours: noPad } = await both('config2', buildTokenizerJson([]), { eos_token: '<|endoftext|>' });
    assert.equal(noPad.padId, 513);
  });
});

describe('CLIP tokenizer: files it cannot use are clear errors naming the file', () => {
  async function loadWith(json: unknown, config: unknown = {}) {
    const dir = path.join(root, `bad-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'tokenizer.json'), typeof json === 'string' ? json : JSON.stringify(json));
    writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    return { dir, load: () => ClipTokenizer.load(dir, 77) };
  }

  it('not JSON, not BPE, an unsupported normalizer, an unusable regex, no eos token', async () => {
    const good = buildTokenizerJson([]) as Record<string, any>;
    const cases: Array<[unknown, unknown, RegExp]> = [
      ['{ not json', {}, /tokenizer\.json: cannot load the tokenizer/],
      [{ ...good, model: { type: 'WordPiece', vocab: {} } }, {}, /tokenizer\.json: model type "WordPiece" is not supported/],
      [{ ...good, normalizer: { type: 'Precompiled' } }, {}, /tokenizer\.json: normalizer: normalizer type "Precompiled" is not supported/],
      [{ ...good, pre_tokenizer: { type: 'Split', pattern: { Regex: '(unclosed' }, behavior: 'Removed', invert: true } }, {}, /tokenizer\.json: pre_tokenizer\.pattern: cannot use the pattern/],
      [good, { eos_token: '</s>' }, /tokenizer_config\.json: no eos_token in the vocabulary/],
      [good, {}, /tokenizer_config\.json: no eos_token in the vocabulary/],
    ];
    for (const [json, config, message] of cases) {
      const { dir, load } = await loadWith(json, config);
      await assert.rejects(load(), (e: Error) => e.name === 'TokenizerError' && message.test(e.message) && e.message.includes(dir), `expected ${message}`);
    }
  });
});
