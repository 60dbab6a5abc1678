// The run folder (docs/run-events.md): `runs/<name>/` with config.json, events.jsonl, run.lock,
// train.log, checkpoints/, model.onnx, eval.json. Lists runs and reads one into a summary.
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { readLock, type LockState } from './lock';
import { deriveStatus, type RunStatusInfo } from './status';
import { emptyProgress, foldEvents, type RunProgress } from './summary';
import { EventTail, LineTail } from './tail';
import type { CorruptLine } from './events';
import { parseEvalReport, type EvalReport } from './evalReport';
import { taxonomyFromReport, taxonomyFromRunConfig, type ClassTaxonomy } from './confusion';

export const EVENTS_FILE = 'events.jsonl';
export const CONFIG_FILE = 'config.json';
export const LOG_FILE = 'train.log';
export const EVAL_FILE = 'eval.json';
export const ONNX_FILE = 'model.onnx';

export interface RunSummary {
  name: string;
  dir: string;
  status: RunStatusInfo;
  progress: RunProgress;
  lock: LockState;
  corrupt: CorruptLine[];
  hasEval: boolean;
  hasModel: boolean;
  hasCheckpoint: boolean;
  /** mtime of events.jsonl (or the folder), ms: for sorting newest first. */
  modifiedMs: number;
}

/** A folder is a run when it holds config.json or events.jsonl. */
export function isRunDir(dir: string): boolean {
  return existsSync(path.join(dir, EVENTS_FILE)) || existsSync(path.join(dir, CONFIG_FILE));
}

/** Run folders directly under `runsDir`. A missing folder is an empty list. */
async function runDirs(runsDir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(runsDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => path.join(runsDir, e.name)).filter(isRunDir);
}

const newestFirst = (a: RunSummary, b: RunSummary) => b.modifiedMs - a.modifiedMs || a.name.localeCompare(b.name);

/** Run folders directly under `runsDir`, newest first, each read whole (see RunsIndex for polling). */
export async function listRuns(runsDir: string): Promise<RunSummary[]> {
  const runs = await Promise.all((await runDirs(runsDir)).map((d) => readRun(d)));
  return runs.sort(newestFirst);
}

export async function readRun(dir: string, nowS?: number): Promise<RunSummary> {
  const { events, corrupt } = await new EventTail(path.join(dir, EVENTS_FILE)).readAll();
  return summarizeRun(dir, foldEvents(events), corrupt, nowS);
}

/** The summary of a run whose events are already folded: lock, files, status. */
async function summarizeRun(dir: string, progress: RunProgress, corrupt: CorruptLine[], nowS?: number): Promise<RunSummary> {
  const lock = await readLock(dir);
  let modifiedMs = 0;
  try {
    modifiedMs = (await stat(path.join(dir, EVENTS_FILE))).mtimeMs;
  } catch {
    modifiedMs = (await stat(dir)).mtimeMs;
  }
  const ckptDir = path.join(dir, 'checkpoints');
  return {
    name: path.basename(dir),
    dir,
    status: deriveStatus(progress, lock, nowS),
    progress,
    lock,
    corrupt,
    hasEval: existsSync(path.join(dir, EVAL_FILE)),
    hasModel: existsSync(path.join(dir, ONNX_FILE)),
    hasCheckpoint: existsSync(ckptDir) && (await readdir(ckptDir)).length > 0,
    modifiedMs,
  };
}

/**
 * The runs of a folder for a view that refreshes often: each run's events.jsonl is read
 * incrementally (only what was appended since the last list()), so polling costs little however
 * long the runs are. Runs that disappear are dropped; a replaced events file is re-read.
 */
export class RunsIndex {
  private readonly runs = new Map<string, { tail: EventTail; progress: RunProgress; corrupt: CorruptLine[] }>();

  constructor(readonly runsDir: string) {}

  async list(nowS?: number): Promise<RunSummary[]> {
    const dirs = await runDirs(this.runsDir);
    for (const known of this.runs.keys()) if (!dirs.includes(known)) this.runs.delete(known);
    const out = await Promise.all(dirs.map(async (dir) => {
      let entry = this.runs.get(dir);
      if (!entry) this.runs.set(dir, (entry = { tail: new EventTail(path.join(dir, EVENTS_FILE)), progress: emptyProgress(), corrupt: [] }));
      const chunk = await entry.tail.readAll();
      if (chunk.truncated) {
        entry.progress = emptyProgress();
        entry.corrupt = [];
      }
      foldEvents(chunk.events, entry.progress);
      entry.corrupt.push(...chunk.corrupt);
      // a copy, so a caller holding an older list does not see it change
      return summarizeRun(dir, { ...entry.progress }, [...entry.corrupt], nowS);
    }));
    return out.sort(newestFirst);
  }
}

export class RunFileError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

async function readRunFile(file: string, whenMissing: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RunFileError(file, `missing: ${whenMissing}`);
    throw err;
  }
}

/** config.json as a plain object; a clear error naming the file when it is missing or malformed. */
export async function readRunConfig(dir: string): Promise<Record<string, unknown>> {
  const file = path.join(dir, CONFIG_FILE);
  const text = await readRunFile(file, 'every run folder needs its config.json (Start Training writes one)');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new RunFileError(file, `not valid JSON (${(err as Error).message}); fix the file or delete the run`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RunFileError(file, 'must hold a JSON object');
  return v as Record<string, unknown>;
}

/** The last `maxLines` lines of train.log (reads at most its last 64 KiB). */
export async function readLogTail(dir: string, maxLines = 200): Promise<string[]> {
  const tail = new LineTail(path.join(dir, LOG_FILE));
  await tail.seekToTail(64 * 1024);
  return (await tail.read()).lines.slice(-maxLines);
}

/** Deletes a run folder; refuses while its trainer is alive (stop it first). */
export async function deleteRun(dir: string): Promise<void> {
  if (!isRunDir(dir)) throw new RunFileError(dir, 'not a run folder (no config.json or events.jsonl): not deleting it');
  const lock = await readLock(dir);
  if (lock.state === 'alive') throw new RunFileError(dir, `its trainer (pid ${lock.lock.pid}) is still running: stop the run first`);
  await rm(dir, { recursive: true, force: true });
}

export interface Evaluation {
  report: EvalReport;
  taxonomy: ClassTaxonomy;
  /** Where the taxonomy came from: eval.json itself, the run's config.json, or the fine level only. */
  taxonomySource: 'eval' | 'run-config' | 'fine-only';
}

/** eval.json with the taxonomy of its classes (eval.json's own, else the run's config.json). */
export async function readEvaluation(dir: string): Promise<Evaluation> {
  const file = path.join(dir, EVAL_FILE);
  const text = await readRunFile(file, 'the run has not been evaluated yet (the trainer writes it after each evaluation epoch; or run pscl eval --run DIR)');
  const report = parseEvalReport(text, file);
  if (report.classLevels) return { report, taxonomy: taxonomyFromReport(report), taxonomySource: 'eval' };
  let fromConfig: ClassTaxonomy | undefined;
  try {
    fromConfig = taxonomyFromRunConfig(await readRunConfig(dir));
  } catch {
    fromConfig = undefined;
  }
  if (fromConfig && fromConfig.classLevels.length === report.classes.length) return { report, taxonomy: fromConfig, taxonomySource: 'run-config' };
  return { report, taxonomy: taxonomyFromReport(report), taxonomySource: 'fine-only' };
}
