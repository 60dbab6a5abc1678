// The text of a file as it was in a git revision (`pscl prompts score --against HEAD~1`).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PsclError } from '../errors';

export function fileAtRevision(file: string, revision: string): string {
  const dir = path.dirname(path.resolve(file));
  try {
    return execFileSync('git', ['-C', dir, 'show', `${revision}:./${path.basename(file)}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? (err as Error).message).trim().split('\n')[0];
    throw new PsclError(`cannot read ${path.basename(file)} at git revision '${revision}' (${stderr}); give a file or a revision of the project file's repository`);
  }
}
