import path from 'node:path';
import { listRuns, runRow } from '../../core/runs';
import { parseOptions, type Command } from '../command';

const help = `usage: pscl runs [RUNS_DIR] [--json]

Lists the runs under RUNS_DIR (default ./runs), newest first: status (running, finished, failed,
stopped, unknown), progress, elapsed time and best top-1; failed runs say why.
--json prints one JSON object per run.`;

export const command: Command = {
  help,
  async run(argv) {
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
