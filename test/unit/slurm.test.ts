// Must show (issue 20): the SLURM training script matches its golden file; run under a stand-in
// for SLURM (srun and scontrol on PATH) it starts the exact torchrun command of a multi-node run;
// `pscl train --emit-slurm` names the nodes, GPUs, cache and run folder it was given; and the
// multi-node flags of `pscl train` become torchrun's rendezvous flags.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rendezvousProblem, shellWord, slurmTrainScript, trainerCommand, type SlurmTrainJob } from '../../src/core/runs';
import { buildDist } from '../helpers/build';
import { repoRoot, tempDir, testData } from '../helpers/paths';

const tmp = tempDir('pscl-slurm-');
after(tmp.cleanup);
before(() => buildDist());

const job: SlurmTrainJob = {
  jobName: 'pscl-cub-rn50',
  nodes: 2,
  gpusPerNode: 4,
  partition: 'gpu',
  account: 'vision',
  time: '12:00:00',
  python: '/opt/conda/bin/python',
  trainerPath: '/opt/pscl-studio/trainer',
  runDir: '/shared/runs/cub rn50',
  cache: '/shared/caches/cub-1a2b3c4d',
  config: 'rn50',
  set: { epochs: 100, batch_size: 32 },
};
const GOLDEN = path.join(testData, 'golden', 'slurm-train.sbatch');

function pscl(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'pscl.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Runs a script with fake srun (records its argv, one word a line) and scontrol; returns srun's argv. */
function runUnderFakeSlurm(script: string, env: Record<string, string>): string[] {
  const bin = path.join(tmp.dir, 'fake-slurm');
  mkdirSync(bin, { recursive: true });
  const record = path.join(tmp.dir, 'srun.args');
  writeFileSync(path.join(bin, 'srun'), `#!/bin/bash\nprintf '%s\\n' "$@" > ${shellWord(record)}\n`);
  // a long node list: a reader that stops after the first line (head) would SIGPIPE scontrol, and pipefail end the job
  writeFileSync(path.join(bin, 'scontrol'), '#!/bin/bash\n[ "$1 $2" = "show hostnames" ] && { printf "gpu-a17\\ngpu-b03\\n"; seq -f "gpu-x%05g" 1 20000; }\n');
  for (const f of ['srun', 'scontrol']) chmodSync(path.join(bin, f), 0o755);
  const file = path.join(tmp.dir, 'job.sbatch');
  writeFileSync(file, script);
  const r = spawnSync('bash', [file], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, SLURM_JOB_NODELIST: 'gpu-[a17,b03]', SLURM_JOB_ID: '4242', SLURM_NNODES: '2', ...env } });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(record, 'utf8').split('\n').slice(0, -1);
}

describe('SLURM scripts', () => {
  it('the training script matches the golden file', () => {
    if (process.env.PSCL_UPDATE_GOLDEN) writeFileSync(GOLDEN, slurmTrainScript(job));
    assert.equal(slurmTrainScript(job), readFileSync(GOLDEN, 'utf8'));
  });

  it('under srun it runs one torchrun per node meeting on the first node, and resumes once a checkpoint exists', () => {
    const runDir = path.join(tmp.dir, "run with 'quotes' and $dollar");
    const argv = runUnderFakeSlurm(slurmTrainScript({ ...job, runDir }), {});
    assert.deepEqual(argv, [
      '--kill-on-bad-exit=1',
      '/opt/conda/bin/python', '-u', '-m', 'torch.distributed.run',
      '--nnodes=2', '--nproc_per_node=4', '--rdzv_backend=c10d', '--rdzv_endpoint=gpu-a17:29500', '--rdzv_id=4242', '--max_restarts=0',
      '--redirects', '1', '--tee', '1', '--log_dir', `${runDir}/logs/torchrun`,
      '-m', 'pscl_trainer', 'train', '--run', runDir, '--cache', job.cache, '--config', 'rn50', '--device', 'cuda', '--set', 'epochs=100', '--set', 'batch_size=32',
    ]);
    mkdirSync(path.join(runDir, 'checkpoints'), { recursive: true });
    writeFileSync(path.join(runDir, 'checkpoints', 'last.json'), '{}');
    assert.equal(runUnderFakeSlurm(slurmTrainScript({ ...job, runDir }), {}).at(-1), '--resume');
  });

  it('pscl train --emit-slurm names the nodes, GPUs, cache and run folder it was given', () => {
    const file = path.join(tmp.dir, 'out', 'train.sbatch');
    const r = pscl(['train', '--emit-slurm', file, '--cache', path.join(tmp.dir, 'cache'), '--run-dir', path.join(tmp.dir, 'runs', 'cub'), '--nnodes', '3', '--gpus-per-node', '8', '--config', 'tiny', '--set', 'epochs=2', '--partition', 'a100', '--sbatch=--qos=high']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /3 node\(s\) x 8 GPU\(s\).*\nsubmit it with: sbatch /);
    const script = readFileSync(file, 'utf8');
    assert.match(script, /^#SBATCH --nodes=3$/m);
    assert.match(script, /^#SBATCH --gpus-per-node=8$/m);
    assert.match(script, /^#SBATCH --partition=a100$/m);
    assert.match(script, /^#SBATCH --job-name=pscl-cub$/m);
    assert.match(script, /^#SBATCH --output=pscl-cub-%j.out\n#SBATCH --qos=high\nset -euo pipefail$/m);
    assert.ok(script.includes(`\nCACHE=${path.join(tmp.dir, 'cache')}\n`), script);
    assert.ok(script.includes(`\nRUN_DIR=${path.join(tmp.dir, 'runs', 'cub')}\n`), script);
    assert.match(script, / --nnodes=3 --nproc_per_node=8 --rdzv_backend=c10d /);
    assert.match(script, /-m pscl_trainer train --run "\$RUN_DIR" --cache "\$CACHE" --config tiny --device cuda --set epochs=2 \$RESUME$/m);
  });

  it('bad --emit-slurm and multi-node options get a clear error and write nothing', () => {
    const file = path.join(tmp.dir, 'bad.sbatch');
    const cases: [string[], RegExp][] = [
      [['--nnodes', '2'], /--emit-slurm needs --gpus-per-node G/],
      [['--nnodes', '2', '--gpus-per-node', '4', '--node-rank', '1'], /--node-rank is set by the SLURM script itself/],
      [['--nnodes', 'two', '--gpus-per-node', '4'], /--nnodes must be a whole number, got 'two'/],
      [['--gpus-per-node', '4', '--time', 'soon'], /--time must be a SLURM time such as 24:00:00/],
      [['--gpus-per-node', '4', '--nproc', '4'], /the processes per node are --gpus-per-node G \(leave out --nproc\)/],
      [['--gpus-per-node', '4', '--sbatch=--qos=high\nrm -rf ~'], /an extra sbatch option must look like --name=value on one line, got "--qos=high\\nrm -rf ~"/],
    ];
    for (const [args, message] of cases) {
      const r = pscl(['train', '--emit-slurm', file, '--cache', tmp.dir, '--run-dir', path.join(tmp.dir, 'r'), ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, message);
    }
    const noCache = pscl(['train', '--emit-slurm', file, '--run-dir', path.join(tmp.dir, 'r'), '--gpus-per-node', '1']);
    assert.match(noCache.err, /--cache DIR or --project FILE is required|--emit-slurm needs --cache DIR/);
    const r = pscl(['train', '--cache', tmp.dir, '--run-dir', path.join(tmp.dir, 'r'), '--nnodes', '2', '--rdzv-endpoint', 'head:29500']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--nnodes 2 needs --node-rank \(0 on the first machine, up to 1\)/);
    assert.throws(() => readFileSync(file), /ENOENT/);
  });
});

describe('multi-node torchrun flags', () => {
  it('a rendezvous turns the trainer command into torchrun with c10d flags (also with one process per node)', () => {
    const argv = trainerCommand({ args: ['train', '--run', '/r'], runDir: '/r', nprocPerNode: 1, rendezvous: { nnodes: 2, nodeRank: 1, endpoint: '10.0.0.5:29500', id: 'job7' } });
    assert.deepEqual(argv, ['-u', '-m', 'torch.distributed.run', '--nnodes=2', '--node_rank=1', '--nproc_per_node=1', '--rdzv_backend=c10d', '--rdzv_endpoint=10.0.0.5:29500', '--rdzv_id=job7', '--max_restarts=0', '--redirects', '1', '--tee', '1', '--log_dir', '/r/logs/torchrun', '-m', 'pscl_trainer', 'train', '--run', '/r']);
    assert.deepEqual(trainerCommand({ args: ['train'], runDir: '/r', nprocPerNode: 1 }), ['-u', '-m', 'pscl_trainer', 'train']);
    assert.equal(trainerCommand({ args: [], runDir: '/r', nprocPerNode: 2 })[3], '--standalone');
  });

  it('bad rendezvous values are named', () => {
    assert.equal(rendezvousProblem({ nnodes: 2, nodeRank: 0, endpoint: '[::1]:29500' }), undefined);
    assert.match(rendezvousProblem({ nnodes: 2, nodeRank: 2, endpoint: 'h:1' })!, /--node-rank must be an integer from 0 to 1, got 2/);
    assert.match(rendezvousProblem({ nnodes: 2, nodeRank: 0, endpoint: 'head' })!, /--rdzv-endpoint must be HOST:PORT/);
    assert.match(rendezvousProblem({ nnodes: 2, nodeRank: 0, endpoint: 'head:70000' })!, /port must be 1 to 65535/);
    assert.match(rendezvousProblem({ nnodes: 2, nodeRank: 0, endpoint: 'head:1', id: 'a b' })!, /--rdzv-id may hold/);
  });
});

describe('Remote-SSH', () => {
  it('the extension runs where the workspace is (extensionKind workspace): the trainer, caches and runs are on the remote machine', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { extensionKind?: string[] };
    assert.deepEqual(pkg.extensionKind, ['workspace']);
  });
});
