// Reading a project file for work on it: the one place that reads, parses and (when the work
// needs it) validates a project, for every shell (CLI, backend, cache builder). A problem is one
// message in one form, `FILE:LINE:COL: message (and N more problems)`, naming the file as the
// caller named it; the error also carries every diagnostic for a shell that lists them.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PsclError } from '../errors';
import type { Diagnostic } from '../taxonomy/diagnostics';
import type { Project } from '../taxonomy/model';
import { parseProject, type ParsedProject } from '../taxonomy/project';
import { validateProject } from '../taxonomy/validate';
import { decodeUtf8Strict, TextEncodingError } from '../util/textFile';

/** What a use of the project cannot do without. */
export type ProjectRequirement =
  /** JSON syntax only: the rest may be half-written (LLM suggestions can complete it). */
  | 'syntax'
  /** A complete structure: levels, classes, parts and templates read without errors (preview, info, masks). */
  | 'structure'
  /** Structure plus every semantic check (the training cache: what the trainer learns from). */
  | 'valid';

export interface LoadedProject {
  /** Absolute path. */
  file: string;
  text: string;
  parsed: ParsedProject;
  project: Project;
}

export interface LoadProjectOptions {
  /** Default 'structure'. */
  require?: ProjectRequirement;
  /** The text to use instead of the file's (an editor's unsaved edits). */
  text?: string;
  /** How messages name the file (default: the path as given). */
  displayName?: string;
}

/** A project file that cannot be read or used; `diagnostics` are the blocking problems, first one first. */
export class ProjectLoadError extends PsclError {
  constructor(
    message: string,
    readonly file: string,
    readonly diagnostics: readonly Diagnostic[] = [],
  ) {
    super(message, 'input');
    this.name = 'ProjectLoadError';
  }
}

/** The file's text (strict UTF-8); a ProjectLoadError naming the file when it cannot be read or decoded. */
export async function readProjectText(file: string, displayName = file): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ProjectLoadError(`cannot read the project file ${displayName}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, path.resolve(file));
  }
  // Strict: a stray byte read as U+FFFD would be written back by an edit that never touched it.
  try {
    return decodeUtf8Strict(bytes, displayName);
  } catch (err) {
    if (err instanceof TextEncodingError) {
      const at = { line: err.line, character: err.character };
      const message = err.message.slice(displayName.length + 1).replace(/^\d+:\d+: /, '');
      throw new ProjectLoadError(err.message, path.resolve(file), [{ severity: 'error', code: 'not-utf8', message, range: { start: at, end: at } }]);
    }
    throw err;
  }
}

/** Problems that leave no JSON to work on (the parser's own refusals). */
const SYNTAX_CODES = new Set(['syntax', 'not-an-object', 'too-deep', 'too-large']);

/** The diagnostics that stop a use with this requirement. */
export function blockingProblems(parsed: ParsedProject, require: ProjectRequirement): Diagnostic[] {
  if (require === 'syntax') return parsed.diagnostics.filter((d) => SYNTAX_CODES.has(d.code));
  const all = require === 'valid' && parsed.project ? validateProject(parsed) : parsed.diagnostics;
  return all.filter((d) => d.severity === 'error');
}

/** `FILE:LINE:COL: message (and N more problems)`: the one way a blocking problem is reported. */
export function describeProblems(displayName: string, problems: readonly Diagnostic[]): string {
  const first = problems[0];
  if (!first) return `${displayName} is not a project file`;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return `${displayName}:${first.range.start.line + 1}:${first.range.start.character + 1}: ${first.message}${more}`;
}

/** Parses text already in hand; throws a ProjectLoadError when the requirement is not met. */
export function useProjectText(file: string, text: string, options: Omit<LoadProjectOptions, 'text'> = {}): LoadedProject {
  const abs = path.resolve(file);
  const parsed = parseProject(text, abs);
  const problems = blockingProblems(parsed, options.require ?? 'structure');
  if (!parsed.project || problems.length > 0) {
    throw new ProjectLoadError(describeProblems(options.displayName ?? file, problems), abs, problems);
  }
  return { file: abs, text, parsed, project: parsed.project };
}

/** Reads (unless the text is given), parses and checks a project file for a use. */
export async function loadProject(file: string, options: LoadProjectOptions = {}): Promise<LoadedProject> {
  const name = options.displayName ?? file;
  const text = options.text ?? (await readProjectText(file, name));
  return useProjectText(file, text, options);
}
