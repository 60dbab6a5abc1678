// `npm run package`: a VSIX for this platform (e.g. linux-x64). The bundles in dist/ hold all
// JavaScript; only the native modules the bundles leave external (scripts/build.mjs) ship in
// node_modules, with their binaries for this platform only. Prints the VSIX path and size.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const NATIVE = ['onnxruntime-node', 'sharp', '@huggingface/transformers'];
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const target = arg('--target') ?? `${process.platform === 'win32' ? 'win32' : process.platform}-${process.arch}`;
const [os, cpu] = target.split('-');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.resolve(root, arg('--out') ?? `out/${pkg.name}-${pkg.version}-${target}.vsix`);

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run(process.execPath, ['scripts/build.mjs', '--production'], root);

// Stage what ships: manifest, docs, bundles, schemas, media, and the external native modules.
const stage = path.join(root, 'out', 'package-stage');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md', 'dist', 'schemas', 'media']) {
  if (existsSync(path.join(root, f))) cpSync(path.join(root, f), path.join(stage, f), { recursive: true, filter: (src) => !src.endsWith('.map') });
}
// The Python trainer the extension launches (its tests and caches stay behind).
cpSync(path.join(root, 'trainer'), path.join(stage, 'trainer'), { recursive: true, filter: (src) => !/[\\/](tests|__pycache__)([\\/]|$)|\.pyc$/.test(src) });

/** A package built for another platform (npm's os/cpu fields), or a binary folder of one. */
function otherPlatform(dir) {
  const pj = path.join(dir, 'package.json');
  if (existsSync(pj)) {
    const meta = JSON.parse(readFileSync(pj, 'utf8'));
    const no = (list, v) => Array.isArray(list) && list.length > 0 && !list.includes(v) && !list.every((x) => x.startsWith('!') && x !== `!${v}`);
    if (no(meta.os, os) || no(meta.cpu, cpu)) return true;
  }
  return false;
}
const shipped = {};
function copyModule(name) {
  if (shipped[name]) return;
  const src = path.join(root, 'node_modules', name);
  if (!existsSync(src) || otherPlatform(src)) return;
  const meta = JSON.parse(readFileSync(path.join(src, 'package.json'), 'utf8'));
  shipped[name] = meta.version;
  cpSync(src, path.join(stage, 'node_modules', name), {
    recursive: true,
    // onnxruntime-node keeps every platform under bin/napi-v*/<os>/<cpu>: keep ours only.
    filter: (p) => {
      const rel = path.relative(src, p).split(path.sep);
      const i = rel.findIndex((s) => /^napi-v\d+$/.test(s));
      if (i >= 0 && rel.length > i + 1 && rel[i + 1] !== os) return false;
      if (i >= 0 && rel.length > i + 2 && rel[i + 2] !== cpu) return false;
      return true;
    },
  });
  for (const dep of Object.keys({ ...meta.dependencies, ...meta.optionalDependencies })) copyModule(dep);
}
for (const m of NATIVE) copyModule(m);
const top = Object.fromEntries(NATIVE.filter((m) => shipped[m]).map((m) => [m, shipped[m]]));
const manifest = { ...pkg, dependencies: top, devDependencies: {}, scripts: {} };
delete manifest.bin;
writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2));
// Everything staged ships, except source maps.
writeFileSync(path.join(stage, '.vscodeignore'), '**/*.map\n**/*.ts\n!**/*.d.ts\n');

mkdirSync(path.dirname(out), { recursive: true });
const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
const deps = Object.keys(top).length > 0 ? [] : ['--no-dependencies'];
run(process.execPath, [vsce, 'package', '--target', target, '--allow-missing-repository', '--no-rewrite-relative-links', '--skip-license', '-o', out, ...deps], stage);
const size = statSync(out).size;
console.log(JSON.stringify({ vsix: path.relative(root, out), target, bytes: size, mb: +(size / 1048576).toFixed(2), nativeModules: shipped }));
