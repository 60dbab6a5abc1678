// Defect 6: a byte that is not UTF-8 in a project file became U+FFFD when `suggest --apply`
// rewrote the file, and `validate` said nothing; a UTF-8 BOM was rejected by the CLI ("1:1
// unexpected character"); a BOM or an indent in an importer's list files silently dropped
// classes. Now: an error with its position, no write that changes untouched bytes, the BOM
// accepted and kept, and list files read whatever their BOM and indentation.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { writeCubFixture } from '../fixtures/datasets';
import { copySample } from '../helpers/cacheFixture';
import { buildDist } from '../helpers/build';
import { startFakeLlm, type FakeLlmServer } from '../helpers/fakeLlmServer';
import { repoRoot, tempDir } from '../helpers/paths';
import { importCub } from '../../src/core/taxonomy/importers';
import { parseProject } from '../../src/core/taxonomy/project';
import { pscl, STACK } from './helpers';
import { installVscodeStub, logChannel, Uri } from './vscodeStub';

const tmp = tempDir('pscl-rel-enc-');
let server: FakeLlmServer;
let sample: string;
const GOOD = readFileSync(path.join(repoRoot, 'test', 'unit', 'fixtures', 'llm-tiny-birds-intermediate.json'), 'utf8');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

before(async () => {
  buildDist();
  server = await startFakeLlm();
  sample = readFileSync(copySample(path.join(tmp.dir, 'sample')), 'utf8');
});
beforeEach(() => server.script());
after(async () => {
  await server.close();
  tmp.cleanup();
});

/** The sample's project file next to its dataset, with these bytes. */
function projectWith(name: string, bytes: Buffer): string {
  const file = path.join(tmp.dir, 'sample', name);
  writeFileSync(file, bytes);
  return file;
}

/** The sample with "Black crowned Gull" spelt with a Latin-1 é (one byte 0xE9) in its description. */
function latin1Bytes(): Buffer {
  const text = sample.replace('"name": "Black crowned Gull",', '"name": "Black crowned Gull", "description": "caf\u00e9 coloured",');
  assert.notEqual(text, sample);
  return Buffer.from(text, 'latin1');
}

function suggestApply(file: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OPENAI_|PSCL_LLM_)/.test(k)));
  return pscl(['suggest', 'intermediate', '--project', file, '--base-url', server.url, '--model', 'fake-model', '--no-cache', '--apply', '--accept', 'L1'], { limitMs: 30_000, env });
}

describe('reliability: text encodings (defect 6)', () => {
  it('a byte that is not UTF-8 is an error naming its line and column in validate', async () => {
    const bytes = latin1Bytes();
    const file = projectWith('latin1.pscl.json', bytes);
    const r = await pscl(['validate', '--no-dataset', file]);
    assert.equal(r.code, 1, r.out);
    const lineNo = bytes.subarray(0, bytes.indexOf(0xe9)).toString('latin1').split('\n').length;
    assert.match(r.out, new RegExp(`latin1\\.pscl\\.json:${lineNo}:\\d+: error: the byte 0xE9 is not valid UTF-8; save the file as UTF-8`));
    assert.doesNotMatch(r.out + r.err, STACK);
  });

  it('suggest --apply refuses such a file and leaves every byte as it was', async () => {
    const bytes = latin1Bytes();
    const file = projectWith('latin1-apply.pscl.json', bytes);
    server.script({ content: GOOD });
    const r = await suggestApply(file);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /the byte 0xE9 is not valid UTF-8/);
    assert.ok(readFileSync(file).equals(bytes), 'not one byte changed');
  });

  it('a UTF-8 BOM is accepted by validate and kept by suggest --apply, which changes only the edited bytes', async () => {
    const plain = projectWith('plain.pscl.json', Buffer.from(sample));
    const withBom = projectWith('bom.pscl.json', Buffer.concat([BOM, Buffer.from(sample)]));
    const v = await pscl(['validate', '--no-dataset', withBom]);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /^0 errors/m);
    for (const f of [plain, withBom]) {
      server.script({ content: GOOD });
      const r = await suggestApply(f);
      assert.equal(r.code, 0, r.out + r.err);
    }
    const after = readFileSync(withBom);
    assert.ok(after.subarray(0, 3).equals(BOM), 'the BOM is kept');
    assert.ok(after.subarray(3).equals(readFileSync(plain)), 'the same edit as without a BOM, nothing else');
    assert.notEqual(readFileSync(plain, 'utf8'), sample, 'the edit was made');
  });

  it("the extension's store reads a BOM file without problems and flags a non-UTF-8 one", async () => {
    installVscodeStub();
    const { ProjectStore } = await import('../../src/extension/project/store');
    const store = new ProjectStore({ validationDelayMs: 0, showImageCounts: false, onDidChange: () => ({ dispose() {} }) } as never, logChannel() as never);
    const bom = await store.load(Uri.file(projectWith('store-bom.pscl.json', Buffer.concat([BOM, Buffer.from(sample)]))) as never);
    assert.deepEqual(bom!.diagnostics.filter((d) => d.severity === 'error'), []);
    const latin = await store.load(Uri.file(projectWith('store-latin1.pscl.json', latin1Bytes())) as never);
    assert.ok(latin!.diagnostics.some((d) => d.code === 'not-utf8' && /0xE9/.test(d.message)), JSON.stringify(latin!.diagnostics));
    store.dispose();
  });

  it('the parser keeps offsets of a BOM file, so edits land where they should', () => {
    const parsed = parseProject('\ufeff' + sample);
    assert.deepEqual(parsed.diagnostics, []);
    assert.equal(parsed.project!.classes.length, 6);
  });

  it('a BOM or leading spaces in CUB list files drop no class and no image', async () => {
    const clean = path.join(tmp.dir, 'cub-clean');
    writeCubFixture(clean);
    const expected = await importCub(clean);
    for (const [name, mangle] of [
      ['bom', (t: string) => '\ufeff' + t],
      ['indent', (t: string) => t.replace(/^(?=\S)/gm, '  ').replace(/ (\S+)/, '\t$1')],
    ] as const) {
      const root = path.join(tmp.dir, `cub-${name}`);
      writeCubFixture(root);
      for (const f of ['classes.txt', 'images.txt', 'image_class_labels.txt', 'train_test_split.txt']) {
        writeFileSync(path.join(root, f), mangle(readFileSync(path.join(root, f), 'utf8')));
      }
      const got = await importCub(root);
      assert.deepEqual(got.project.classes.map((c) => [c.id, c.name]), expected.project.classes.map((c) => [c.id, c.name]), name);
      assert.deepEqual(got.images, expected.images, `${name}: every image keeps its class and split`);
    }
  });
});
