// The Python side of runs, in one place: which interpreter, where the bundled trainer package
// is, the environment it runs in (PYTHONPATH with the trainer first, unbuffered output), and
// spawning it: `train` (launch.ts follows it), `eval` and `export` (run to their end here), and
// the environment probe (pythonEnv.ts). The extension and the CLI only say which interpreter
// the user chose.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseEventLine, splitLines } from './events';

/** The trainer's module: `python -m pscl_trainer <command>`. */
export const TRAINER_MODULE = 'pscl_trainer';

/** The interpreter: the first choice that is set (a setting, an option, an environment variable), else python3 on PATH. */
export function choosePython(...choices: Array<string | undefined>): string {
  return choices.map((c) => c?.trim()).find((c): c is string => !!c) ?? 'python3';
}

/** The bundled trainer package's folder: PSCL_TRAINER_PATH, else a `trainer/` folder at or above `fromDir`. */
export function findTrainerPath(fromDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PSCL_TRAINER_PATH) return env.PSCL_TRAINER_PATH;
  for (let dir = path.resolve(fromDir), i = 0; i < 6; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'trainer');
    if (existsSync(path.join(candidate, TRAINER_MODULE, '__main__.py'))) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  return undefined;
}

/** The environment the trainer runs in: `base` plus `extra`, the trainer package first on PYTHONPATH, output unbuffered. */
export function trainerEnv(trainerPath: string, extra: Record<string, string> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const inherited = extra.PYTHONPATH ?? base.PYTHONPATH;
  return { ...base, ...extra, PYTHONPATH: [trainerPath, inherited].filter(Boolean).join(path.delimiter), PYTHONUNBUFFERED: '1' };
}

/** What to say when the interpreter cannot be started. */
export function pythonStartError(python: string, err: NodeJS.ErrnoException): Error {
  return new Error(
    err.code === 'ENOENT'
      ? `cannot start Python "${python}": not found. Set "pscl.python" (for pscl: --python or PSCL_PYTHON) to a Python 3 interpreter with PyTorch installed.`
      : `cannot start Python "${python}": ${err.message}`,
  );
}

export interface TrainerSpawn {
  python: string;
  trainerPath: string;
  /** The interpreter's arguments, e.g. ['-u', '-m', 'pscl_trainer', 'eval', '--run', DIR]. */
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  detached?: boolean;
  stdio?: SpawnOptions['stdio'];
}

/** Spawns the interpreter in the trainer's environment; resolves once it runs, rejects (pythonStartError) when it cannot start. */
export async function spawnTrainer(o: TrainerSpawn): Promise<ChildProcess> {
  const child = spawn(o.python, o.argv, { cwd: o.cwd, env: trainerEnv(o.trainerPath, o.env), detached: o.detached, stdio: o.stdio ?? ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(pythonStartError(o.python, err)));
  });
  return child;
}

/** How a trainer command that runs to its end went. */
export interface TrainerCommandResult {
  code: number | null;
  /** The message of its last `error` event (the trainer reports its own failures on stdout). */
  lastError?: string;
  /** The last lines it wrote on stderr (empty when stderr was passed through). */
  stderrTail: string[];
}

/**
 * Runs `python -u -m pscl_trainer <args>` to its end (eval, export): stdout is read as events,
 * stderr kept (or passed through to ours with `stderr: 'inherit'`).
 */
export async function runTrainerCommand(o: { python: string; trainerPath: string; args: string[]; cwd?: string; stderr?: 'pipe' | 'inherit' }): Promise<TrainerCommandResult> {
  const child = await spawnTrainer({ python: o.python, trainerPath: o.trainerPath, argv: ['-u', '-m', TRAINER_MODULE, ...o.args], cwd: o.cwd, stdio: ['ignore', 'pipe', o.stderr ?? 'pipe'] });
  let rest = '';
  let lastError: string | undefined;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const { lines, rest: r } = splitLines(rest + chunk);
    rest = r;
    for (const line of lines) {
      const parsed = parseEventLine(line);
      if (parsed.ok && parsed.event.type === 'error') lastError = String((parsed.event as { message?: unknown }).message);
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8192)));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  if (rest.trim()) {
    const parsed = parseEventLine(rest);
    if (parsed.ok && parsed.event.type === 'error') lastError = String((parsed.event as { message?: unknown }).message);
  }
  return { code, lastError, stderrTail: stderr.trim() ? stderr.trim().split('\n').slice(-3) : [] };
}
