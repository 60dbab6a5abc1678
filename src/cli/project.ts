// The CLI's face of src/core/project: a project that cannot be used is a CliError naming the
// file, line and first problem, with a pointer to `pscl validate` for the rest.
import { loadProject, ProjectLoadError, type LoadedProject, type ProjectRequirement } from '../core/project';
import { CliError } from './command';

export type { LoadedProject } from '../core/project';

export async function loadProjectOrFail(command: string, fileArg: string, require: ProjectRequirement = 'structure'): Promise<LoadedProject> {
  try {
    return await loadProject(fileArg, { require });
  } catch (err) {
    if (!(err instanceof ProjectLoadError)) throw err;
    const hint = err.diagnostics.length > 0 ? `\nrun 'pscl validate ${fileArg}' for every problem` : '';
    throw new CliError(`${command}: ${err.message}${hint}`, 1);
  }
}
