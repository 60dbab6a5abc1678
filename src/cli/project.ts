// Shared by CLI commands that read a project file: a clear error naming the file and the first
// problem, and a pointer to `pscl validate` for the rest.
import path from 'node:path';
import { parseProject, type ParsedProject } from '../core/taxonomy/project';
import type { Project } from '../core/taxonomy/model';
import { readUtf8File, TextEncodingError } from '../core/util/textFile';
import { CliError } from './command';

export interface LoadedProject {
  file: string;
  text: string;
  parsed: ParsedProject;
  project: Project;
}

export async function loadProjectOrFail(command: string, fileArg: string): Promise<LoadedProject> {
  const file = path.resolve(fileArg);
  const text = await readUtf8File(file).catch((err: Error) => {
    if (err instanceof TextEncodingError) throw new CliError(`${command}: ${fileArg}:${err.message.slice(file.length + 1)}`, 1);
    throw new CliError(`${command}: cannot read ${fileArg}: ${err.message}`, 1);
  });
  const parsed = parseProject(text, file);
  const fatal = parsed.diagnostics.find((d) => d.severity === 'error');
  if (!parsed.project || fatal) {
    const where = fatal ? `${fileArg}:${fatal.range.start.line + 1}:${fatal.range.start.character + 1}: ${fatal.message}` : fileArg;
    throw new CliError(`${command}: ${where}\nrun 'pscl validate ${fileArg}' for every problem`, 1);
  }
  return { file, text, parsed, project: parsed.project };
}
