// `npm run bench:tree`: bundles bench/tree-nabirds.entry.ts with `vscode` aliased to a small stub
// (the real provider and model run; only vscode's value classes are stand-ins), then runs it.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outfile = path.join(root, 'out', 'bench', 'tree-nabirds.cjs');
await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['bench/tree-nabirds.entry.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  alias: { vscode: './bench/vscode-stub.ts' },
  mainFields: ['module', 'main'], // as scripts/build.mjs: jsonc-parser's ESM build
  external: ['sharp', 'onnxruntime-node'],
  logLevel: 'error', // the stub lacks classes the provider only uses on edits (never called here)
});
const r = spawnSync(process.execPath, [outfile], { cwd: root, stdio: 'inherit', env: process.env });
process.exit(r.status ?? 1);
