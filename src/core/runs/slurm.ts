// SLURM batch scripts (docs/cluster.md): training across N nodes x G GPUs (one torchrun per node,
// started by srun, meeting at a c10d rendezvous on the first node) and the cache build as an array
// job of shards. Pure text: `pscl train --emit-slurm`, `pscl cache build --emit-slurm` and the
// extension's "Export as SLURM job" write what these return.
import path from 'node:path';
import { torchrunArgs, trainArgs, type TrainArgs } from './launch';
import { TRAINER_MODULE } from './python';

/** What sbatch is asked for; the cluster's own options (QoS, constraints...) go in `extra`. */
export interface SlurmResources {
  jobName: string;
  nodes: number;
  /** GPUs per node (one trainer process each). */
  gpusPerNode: number;
  /** CPU cores per node for the data loaders (default 8 per GPU). */
  cpusPerNode?: number;
  /** Wall-clock limit, e.g. 24:00:00 (default 24:00:00). */
  time?: string;
  partition?: string;
  account?: string;
  /** More `#SBATCH` options, each as it follows `#SBATCH ` (e.g. '--qos=high'). */
  extra?: string[];
}

export interface SlurmTrainJob extends SlurmResources {
  /** Interpreter with PyTorch on the compute nodes. */
  python: string;
  /** Folder holding the pscl_trainer package, as the compute nodes see it. */
  trainerPath: string;
  /** Run folder and training cache on storage every node sees. */
  runDir: string;
  cache: string;
  config?: string;
  set?: TrainArgs['set'];
  /** Rendezvous port on the first node (default 29500). */
  port?: number;
}

export interface SlurmCacheJob extends Omit<SlurmResources, 'nodes' | 'gpusPerNode'> {
  /** The `pscl` command on the compute nodes (default 'pscl'). */
  pscl?: string;
  project: string;
  out: string;
  model?: string;
  /** Array tasks, one shard each. */
  shards: number;
  /** More `pscl cache build` options (mask settings...), one word each. */
  buildArgs?: string[];
}

/** Problems with the resources, worded for the command-line flags. */
export function slurmResourcesProblem(r: Partial<SlurmResources>): string | undefined {
  if (r.nodes !== undefined && (!Number.isInteger(r.nodes) || r.nodes < 1)) return `--nnodes must be a positive integer, got ${r.nodes}`;
  if (r.gpusPerNode !== undefined && (!Number.isInteger(r.gpusPerNode) || r.gpusPerNode < 1)) return `--gpus-per-node must be a positive integer, got ${r.gpusPerNode}`;
  if (r.cpusPerNode !== undefined && (!Number.isInteger(r.cpusPerNode) || r.cpusPerNode < 1)) return `--cpus-per-node must be a positive integer, got ${r.cpusPerNode}`;
  if (r.time !== undefined && !/^(\d+-)?\d+(:\d{2}){0,2}$/.test(r.time)) return `--time must be a SLURM time such as 24:00:00 or 2-00:00:00, got '${r.time}'`;
  for (const [flag, v] of [['--partition', r.partition], ['--account', r.account], ['--job-name', r.jobName]] as const) {
    if (v !== undefined && !/^[A-Za-z0-9_.,+-]+$/.test(v)) return `${flag} may hold letters, digits and . _ , + - only, got '${v}'`;
  }
  // one option per line of the script: nothing that could end the line and start a command
  for (const x of r.extra ?? []) {
    if (!/^--?[A-Za-z][\w-]*(=[^\x00-\x1f\x7f]*)?$/.test(x)) return `an extra sbatch option must look like --name=value on one line, got ${JSON.stringify(x)}`;
  }
  return undefined;
}

/** A word for bash: as it is when it is plain, else single-quoted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Words that name our own shell variables ($RUN_DIR...) are double-quoted so they expand; the rest are literal. */
function renderWords(words: string[], variables: readonly string[]): string {
  return words.map((w) => (variables.some((v) => w.includes(`$${v}`)) ? `"${w}"` : shellWord(w))).join(' ');
}

/** One `#SBATCH` line per option, in a fixed order (the golden test compares the text). */
function sbatchLines(r: { jobName: string; nodes: number; tasksPerNode: number; gpusPerNode?: number; cpusPerTask: number; time?: string; partition?: string; account?: string; extra?: string[]; output: string; array?: string; signal?: string }): string[] {
  const lines = [`--job-name=${r.jobName}`, `--nodes=${r.nodes}`, `--ntasks-per-node=${r.tasksPerNode}`];
  if (r.gpusPerNode) lines.push(`--gpus-per-node=${r.gpusPerNode}`);
  lines.push(`--cpus-per-task=${r.cpusPerTask}`, `--time=${r.time ?? '24:00:00'}`);
  if (r.partition) lines.push(`--partition=${r.partition}`);
  if (r.account) lines.push(`--account=${r.account}`);
  if (r.array) lines.push(`--array=${r.array}`);
  if (r.signal) lines.push(`--signal=${r.signal}`);
  lines.push(`--output=${r.output}`, ...(r.extra ?? []));
  return lines.map((l) => `#SBATCH ${l}`);
}

/**
 * The sbatch script of a training run: srun starts one torchrun per node with the same flags
 * `pscl train --nnodes` gives (torchrunArgs) and the trainer's own command line (trainArgs). A job
 * that is requeued or submitted again continues from the run's last checkpoint; SLURM's SIGTERM
 * five minutes before the time limit makes the trainer checkpoint and stop.
 */
export function slurmTrainScript(j: SlurmTrainJob): string {
  const port = j.port ?? 29500;
  const vars = ['RUN_DIR', 'CACHE', 'HEAD_NODE', 'SLURM_JOB_ID', 'RESUME'];
  const torchrun = torchrunArgs({
    nprocPerNode: j.gpusPerNode,
    logDir: '$RUN_DIR/logs/torchrun',
    rendezvous: j.nodes > 1 ? { nnodes: j.nodes, nodeRank: 0, endpoint: `$HEAD_NODE:${port}`, id: '$SLURM_JOB_ID' } : undefined,
  })
    // one command for every node (expanded once, by the batch shell): the c10d rendezvous orders the nodes itself
    .filter((a) => !a.startsWith('--node_rank='));
  const train = trainArgs({ runDir: '$RUN_DIR', cache: '$CACHE', config: j.config, set: j.set, device: 'cuda' });
  const cpus = j.cpusPerNode ?? 8 * j.gpusPerNode;
  return [
    '#!/bin/bash',
    `# PSCL training as a SLURM job (written by pscl; docs/cluster.md): ${j.nodes} node(s) x ${j.gpusPerNode} GPU(s),`,
    '# one torchrun per node. The cache and the run folder must be on storage every node sees.',
    '# Submit with: sbatch THIS_FILE    Stop with: scancel JOB_ID (the trainer saves a checkpoint)',
    ...sbatchLines({ jobName: j.jobName, nodes: j.nodes, tasksPerNode: 1, gpusPerNode: j.gpusPerNode, cpusPerTask: cpus, time: j.time, partition: j.partition, account: j.account, extra: j.extra, output: `${j.jobName}-%j.out`, signal: 'TERM@300' }),
    'set -euo pipefail',
    '',
    `RUN_DIR=${shellWord(j.runDir)}`,
    `CACHE=${shellWord(j.cache)}`,
    `export PYTHONPATH=${shellWord(j.trainerPath)}\${PYTHONPATH:+:$PYTHONPATH}`,
    `export OMP_NUM_THREADS=${Math.max(1, Math.floor(cpus / j.gpusPerNode))}`,
    '# the rendezvous is hosted on the first node of the allocation (sed reads all: no SIGPIPE under pipefail)',
    'HEAD_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | sed -n 1p)',
    '# a requeued or resubmitted job continues from the last checkpoint',
    'RESUME=',
    'if [ -f "$RUN_DIR/checkpoints/last.json" ]; then RESUME=--resume; fi',
    '',
    'srun --kill-on-bad-exit=1 \\',
    `  ${renderWords([j.python, '-u', '-m', 'torch.distributed.run'], vars)} \\`,
    `  ${renderWords(torchrun, vars)} \\`,
    `  ${renderWords(['-m', TRAINER_MODULE, ...train], vars)} $RESUME`,
    '',
  ].join('\n');
}

/**
 * The sbatch script of a sharded cache build: array task K builds shard K/N into the same folder
 * (`pscl cache build --shard K/N`); the last task to finish joins the manifests. When a task
 * failed, run it again (sbatch --array=K) or join what is there with `pscl cache merge`.
 */
export function slurmCacheScript(j: SlurmCacheJob): string {
  const pscl = j.pscl ?? 'pscl';
  const args = ['cache', 'build', '--project', j.project, '--out', j.out, ...(j.model ? ['--model', j.model] : []), ...(j.buildArgs ?? []), '--shard', `$SLURM_ARRAY_TASK_ID/${j.shards}`];
  const cpus = j.cpusPerNode ?? 8;
  return [
    '#!/bin/bash',
    `# PSCL cache build as a SLURM array job (written by pscl; docs/cluster.md): ${j.shards} shard(s), one per task,`,
    `# into ${j.out} (storage every node sees); the last shard to finish writes the manifest.`,
    '# Submit with: sbatch THIS_FILE    A failed shard K: sbatch --array=K THIS_FILE, or `pscl cache merge` after it',
    ...sbatchLines({ jobName: j.jobName, nodes: 1, tasksPerNode: 1, cpusPerTask: cpus, time: j.time ?? '04:00:00', partition: j.partition, account: j.account, extra: j.extra, output: `${j.jobName}-%A_%a.out`, array: `1-${j.shards}` }),
    'set -euo pipefail',
    '',
    `${shellWord(pscl)} ${renderWords(args, ['SLURM_ARRAY_TASK_ID'])}`,
    '',
  ].join('\n');
}

/** A job name from a folder name: what sbatch accepts, at most 40 characters. */
export function slurmJobName(prefix: string, folder: string): string {
  const base = path.basename(path.resolve(folder)).replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${prefix}${base ? `-${base}` : ''}`.slice(0, 40);
}
