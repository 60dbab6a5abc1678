// Where tests and benchmarks find the repository and the shared reference data.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** PSCL_SHARED_DATA, else ../shared/data from the repo root (or from a folder above it: worktrees). */
export function sharedData(): string {
  if (process.env.PSCL_SHARED_DATA) return path.resolve(process.env.PSCL_SHARED_DATA);
  for (let dir = repoRoot; ; dir = path.dirname(dir)) {
    const candidate = path.join(path.dirname(dir), 'shared', 'data');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`no shared data found at ${path.join(path.dirname(repoRoot), 'shared', 'data')}; set PSCL_SHARED_DATA`);
}

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'pscl-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
