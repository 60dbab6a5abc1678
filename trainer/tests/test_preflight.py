"""Preflight: the probe's estimate against a measured run, the verdicts on a machine with less
memory (simulated by the free-memory reading) or no GPU, and the advice they give."""
import json
import os
import subprocess
import sys
import types

import pytest
import torch

from conftest import run_cli, trainer_env
from pscl_trainer import preflight
from pscl_trainer.config import load_config
from pscl_trainer.data import Manifest
from pscl_trainer.errors import OutOfMemory

CPU = torch.device("cpu")


def counts(manifest, cfg):
    return preflight.counts_from_cache(manifest, cfg, 16)


def test_probe_leaves_the_rng_alone(tiny_cache):
    cfg = load_config("tiny")
    torch.manual_seed(123)
    before = torch.get_rng_state()
    preflight.probe(cfg, 4, 2, 16, [], CPU)
    assert torch.equal(before, torch.get_rng_state())


def test_estimate_matches_a_measured_run(tiny_cache, tmp_path):
    """The peak RSS and time per step of a real training (a child process) against the estimate
    (probed in another child, so neither sees the other's memory)."""
    sets = ["resolution=96", "batch_size=16", "epochs=2", "eval_every=0", "log_every=1"]
    script = ("import json, sys; sys.argv = ['x'];"
              "from pscl_trainer import preflight; from pscl_trainer.config import load_config;"
              "from pscl_trainer.data import Manifest; import torch; torch.set_num_threads(1);"
              f"cfg = load_config('tiny', {sets!r}); m = Manifest({tiny_cache!r});"
              "print(json.dumps(preflight.estimate(cfg, preflight.counts_from_cache(m, cfg, 16), torch.device('cpu'))))")
    out = subprocess.run([sys.executable, "-c", script], env=trainer_env(), capture_output=True, text=True, check=True)
    est = json.loads(out.stdout.strip().splitlines()[-1])
    run = str(tmp_path / "measured")
    args = [sys.executable, "-m", "pscl_trainer", "train", "--cache", tiny_cache, "--run", run, "--config", "tiny"]
    for s in sets:
        args += ["--set", s]
    # a fresh parent whose only child is the training: its children's high-water mark is the run's peak
    wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL);"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", wrapper, *args], env=trainer_env(), capture_output=True, text=True, check=True)
    peak = int(out.stdout.strip()) * 1024
    with open(os.path.join(run, "events.jsonl")) as f:
        events = [json.loads(line) for line in f]
    assert 0.6 * peak <= est["memory"]["peak_bytes"] <= 1.6 * peak, (est["memory"], peak)
    assert est["total_steps"] == events[0]["total_steps"] == 12
    assert est["verdict"] == "ok" and est["memory"]["per_sample_bytes"] > 1e6
    assert events[0]["preflight"]["memory"]["peak_bytes"] > 0 and "tiny_rn at 96 px" in events[0]["preflight"]["summary"]


@pytest.fixture
def probed(tiny_cache):
    cfg = load_config("tiny", ["resolution=64"])
    m = Manifest(tiny_cache)
    return cfg, counts(m, cfg), preflight.probe(cfg, m.num_classes, m.num_part_slots, 16, [], CPU)


def with_free(monkeypatch, free):
    monkeypatch.setattr(preflight, "free_ram", lambda: (free, 64 << 30))


def test_a_batch_that_does_not_fit_is_lowered_keeping_the_effective_batch(monkeypatch, probed):
    cfg, c, p = probed
    peak16 = preflight.estimate(cfg, c, CPU, probe_result=p)["memory"]["peak_bytes"]
    peak4 = preflight._cpu_peak(p, 4, 0, 64)
    with_free(monkeypatch, int((peak4 + (peak16 - peak4) / 3) / preflight.HEADROOM))
    out = preflight.estimate(cfg, c, CPU, probe_result=p)
    assert out["verdict"] == "adjust"
    b, accum = out["set"]["batch_size"], out["set"]["grad_accum"]
    assert 4 <= b < 16 and b * accum >= 16 and (b * (accum - 1)) < 16
    assert f"batch_size {b} with grad_accum {accum}" in out["messages"][-1]
    assert preflight._cpu_peak(p, b, 0, 64) <= preflight.HEADROOM * out["memory"]["free_bytes"]


def test_nothing_that_needs_more_memory_than_the_machine_has_starts(monkeypatch, probed, tiny_cache, tmp_path):
    cfg, c, p = probed
    with_free(monkeypatch, int(p["peak_bytes"] * 0.5))  # less than the process at batch 2 already holds
    out = preflight.estimate(cfg, c, CPU, probe_result=p)
    assert out["verdict"] == "refuse" and "even at batch 1" in out["advice"] and "--set resolution=32" in out["advice"]
    d = types.SimpleNamespace(world=1)
    preflight.save(str(tmp_path), preflight.probe_key(cfg, CPU, c), p, {})  # as `preflight --run` leaves it
    with pytest.raises(OutOfMemory, match="even at batch 1"):
        preflight.check_before_training(cfg, c, CPU, d, str(tmp_path))
    with_free(monkeypatch, int(preflight._cpu_peak(p, 3, 0, 64) / preflight.HEADROOM) + 1)
    with pytest.raises(OutOfMemory, match=r"--set batch_size=3 --set grad_accum=6"):
        preflight.check_before_training(cfg, c, CPU, d, str(tmp_path))


def test_no_gpu_default_config_falls_back_or_is_refused_with_advice(probed):
    cfg, c, p = probed
    out = preflight.estimate(cfg, c, CPU, probe_result=p)
    out.update(backbone="resnet50", resolution=448)
    out["time"]["eta_s"] = 3 * 86400.0
    fb = preflight.decide(json.loads(json.dumps(out)), allow_fallback=True)
    assert fb["verdict"] == "fallback" and fb["config"] == "tiny" and "Using the CPU preset 'tiny'" in fb["messages"][-1]
    refused = preflight.decide(json.loads(json.dumps(out)), allow_fallback=False)
    assert refused["verdict"] == "refuse" and "--config tiny" in refused["advice"] and "--force" in refused["advice"]
    assert preflight.decide(json.loads(json.dumps(out)), allow_fallback=False, force=True)["verdict"] == "ok"
    out["time"]["eta_s"] = 3600.0  # a chosen config that takes an hour on the CPU starts
    assert preflight.decide(json.loads(json.dumps(out)), allow_fallback=False)["verdict"] == "ok"


def test_oom_advice_names_a_smaller_batch():
    assert "from 8 to 4" in preflight.oom_advice(load_config("tiny", ["batch_size=8"]))
    assert "--set batch_size=4 --set grad_accum=2" in preflight.oom_advice(load_config("tiny", ["batch_size=8"]))
    assert "already 1" in preflight.oom_advice(load_config("tiny", ["batch_size=1"]))


def test_train_turns_out_of_memory_into_advice_for_its_batch(monkeypatch, capsys, tmp_path, tiny_cache):
    import pscl_trainer.train
    from pscl_trainer.__main__ import main

    def boom(*a, **k):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    monkeypatch.setattr(pscl_trainer.train, "_train", boom)
    assert main(["train", "--run", str(tmp_path / "oom"), "--cache", tiny_cache, "--config", "tiny",
                 "--set", "batch_size=6", "--device", "cpu"]) == 4
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["kind"] == "oom" and "--set batch_size=3 --set grad_accum=2" in events[0]["message"]


def test_preflight_command_keeps_its_probe_for_train(tiny_cache, tmp_path):
    run = str(tmp_path / "pre")
    code, events, _ = run_cli("preflight", "--cache", tiny_cache, "--run", run, "--config", "tiny", "--set", "epochs=2")
    est = events[-1]
    assert code == 0 and est["type"] == "preflight" and est["verdict"] == "ok" and est["total_steps"] == 12
    assert est["weights"] == {"source": "none", "kind": "none", "file": None, "status": "none"}
    assert any("trains from scratch" in w for w in est["warnings"])
    with open(os.path.join(run, "preflight.json")) as f:
        saved = json.load(f)
    assert saved["probe"]["probe_batch"] == 2
    # train finds it (same model on the same device) and does not probe again
    _, train, stderr = run_cli("train", "--cache", tiny_cache, "--run", run, "--config", "tiny", "--set", "epochs=1")
    assert train[0]["preflight"]["memory"]["peak_bytes"] == preflight.estimate(
        load_config("tiny", ["epochs=1"]), counts(Manifest(tiny_cache), load_config("tiny")), CPU,
        probe_result=saved["probe"])["memory"]["peak_bytes"]
    # an unknown backbone weights file is an error before any probe
    code, events, _ = run_cli("preflight", "--cache", tiny_cache, "--config", "rn50", "--set", "backbone_weights=x.pth",
                              check=False)
    assert code == 2 and "x.pth" in events[-1]["message"]
