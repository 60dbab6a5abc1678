"""A killed or stopped run resumed with --resume ends with the same step count, metrics and weights
as the same run left alone (deterministic mode)."""
import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import run_cli, trainer_env

ARGS = ["--config", "tiny", "--deterministic", "--set", "epochs=3", "--set", "log_every=1"]


def _train_until(cache, run, predicate, sig):
    """Starts training, sends `sig` after the first event matching `predicate`, returns (code, events)."""
    proc = subprocess.Popen([sys.executable, "-m", "pscl_trainer", "train", "--cache", cache, "--run", run, *ARGS],
                            env=trainer_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if predicate(events[-1]):
            proc.send_signal(sig)
            break
    rest = proc.stdout.read()
    code = proc.wait(timeout=120)
    events += [json.loads(line) for line in rest.splitlines() if line.strip()]
    return code, events


def _summary(events, from_epoch):
    """The metrics of the epochs from `from_epoch` on, and the final state."""
    metrics = [(e["epoch"], e["split"], e["step"], e["loss"], e["acc"], e["stage_loss"], e["stage_acc"])
               for e in events if e["type"] == "metrics" and e["epoch"] >= from_epoch]
    end = events[-1]
    return metrics, end["status"], end["step"], end["param_checksum"]


@pytest.fixture(scope="module")
def straight(tiny_cache, tmp_path_factory):
    """The same run, never interrupted."""
    _, events, _ = run_cli("train", "--cache", tiny_cache, "--run", str(tmp_path_factory.mktemp("straight")), *ARGS)
    assert events[-1]["step"] == 18 and events[-1]["status"] == "finished"
    return events


def test_kill_then_resume_matches_an_uninterrupted_run(tiny_cache, tmp_path, straight):
    run = str(tmp_path / "killed")
    code, events = _train_until(tiny_cache, run, lambda e: e["type"] == "checkpoint", signal.SIGKILL)
    assert code == -signal.SIGKILL and events[-1]["type"] == "checkpoint" and events[-1]["step"] == 6
    _, resumed, _ = run_cli("train", "--run", run, "--resume")
    assert resumed[0]["type"] == "start" and resumed[0]["resumed_from"] == 6
    assert [e["step"] for e in resumed if e["type"] == "progress"][0] == 7
    assert _summary(resumed, 1) == _summary(straight, 1)
    # events.jsonl holds both sessions, in order
    with open(os.path.join(run, "events.jsonl")) as f:
        assert [json.loads(line)["type"] for line in f].count("start") == 2


def test_sigterm_checkpoints_mid_epoch_and_resumes_exactly(tiny_cache, tmp_path, straight):
    run = str(tmp_path / "stopped")
    code, events = _train_until(tiny_cache, run, lambda e: e["type"] == "progress" and e["step"] == 8, signal.SIGTERM)
    assert code == 130
    assert events[-1]["type"] == "end" and events[-1]["status"] == "stopped"
    ck = events[-2]
    assert ck["type"] == "checkpoint" and 8 <= ck["step"] < 18
    _, resumed, _ = run_cli("train", "--run", run, "--resume")
    assert resumed[0]["resumed_from"] == ck["step"]
    assert _summary(resumed, ck["epoch"]) == _summary(straight, ck["epoch"])
