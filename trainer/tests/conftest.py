import json
import os
import subprocess
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch: busy cores make extra threads spin
import pytest  # noqa: E402
import torch  # noqa: E402

TRAINER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TRAINER not in sys.path:
    sys.path.insert(0, TRAINER)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fixtures import make_cache  # noqa: E402

torch.set_num_threads(1)


def trainer_env(threads=1):
    env = dict(os.environ)
    env["PYTHONPATH"] = TRAINER + os.pathsep + env.get("PYTHONPATH", "")
    env["PSCL_TRAINER_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def run_cli(*args, timeout=300, check=True):
    """Runs `python3 -m pscl_trainer ARGS`; returns (exit code, events, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "pscl_trainer", *args], env=trainer_env(), capture_output=True,
                          text=True, timeout=timeout)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return proc.returncode, events, proc.stderr


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory):
    return make_cache(str(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="session")
def trained_run(tiny_cache, tmp_path_factory):
    """A tiny PSCL model trained for 240 steps on the part-colour task (shared by several tests)."""
    run = str(tmp_path_factory.mktemp("runs") / "trained")
    code, events, _ = run_cli("train", "--cache", tiny_cache, "--run", run, "--config", "tiny",
                              "--set", "epochs=40", "--set", "eval_every=20", "--set", "log_every=50")
    return run, events
