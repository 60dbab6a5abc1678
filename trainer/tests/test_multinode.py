"""Two "nodes" on localhost: two torchrun invocations (--nnodes 2, c10d rendezvous, gloo on CPU) train
2 steps into one run folder (the shared storage of a cluster) and end with the same parameters on
every rank. The flags are the ones `pscl train --nnodes` and the SLURM script pass
(src/core/runs/launch.ts, trainerCommand)."""
import glob
import json
import os
import re
import socket
import subprocess
import sys

from conftest import trainer_env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_rendezvous_and_agree(tiny_cache, tmp_path):
    run = str(tmp_path / "multinode")
    port = free_port()
    procs = []
    for node in (0, 1):
        # underscore flags: torch 1.13 knows only these, 2.x accepts both spellings
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node_rank", str(node),
               "--nproc_per_node", "1", "--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}",
               "--rdzv_id", "pscl-test", "--max_restarts", "0",
               "--redirects", "2", "--tee", "1", "--log_dir", str(tmp_path / f"logs{node}"),
               "-m", "pscl_trainer", "train", "--cache", tiny_cache, "--run", run, "--config", "tiny",
               "--set", "epochs=1", "--set", "max_steps=2", "--set", "log_every=1", "--device", "cpu"]
        procs.append(subprocess.Popen(cmd, env=trainer_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=150))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for node, (p, (_, err)) in enumerate(zip(procs, outs)):
        assert p.returncode == 0, f"node {node}:\n{err[-3000:]}"

    with open(os.path.join(run, "events.jsonl")) as f:
        events = [json.loads(line) for line in f]
    assert [e["type"] for e in events].count("start") == 1  # global rank 0 alone writes the run folder
    start, end = events[0], events[-1]
    assert start["world_size"] == 2
    assert end["status"] == "finished" and end["step"] == 2
    assert [e["step"] for e in events if e["type"] == "progress"] == [1, 2]

    sums = {}
    for node in (0, 1):
        for path in glob.glob(str(tmp_path / f"logs{node}" / "*" / "attempt_0" / "*" / "stderr.log")):
            for rank, total, digest in re.findall(r"rank (\d+)\] param checksum (\S+) sha256 (\w+)", open(path).read()):
                sums[int(rank)] = (node, float(total), digest)
    assert set(sums) == {0, 1}, sums
    assert {sums[0][0], sums[1][0]} == {0, 1}  # one rank on each node
    assert sums[0][1:] == sums[1][1:]
    assert sums[0][1:] == (end["param_checksum"], end["param_sha256"])


def test_a_run_folder_names_its_cache_relatively_and_survives_a_move(tiny_cache, tmp_path):
    """No absolute path of one machine in the run folder: a workspace (cache and runs) moved, or mounted
    at another path on another node, still evaluates from the run's own config.json."""
    import shutil
    from conftest import run_cli
    work = tmp_path / "work"
    shutil.copytree(tiny_cache, work / "cache")
    run = work / "runs" / "a"
    run_cli("train", "--cache", str(work / "cache"), "--run", str(run), "--config", "tiny",
            "--set", "epochs=1", "--set", "max_steps=1", "--device", "cpu")
    with open(run / "config.json") as f:
        assert json.load(f)["cache"] == "../../cache"
    moved = tmp_path / "elsewhere"
    shutil.move(str(work), str(moved))
    _, events, _ = run_cli("eval", "--run", str(moved / "runs" / "a"), "--device", "cpu")
    assert events[-1]["type"] == "eval" and 0 <= events[-1]["top1"] <= 1
