"""A cache written by the TypeScript side (`pscl cache build`), read the way the trainer reads it:
manifest, prototypes.safetensors (parsed here byte by byte), masks as PIL images.
The values are checked against the manifest and recomputed where they can be."""
import hashlib
import json
import os
import struct
import sys

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pscl_cli import ROOT, pscl, sample_with_tiny_clip  # noqa: E402


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cache")
    env = sample_with_tiny_clip(tmp)
    out = tmp / "out"
    summary = pscl("cache", "build", "--project", str(tmp / "sample" / "tiny-birds.pscl.json"),
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
        assert info["dtype"] in ("F32", "F16"), f"{name} is {info['dtype']}"
        a, b = info["data_offsets"]
        dtype = "<f4" if info["dtype"] == "F32" else "<f2"
        tensors[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dtype).astype(np.float32).reshape(info["shape"]).copy())
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


def test_image_embeddings_read_from_the_manifest(cache):
    """The embeddings file the manifest names: float32 [rows, D], unit rows, one row per ok image."""
    out, summary = cache
    m = json.load(open(out / "manifest.json"))
    assert summary["imageEmbeddings"] == {"computed": 72, "reused": 0, "missing": 0}
    e = m["embeddings"]
    with open(out / e["file"], "rb") as f:
        assert "sha256:" + hashlib.sha256(f.read()).hexdigest() == e["sha256"]
    t, meta = read_safetensors(out / e["file"])
    assert meta["embeddingsHash"] == m["hashes"]["embeddings"]
    x = t["image"].numpy()
    assert x.shape == (e["rows"], e["dim"]) == (72, m["model"]["embedDim"])
    assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    rows = [img["embedding"] for img in m["images"] if img["status"] == "ok"]
    assert sorted(rows) == list(range(72))


def test_image_embeddings_match_the_reference_clip(tmp_path):
    """End to end against the independent PyTorch CLIP: a copy of the sample whose images are
    already at the model input size (PNG, so decoding is exact and nothing is resampled); every
    cached embedding equals the reference's class-token embedding of the same pixels."""
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from clip_reference import CLIP_MEAN, CLIP_STD, ClipReference
    env = sample_with_tiny_clip(tmp_path, seed=5, build=False)
    root = tmp_path / "sample" / "CUB_tiny"
    lines = []
    for i, line in enumerate(open(root / "images.txt").read().split("\n")):
        if not line.strip():
            continue
        image_id, rel = line.split(" ", 1)
        png = rel[:-4] + ".png"
        with Image.open(root / "images" / rel) as im:
            # a non-square size for some: the fit keeps the aspect ratio (both sides multiples of the patch)
            im.convert("RGB").resize((32, 24) if i % 3 == 0 else (32, 32), Image.BICUBIC).save(root / "images" / png)
        lines.append(f"{image_id} {png}")
    (root / "images.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    pscl("cache", "build", "--project", str(tmp_path / "sample" / "tiny-birds.pscl.json"), "--model", str(tmp_path / "tiny"),
        "--out", str(out), "--input-size", "32", "--json", env=env)
    m = json.load(open(out / "manifest.json"))
    x = read_safetensors(out / m["embeddings"]["file"])[0]["image"]
    ref = ClipReference(str(tmp_path / "tiny"))
    mean = torch.tensor(CLIP_MEAN).reshape(3, 1, 1)
    std = torch.tensor(CLIP_STD).reshape(3, 1, 1)
    worst = 0.0
    for img in m["images"]:
        with Image.open(os.path.join(m["datasetRoot"], img["path"])) as im:
            pixels = torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
        with torch.no_grad():
            want = ref.image_embedding(((pixels - mean) / std)[None])[0]
        worst = max(worst, float((x[img["embedding"]] - want).abs().max()))
    assert worst < 1e-4, f"max difference {worst}"


def test_keypoint_features_read_from_the_manifest(cache):
    """keypoints-<h>.safetensors: one row per visible keypoint of part_locs.txt, in image order,
    with the dataset part (metadata 'parts') and the position as fractions of the image."""
    out, _ = cache
    m = json.load(open(out / "manifest.json"))
    k = m["keypointFeatures"]
    t, meta = read_safetensors(out / k["file"])
    assert meta["keypointsHash"] == m["hashes"]["keypoints"]
    assert json.loads(meta["parts"]) == k["parts"]
    root = m["datasetRoot"]
    locs = [l.split() for l in open(os.path.join(root, "parts", "part_locs.txt")).read().split("\n") if l.strip()]
    visible = [l for l in locs if l[4] == "1"]
    assert t["features"].shape == (len(visible), m["model"]["embedDim"])
    assert np.allclose(t["features"].norm(dim=1).numpy(), 1, atol=1e-2)
    names = [l.split(" ", 1)[1] for l in open(os.path.join(root, "parts", "parts.txt")).read().split("\n") if l.strip()]
    for img in m["images"][:5]:
        start, count = img["keypoints"]
        want = [l for l in visible if l[0] == img["key"]]
        assert count == len(want)
        for r, l in zip(range(start, start + count), want):
            assert k["parts"][int(t["part"][r])] == names[int(l[1]) - 1]
            assert np.allclose(t["position"][r].numpy(), [float(l[2]) / 160, float(l[3]) / 160], atol=1e-6)
