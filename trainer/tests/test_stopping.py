"""Stopping (defect 10 of issue 13): the trainer stops gracefully when its launcher dies (stdout
closes), between the micro-batches of a long step, and during an evaluation; each stop writes a
checkpoint and `end: stopped`, and the run resumes exactly."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import run_cli, trainer_env
from pscl_trainer import data, stopping
from pscl_trainer.__main__ import main

ARGS = ["--config", "tiny", "--deterministic", "--set", "epochs=3", "--set", "log_every=1"]


def _events(run):
    with open(os.path.join(run, "events.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _summary(events, from_epoch):
    metrics = [(e["epoch"], e["split"], e["step"], e["loss"], e["acc"]) for e in events
               if e["type"] == "metrics" and e["epoch"] >= from_epoch]
    end = events[-1]
    return metrics, end["status"], end["step"], end["param_checksum"]


def test_launcher_dies_stdout_closes_the_trainer_checkpoints_and_ends_stopped(tiny_cache, tmp_path):
    run = str(tmp_path / "orphan")
    os.makedirs(run)
    proc = subprocess.Popen([sys.executable, "-m", "pscl_trainer", "train", "--cache", tiny_cache, "--run", run,
                             "--config", "tiny", "--set", "epochs=200", "--set", "log_every=1"],
                            env=trainer_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(os.path.join(run, "run.lock"), "w", encoding="utf-8") as f:  # as the launcher writes it
        json.dump({"pid": proc.pid, "pgid": proc.pid}, f)
    for line in proc.stdout:
        if json.loads(line)["type"] == "progress":
            break
    # the launcher is SIGKILLed: both of its pipe ends close
    proc.stdout.close()
    proc.stderr.close()
    code = proc.wait(timeout=60)
    events = _events(run)
    assert code == 130
    assert events[-1]["type"] == "end" and events[-1]["status"] == "stopped"
    assert events[-2]["type"] == "checkpoint" and os.path.exists(os.path.join(run, events[-2]["path"]))
    with open(os.path.join(run, "train.log"), encoding="utf-8") as f:
        log = f.read()
    assert "the launcher is gone" in log and "saving a checkpoint" in log
    assert not os.path.exists(os.path.join(run, "run.lock")), "the trainer removes the run.lock naming it"


@pytest.fixture
def in_process(monkeypatch):
    """Runs `pscl_trainer train` in this process with a stop requested when the `n`-th sample of
    the chosen split is read (train=True or False); restores the signal handlers and the flag."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    monkeypatch.setitem(stopping._state, "flag", False)
    monkeypatch.setitem(stopping._state, "why", None)
    monkeypatch.setenv("PSCL_TRAINER_THREADS", "1")  # as run_cli's runs, so the numbers compare
    original = data.CacheDataset.__getitem__

    def run(args, train, n):
        seen = {"n": 0}

        def getitem(self, index):
            if self.train == train:
                seen["n"] += 1
                if seen["n"] == n:
                    stopping._request("test")
            return original(self, index)

        monkeypatch.setattr(data.CacheDataset, "__getitem__", getitem)
        try:
            return main(args)
        finally:
            monkeypatch.setattr(data.CacheDataset, "__getitem__", original)
            stopping._state["flag"] = False

    yield run
    for s, h in handlers.items():
        signal.signal(s, h)


@pytest.fixture(scope="module")
def straight_accum(tiny_cache, tmp_path_factory):
    """Uninterrupted, two micro-batches per step: 96 images / 16 = 6 micro-batches, 3 steps an epoch."""
    _, events, _ = run_cli("train", "--cache", tiny_cache, "--run", str(tmp_path_factory.mktemp("straight")), *ARGS,
                           "--set", "grad_accum=2")
    assert events[-1]["status"] == "finished" and events[-1]["step"] == 9
    return events


def test_a_stop_between_the_micro_batches_of_a_step_checkpoints_the_last_whole_step(tiny_cache, tmp_path, in_process,
                                                                                    straight_accum):
    run = str(tmp_path / "mid-step")
    # the stop comes while the 3rd micro-batch (the first of step 2) is read: step 2 is not finished
    code = in_process(["train", "--cache", tiny_cache, "--run", run, *ARGS, "--set", "grad_accum=2"], True, 16 * 2 + 1)
    events = _events(run)
    assert code == 130 and events[-1]["status"] == "stopped"
    ck = events[-2]
    assert ck["type"] == "checkpoint" and ck["step"] == 1, "the stop did not wait for the step to finish"
    _, resumed, _ = run_cli("train", "--run", run, "--resume")
    assert resumed[0]["resumed_from"] == 1
    assert _summary(resumed, 0) == _summary(straight_accum, 0)


def test_a_stop_during_the_evaluation_leaves_it_and_ends_after_the_epoch_checkpoint(tiny_cache, tmp_path, in_process):
    run = str(tmp_path / "in-eval")
    t0 = time.time()
    code = in_process(["train", "--cache", tiny_cache, "--run", run, *ARGS, "--set", "eval_every=1"], False, 1)
    events = _events(run)
    assert code == 130 and events[-1]["status"] == "stopped"
    assert not any(e["type"] == "eval" for e in events), "the evaluation was left unfinished"
    ck = events[-2]
    assert ck["type"] == "checkpoint" and ck["step"] == 6 and ck["path"].endswith("epoch-0001.safetensors")
    assert not any(e["type"] == "progress" and e["step"] > 6 for e in events), "no step after the stop"
    assert time.time() - t0 < 120
