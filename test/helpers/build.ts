// Builds dist/ once for all test files: node:test runs files in parallel processes, so a lock
// folder keeps one from rewriting dist/ while another spawns from it, and a freshness check
// skips the build when every bundle is newer than the sources.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './paths';

function mtimes(dir: string, filter: (f: string) => boolean, out: number[] = []): number[] {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) mtimes(p, filter, out);
    else if (filter(entry.name)) out.push(statSync(p).mtimeMs);
  }
  return out;
}

function isFresh(): boolean {
  const dist = path.join(repoRoot, 'dist');
  if (!['backend.js', 'cli.js'].every((f) => existsSync(path.join(dist, f)))) return false;
  const sources = [
    ...mtimes(path.join(repoRoot, 'src'), () => true),
    ...mtimes(path.join(repoRoot, 'webview'), () => true),
    ...['package.json', 'scripts/build.mjs'].map((f) => statSync(path.join(repoRoot, f)).mtimeMs),
  ];
  const outputs = mtimes(dist, (f) => f.endsWith('.js') || f.endsWith('.css'));
  return Math.min(...outputs) >= Math.max(...sources);
}

/** Runs `node scripts/build.mjs` unless dist/ is up to date; returns the dist folder. */
export function buildDist(): string {
  const lock = path.join(os.tmpdir(), `pscl-build-lock-${Buffer.from(repoRoot).toString('hex').slice(-32)}`);
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - started > 60_000) rmSync(lock, { recursive: true, force: true }); // left by a killed run
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  try {
    if (!isFresh()) {
      const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return path.join(repoRoot, 'dist');
}
