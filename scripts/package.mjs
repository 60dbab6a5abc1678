// `npm run package`: one VSIX per platform (linux-x64, linux-arm64, darwin-arm64, darwin-x64,
// win32-x64), each with only what the bundles load at run time: dist/ (all JavaScript of the
// extension and backend), the schema, the icon, the walkthrough pages, the trainer, the sample,
// and onnxruntime-node + sharp with that platform's binaries alone. The other platforms' sharp
// packages (and darwin-x64's ONNX Runtime) come from the npm registry as tarballs (`npm pack`,
// cached in ~/.cache/pscl-studio/package); nothing of theirs is run here.
//
// The allow-list, the size budgets and the check of every VSIX's listing are in
// scripts/lib/vsix.mjs: the build fails when a file outside the list, a large file that is not a
// native library of the platform, another platform's binary, 400 files or more, or a VSIX over
// budget turns up. vsce packs the manifest (and must print no warning); the node_modules files
// are added afterwards and the whole zip is written again with 7-Zip's deflate for the large
// libraries. Prints a size table and one JSON line per VSIX (the last line: the last VSIX).
//
//   node scripts/package.mjs                       every target, into out/vsix/
//   node scripts/package.mjs --target linux-x64 [--out FILE]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUDGETS, checkListing, deflateBest, globToRegExp, initDeflate, nativeLibraries, onnxRuntimeVersion, OWN_FILES, packageFiles, readEntry, readTarball, readZipListing, TARGETS, writeZip } from './lib/vsix.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const fail = (msg) => {
  console.error(`package: ${msg}`);
  process.exit(1);
};
const hostTarget = `${process.platform}-${process.arch}`;
const targets = (arg('--target') ?? 'all') === 'all' ? TARGETS : arg('--target').split(',');
for (const t of targets) if (!TARGETS.includes(t)) fail(`unknown --target ${t}; one of ${TARGETS.join(', ')} or all`);
if (arg('--out') && targets.length !== 1) fail('--out needs a single --target');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'pscl-studio', 'package');

function run(cmd, args, cwd, capture = false) {
  const r = spawnSync(cmd, args, { cwd, stdio: capture ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (r.status !== 0) fail(`${path.basename(cmd)} ${args.join(' ')} failed${capture ? `:\n${r.stdout}\n${r.stderr}` : ''}`);
  return r;
}

/** Files under `dir` matching a glob relative to it, as relative paths. */
function globFiles(dir, glob) {
  const re = globToRegExp(glob);
  const base = glob.split('/').findIndex((s) => s.includes('*'));
  const start = base < 0 ? path.dirname(glob) : glob.split('/').slice(0, base).join('/');
  const out = [];
  const walk = (rel) => {
    const abs = path.join(dir, rel);
    if (!existsSync(abs)) return;
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (re.test(r)) out.push(r);
    }
  };
  walk(start === '.' ? '' : start);
  return out.sort();
}

/** A package's folder: node_modules when it is the version wanted, else its npm tarball, unpacked once into the cache. */
function packageDir(name, version) {
  const local = path.join(root, 'node_modules', name);
  if (existsSync(path.join(local, 'package.json')) && JSON.parse(readFileSync(path.join(local, 'package.json'), 'utf8')).version === version) return local;
  const dir = path.join(cache, 'npm', `${name.replace('/', '+')}@${version}`);
  if (existsSync(path.join(dir, '.complete'))) return dir;
  mkdirSync(path.join(cache, 'tarballs'), { recursive: true });
  console.log(`package: npm pack ${name}@${version} (another platform's package, unpacked, never run)`);
  const r = run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', path.join(cache, 'tarballs')], root, true);
  const [{ filename }] = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
  rmSync(dir, { recursive: true, force: true });
  for (const f of readTarball(readFileSync(path.join(cache, 'tarballs', path.basename(filename))))) {
    mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
    writeFileSync(path.join(dir, f.path), f.data);
  }
  writeFileSync(path.join(dir, '.complete'), '');
  return dir;
}

const versionOf = (name) => JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

/** node_modules entries of a target: { name: 'node_modules/<pkg>/<file>', data }. */
function nativeModuleFiles(target) {
  const sharp = JSON.parse(readFileSync(path.join(root, 'node_modules', 'sharp', 'package.json'), 'utf8'));
  const ortVersion = onnxRuntimeVersion(target, versionOf('onnxruntime-node'));
  const { sharpPkg, vipsPkg } = nativeLibraries(target);
  const versions = {
    'onnxruntime-node': ortVersion,
    'onnxruntime-common': ortVersion,
    sharp: sharp.version,
    '@img/colour': versionOf('@img/colour'),
    'detect-libc': versionOf('detect-libc'),
    semver: versionOf('semver'),
    [sharpPkg]: sharp.optionalDependencies[sharpPkg],
    ...(vipsPkg ? { [vipsPkg]: sharp.optionalDependencies[vipsPkg] } : {}),
  };
  const out = [];
  for (const [name, globs] of Object.entries(packageFiles(target))) {
    if (!versions[name]) fail(`no version of ${name} for ${target} (sharp ${sharp.version} lists none)`);
    const dir = packageDir(name, versions[name]);
    for (const g of globs) for (const f of globFiles(dir, g)) out.push({ name: `node_modules/${name}/${f}`, data: readFileSync(path.join(dir, f)) });
  }
  return { files: out, versions };
}

/** [Content_Types].xml with a Default for every file extension in the VSIX (vsce wrote it for its own files only). */
function contentTypes(xml, names) {
  const have = new Map([...xml.matchAll(/<Default Extension="([^"]*)" ContentType="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]));
  const known = { '.js': 'application/javascript', '.cjs': 'application/javascript', '.json': 'application/json', '.md': 'text/markdown', '.txt': 'text/plain' };
  for (const n of names) {
    const ext = path.extname(n).toLowerCase();
    if (ext && !have.has(ext)) have.set(ext, known[ext] ?? 'application/octet-stream');
  }
  const defaults = [...have].map(([e, t]) => `<Default Extension="${e}" ContentType="${t}"/>`).sort();
  return `<?xml version="1.0" encoding="utf-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">${defaults.join('')}</Types>`;
}

/**
 * This platform's staged native modules, loaded from the stage alone as the installed extension
 * loads them: onnxruntime-node lists its backends and sharp encodes an image.
 */
function smokeTest(stage, modules) {
  const dir = path.join(stage, '..', 'smoke');
  rmSync(dir, { recursive: true, force: true });
  for (const m of modules) {
    mkdirSync(path.dirname(path.join(dir, m.name)), { recursive: true });
    writeFileSync(path.join(dir, m.name), m.data);
  }
  // Requiring onnxruntime-node loads its binding and libonnxruntime (it lists the backends natively).
  // Both ways the bundles load them: require() and import().
  const script = `
    (async () => {
      const ort = require('onnxruntime-node');
      const sharp = require('sharp');
      const ortEsm = await import('onnxruntime-node');
      const sharpEsm = (await import('sharp')).default;
      for (const s of [sharp, sharpEsm]) {
        const png = await s({ create: { width: 2, height: 2, channels: 3, background: '#123456' } }).png().toBuffer();
        if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('sharp did not write a PNG');
      }
      if (typeof ortEsm.InferenceSession?.create !== 'function') throw new Error('import(onnxruntime-node) has no InferenceSession');
      const backends = ort.listSupportedBackends().map((b) => b.name).join(', ');
      console.log('package: the staged onnxruntime-node (' + backends + ') and sharp (libvips ' + sharp.versions.vips + ') load on this machine, by require and import');
    })().catch((e) => { console.error(e); process.exit(1); });`;
  run(process.execPath, ['-e', script], dir);
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------

run(process.execPath, ['scripts/build.mjs', '--production'], root);
const deflateNote = await initDeflate();
if (deflateNote) console.warn(`package: ${deflateNote}`);

const rows = [];
for (const target of targets) {
  const started = Date.now();
  // Stage the extension's own files for vsce (which validates the manifest and writes the VSIX's
  // metadata); node_modules is added to the zip afterwards.
  const stage = path.join(root, 'out', 'package-stage', target);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md']) {
    if (!existsSync(path.join(root, f))) fail(`${f} is missing`);
    cpSync(path.join(root, f), path.join(stage, f));
  }
  for (const g of OWN_FILES) {
    for (const f of globFiles(root, g)) {
      mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
      cpSync(path.join(root, f), path.join(stage, f));
    }
  }
  const { files: modules, versions } = nativeModuleFiles(target);
  const manifest = { ...pkg, dependencies: { 'onnxruntime-node': versions['onnxruntime-node'], sharp: versions.sharp }, devDependencies: {}, scripts: {} };
  delete manifest.bin;
  delete manifest.allowScripts;
  writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(path.join(stage, '.vscodeignore'), '# everything staged ships; node_modules is added by scripts/package.mjs\nnode_modules/**\n');

  if (target === hostTarget) smokeTest(stage, modules);

  const plain = path.join(stage, '..', `${target}.vsce.vsix`);
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = run(process.execPath, [vsce, 'package', '--target', target, '--no-dependencies', '-o', plain], stage, true);
  const said = `${r.stdout}\n${r.stderr}`;
  if (/WARNING/i.test(said)) fail(`vsce printed a warning for ${target}:\n${said}`);

  // The final zip: vsce's entries (its [Content_Types].xml extended), then node_modules.
  const vsceZip = readFileSync(plain);
  const entries = readZipListing(vsceZip).filter((e) => !e.name.endsWith('/')).map((e) => ({ name: e.name, data: readEntry(vsceZip, e) }));
  entries.push(...modules.map((m) => ({ name: `extension/${m.name}`, data: m.data })));
  const types = entries.find((e) => e.name === '[Content_Types].xml');
  types.data = Buffer.from(contentTypes(types.data.toString('utf8'), entries.map((e) => e.name)));
  for (const e of entries) e.deflated = deflateBest(e.data, path.join(cache, 'deflate'));
  const out = path.resolve(root, arg('--out') ?? `out/vsix/${pkg.name}-${pkg.version}-${target}.vsix`);
  mkdirSync(path.dirname(out), { recursive: true });
  const zip = writeZip(entries);
  writeFileSync(out, zip);
  rmSync(plain, { force: true });

  const listing = readZipListing(readFileSync(out));
  const problems = checkListing(target, listing);
  if (problems.length > 0) {
    rmSync(out, { force: true });
    fail(`${path.relative(root, out)} breaks the packaging rules (scripts/lib/vsix.mjs), so it was removed:\n  ${problems.join('\n  ')}`);
  }
  const ort = listing.filter((e) => e.name.includes('/onnxruntime-node/bin/'));
  const vips = listing.filter((e) => /sharp-(libvips-)?[a-z0-9]+-[a-z0-9]+\/lib\/.*\.(so|dylib|dll|node)/.test(e.name) || /\/lib\/libvips-cpp\./.test(e.name));
  rows.push({
    vsix: path.relative(root, out),
    target,
    bytes: statSync(out).size,
    mib: +(statSync(out).size / 1048576).toFixed(2),
    files: listing.filter((e) => !e.name.endsWith('/')).length,
    unpackedMiB: +(listing.reduce((a, e) => a + e.size, 0) / 1048576).toFixed(1),
    onnxRuntime: versions['onnxruntime-node'],
    ortMiB: +(ort.reduce((a, e) => a + e.compressedSize, 0) / 1048576).toFixed(2),
    sharpMiB: +(vips.reduce((a, e) => a + e.compressedSize, 0) / 1048576).toFixed(2),
    budgetMiB: BUDGETS[target] / 1048576,
    seconds: +((Date.now() - started) / 1000).toFixed(1),
  });
  if (target !== hostTarget) console.log(`package: ${target} staged from npm tarballs, not run here`);
}

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log(`\n${pad('target', 14)}${lpad('VSIX MiB', 9)}${lpad('budget', 8)}${lpad('files', 7)}${lpad('unpacked', 10)}${lpad('ORT MiB', 9)}${lpad('sharp MiB', 11)}  ONNX Runtime`);
for (const r of rows) console.log(`${pad(r.target, 14)}${lpad(r.mib.toFixed(2), 9)}${lpad(r.budgetMiB, 8)}${lpad(r.files, 7)}${lpad(r.unpackedMiB.toFixed(1), 10)}${lpad(r.ortMiB.toFixed(2), 9)}${lpad(r.sharpMiB.toFixed(2), 11)}  ${r.onnxRuntime}`);
console.log('');
for (const r of rows) console.log(JSON.stringify(r));
