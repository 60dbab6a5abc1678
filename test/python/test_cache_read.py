"""A cache written by the TypeScript side (`pscl cache build`), read the way the trainer reads it:
manifest, prototypes.safetensors (parsed here byte by byte), masks as PIL images.
The values are checked against the manifest and recomputed where they can be."""
import hashlib
import json
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE = os.environ.get("NODE") or shutil.which("node")


def run(*args, env=None):
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    assert NODE, "node is needed to build the cache (set NODE or put node on PATH)"
    tmp = tmp_path_factory.mktemp("cache")
    env = dict(os.environ, PSCL_CACHE_DIR=str(tmp / "graphs"))
    run(NODE, "scripts/build.mjs", env=env)
    pscl = os.path.join(ROOT, "bin", "pscl.js")
    run(NODE, pscl, "clip", "make-tiny", "--out", str(tmp / "tiny"), env=env)
    shutil.copytree(os.path.join(ROOT, "samples", "tiny-birds"), tmp / "sample")
    out = tmp / "out"
    summary = run(NODE, pscl, "cache", "build", "--project", str(tmp / "sample" / "tiny-birds.pscl.json"),
                  "--model", str(tmp / "tiny"), "--out", str(out), "--input-size", "32", "--mask-size", "96", "--json", env=env)
    return out, json.loads(summary.strip().splitlines()[-1])


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", f"{name} is {info['dtype']}"
        a, b = info["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"]).copy())
    return tensors, meta


def test_manifest_matches_the_build(cache):
    out, summary = cache
    m = json.load(open(out / "manifest.json"))
    assert m["format"] == "pscl-cache" and m["version"] == 1
    assert summary["images"] == {"total": 72, "computed": 72, "reused": 0, "errors": 0}
    assert m["counts"] == {"images": 72, "ok": 72, "error": 0}
    assert m["levels"] == ["coarse", "order", "family", "genus", "species"]
    assert [c["index"] for c in m["classes"]] == list(range(6))
    for c in m["classes"]:
        assert len(c["levelIndex"]) == len(m["levels"])
        assert m["levelValues"]["species"][c["levelIndex"][-1]] == c["name"]
    assert m["numPartSlots"] == len(m["parts"]["bird"]) == 12
    assert {i["split"] for i in m["images"]} == {"train", "test"}
    assert all(os.path.exists(os.path.join(m["datasetRoot"], i["path"])) for i in m["images"])


def test_prototypes_shapes_dtypes_and_values(cache):
    out, _ = cache
    m = json.load(open(out / "manifest.json"))
    t, meta = read_safetensors(out / "prototypes.safetensors")
    assert meta["prototypesHash"] == m["hashes"]["prototypes"]
    assert meta["partsHash"] == m["hashes"]["parts"]
    d = m["model"]["embedDim"]
    for level in m["levels"]:
        assert tuple(t[f"level.{level}"].shape) == (len(m["levelValues"][level]), d)
    assert tuple(t["fine"].shape) == (len(m["classes"]), d)
    assert tuple(t["parts.bird"].shape) == (12, d)
    for name, x in t.items():
        assert x.dtype == torch.float32
        assert torch.allclose(x.norm(dim=1), torch.ones(x.shape[0]), atol=1e-5), f"{name} rows are not unit norm"
    # VLCL-MG: T = norm(t_fine - t_coarse), recomputed from the stored per-level embeddings
    idx = torch.tensor([c["levelIndex"] for c in m["classes"]])
    expected = torch.nn.functional.normalize(t["level.species"][idx[:, -1]] - t["level.coarse"][idx[:, 0]], dim=1)
    assert torch.allclose(t["fine"], expected, atol=1e-5)
    with open(out / "prototypes.safetensors", "rb") as f:
        assert "sha256:" + hashlib.sha256(f.read()).hexdigest() == m["files"]["prototypes"]


def test_masks_are_grey_label_maps_of_the_recorded_size(cache):
    out, _ = cache
    m = json.load(open(out / "manifest.json"))
    coarse = m["levelValues"][m["levels"][0]]
    used = set()
    for img in m["images"]:
        path = out / img["mask"]
        with open(path, "rb") as f:
            assert "sha256:" + hashlib.sha256(f.read()).hexdigest() == img["maskSha256"]
        with Image.open(path) as mask:
            assert mask.mode == "L"
            assert mask.size == (img["maskWidth"], img["maskHeight"])
            assert max(mask.size) == m["maskSize"] == 96
            labels = np.asarray(mask)
        with Image.open(os.path.join(m["datasetRoot"], img["path"])) as photo:
            assert abs(mask.size[0] / mask.size[1] - photo.size[0] / photo.size[1]) < 0.05
        parts = m["parts"][coarse[m["classes"][img["label"]]["levelIndex"][0]]]
        assert labels.max() <= len(parts)
        used.update(np.unique(labels).tolist())
    assert len(used - {0}) >= 2, "the masks should hold several parts"


def test_the_trainer_reads_it(cache):
    """The trainer's own reader (trainer/pscl_trainer/data.py) on the same cache."""
    import sys
    sys.path.insert(0, os.path.join(ROOT, "trainer"))
    from pscl_trainer.config import load_config
    from pscl_trainer.data import CacheDataset, Manifest, load_prototypes
    out, _ = cache
    m = Manifest(str(out))
    assert (m.num_classes, m.num_part_slots) == (6, 12)
    assert len(m.entries("train")) + len(m.entries("test")) == 72
    assert tuple(load_prototypes(str(out), m).shape) == (6, m.raw["model"]["embedDim"])
    cfg = load_config("tiny")
    x, labels, label, _ = CacheDataset(m, "train", cfg, train=False)[0]
    assert tuple(x.shape) == (3, cfg["resolution"], cfg["resolution"])
    assert labels.dtype == torch.uint8 and int(labels.max()) <= 12
    assert label == m.entries("train")[0]["label"]
