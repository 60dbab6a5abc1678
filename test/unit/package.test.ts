// The packaging rules of scripts/lib/vsix.mjs on listings of every platform (what may ship, the
// size budget, no other platform's binary), the zip and tar plumbing it relies on, and the
// listings of the real VSIXs in out/vsix/ when `npm run package` has built them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { repoRoot, tempDir } from '../helpers/paths';

type Entry = { name: string; size: number; compressedSize: number };
interface Vsix {
  TARGETS: string[];
  BUDGETS: Record<string, number>;
  checkListing(target: string, entries: Entry[], options?: { budget?: number; maxFiles?: number }): string[];
  nativeLibraries(target: string): { ortDir: string; ort: string[]; sharpPkg: string; vipsPkg?: string };
  readZipListing(zip: Buffer): Array<Entry & { crc: number; method: number; offset: number }>;
  readEntry(zip: Buffer, entry: unknown): Buffer;
  writeZip(entries: Array<{ name: string; data: Buffer; deflated?: Buffer }>): Buffer;
  crc32(data: Buffer): number;
  readTarball(tgz: Buffer): Array<{ path: string; data: Buffer }>;
}

const load = async (): Promise<Vsix> => (await import(path.join(repoRoot, 'scripts', 'lib', 'vsix.mjs'))) as Vsix;
const MiB = 1024 * 1024;

/** A listing as `npm run package` makes it for `target`: manifest, bundles, trainer, sample, native modules. */
function listing(v: Vsix, target: string): Entry[] {
  const { ortDir, ort, sharpPkg, vipsPkg } = v.nativeLibraries(target);
  const f = (name: string, size = 1000, compressedSize = Math.ceil(size / 3)) => ({ name: name.startsWith('[') || name === 'extension.vsixmanifest' ? name : `extension/${name}`, size, compressedSize });
  const [os] = target.split('-');
  return [
    f('[Content_Types].xml'),
    f('extension.vsixmanifest'),
    f('package.json'),
    f('readme.md'),
    f('changelog.md'),
    f('LICENSE.txt'),
    f('media/icon.png'),
    f('media/walkthrough/open-sample.md'),
    f('dist/extension.js', 440_000),
    f('dist/backend.js', 340_000),
    f('dist/webview/maskPreview.js'),
    f('schemas/pscl-project.schema.json'),
    f('trainer/pscl_trainer/train.py'),
    f('trainer/pscl_trainer/configs/tiny.json'),
    f('samples/tiny-birds/tiny-birds.pscl.json'),
    f('samples/tiny-birds/CUB_tiny/images/001.Red_crowned_Finch/Red_crowned_Finch_0001.jpg'),
    f('node_modules/onnxruntime-node/package.json'),
    f('node_modules/onnxruntime-node/dist/index.js'),
    ...ort.map((lib) => f(ortDir + lib, lib.endsWith('.node') ? 300_000 : 40 * MiB, lib.endsWith('.node') ? 100_000 : 10 * MiB)),
    f('node_modules/onnxruntime-common/dist/cjs/index.js'),
    f('node_modules/sharp/dist/index.cjs'),
    f('node_modules/semver/functions/satisfies.js'),
    f('node_modules/detect-libc/lib/detect-libc.js'),
    f('node_modules/@img/colour/index.cjs'),
    f(`node_modules/${sharpPkg}/lib/${sharpPkg.slice(5)}-0.35.5.node`, 400_000, 150_000),
    ...(vipsPkg ? [f(`node_modules/${vipsPkg}/lib/libvips-cpp.so.8.18.7`, 18 * MiB, 7 * MiB)] : [f(`node_modules/${sharpPkg}/lib/libvips-42.dll`, 18 * MiB, 7 * MiB)]),
  ].map((e) => (os === 'darwin' && e.name.includes('libvips-cpp.so') ? { ...e, name: e.name.replace('libvips-cpp.so.8.18.7', 'libvips-cpp.8.18.7.dylib') } : e));
}

describe('packaging rules (scripts/lib/vsix.mjs)', () => {
  it('a listing of what each platform should ship passes', async () => {
    const v = await load();
    assert.deepEqual(v.TARGETS, ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64']);
    for (const t of v.TARGETS) assert.deepEqual(v.checkListing(t, listing(v, t)), [], t);
    assert.equal(v.BUDGETS['linux-x64'], 25 * MiB);
  });

  it("another platform's binaries, an unexpected large file, a stray file, a missing library, too many files, over budget: each fails", async () => {
    const v = await load();
    for (const t of v.TARGETS) {
      const other = v.TARGETS.find((o) => o !== t && o.split('-')[0] !== t.split('-')[0])!;
      const foreign = listing(v, other).filter((e) => /\.(node|so\.1|dylib|dll)$/.test(e.name));
      const problems = v.checkListing(t, [...listing(v, t), ...foreign]);
      assert.ok(foreign.every((e) => problems.some((p) => p.startsWith(e.name.slice('extension/'.length)) && /not in the allow-list|not .*'s/.test(p))), `${t} refuses ${other}'s binaries: ${problems.join('; ')}`);
    }
    const t = 'linux-x64';
    const base = listing(v, t);
    const big = v.checkListing(t, [...base, { name: 'extension/dist/extension.js.map', size: 4 * MiB, compressedSize: MiB }]);
    assert.ok(big.some((p) => /dist\/extension\.js\.map: not in the allow-list/.test(p)));
    const wasm = v.checkListing(t, [...base, { name: 'extension/dist/webview/ort.wasm', size: 14 * MiB, compressedSize: 4 * MiB }]);
    assert.ok(wasm.some((p) => /ort\.wasm: 14\.0 MiB, and only linux-x64's native libraries may exceed 1 MiB/.test(p)), wasm.join('; '));
    const web = v.checkListing(t, [...base, { name: 'extension/node_modules/onnxruntime-web/dist/ort.min.js', size: 500_000, compressedSize: 100_000 }]);
    assert.ok(web.some((p) => /onnxruntime-web\/dist\/ort\.min\.js: not in the allow-list/.test(p)));
    const noOrt = v.checkListing(t, base.filter((e) => !e.name.endsWith('libonnxruntime.so.1')));
    assert.ok(noOrt.some((p) => /libonnxruntime\.so\.1: missing/.test(p)));
    const many = v.checkListing(t, [...base, ...Array.from({ length: 400 }, (_, i) => ({ name: `extension/samples/tiny-birds/x${i}.jpg`, size: 10, compressedSize: 10 }))]);
    assert.ok(many.some((p) => /files: the limit is fewer than 400/.test(p)));
    const heavy = v.checkListing(t, base.map((e) => (e.name.endsWith('libonnxruntime.so.1') ? { ...e, compressedSize: 20 * MiB } : e)));
    assert.ok(heavy.some((p) => /over the 25 MiB budget of linux-x64/.test(p)));
    const stray = v.checkListing(t, [...base, { name: 'extension/test/data/clip/bpe_simple_vocab_16e6.txt.gz', size: 1_300_000, compressedSize: 1_300_000 }]);
    assert.ok(stray.some((p) => /test\/data\/clip\/bpe_simple_vocab_16e6\.txt\.gz: not in the allow-list/.test(p)));
  });

  it('writes zips that read back byte for byte (deflated, stored, given streams), with the CRC zlib computes', async () => {
    const v = await load();
    const random = randomBytes(5000);
    const text = Buffer.from('hello '.repeat(1000));
    const entries = [
      { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
      { name: 'extension/text.txt', data: text },
      { name: 'extension/random.bin', data: random },
      { name: 'extension/given.txt', data: text, deflated: zlib.deflateRawSync(text, { level: 1 }) },
      { name: 'extension/ü.md', data: Buffer.alloc(0) },
    ];
    const zip = v.writeZip(entries);
    const back = v.readZipListing(zip);
    assert.deepEqual(back.map((e) => e.name), entries.map((e) => e.name));
    back.forEach((e, i) => assert.ok(v.readEntry(zip, e).equals(entries[i]!.data), e.name));
    assert.equal(back[2]!.method, 0, 'incompressible data is stored');
    assert.ok(back[1]!.compressedSize < 100);
    if (typeof (zlib as { crc32?: (b: Buffer) => number }).crc32 === 'function') assert.equal(v.crc32(random), (zlib as unknown as { crc32: (b: Buffer) => number }).crc32(random));
    // And an independent reader agrees, where Info-ZIP is installed.
    const tmp = tempDir();
    const file = path.join(tmp.dir, 't.zip');
    writeFileSync(file, zip);
    const unzip = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
    if (!unzip.error) assert.match(unzip.stdout, /No errors detected/);
    tmp.cleanup();
  });

  it('reads npm tarballs, long (pax and GNU) names included', { skip: spawnSync('tar', ['--version']).status === 0 ? false : 'no tar here' }, async () => {
    const v = await load();
    const tmp = tempDir();
    const long = `package/${'deep/'.repeat(25)}file.js`;
    mkdirSync(path.join(tmp.dir, path.dirname(long)), { recursive: true });
    writeFileSync(path.join(tmp.dir, long), 'module.exports = 1;\n');
    writeFileSync(path.join(tmp.dir, 'package/package.json'), '{"name":"x"}');
    for (const format of ['pax', 'gnu']) {
      const tgz = path.join(tmp.dir, `${format}.tgz`);
      const r = spawnSync('tar', [`--format=${format}`, '-czf', tgz, '-C', tmp.dir, 'package'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const files = v.readTarball(readFileSync(tgz));
      assert.deepEqual(files.map((f) => f.path).sort(), [long.slice('package/'.length), 'package.json'].sort(), format);
      assert.equal(files.find((f) => f.path.endsWith('file.js'))!.data.toString(), 'module.exports = 1;\n');
    }
    tmp.cleanup();
  });
});

describe('the built VSIXs (out/vsix/, from npm run package)', () => {
  const dir = path.join(repoRoot, 'out', 'vsix');
  const built = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.vsix')) : [];
  it('each holds exactly its platform\'s native binaries, under budget and the file limit', { skip: built.length > 0 ? false : 'no VSIX in out/vsix: run npm run package' }, async () => {
    const v = await load();
    for (const f of built) {
      const target = v.TARGETS.find((t) => f.endsWith(`-${t}.vsix`));
      assert.ok(target, `${f} names its platform`);
      const entries = v.readZipListing(readFileSync(path.join(dir, f)));
      assert.deepEqual(v.checkListing(target, entries), [], f);
      const natives = entries.filter((e) => /\.(node|dylib|dll)$|\.so(\.\d+)*$/.test(e.name)).map((e) => e.name);
      const { ortDir, ort, sharpPkg } = v.nativeLibraries(target);
      for (const lib of ort) assert.ok(natives.includes(`extension/${ortDir}${lib}`), `${f}: ${lib}`);
      assert.ok(natives.some((n) => n.includes(`/${sharpPkg}/lib/`) && n.endsWith('.node')), `${f}: sharp's binding`);
      assert.ok(natives.every((n) => n.includes(`/${target.split('-')[0]}/${target.split('-')[1]}/`) || n.includes(target)), `${f}: only ${target} binaries: ${natives.join(', ')}`);
    }
  });
});
