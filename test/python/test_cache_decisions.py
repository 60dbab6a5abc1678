"""The project's image decisions reach the trainer through the cache: a cache built by
`pscl cache build` from a project that excludes and relabels images is read by the trainer's own
Manifest, which trains on neither the excluded images nor the dataset's label of a relabelled one."""
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "trainer"))
from pscl_trainer.data import Manifest  # noqa: E402

NODE = os.environ.get("NODE") or shutil.which("node")
EXCLUDED = "images/001.Red_crowned_Finch/Red_crowned_Finch_0001.jpg"
RELABELED = "images/002.Blue_crowned_Finch/Blue_crowned_Finch_0001.jpg"


def run(*args, env=None):
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    assert NODE, "node is needed to build the cache (set NODE or put node on PATH)"
    tmp = tmp_path_factory.mktemp("decisions")
    env = dict(os.environ, PSCL_CACHE_DIR=str(tmp / "graphs"))
    run(NODE, "scripts/build.mjs", env=env)
    pscl = os.path.join(ROOT, "bin", "pscl.js")
    run(NODE, pscl, "clip", "make-tiny", "--out", str(tmp / "tiny"), env=env)
    shutil.copytree(os.path.join(ROOT, "samples", "tiny-birds"), tmp / "sample", ignore=shutil.ignore_patterns(".pscl-cache"))
    project = tmp / "sample" / "tiny-birds.pscl.json"
    p = json.loads(project.read_text())
    p["images"] = {"exclude": [{"path": EXCLUDED, "reason": "duplicate"}], "relabel": {RELABELED: "3"}}
    project.write_text(json.dumps(p, indent=2))
    out = tmp / "out"
    run(NODE, pscl, "cache", "build", "--project", str(project), "--model", str(tmp / "tiny"), "--out", str(out),
        "--input-size", "32", "--mask-size", "64", "--json", env=env)
    return out


def test_the_trainer_skips_excluded_images_and_reads_relabels(cache):
    m = Manifest(str(cache))
    used = m.entries("train") + m.entries("test")
    assert len(used) == 71, "72 images, one excluded"
    assert EXCLUDED not in {e["path"] for e in used}
    relabeled = next(e for e in used if e["path"] == RELABELED)
    assert m.classes[relabeled["label"]]["id"] == "3"
    assert relabeled["relabeledFrom"] == "2"
    excluded = next(e for e in m.images if e["path"] == EXCLUDED)
    assert excluded["status"] == "excluded" and excluded["reason"] == "duplicate"
