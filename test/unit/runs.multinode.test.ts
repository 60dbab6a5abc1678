// `pscl train --nnodes 2` twice on this machine, as two nodes of a cluster sharing the run folder
// (the real trainer, gloo on the CPU): both finish, the run folder holds one start and the
// trainer's own end (no launcher wrote a second one), run.lock is gone.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { buildDist } from '../helpers/build';
import { repoRoot, tempDir } from '../helpers/paths';

const PYTHON = process.env.PSCL_PYTHON || '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision, numpy, PIL'], { stdio: 'ignore' }).status === 0;
const tmp = tempDir('pscl-multinode-');
after(tmp.cleanup);
before(() => buildDist());

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function pscl(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'pscl.js'), ...args], { env: { ...process.env, PSCL_PYTHON: PYTHON, OMP_NUM_THREADS: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

it('two `pscl train --nnodes 2` on localhost train one run together and both report it finished', { skip: hasTorch ? false : `${PYTHON} has no torch`, timeout: 180_000 }, async () => {
  const cache = execFileSync(PYTHON, [path.join(repoRoot, 'trainer/tests/fixtures.py'), tmp.dir], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const runDir = path.join(tmp.dir, 'runs', 'two-nodes');
  const endpoint = `127.0.0.1:${await freePort()}`;
  const node = (rank: number) =>
    pscl(['train', '--cache', cache, '--run-dir', runDir, '--config', 'tiny', '--set', 'epochs=1', '--set', 'max_steps=2', '--set', 'log_every=1', '--device', 'cpu',
      '--nnodes', '2', '--node-rank', String(rank), '--rdzv-endpoint', endpoint, '--rdzv-id', 'unit']);
  const [a, b] = await Promise.all([node(0), node(1)]);
  for (const [rank, r] of [[0, a], [1, b]] as const) {
    assert.equal(r.code, 0, `node ${rank}: ${r.err}`);
    assert.match(r.out, /two-nodes: finished/);
    assert.match(r.err, new RegExp(`node ${rank} of 2, 1 process\\(es\\) here, rendezvous at ${endpoint} \\(id unit\\)`));
  }
  const events = readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; world_size?: number; step?: number; source?: string; status?: string });
  assert.equal(events.filter((e) => e.type === 'start').length, 1);
  assert.equal(events[0].world_size, 2);
  const ends = events.filter((e) => e.type === 'end');
  assert.equal(ends.length, 1, JSON.stringify(ends));
  assert.equal(ends[0].status, 'finished');
  assert.equal(ends[0].source, undefined, 'the trainer wrote the end, not a launcher');
  assert.equal(ends[0].step, 2);
  assert.ok(!existsSync(path.join(runDir, 'run.lock')));
});
