// Where tests and benchmarks find the repository, the data the repository carries (test/data) and
// the optional reference data beyond it (the full NABirds metadata).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** Copies of real files the tests need (CLIP merges, CUB hierarchy, name lists, a photo): test/data/README.md. */
export const testData = path.join(repoRoot, 'test', 'data');

/**
 * The optional reference data folder: PSCL_SHARED_DATA, else a `shared/data` beside the repo or
 * beside a folder above it (worktrees); undefined when there is none (a plain clone).
 */
export function optionalSharedData(): string | undefined {
  if (process.env.PSCL_SHARED_DATA) return path.resolve(process.env.PSCL_SHARED_DATA);
  for (let dir = repoRoot; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const candidate = path.join(path.dirname(dir), 'shared', 'data');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The real NABirds metadata folder, or undefined. */
export function realNabirds(): string | undefined {
  const data = optionalSharedData();
  return data && existsSync(path.join(data, 'nabirds', 'hierarchy.txt')) ? path.join(data, 'nabirds') : undefined;
}

/** A node:test `skip` value for tests of the real NABirds metadata: false when it is there, else the reason. */
export function skipWithoutRealNabirds(): string | false {
  return realNabirds() ? false : 'needs the real NABirds metadata: set PSCL_SHARED_DATA to a folder holding nabirds/';
}

/** The optional reference data folder; throws, saying what to set, when there is none. */
export function sharedData(): string {
  const data = optionalSharedData();
  if (data) return data;
  throw new Error(`no shared reference data (looked for PSCL_SHARED_DATA and a shared/data beside ${repoRoot} or a folder above it); what the tests need is in ${testData}`);
}

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'pscl-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
