// Bundles every entry point with esbuild. Entries that do not exist yet are skipped so the
// build stays green while the project grows. Native modules stay external (STACK.md).
import * as esbuild from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const external = ['vscode', 'onnxruntime-node', 'sharp'];

/** node bundles: [entry, outfile] */
const nodeEntries = [
  ['src/extension/extension.ts', 'dist/extension.js'],
  ['src/backend/main.ts', 'dist/backend.js'],
  ['src/cli/main.ts', 'dist/cli.js'],
].filter(([entry]) => existsSync(path.join(root, entry)));

/** webview bundles: every webview/<name>/main.ts -> dist/webview/<name>.js */
const webviewDir = path.join(root, 'webview');
const webviewEntries = existsSync(webviewDir)
  ? readdirSync(webviewDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(webviewDir, d.name, 'main.ts')))
      .map((d) => [`webview/${d.name}/main.ts`, `dist/webview/${d.name}.js`])
  : [];

/** webview styles: webview/<name>/style.css -> dist/webview/<name>.css, loaded by a <link> (the
 * CSP forbids inline styles without the nonce); a page may also import CSS as text itself. */
const webviewStyles = existsSync(webviewDir)
  ? readdirSync(webviewDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(webviewDir, d.name, 'style.css')))
      .map((d) => [`webview/${d.name}/style.css`, `dist/webview/${d.name}.css`])
  : [];

const common = {
  absWorkingDir: root,
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  // jsonc-parser's UMD build requires its modules dynamically, which esbuild cannot follow; its
  // ESM build bundles cleanly.
  mainFields: ['module', 'main'],
};

const builds = [
  ...nodeEntries.map(([entry, outfile]) => ({
    ...common,
    entryPoints: [entry],
    outfile,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external,
  })),
  ...webviewEntries.map(([entry, outfile]) => ({
    ...common,
    entryPoints: [entry],
    outfile,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'text' },
  })),
  ...webviewStyles.map(([entry, outfile]) => ({
    ...common,
    entryPoints: [entry],
    outfile,
    target: ['chrome120'],
  })),
];

const started = Date.now();
if (watch) {
  for (const b of builds) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  }
  console.log(`watching ${builds.length} bundles`);
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  console.log(`built ${builds.length} bundles in ${Date.now() - started} ms`);
}
