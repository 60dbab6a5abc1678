import json
import os
import shutil

import pytest
import torch

from pscl_trainer.config import load_config
from pscl_trainer.data import NORMALIZATION, CacheDataset, Manifest, load_prototypes
from pscl_trainer.errors import DataError
from fixtures import PALETTE


def test_manifest_skips_error_images_and_reads_prototypes(tiny_cache):
    m = Manifest(tiny_cache)
    train = m.entries("train")
    assert len(train) == 96 and all(e["status"] == "ok" for e in train)
    assert m.num_part_slots == 2 and m.levels == ["coarse", "tone", "fine"]
    protos = load_prototypes(tiny_cache, m)
    assert protos.shape == (4, 16)
    assert torch.allclose(protos.norm(dim=1), torch.ones(4), atol=1e-5)


def test_augmentation_moves_image_and_mask_together(tiny_cache):
    cfg = load_config("tiny", ["crop_scale=[0.4,0.6]", "resolution=32"])
    ds = CacheDataset(Manifest(tiny_cache), "train", cfg, train=True)
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in NORMALIZATION["imagenet"])
    flips = set()
    for index in range(0, 96, 7):
        ds.set_epoch(index)
        x, parts, label, _ = ds[index]
        assert x.shape == (3, 32, 32) and parts.shape == (32, 32) and parts.dtype == torch.uint8
        rgb = ((x * std + mean) * 255).permute(1, 2, 0)
        head = parts == 1
        if head.sum() < 4:
            continue  # the crop left the head out
        colour = torch.tensor(PALETTE[list(PALETTE)[label]], dtype=torch.float32)
        # pixels the mask calls "head" carry the head's colour (interpolation blurs only the rim)
        close = ((rgb[head] - colour).abs().max(dim=1).values < 60).float().mean()
        assert close > 0.7, f"image {index}: mask and image disagree"
        flips.add(bool(head.nonzero()[:, 1].float().mean() > 16))
    assert len(flips) == 2  # both orientations occur


def test_augmentation_is_a_function_of_seed_epoch_and_index(tiny_cache):
    cfg = load_config("tiny")
    a, b = CacheDataset(Manifest(tiny_cache), "train", cfg, True), CacheDataset(Manifest(tiny_cache), "train", cfg, True)
    a.set_epoch(3), b.set_epoch(3)
    assert torch.equal(a[5][0], b[5][0])
    b.set_epoch(4)
    assert not torch.equal(a[5][0], b[5][0])


def _copy(tiny_cache, tmp_path):
    root = str(tmp_path / "copy")
    shutil.copytree(os.path.dirname(tiny_cache), root)
    cache = os.path.join(root, "cache")
    with open(os.path.join(cache, "manifest.json")) as f:
        m = json.load(f)
    m["datasetRoot"] = os.path.join(root, "dataset")
    return cache, m


def _write(cache, m):
    with open(os.path.join(cache, "manifest.json"), "w") as f:
        json.dump(m, f)


def test_missing_files_are_named(tiny_cache, tmp_path):
    cache, m = _copy(tiny_cache, tmp_path)
    _write(cache, m)
    os.remove(os.path.join(cache, "masks", "train0005.png"))
    with pytest.raises(DataError, match="train0005.png"):
        Manifest(cache).entries("train")
    os.remove(os.path.join(m["datasetRoot"], m["images"][-2]["path"]))
    with pytest.raises(DataError, match=os.path.basename(m["images"][-2]["path"])):
        Manifest(cache).entries("test")


def test_corrupt_image_and_manifest_errors(tiny_cache, tmp_path):
    cache, m = _copy(tiny_cache, tmp_path)
    _write(cache, m)
    test_entry = next(e for e in m["images"] if e["split"] == "test")
    open(os.path.join(m["datasetRoot"], test_entry["path"]), "wb").write(b"not a png")
    ds = CacheDataset(Manifest(cache), "test", load_config("tiny"), False)
    with pytest.raises(DataError, match=test_entry["key"] + ".png"):
        ds[0]
    open(os.path.join(cache, "manifest.json"), "w").write("{ broken")
    with pytest.raises(DataError, match="manifest.json"):
        Manifest(cache)
    m.pop("levels")
    _write(cache, m)
    with pytest.raises(DataError, match="'levels'"):
        Manifest(cache)
