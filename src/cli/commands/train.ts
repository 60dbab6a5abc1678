import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describeDemoModel, resolveDemoModel } from '../../core/clip/demoModel';
import { applyPreflight, checkPythonEnvironment, runningEstimate, findTrainerPath, foldEvent, emptyProgress, progressLine, rendezvousProblem, runPreflight, slurmJobName, slurmResourcesProblem, slurmTrainScript, TrainerProcess, trainArgs, type Rendezvous, type RunEvent } from '../../core/runs';
import { writeFileAtomic } from '../../core/util/atomicWrite';
import { psclCacheRoot } from '../../core/util/cacheDir';
import { CliError, type Command, parseOptions, pythonFrom, required } from '../command';
import { describeHolder, readCacheLock } from '../../core/cache/lock';
import { onInterrupt } from '../interrupt';
import { PACKAGE_ROOT, resolveModel } from '../model';
import { buildProjectCache } from './cache';

const help = `usage: pscl train (--cache DIR | --project FILE [--model DIR|REPO]) --run-dir DIR [--config NAME|FILE]
                  [--set KEY=VALUE]... [--resume] [--nproc N] [--device auto|cpu|cuda] [--python PATH] [--force]
                  [--nnodes N --node-rank R --rdzv-endpoint HOST:PORT [--rdzv-id ID]]
       pscl train --emit-slurm FILE --cache DIR --run-dir DIR --nnodes N --gpus-per-node G [--config ...]
                  [--set ...] [--partition P] [--account A] [--time T] [--cpus-per-node C] [--job-name J]
                  [--sbatch=--OPTION=VALUE]...

Runs the PSCL trainer on a training cache into a run folder, streaming progress.
--cache    a built training cache (pscl cache build)
--project  a project file: its cache (default location, as pscl cache build) is built or brought up
           to date first (only stale images are recomputed); --model is the CLIP model for it
Ctrl-C, SIGTERM and SIGHUP stop gracefully (the trainer saves a checkpoint; --resume continues),
a second one kills. If pscl itself dies, the trainer notices and stops the same way.
--config   a config name of the trainer (rn50, vit_b16, swin_b, tiny, tiny_vit, tiny_clip) or a JSON file
           (default rn50; without a GPU the CPU preset tiny, unless --config is given)
--set      override a config value, e.g. --set epochs=2 --set batch_size=8
--nproc    processes (GPUs) through torchrun (default 1)
Several machines (docs/cluster.md): run the same command on every node with --nnodes (machines),
--node-rank (0 on the first), --rdzv-endpoint (the first node's address and a free port) and
--nproc (GPUs per node); the cache and the run folder must be on storage every node sees.
--emit-slurm  write an sbatch script instead of training: --nnodes nodes x --gpus-per-node GPUs,
           one torchrun per node, on --cache (built already) into --run-dir; submit it with sbatch;
           --sbatch=--qos=high adds an #SBATCH line (repeatable)
--python   interpreter with PyTorch (default: $PSCL_PYTHON or python3)
--force    start a chosen config on the CPU even when it would take more than a day
Before training, a preflight probe estimates peak memory and time per step: a batch that does not
fit is lowered (grad_accum keeps the effective batch), a run that cannot fit is refused with advice.
Exit codes: 0 finished, 130 stopped, 1 failed or refused (the reason is printed).`;

/** backbone_weights as the run will see it: --set, else the config (a preset name or file), if it says. */
function backboneWeights(trainerPath: string, config: string | undefined, set: Record<string, unknown>): string | undefined {
  if (typeof set.backbone_weights === 'string') return set.backbone_weights;
  const file = config && (config.endsWith('.json') || config.includes(path.sep)) ? path.resolve(config) : path.join(trainerPath, 'pscl_trainer', 'configs', `${config ?? 'rn50'}.json`);
  try {
    const value = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>).backbone_weights : undefined;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined; // the trainer reports a broken config file itself
  }
}

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
      nnodes: { type: 'string' },
      'node-rank': { type: 'string' },
      'rdzv-endpoint': { type: 'string' },
      'rdzv-id': { type: 'string' },
      'emit-slurm': { type: 'string' },
      'gpus-per-node': { type: 'string' },
      'cpus-per-node': { type: 'string' },
      partition: { type: 'string' },
      account: { type: 'string' },
      time: { type: 'string' },
      'job-name': { type: 'string' },
      sbatch: { type: 'string', multiple: true, default: [] },
      force: { type: 'boolean', default: false },
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
    if (values['emit-slurm'] !== undefined) return emitSlurm(values, runDir, set, python, trainerPath);
    const rendezvous = rendezvousFrom(values);

    const env = await checkPythonEnvironment(python, { trainerPath, requireCuda: values.device === 'cuda', gpus: nproc > 1 ? nproc : undefined });
    if (rendezvous) process.stderr.write(`node ${rendezvous.nodeRank} of ${rendezvous.nnodes}, ${nproc} process(es) here, rendezvous at ${rendezvous.endpoint} (id ${rendezvous.id ?? 'pscl'})\n`);
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

    // the trainer resolves relative paths against the user's directory, and clip:demo against the demo CLIP
    const trainerEnv: Record<string, string> = { PSCL_CWD: process.cwd() };
    const weights = values.resume ? undefined : backboneWeights(trainerPath, values.config, set);
    if (weights === 'clip:demo') {
      const demo = await resolveDemoModel(psclCacheRoot(), PACKAGE_ROOT);
      // a random tower gives the heads nothing to learn from: say so before minutes of training
      if (!demo.trained) process.stderr.write(`warning: backbone_weights "clip:demo" is ${describeDemoModel(demo)}\n`);
      trainerEnv.PSCL_DEMO_CLIP = demo.dir;
    } else if (weights?.startsWith('clip:') && /^[\w.-]+\/[\w.-]+$/.test(weights.slice(5))) {
      // a Hub repo (not a folder here or next to the project): fetched into the model cache, with
      // progress, where the trainer looks for it; when that fails the trainer says what to do
      const rel = weights.slice(5);
      const local = [process.cwd(), values.project && path.dirname(path.resolve(values.project))].some((d) => d && existsSync(path.resolve(d, rel)));
      if (!local) await resolveModel('train', rel).catch(() => undefined);
    }

    // preflight: memory and time of one probed step; apply the verdict or refuse
    let config = values.config;
    let trainSet = set;
    process.stderr.write('preflight: probing one training step...\n');
    let estimate;
    try {
      estimate = await runPreflight({
        python, trainerPath, runDir, cache: cache && path.resolve(cache), config, set, resume: values.resume, nproc,
        device: values.device as 'auto', allowFallback: !values.config && !values.resume, force: values.force, fetch: !values.resume, env: trainerEnv,
        // the ImageNet download's progress lines
        onStderr: (text) => process.stderr.write(text.split('\n').filter((l) => /^\[pscl-trainer[^\]]*\] downloading /.test(l)).map((l) => `${l.replace(/^\[pscl-trainer[^\]]*\] /, '')}\n`).join('')),
      });
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      return 1;
    }
    if (estimate.verdict === 'refuse') {
      process.stderr.write(`preflight: ${estimate.summary}\nrefused: ${estimate.advice}\n`);
      process.stdout.write(`${path.basename(runDir)}: not started (preflight refused it)\n`);
      return 1;
    }
    const applied = applyPreflight(estimate, config, set);
    for (const n of applied.notes) process.stderr.write(`preflight: ${n}\n`);
    process.stderr.write(`preflight: ${runningEstimate(estimate).summary}\n`);
    for (const w of estimate.warnings) process.stderr.write(`warning: ${w}\n`);
    config = applied.config;
    trainSet = applied.set;

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
      else if (e.type === 'checkpoint') process.stderr.write(tty ? `${clear}checkpoint: ${m.path}` : `checkpoint: ${m.path}\n`); // (a terminal keeps one line: the next progress overwrites it)
      else if (e.type === 'error') process.stderr.write(`${clear}error (${m.kind ?? 'internal'}): ${m.message}\n`);
    };
    const trainer = await TrainerProcess.start(
      { python, trainerPath, runDir, nprocPerNode: nproc, rendezvous, env: trainerEnv, args: trainArgs({ cache: cache && path.resolve(cache), runDir, config, set: trainSet, resume: values.resume, device: values.device as 'auto' }) },
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

type TrainValues = Record<string, string | boolean | string[] | undefined>;

function intFlag(values: TrainValues, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v.trim()) || !Number.isInteger(n)) throw new CliError(`train: --${name} must be a whole number, got '${v}'`);
  return n;
}

/** The multi-node flags as a rendezvous (undefined on one machine); a CliError names the flag that is wrong. */
function rendezvousFrom(values: TrainValues): Rendezvous | undefined {
  const nnodes = intFlag(values, 'nnodes');
  const given = ['node-rank', 'rdzv-endpoint', 'rdzv-id'].filter((k) => values[k] !== undefined);
  if (nnodes === undefined || nnodes === 1) {
    if (given.length > 0) throw new CliError(`train: --${given[0]} is for several machines: give --nnodes N (2 or more) too`);
    return undefined;
  }
  const nodeRank = intFlag(values, 'node-rank');
  if (nodeRank === undefined) throw new CliError(`train: --nnodes ${nnodes} needs --node-rank (0 on the first machine, up to ${nnodes - 1})`);
  const endpoint = values['rdzv-endpoint'] as string | undefined;
  if (!endpoint) throw new CliError("train: --nnodes needs --rdzv-endpoint HOST:PORT (the first machine's address and a free port, the same on every machine)");
  const r: Rendezvous = { nnodes, nodeRank, endpoint, id: values['rdzv-id'] as string | undefined };
  const problem = rendezvousProblem(r);
  if (problem) throw new CliError(`train: ${problem}`);
  return r;
}

/** `--emit-slurm FILE`: the sbatch script of this training on the cluster, written and not run. */
async function emitSlurm(values: TrainValues, runDir: string, set: Record<string, unknown>, python: string, trainerPath: string): Promise<number> {
  const file = path.resolve(values['emit-slurm'] as string);
  if (!values.cache) throw new CliError('train: --emit-slurm needs --cache DIR on shared storage (build it first: pscl cache build, or its SLURM array job with pscl cache build --emit-slurm)');
  if (values.resume) throw new CliError('train: --emit-slurm scripts resume by themselves (a job submitted again continues from the last checkpoint); leave out --resume');
  for (const k of ['node-rank', 'rdzv-endpoint', 'rdzv-id']) {
    if (values[k] !== undefined) throw new CliError(`train: --${k} is set by the SLURM script itself (the first node of the allocation hosts the rendezvous); leave it out with --emit-slurm`);
  }
  if (values.nproc !== '1') throw new CliError('train: with --emit-slurm the processes per node are --gpus-per-node G (leave out --nproc)');
  if (values.device === 'cpu') throw new CliError('train: --emit-slurm scripts train on the nodes\' GPUs (--device cuda); leave out --device cpu');
  const nodes = intFlag(values, 'nnodes') ?? 1;
  const gpusPerNode = intFlag(values, 'gpus-per-node');
  if (gpusPerNode === undefined) throw new CliError('train: --emit-slurm needs --gpus-per-node G (GPUs each node trains on)');
  const job = {
    jobName: (values['job-name'] as string | undefined) ?? slurmJobName('pscl', runDir),
    nodes,
    gpusPerNode,
    cpusPerNode: intFlag(values, 'cpus-per-node'),
    time: values.time as string | undefined,
    partition: values.partition as string | undefined,
    account: values.account as string | undefined,
    extra: values.sbatch as string[],
  };
  const problem = slurmResourcesProblem(job);
  if (problem) throw new CliError(`train: ${problem}`);
  const script = slurmTrainScript({ ...job, python, trainerPath, runDir, cache: path.resolve(values.cache as string), config: values.config as string | undefined, set });
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, script);
  } catch (err) {
    throw new CliError(`train: cannot write ${file}: ${(err as Error).message}`, 1);
  }
  process.stdout.write(`${file}: ${nodes} node(s) x ${gpusPerNode} GPU(s), cache ${path.resolve(values.cache as string)}, run folder ${runDir}\nsubmit it with: sbatch ${file}\n`);
  return 0;
}
