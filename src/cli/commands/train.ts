import path from 'node:path';
import { checkPythonEnvironment, findTrainerPath, foldEvent, emptyProgress, progressLine, TrainerProcess, trainArgs, type RunEvent } from '../../core/runs';
import { CliError, type Command, parseOptions, pythonFrom, required } from '../command';
import { describeHolder, readCacheLock } from '../../core/cache/lock';
import { onInterrupt } from '../interrupt';
import { buildProjectCache } from './cache';

const help = `usage: pscl train (--cache DIR | --project FILE [--model DIR|REPO]) --run-dir DIR [--config NAME|FILE]
                  [--set KEY=VALUE]... [--resume] [--nproc N] [--device auto|cpu|cuda] [--python PATH]

Runs the PSCL trainer on a training cache into a run folder, streaming progress.
--cache    a built training cache (pscl cache build)
--project  a project file: its cache (default location, as pscl cache build) is built or brought up
           to date first (only stale images are recomputed); --model is the CLIP model for it
Ctrl-C, SIGTERM and SIGHUP stop gracefully (the trainer saves a checkpoint; --resume continues),
a second one kills. If pscl itself dies, the trainer notices and stops the same way.
--config   a config name of the trainer (rn50, vit_b_16, swin_b, tiny...) or a JSON file (default rn50)
--set      override a config value, e.g. --set epochs=2 --set batch_size=8
--nproc    processes (GPUs) through torchrun (default 1)
--python   interpreter with PyTorch (default: $PSCL_PYTHON or python3)
Exit codes: 0 finished, 130 stopped, 1 failed (the reason is printed).`;

export const command: Command = {
  help,
  async run(argv) {
    const { values } = parseOptions('train', argv, {
      cache: { type: 'string' },
      project: { type: 'string' },
      model: { type: 'string' },
      'run-dir': { type: 'string' },
      config: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      resume: { type: 'boolean', default: false },
      nproc: { type: 'string', default: '1' },
      device: { type: 'string', default: 'auto' },
      python: { type: 'string' },
    });
    const runDir = path.resolve(required('train', 'run-dir', values['run-dir']));
    if (values.cache && values.project) throw new CliError('train: give --cache or --project, not both');
    if (!values.resume && !values.project && !values.cache) throw new CliError("train: --cache DIR or --project FILE is required\nrun 'pscl train --help' for its options");
    const nproc = Number(values.nproc);
    if (!Number.isInteger(nproc) || nproc < 1) throw new CliError(`train: --nproc must be a positive integer, got ${values.nproc}`);
    if (!['auto', 'cpu', 'cuda'].includes(values.device)) throw new CliError(`train: --device must be auto, cpu or cuda, got ${values.device}`);
    const set: Record<string, unknown> = {};
    for (const kv of values.set) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new CliError(`train: --set expects KEY=VALUE, got "${kv}"`);
      const raw = kv.slice(eq + 1);
      try {
        set[kv.slice(0, eq)] = JSON.parse(raw);
      } catch {
        set[kv.slice(0, eq)] = raw;
      }
    }
    const python = pythonFrom(values.python);
    const trainerPath = findTrainerPath(__dirname);
    if (!trainerPath) throw new CliError('train: the trainer package was not found next to pscl; set PSCL_TRAINER_PATH to the folder holding pscl_trainer/', 1);

    const env = await checkPythonEnvironment(python, { trainerPath, requireCuda: values.device === 'cuda', gpus: nproc > 1 ? nproc : undefined });
    for (const p of env.problems) process.stderr.write(`${p.severity}: ${p.message}${p.fix ? `\n  fix: ${p.fix}` : ''}\n`);
    if (!env.ok) return 1;
    process.stderr.write(`python ${env.pythonVersion}, torch ${env.torchVersion}, ${env.cudaAvailable ? `CUDA ${env.cudaVersion}: ${env.deviceNames.join(', ')}` : 'CPU only'}\n`);
    let cache = values.cache;
    if (values.project) {
      try {
        const built = await buildProjectCache('train', values.project, { model: values.model });
        process.stderr.write(`cache ${built.dir}: ${built.images.computed} image(s) computed, ${built.images.reused} reused\n`);
        cache = built.dir;
      } catch (err) {
        if ((err as Error).name === 'AbortError') return 130;
        throw err;
      }
    }

    if (cache) {
      // the trainer waits for a build that is writing the cache (docs/cache-format.md, "Locking"); say why nothing happens
      const lock = await readCacheLock(path.resolve(cache)).catch(() => undefined);
      if (lock?.state === 'held') process.stderr.write(`${describeHolder(path.resolve(cache), lock.lock)}: the trainer waits for it to finish\n`);
    }
    const tty = process.stderr.isTTY;
    const progress = emptyProgress();
    let lastPrint = 0;
    const onEvent = (e: RunEvent) => {
      foldEvent(progress, e);
      if (e.type === 'progress') {
        if (tty) process.stderr.write(`\r\x1b[2K${progressLine(progress)}`);
        else if (Date.now() - lastPrint > 5000) {
          lastPrint = Date.now();
          process.stderr.write(`${progressLine(progress)}\n`);
        }
        return;
      }
      const clear = tty ? '\r\x1b[2K' : '';
      const m = e as RunEvent & Record<string, unknown>;
      if (e.type === 'metrics' && m.split !== 'train') {
        const top1 = (m.acc as Record<string, number> | undefined)?.top1;
        process.stderr.write(`${clear}epoch ${(m.epoch as number) + 1} ${m.split}: loss ${typeof m.loss === 'number' ? Number(m.loss.toPrecision(4)) : '–'}, top-1 ${typeof top1 === 'number' ? `${(top1 * 100).toFixed(1)}%` : '–'}\n`);
      }
      else if (e.type === 'checkpoint') process.stderr.write(`${clear}checkpoint: ${m.path}\n`);
      else if (e.type === 'error') process.stderr.write(`${clear}error (${m.kind ?? 'internal'}): ${m.message}\n`);
    };
    const trainer = await TrainerProcess.start(
      { python, trainerPath, runDir, nprocPerNode: nproc, args: trainArgs({ cache: cache && path.resolve(cache), runDir, config: values.config, set, resume: values.resume, device: values.device as 'auto' }) },
      { onEvent },
    );
    // Ctrl-C, SIGTERM, SIGHUP and a parent that went away all stop gracefully; a second one kills
    const stopWatching = onInterrupt((count, what) => {
      if (count === 1) {
        process.stderr.write(`\n${what}: stopping; the trainer saves a checkpoint (Ctrl-C again to kill)\n`);
        void trainer.stop();
      } else void trainer.kill();
    });
    const exit = await trainer.exited;
    stopWatching();
    if (tty) process.stderr.write('\n');
    const best = progress.bestTop1 !== undefined ? `, best top-1 ${(progress.bestTop1 * 100).toFixed(1)}%` : '';
    process.stdout.write(`${path.basename(runDir)}: ${exit.status}${best}${exit.reason ? `: ${exit.reason}` : ''}\n`);
    return exit.status === 'finished' ? 0 : exit.status === 'stopped' ? 130 : 1;
  },
};
