import path from 'node:path';
import { listRuns, runRow } from '../../core/runs';
import { stopRunFromLock } from '../../core/runs/launch';
import { readLock } from '../../core/runs/lock';
import { readRun } from '../../core/runs/folder';
import { CliError, parseOptions, type Command } from '../command';

const help = `usage: pscl runs [RUNS_DIR] [--json]
       pscl runs stop RUN_DIR [--grace SECONDS]

Lists the runs under RUNS_DIR (default ./runs), newest first: status (running, finished, failed,
stopped, unknown), progress, elapsed time and best top-1; failed runs say why.
--json prints one JSON object per run.

stop: stops the trainer of a run started elsewhere (another terminal, the editor): SIGTERM, so it
saves a checkpoint and ends "stopped" (--resume continues); SIGKILL to its process group only
after the grace period (default 30 s, longer when its steps are slow). Only a process that is
verifiably the run's trainer (run.lock: its own process group, start time, host and command
line) is signalled. Exit codes: 0 stopped or not running, 1 refused or failed.`;

async function stop(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions('runs stop', argv, { grace: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new CliError("runs stop: name one run folder\nrun 'pscl runs --help' for its options");
  const runDir = path.resolve(positionals[0]);
  const grace = values.grace === undefined ? undefined : Number(values.grace);
  if (grace !== undefined && !(Number.isFinite(grace) && grace > 0)) throw new CliError(`runs stop: --grace must be a positive number of seconds, got '${values.grace}'`);
  const name = path.basename(runDir);
  const lock = await readLock(runDir);
  if (lock.state === 'foreign') throw new CliError(`runs stop: ${name} is trained on host ${lock.lock.host} (pid ${lock.lock.pid}); stop it there`, 1);
  if (lock.state === 'invalid') throw new CliError(`runs stop: ${lock.reason}; if the run is not training, delete run.lock`, 1);
  if (lock.state !== 'alive') {
    process.stdout.write(`${name}: not running${lock.state === 'dead' ? ' (its trainer is gone; run.lock was left by a killed launcher)' : ''}\n`);
    return 0;
  }
  process.stderr.write(`stopping the trainer of ${name} (pid ${lock.lock.pid}); it saves a checkpoint\n`);
  const status = await stopRunFromLock(runDir, grace === undefined ? undefined : grace * 1000);
  const run = await readRun(runDir).catch(() => undefined);
  const step = run?.progress.step !== undefined ? ` at step ${run.progress.step}` : '';
  process.stdout.write(`${name}: ${status === 'not-running' ? 'not running' : status}${step}${run?.hasCheckpoint ? ', checkpoint kept' : ''}\n`);
  return status === 'stopped' || status === 'finished' || status === 'not-running' ? 0 : 1;
}

export const command: Command = {
  help,
  subcommands: ['stop'],
  async run(argv) {
    if (argv[0] === 'stop') return stop(argv.slice(1));
    const { values, positionals } = parseOptions('runs', argv, { json: { type: 'boolean', default: false } }, true);
    const dir = path.resolve(positionals[0] ?? 'runs');
    const runs = await listRuns(dir);
    for (const r of runs) {
      if (values.json) {
        const { name, dir: runDir, status, progress, hasEval, hasModel, hasCheckpoint } = r;
        process.stdout.write(JSON.stringify({ name, dir: runDir, status: status.status, reason: status.reason, elapsedS: status.elapsedS, step: progress.step, totalSteps: progress.totalSteps, bestTop1: progress.bestTop1, hasEval, hasModel, hasCheckpoint, corruptLines: r.corrupt.length }) + '\n');
        continue;
      }
      const row = runRow(r);
      process.stdout.write(`${row.label.padEnd(24)} ${row.description}\n`);
      if (r.status.reason && r.status.status !== 'running') process.stdout.write(`${''.padEnd(24)} ${r.status.reason.split('\n')[0]}\n`);
      if (r.corrupt.length) process.stdout.write(`${''.padEnd(24)} warning: ${r.corrupt.length} unreadable line(s) in events.jsonl (first: line ${r.corrupt[0].line}, ${r.corrupt[0].reason})\n`);
    }
    if (runs.length === 0 && !values.json) process.stdout.write(`no runs in ${dir}\n`);
    return 0;
  },
};
