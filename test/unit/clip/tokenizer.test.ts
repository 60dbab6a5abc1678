import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ClipTokenizer } from '../../../src/core/clip/tokenizer';
import { buildTokenizerConfig, buildTokenizerJson, buildVocab, readClipMerges } from '../../../src/core/clip/vocab';
import { tempDir, testData } from './helpers';

const mergesFile = path.join(testData, 'clip', 'bpe_simple_vocab_16e6.txt.gz');

async function realTokenizer(): Promise<ClipTokenizer> {
  assert.ok(existsSync(mergesFile), `the real CLIP merges are needed at ${mergesFile} (set PSCL_SHARED_DATA)`);
  const dir = path.join(tempDir(), 'clip');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(buildTokenizerJson(readClipMerges(mergesFile))));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(buildTokenizerConfig(77)));
  return ClipTokenizer.load(dir, 77);
}

test('the vocabulary is built as CLIP builds it', () => {
  assert.ok(existsSync(mergesFile), `the real CLIP merges are needed at ${mergesFile} (set PSCL_SHARED_DATA)`);
  const vocab = buildVocab(readClipMerges(mergesFile));
  assert.equal(vocab.length, 49408);
  assert.equal(vocab[0], '!');
  assert.equal(vocab[256], '!</w>');
  assert.equal(vocab[320], 'a</w>');
  assert.equal(vocab[49406], '<|startoftext|>');
  assert.equal(vocab[49407], '<|endoftext|>');
});

test('known strings get OpenAI CLIP ids', async () => {
  const tok = await realTokenizer();
  assert.deepEqual(tok.encodeOne('a photo of a cat.'), [49406, 320, 1125, 539, 320, 2368, 269, 49407]);
  assert.deepEqual(tok.encodeOne('a diagram'), [49406, 320, 22697, 49407]);
  assert.deepEqual(tok.encodeOne('a dog'), [49406, 320, 1929, 49407]);
  assert.deepEqual(tok.encodeOne('A   Photo  of a CAT.'), tok.encodeOne('a photo of a cat.')); // lowercase, whitespace
});

test('batches are padded with <|endoftext|> and long texts truncated to end with it', async () => {
  const tok = await realTokenizer();
  const batch = tok.encode(['a dog', 'wing '.repeat(100)]);
  assert.equal(batch.count, 2);
  assert.equal(batch.ids.length, 2 * 77);
  assert.ok(batch.ids.every((id) => typeof id === 'number'));
  assert.deepEqual(batch.ids.slice(0, 5), [49406, 320, 1929, 49407, 49407]);
  const long = batch.ids.slice(77);
  assert.equal(long[0], 49406);
  assert.equal(long[76], 49407);
  assert.equal(long.filter((id) => id === 49407).length, 1);
});

test('a missing tokenizer file is a clear error', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
  await assert.rejects(ClipTokenizer.load(dir, 77), /missing tokenizer_config\.json \(a file containing \{\} is enough\)/);
});
