import path from 'node:path';
import { existsSync } from 'node:fs';
import { checkPythonEnvironment, classRows, findTrainerPath, isRunDir, readEvaluation, readRun, rollUp, runTrainerCommand, sortClassRows } from '../../core/runs';
import { CliError, type Command, parseOptions, pythonFrom, required } from '../command';

const help = `usage: pscl eval --run DIR [--rerun] [--level NAME] [--top N] [--json] [--python PATH]

Prints a run's evaluation (eval.json): top-1/top-5, accuracy per level of the taxonomy, the worst
classes and the most frequent confusions at a level (default: the fine level).
--rerun   evaluate the last checkpoint again first (python -m pscl_trainer eval); done anyway when
          the run has no eval.json yet
--json    the summary as one JSON object`;

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);

/** Runs the trainer's eval command (its stderr shows); resolves to its last error message, or undefined when it succeeded. */
async function runTrainerEval(python: string, trainerPath: string, runDir: string): Promise<string | undefined> {
  const r = await runTrainerCommand({ python, trainerPath, args: ['eval', '--run', runDir], stderr: 'inherit' }).catch((err: Error) => {
    throw new CliError(`eval: ${err.message}`, 1);
  });
  return r.code === 0 ? undefined : (r.lastError ?? `the trainer's eval exited with code ${r.code}`);
}

export const command: Command = {
  help,
  async run(argv) {
    const { values } = parseOptions('eval', argv, {
      run: { type: 'string' },
      rerun: { type: 'boolean', default: false },
      level: { type: 'string' },
      top: { type: 'string', default: '10' },
      json: { type: 'boolean', default: false },
      python: { type: 'string' },
    });
    const runDir = path.resolve(required('eval', 'run', values.run));
    const top = Number(values.top);
    if (!Number.isInteger(top) || top < 1) throw new CliError(`eval: --top must be a positive integer, got ${values.top}`);
    if (values.rerun || !existsSync(path.join(runDir, 'eval.json'))) {
      if (!isRunDir(runDir)) throw new CliError(`eval: ${runDir} is not a run folder (no config.json or events.jsonl)`, 1);
      const run = await readRun(runDir);
      if (!run.hasCheckpoint) {
        const why = run.status.status === 'failed' && run.status.reason ? ` (its training failed: ${run.status.reason})` : '';
        throw new CliError(`eval: ${runDir} has no checkpoint to evaluate yet${why}`, 1);
      }
      const trainerPath = findTrainerPath(__dirname);
      if (!trainerPath) throw new CliError('eval: the trainer package was not found next to pscl; set PSCL_TRAINER_PATH', 1);
      const python = pythonFrom(values.python);
      const env = await checkPythonEnvironment(python, { trainerPath });
      const blocking = env.problems.filter((p) => p.severity === 'error');
      if (blocking.length) throw new CliError(`eval: ${blocking.map((p) => `${p.message}${p.fix ? `\n  fix: ${p.fix}` : ''}`).join('\n')}`, 1);
      const failure = await runTrainerEval(python, trainerPath, runDir);
      if (failure) throw new CliError(`eval: ${failure}`, 1);
    }
    const { report, taxonomy } = await readEvaluation(runDir).catch((err: Error) => {
      throw new CliError(`eval: ${err.message}`, 1);
    });
    const level = values.level ?? taxonomy.levels[taxonomy.levels.length - 1];
    if (!taxonomy.levels.includes(level)) throw new CliError(`eval: unknown level "${level}"; levels: ${taxonomy.levels.join(', ')}`);
    const m = rollUp(report.confusion, taxonomy, level);
    const confusions: Array<{ true: string; predicted: string; count: number }> = [];
    m.counts.forEach((row, a) => row.forEach((n, b) => a !== b && n > 0 && confusions.push({ true: m.labels[a], predicted: m.labels[b], count: n })));
    confusions.sort((x, y) => y.count - x.count || x.true.localeCompare(y.true));
    const worst = sortClassRows(classRows(report, taxonomy), 'top1', false).slice(0, top);
    if (values.json) {
      process.stdout.write(JSON.stringify({ run: runDir, split: report.split, epoch: report.epoch, numImages: report.numImages, top1: report.top1, top5: report.top5, perLevel: report.perLevel, level, worst: worst.map((r) => ({ name: r.name, count: r.count, top1: r.top1, confusedWith: r.topConfusion?.name })), confusions: confusions.slice(0, top) }) + '\n');
      return 0;
    }
    const lines = [
      `${path.basename(runDir)}: ${report.split} split, ${report.numImages} images${report.epoch !== undefined ? `, epoch ${report.epoch + 1}` : ''}`,
      `top-1 ${pct(report.top1)}   top-5 ${pct(report.top5)}`,
      'per level: ' + taxonomy.levels.map((l) => `${l} ${pct(report.perLevel[l])}`).join(' · '),
      '',
      `worst classes:`,
      ...worst.map((r) => `  ${pct(r.top1).padStart(6)}  ${r.name} (${r.count} images)${r.topConfusion ? ` → ${r.topConfusion.name} ×${r.topConfusion.count}` : ''}`),
      '',
      `most frequent confusions at the ${level} level:`,
      ...(confusions.length ? confusions.slice(0, top).map((c) => `  ${String(c.count).padStart(5)}  ${c.true} → ${c.predicted}`) : ['  none']),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
