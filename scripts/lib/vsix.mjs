// What a VSIX of PSCL Studio may hold, per platform, and the zip/tar plumbing the packaging
// needs: reading a zip's listing, writing a zip with better deflate than Node's zlib (7-Zip's, for
// the large native libraries), reading npm tarballs. Pure functions apart from the deflate cache,
// so test/unit/package.test.ts checks the rules on listings of every platform.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64'];

const MiB = 1024 * 1024;

/** Compressed size budget of each VSIX (bytes): the platform's ONNX Runtime and libvips plus ~2 MiB. */
export const BUDGETS = {
  'linux-x64': 25 * MiB,
  'linux-arm64': 20 * MiB,
  'darwin-arm64': 22 * MiB,
  'darwin-x64': 22 * MiB,
  'win32-x64': 20 * MiB,
};
export const MAX_FILES = 400;
/** Any file above this must be one of the platform's native libraries named in nativeLibraries(). */
export const MAX_PLAIN_FILE = 1 * MiB;

/** ONNX Runtime per target: 1.24 and later ship no Intel macOS build, so darwin-x64 takes 1.23.2, the last that does. */
export function onnxRuntimeVersion(target, hostVersion) {
  return target === 'darwin-x64' ? '1.23.2' : hostVersion;
}

/**
 * The native libraries each platform loads, by file name in its package (ONNX Runtime's binding
 * and library, sharp's binding and libvips). Left out on purpose: Windows' DirectML.dll (ONNX
 * Runtime delay-loads it for the DirectML provider only), dxcompiler.dll and dxil.dll (loaded by
 * name for the WebGPU provider only), and the second, version-named copy of libonnxruntime in
 * ONNX Runtime 1.30's darwin-arm64 folder (its binding links @rpath/libonnxruntime.1.dylib). The CPU provider, which is what runs here,
 * needs none of them; CUDA's libraries come from ONNX Runtime's own installer (README, "CLIP runtime").
 */
export function nativeLibraries(target) {
  const [os, cpu] = target.split('-');
  const ort = {
    linux: ['onnxruntime_binding.node', 'libonnxruntime.so.1'],
    // 1.30's binding links @rpath/libonnxruntime.1.dylib; 1.23.2's (darwin-x64) the version-named file.
    darwin: ['onnxruntime_binding.node', cpu === 'x64' ? `libonnxruntime.${onnxRuntimeVersion(target)}.dylib` : 'libonnxruntime.1.dylib'],
    win32: ['onnxruntime_binding.node', 'onnxruntime.dll'],
  }[os];
  const sharpPkg = `@img/sharp-${target}`;
  const vipsPkg = `@img/sharp-libvips-${target}`;
  return {
    ortDir: `node_modules/onnxruntime-node/bin/napi-v6/${os}/${cpu}/`,
    ort,
    sharpPkg,
    // Windows' libvips DLLs live in the sharp package itself; elsewhere in a package of their own.
    vipsPkg: os === 'win32' ? undefined : vipsPkg,
  };
}

/**
 * Files a package ships, as globs relative to its folder: only what `require` reaches at run time
 * (no type declarations, source maps, ESM twins, install scripts or headers).
 */
export function packageFiles(target) {
  const { ortDir, ort, sharpPkg, vipsPkg } = nativeLibraries(target);
  const files = {
    'onnxruntime-node': ['package.json', 'LICENSE', 'dist/*.js', ...ort.map((f) => `${ortDir.replace('node_modules/onnxruntime-node/', '')}${f}`)],
    // dist/cjs/package.json says {"type": "commonjs"}: without it Node reads dist/cjs as ES modules.
    'onnxruntime-common': ['package.json', 'LICENSE', 'dist/cjs/package.json', 'dist/cjs/**/*.js'],
    // The bundles both require() and import() sharp: its CommonJS and ES module entry points.
    sharp: ['package.json', 'LICENSE', 'dist/*.cjs', 'dist/*.mjs'],
    '@img/colour': ['package.json', 'LICENSE.md', '*.cjs'],
    'detect-libc': ['package.json', 'LICENSE', 'lib/*.js'],
    semver: ['package.json', 'LICENSE', '*.js', 'classes/*.js', 'functions/*.js', 'internal/*.js', 'ranges/*.js'],
    [sharpPkg]: ['package.json', 'LICENSE', 'index.cjs', 'lib/*.node', 'lib/*.dll'],
  };
  if (vipsPkg) files[vipsPkg] = ['package.json', 'versions.json', 'lib/index.js', 'lib/libvips-cpp.*'];
  return files;
}

/** Globs (relative to the repository) of the extension's own files in the VSIX. */
export const OWN_FILES = [
  'dist/extension.js',
  'dist/backend.js',
  'dist/webview/*.js',
  'dist/webview/*.css',
  'schemas/*.json',
  'media/icon.png',
  'media/pscl.svg',
  'media/walkthrough/*.md',
  'trainer/pscl_trainer/**/*.py',
  'trainer/pscl_trainer/configs/*.json',
  'samples/tiny-birds/**',
];

/** Minimal glob: `*` within a path segment, `**` across segments. */
export function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Every path (below `extension/`) a VSIX for `target` may hold, as regular expressions. */
export function allowedPaths(target) {
  const globs = [
    'package.json',
    'readme.md',
    'changelog.md',
    'LICENSE.txt',
    'ThirdPartyNotices.txt',
    ...OWN_FILES,
    ...Object.entries(packageFiles(target)).flatMap(([pkg, list]) => list.map((g) => `node_modules/${pkg}/${g}`)),
  ];
  return globs.map(globToRegExp);
}

/**
 * Problems of a VSIX listing (`{ name, size, compressedSize }` per entry, names as stored) for
 * `target`: a file outside the allow-list, a large file that is not one of the platform's native
 * libraries, a native library of another platform, a missing native library, too many files, or
 * a total over budget. Empty when the VSIX is as it should be.
 */
export function checkListing(target, entries, { budget = BUDGETS[target], maxFiles = MAX_FILES } = {}) {
  const problems = [];
  const allowed = allowedPaths(target);
  const { ortDir, ort, sharpPkg, vipsPkg } = nativeLibraries(target);
  const big = new Set([...ort.map((f) => ortDir + f)]);
  const files = entries.filter((e) => !e.name.endsWith('/'));
  for (const e of files) {
    if (e.name === '[Content_Types].xml' || e.name === 'extension.vsixmanifest') continue;
    if (!e.name.startsWith('extension/')) {
      problems.push(`${e.name}: outside extension/`);
      continue;
    }
    const rel = e.name.slice('extension/'.length);
    if (!allowed.some((re) => re.test(rel))) problems.push(`${rel}: not in the allow-list of scripts/lib/vsix.mjs`);
    const native = /\.(node|so(\.\d+)*|dylib|dll)$/.test(rel) || /\.so\.[\d.]+$/.test(rel);
    const ours = big.has(rel) || rel.startsWith(`node_modules/${sharpPkg}/`) || (vipsPkg && rel.startsWith(`node_modules/${vipsPkg}/`));
    if (native && !ours) problems.push(`${rel}: a native binary that is not ${target}'s`);
    if (e.size > MAX_PLAIN_FILE && !(native && ours)) problems.push(`${rel}: ${(e.size / MiB).toFixed(1)} MiB, and only ${target}'s native libraries may exceed ${MAX_PLAIN_FILE / MiB} MiB`);
  }
  const names = new Set(files.map((e) => e.name));
  for (const f of big) if (!names.has(`extension/${f}`)) problems.push(`${f}: missing (${target}'s ONNX Runtime)`);
  if (!files.some((e) => e.name.startsWith(`extension/node_modules/${sharpPkg}/lib/`) && e.name.endsWith('.node'))) problems.push(`${sharpPkg}: sharp's binding is missing`);
  if (vipsPkg && !files.some((e) => e.name.startsWith(`extension/node_modules/${vipsPkg}/lib/libvips-cpp.`))) problems.push(`${vipsPkg}: libvips is missing`);
  if (files.length >= maxFiles) problems.push(`${files.length} files: the limit is fewer than ${maxFiles}`);
  const total = entries.reduce((a, e) => a + e.compressedSize, 0);
  if (budget !== undefined && total > budget) problems.push(`${(total / MiB).toFixed(2)} MiB compressed: over the ${(budget / MiB).toFixed(0)} MiB budget of ${target}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// zip

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The central directory of a zip: `{ name, method, crc, size, compressedSize, offset }` per entry, in order. */
export function readZipListing(zip) {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory)');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory entry ${i}`);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    out.push({
      name: zip.toString('utf8', p + 46, p + 46 + nameLen),
      method: zip.readUInt16LE(p + 10),
      crc: zip.readUInt32LE(p + 16),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      offset: zip.readUInt32LE(p + 42),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** The stored (compressed) bytes of one entry. */
export function entryData(zip, entry) {
  const nameLen = zip.readUInt16LE(entry.offset + 26);
  const extraLen = zip.readUInt16LE(entry.offset + 28);
  const start = entry.offset + 30 + nameLen + extraLen;
  return zip.subarray(start, start + entry.compressedSize);
}

/** The uncompressed bytes of one entry, CRC-checked. */
export function readEntry(zip, entry) {
  const raw = entryData(zip, entry);
  const data = entry.method === 0 ? Buffer.from(raw) : zlib.inflateRawSync(raw);
  if (crc32(data) !== entry.crc) throw new Error(`${entry.name}: CRC mismatch`);
  return data;
}

function dosDateTime(date) {
  const time = (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1);
  const day = ((date.getFullYear() - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate();
  return { time, day };
}

/**
 * A zip of `entries` ({ name, data, deflated? }: `deflated` is a raw deflate stream of `data`
 * made elsewhere); entries without one are deflated here (zlib level 9), or stored when that does
 * not help.
 */
export function writeZip(entries, date = new Date()) {
  const { time, day } = dosDateTime(date);
  const locals = [];
  const central = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    let body = e.deflated ?? zlib.deflateRawSync(e.data, { level: 9 });
    let method = 8;
    if (body.length >= e.data.length) {
      body = e.data;
      method = 0;
    }
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(day, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(0x0314, 4); // made by: Unix, zip 2.0 (the external attributes are Unix modes)
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(time, 12);
    cd.writeUInt16LE(day, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(e.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    central.push(cd, name);
    offset += local.length + name.length + body.length;
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cdBuf, end]);
}

// ---------------------------------------------------------------------------------------------
// better deflate for the large files

/** 7-Zip's `7za` from the 7zip-bin dev dependency, once initDeflate() found that it runs here. */
let sevenZipPath;

/** Loads 7zip-bin once (call before deflateBest). Returns a note when it is not usable. */
export async function initDeflate() {
  try {
    const m = await import('7zip-bin');
    const p = (m.default ?? m).path7za;
    if (process.platform !== 'win32' && existsSync(p) && (statSync(p).mode & 0o111) === 0) chmodSync(p, 0o755);
    const r = spawnSync(p, ['i'], { encoding: 'utf8' });
    if (r.status !== 0) return `7-Zip from 7zip-bin does not run here (${r.error?.message ?? r.stderr}); large files are deflated by zlib (bigger VSIX)`;
    sevenZipPath = p;
    return undefined;
  } catch (err) {
    return `7zip-bin is not installed (${err.message}); large files are deflated by zlib (bigger VSIX)`;
  }
}

/**
 * A raw deflate stream of `data`: 7-Zip's (-mx=9, about 3% smaller than zlib's best on native
 * libraries) for large files, cached by content hash in `cacheDir`; zlib level 9 otherwise.
 */
export function deflateBest(data, cacheDir, minSize = 256 * 1024) {
  if (!sevenZipPath || data.length < minSize) return zlib.deflateRawSync(data, { level: 9 });
  const hash = createHash('sha256').update(data).digest('hex');
  const cached = path.join(cacheDir, `${hash}.7z9.deflate`);
  if (existsSync(cached)) return readFileSync(cached);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pscl-7z-'));
  try {
    writeFileSync(path.join(tmp, 'f'), data);
    const r = spawnSync(sevenZipPath, ['a', '-tzip', '-mx=9', '-mm=Deflate', '-bd', '-bso0', 'f.zip', 'f'], { cwd: tmp, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`7-Zip failed: ${r.stderr || r.error?.message}`);
    const zip = readFileSync(path.join(tmp, 'f.zip'));
    const [entry] = readZipListing(zip);
    if (!entry || entry.method !== 8) return zlib.deflateRawSync(data, { level: 9 });
    const stream = Buffer.from(entryData(zip, entry));
    if (!zlib.inflateRawSync(stream).equals(data)) throw new Error('7-Zip deflate stream does not inflate to the input');
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(cached + '.tmp', stream);
    renameSync(cached + '.tmp', cached);
    return stream;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// npm tarballs

/** Files of a .tgz (ustar with pax/GNU long names) as { path, data }, the leading `package/` removed. */
export function readTarball(tgz) {
  const tar = zlib.gunzipSync(tgz);
  const out = [];
  let longName;
  for (let p = 0; p + 512 <= tar.length; ) {
    const header = tar.subarray(p, p + 512);
    if (header.every((b) => b === 0)) break;
    const field = (o, n) => header.toString('utf8', o, o + n).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = field(345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    const data = tar.subarray(p + 512, p + 512 + size);
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (m) longName = m[1];
    } else if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
    } else if (type === '0' || type === '\0' || type === '7') {
      out.push({ path: name.replace(/^[^/]+\//, ''), data: Buffer.from(data) });
    }
    p += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
