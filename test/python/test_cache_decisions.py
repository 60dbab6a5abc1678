"""The project's image decisions reach the trainer through the cache: a cache built by
`pscl cache build` from a project that excludes and relabels images is read by the trainer's own
Manifest, which trains on neither the excluded images nor the dataset's label of a relabelled one."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pscl_cli import ROOT, pscl, sample_with_tiny_clip  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "trainer"))
from pscl_trainer.data import Manifest  # noqa: E402

EXCLUDED = "images/001.Red_crowned_Finch/Red_crowned_Finch_0001.jpg"
RELABELED = "images/002.Blue_crowned_Finch/Blue_crowned_Finch_0001.jpg"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("decisions")
    env = sample_with_tiny_clip(tmp)
    project = tmp / "sample" / "tiny-birds.pscl.json"
    p = json.loads(project.read_text())
    p["images"] = {"exclude": [{"path": EXCLUDED, "reason": "duplicate"}], "relabel": {RELABELED: "3"}}
    project.write_text(json.dumps(p, indent=2))
    out = tmp / "out"
    pscl("cache", "build", "--project", project, "--model", tmp / "tiny", "--out", out,
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
