// Where a project's cache lives by default: next to the project file, one folder per model.
import path from 'node:path';
import { shortHash } from './hashes';

export function defaultCacheDir(projectFile: string, projectName: string, modelHash: string): string {
  const slug = projectName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'project';
  return path.join(path.dirname(path.resolve(projectFile)), '.pscl-cache', `${slug}-${shortHash(modelHash)}`);
}
