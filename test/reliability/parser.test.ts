// Defect 4: the project parser crashed on hostile JSON (RangeError at 5,000 levels of nesting in
// validate, info, lint and suggest; TypeError for a level named __proto__, whose path keys were
// silently dropped), and the extension's ProjectStore called it unguarded. Now: depth and size
// limits with a positioned error, null-prototype maps, and no stack trace for bad input.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDist } from '../helpers/build';
import { tempDir } from '../helpers/paths';
import { MAX_JSON_DEPTH, MAX_PROJECT_CHARS, parseProject } from '../../src/core/taxonomy/project';
import { validateProject } from '../../src/core/taxonomy/validate';
import { pscl, STACK } from './helpers';
import { installVscodeStub, logChannel, Uri } from './vscodeStub';

const tmp = tempDir('pscl-rel-parser-');
after(tmp.cleanup);
before(() => buildDist());

const HEAD = '{ "version": 1, "name": "deep", "dataset": { "format": "imagefolder", "root": "." }, "levels": ["coarse", "species"], "classes": [], "parts": ';
function deepFile(name: string, depth: number): string {
  const file = path.join(tmp.dir, name);
  writeFileSync(file, `${HEAD}${'{"a":'.repeat(depth)}1${'}'.repeat(depth)} }\n`);
  return file;
}
const deepArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

const PROTO = `{
  "version": 1, "name": "proto", "dataset": { "format": "imagefolder", "root": "." },
  "levels": ["coarse", "__proto__", "constructor", "species"],
  "classes": [
    { "id": "a", "name": "A", "path": { "coarse": "bird", "__proto__": "x", "constructor": "c1" } },
    { "id": "b", "name": "B", "path": { "coarse": "bird", "__proto__": "y", "constructor": "c2" } }
  ],
  "parts": { "bird": ["head"], "constructor": ["wing"] }
}
`;

describe('reliability: hostile project JSON (defect 4)', () => {
  it('5,000 levels of nesting: validate, info, lint and suggest end within 15 s with one positioned error line, no stack trace', async () => {
    const file = deepFile('deep.pscl.json', 5000);
    const runs = {
      validate: await pscl(['validate', file], { limitMs: 15_000 }),
      info: await pscl(['info', file], { limitMs: 15_000 }),
      lint: await pscl(['lint', '--project', file, '--model', 'demo'], { limitMs: 15_000 }),
      suggest: await pscl(['suggest', 'parts', '--project', file, '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--no-cache'], { limitMs: 15_000 }),
    };
    for (const [name, r] of Object.entries(runs)) {
      assert.equal(r.timedOut, false, `${name} did not end within 15 s`);
      assert.ok(r.code === 1 || r.code === 2, `${name}: exit ${r.code}\n${r.err}`);
      const text = r.out + r.err;
      assert.doesNotMatch(text, STACK, `${name} printed a stack trace:\n${text}`);
      assert.doesNotMatch(text, /RangeError|internal error|Maximum call stack/, `${name}:\n${text}`);
      assert.match(text, /deep\.pscl\.json:1:\d+: (error: )?objects and arrays are nested more than 64 deep/, `${name}:\n${text}`);
    }
  });

  it('the limits: nesting past MAX_JSON_DEPTH and files past MAX_PROJECT_CHARS are refused with their position', () => {
    const ok = parseProject(`{ "x": ${deepArrays(MAX_JSON_DEPTH - 1)} }`);
    assert.equal(ok.diagnostics.some((d) => d.code === 'too-deep'), false, 'the limit itself is allowed');
    const deep = parseProject(`{\n  "x": ${deepArrays(5000)} }`);
    const d = deep.diagnostics.find((x) => x.code === 'too-deep');
    assert.ok(d && d.severity === 'error');
    assert.deepEqual(d.range.start, { line: 1, character: 7 + MAX_JSON_DEPTH - 1 }, 'points at the first bracket past the limit');
    assert.equal(deep.project, undefined);
    // brackets inside strings and comments do not count
    const quoted = parseProject(`{ "name": "${'['.repeat(500)}" /* ${'{'.repeat(500)} */, "version": 1 }`);
    assert.equal(quoted.diagnostics.some((x) => x.code === 'too-deep'), false);
    const big = parseProject(`{ "name": "${' '.repeat(MAX_PROJECT_CHARS)}" }`);
    assert.equal(big.diagnostics[0].code, 'too-large');
    assert.match(big.diagnostics[0].message, /at most 32 MB/);
  });

  it("a level named __proto__ or constructor validates, and its path values are kept", async () => {
    const file = path.join(tmp.dir, 'proto.pscl.json');
    writeFileSync(file, PROTO);
    const parsed = parseProject(PROTO, file);
    const a = parsed.project!.classes[0];
    assert.equal(Object.hasOwn(a.path, '__proto__'), true, 'the __proto__ key is a value, not dropped');
    assert.equal(a.path['__proto__'], 'x');
    assert.equal(a.path['constructor'], 'c1');
    assert.deepEqual(Object.keys(parsed.project!.parts), ['bird', 'constructor']);
    assert.deepEqual(validateProject(parsed).filter((d) => d.severity === 'error'), []);
    const r = await pscl(['validate', '--no-dataset', file], { limitMs: 15_000 });
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /0 errors/);
    const info = await pscl(['info', '--json', file], { limitMs: 15_000 });
    assert.equal(info.code, 0, info.err);
    const levels = JSON.parse(info.out).levels as { name: string; values: number }[];
    assert.deepEqual(levels.map((l) => [l.name, l.values]), [['coarse', 1], ['__proto__', 2], ['constructor', 2], ['species', 2]]);
  });

  it("the extension's ProjectStore shows such files as problems instead of failing", async () => {
    installVscodeStub();
    const { ProjectStore } = await import('../../src/extension/project/store');
    const config = { validationDelayMs: 0, showImageCounts: false, onDidChange: () => ({ dispose() {} }) };
    const log = logChannel();
    const store = new ProjectStore(config as never, log as never);
    const deep = await store.load(Uri.file(deepFile('store-deep.pscl.json', 5000)) as never);
    assert.ok(deep, 'a snapshot, not an exception');
    assert.ok(deep.diagnostics.some((d) => d.code === 'too-deep' && d.severity === 'error'), JSON.stringify(deep.diagnostics));
    const protoFile = path.join(tmp.dir, 'store-proto.pscl.json');
    writeFileSync(protoFile, PROTO);
    const proto = await store.load(Uri.file(protoFile) as never);
    assert.deepEqual(proto!.diagnostics.filter((d) => d.severity === 'error'), []);
    store.dispose();
  });
});
