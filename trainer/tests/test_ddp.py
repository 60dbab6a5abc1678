"""`torchrun --nproc_per_node 2` on CPU (gloo): one epoch, both ranks end with identical weights."""
import glob
import json
import os
import re
import subprocess
import sys

from conftest import trainer_env


def test_two_processes_train_one_epoch_and_agree(tiny_cache, tmp_path):
    run, logs = str(tmp_path / "ddp"), str(tmp_path / "logs")
    # --redirects 2 --tee 1: per-rank log files; Debian's torch 1.13 on Python 3.11 cannot parse the
    # default "0" (its Std flag lookup misses zero), so the test names working values explicitly.
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--redirects", "2", "--tee", "1", "--log_dir", logs,
           "-m", "pscl_trainer", "train", "--cache", tiny_cache, "--run", run, "--config", "tiny",
           "--set", "epochs=1", "--device", "cpu"]
    proc = subprocess.run(cmd, env=trainer_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(os.path.join(run, "events.jsonl")) as f:
        events = [json.loads(line) for line in f]
    assert [e["type"] for e in events].count("start") == 1  # only rank 0 writes events
    start, end = events[0], events[-1]
    assert start["world_size"] == 2 and start["steps_per_epoch"] == 3  # 96 images / (16 x 2 ranks)
    assert end["status"] == "finished" and end["step"] == 3
    sums = {}
    for path in glob.glob(os.path.join(logs, "*", "attempt_0", "*", "stderr.log")):
        text = open(path).read()
        for rank, total, digest in re.findall(r"rank (\d+)\] param checksum (\S+) sha256 (\w+)", text):
            sums[int(rank)] = (float(total), digest)
    assert set(sums) == {0, 1}, sums
    assert sums[0] == sums[1]
    assert sums[0] == (end["param_checksum"], end["param_sha256"])
