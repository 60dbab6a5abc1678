"""The pscl CLI for the Python tests: running it, and a copy of the sample with a tiny CLIP."""
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE = os.environ.get("NODE") or shutil.which("node")
PSCL = ROOT / "bin" / "pscl.js"


def run(*args, env=None):
    """Runs a command in the repository root: its stdout, or a failed assertion with both streams."""
    args = [str(a) for a in args]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def pscl(*args, env=None):
    return run(NODE, PSCL, *args, env=env)


def sample_with_tiny_clip(tmp, seed=None, build=True):
    """The CLI bundles built, a tiny CLIP in tmp/tiny (graphs cached in tmp/graphs) and the sample
    copied to tmp/sample without a local .pscl-cache; returns the environment to run pscl with."""
    assert NODE, "node is needed (set NODE or put node on PATH)"
    env = dict(os.environ, PSCL_CACHE_DIR=str(tmp / "graphs"))
    if build:
        run(NODE, "scripts/build.mjs", env=env)
    pscl("clip", "make-tiny", "--out", tmp / "tiny", *(["--seed", str(seed)] if seed is not None else []), env=env)
    shutil.copytree(ROOT / "samples" / "tiny-birds", tmp / "sample", ignore=shutil.ignore_patterns(".pscl-cache"))
    return env
