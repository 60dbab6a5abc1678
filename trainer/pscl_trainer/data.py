"""The training cache (docs/cache-format.md): manifest, prototypes, part label maps, images.

Augmentation is drawn from a generator seeded by (seed, epoch, image index), so it is the same
whatever the number of workers or processes, and a resumed run sees the same crops.
"""
import json
import math
import os
import random
import re

import numpy as np
import torch
from PIL import Image

from .cachelock import wait_for_build
from .errors import DataError
from .events import log
from .imageio import read_rgb
from .safetensors_io import load_file

NORMALIZATION = {
    "imagenet": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    "clip": ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]),
}
_REBUILD = "rebuild the cache (`pscl cache build`)"
_MASK_NAME = re.compile(r"^masks/[A-Za-z0-9._-]+\.png$")


class Manifest:
    """manifest.json, checked for what the trainer reads."""

    def __init__(self, cache_dir):
        self.cache_dir = os.path.abspath(cache_dir)
        self.path = os.path.join(self.cache_dir, "manifest.json")
        wait_for_build(self.cache_dir, log)  # never read a cache while a build writes it
        if not os.path.exists(self.path):
            raise DataError(f"no cache at {self.cache_dir}: {self.path} is missing; {_REBUILD}")
        try:
            with open(self.path, encoding="utf-8") as f:
                m = json.load(f)
        except (OSError, ValueError) as e:
            raise DataError(f"{self.path} cannot be read as JSON ({e}); {_REBUILD}") from None
        try:
            if m.get("format") != "pscl-cache":
                raise DataError(f"{self.path} is not a PSCL cache manifest (format {m.get('format')!r})")
            if m.get("version") != 1:
                raise DataError(f"{self.path} has cache version {m.get('version')}, this trainer reads version 1; {_REBUILD}")
            self.raw = m
            self.dataset_root = m["datasetRoot"]
            if not os.path.isabs(self.dataset_root):
                self.dataset_root = os.path.join(self.cache_dir, self.dataset_root)
            self.levels = list(m["levels"])
            self.level_values = {k: list(v) for k, v in m["levelValues"].items()}
            self.classes = sorted(m["classes"], key=lambda c: c["index"])
            self.num_part_slots = int(m["numPartSlots"])
            self.images = list(m["images"])
        except KeyError as e:
            raise DataError(f"{self.path} lacks the field {e.args[0]!r}; {_REBUILD}") from None
        for i, c in enumerate(self.classes):
            if c["index"] != i or len(c["levelIndex"]) != len(self.levels):
                raise DataError(f"{self.path}: class {c.get('id')!r} has index {c['index']} or a levelIndex "
                                f"of the wrong length (needs {len(self.levels)}); {_REBUILD}")
        self.class_names = [c["name"] for c in self.classes]
        self.level_index = [list(c["levelIndex"]) for c in self.classes]

    @property
    def num_classes(self):
        return len(self.classes)

    def entries(self, split):
        """Usable images of a split (status ok), each checked for its files up front."""
        out = []
        for e in self.images:
            if e.get("split") != split or e.get("status", "ok") != "ok":
                continue
            if not 0 <= int(e.get("label", -1)) < self.num_classes:
                raise DataError(f"{self.path}: image {e.get('key')!r} has label {e.get('label')} outside 0..{self.num_classes - 1}")
            img = self.image_file(e)
            if not os.path.exists(img):
                raise DataError(f"image {img} (cache key {e['key']}) is missing; restore it or {_REBUILD}")
            if self.num_part_slots > 0:
                if not e.get("mask"):
                    raise DataError(f"{self.path}: image {e['key']!r} has status ok but no mask; {_REBUILD}")
                mask = self.mask_file(e)
                if not os.path.exists(mask):
                    raise DataError(f"part mask {mask} (cache key {e['key']}) is missing; {_REBUILD}")
            out.append(e)
        return out

    def image_file(self, e):
        """The entry's image, which must stay inside the dataset folder (symbolic links are resolved,
        unless PSCL_DATASET_LINKS_OUTSIDE=1, as the cache builder does): a crafted manifest must not
        make the trainer read other files."""
        rel = e.get("path")
        who = f"{self.path}: image {e.get('key')!r}"
        if not isinstance(rel, str) or not rel or os.path.isabs(rel) or "\\" in rel or ".." in rel.split("/"):
            raise DataError(f"{who} has the path {rel!r}, which is not a relative path inside the dataset; {_REBUILD}")
        file = os.path.join(self.dataset_root, *rel.split("/"))
        if os.environ.get("PSCL_DATASET_LINKS_OUTSIDE") != "1" and os.path.exists(file):
            root = os.path.realpath(self.dataset_root)
            real = os.path.realpath(file)
            if os.path.commonpath([root, real]) != root:
                raise DataError(f"{who}: {file} leads to {real}, outside the dataset folder {root}; copy the image into "
                                f"the dataset, or allow links out of it with PSCL_DATASET_LINKS_OUTSIDE=1")
        return file

    def mask_file(self, e):
        """The entry's mask: a file name in the cache's masks/ folder and nothing else."""
        mask = e.get("mask")
        if not isinstance(mask, str) or not _MASK_NAME.match(mask) or ".." in mask:
            raise DataError(f"{self.path}: image {e.get('key')!r} names the mask {mask!r}, which is not a file in "
                            f"{os.path.join(self.cache_dir, 'masks')}; {_REBUILD}")
        return os.path.join(self.cache_dir, mask)

    def class_paths(self):
        """Each class with its value at every level, for classes.json."""
        return [{"index": c["index"], "id": c.get("id"), "name": c["name"],
                 "path": {lvl: self.level_values[lvl][c["levelIndex"][j]] for j, lvl in enumerate(self.levels)}}
                for c in self.classes]


def load_prototypes(cache_dir, manifest):
    """The VLCL-MG prototypes T [C, D] (`fine` in prototypes.safetensors)."""
    path = os.path.join(cache_dir, "prototypes.safetensors")
    if not os.path.exists(path):
        raise DataError(f"{path} is missing; {_REBUILD} (or set use_vlcl=false)")
    tensors = load_file(path)
    if "fine" not in tensors:
        raise DataError(f"{path} has no `fine` tensor (VLCL-MG prototypes); {_REBUILD}")
    fine = tensors["fine"].float()
    if fine.dim() != 2 or fine.shape[0] != manifest.num_classes:
        raise DataError(f"{path}: `fine` has shape {tuple(fine.shape)}, expected [{manifest.num_classes}, D]; {_REBUILD}")
    return fine


def level_prototypes(cache_dir, manifest):
    """VLCL-MG prototypes of the intermediate levels (between coarse and fine, with 2+ values):
    [(level, T_l [n_l, D], value index of every class [C])], T_l = norm(t_value - t_coarse) with
    the coarse value of the first class carrying the value (as the cache builds `fine`)."""
    levels = manifest.levels[1:-1]
    if not levels:
        return []
    path = os.path.join(cache_dir, "prototypes.safetensors")
    tensors = load_file(path)
    coarse_name = f"level.{manifest.levels[0]}"
    if coarse_name not in tensors:
        raise DataError(f"{path} has no `{coarse_name}` tensor; {_REBUILD}")
    coarse = tensors[coarse_name].float()
    index = torch.tensor(manifest.level_index, dtype=torch.long)  # [C, L]
    out = []
    for j, level in enumerate(levels, start=1):
        name = f"level.{level}"
        values = index[:, j]
        n = len(manifest.level_values[level])
        if n < 2:
            continue
        if name not in tensors or tensors[name].shape[0] != n:
            raise DataError(f"{path}: `{name}` is missing or has not {n} rows (one per value of {level}); {_REBUILD}")
        first = [int(torch.nonzero(values == v)[0]) if bool((values == v).any()) else 0 for v in range(n)]
        t = tensors[name].float() - coarse[index[first, 0]]
        out.append((level, torch.nn.functional.normalize(t, dim=-1), values))
    return out


def _crop_box(rng, width, height, scale, ratio=(3 / 4, 4 / 3)):
    """A random-resized-crop box (left, top, right, bottom), the usual area/aspect sampling."""
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            left = rng.randint(0, width - w)
            top = rng.randint(0, height - h)
            return left, top, left + w, top + h
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def _read_mask(path):
    try:
        with Image.open(path) as m:
            m.load()
            if m.mode not in ("L", "P", "I", "I;16"):
                raise DataError(f"part mask {path} has mode {m.mode}; it must be an 8-bit grey label map. {_REBUILD}")
            return Image.fromarray(np.asarray(m).astype(np.uint8), mode="L")
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - PIL raises many kinds
        raise DataError(f"part mask {path} is corrupt ({e}); {_REBUILD}") from None


def _read_image(path):
    try:
        return read_rgb(path)  # the decode contract, as the cache builder read it (imageio.py)
    except Exception as e:  # noqa: BLE001
        raise DataError(f"image {path} cannot be decoded ({e}); replace it or mark it as an error in the cache") from None


class CacheDataset(torch.utils.data.Dataset):
    """(image [3,R,R] float, part labels [R,R] uint8, label, index) for one split."""

    def __init__(self, manifest, split, cfg, train):
        self.manifest = manifest
        self.entries = manifest.entries(split)
        self.split = split
        self.train = train
        self.res = cfg["resolution"]
        self.scale = tuple(cfg["crop_scale"])
        self.hflip = cfg["hflip"]
        self.seed = cfg["seed"]
        self.epoch = 0
        self.masks = manifest.num_part_slots > 0
        mean, std = NORMALIZATION[cfg["normalization"]]
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.entries)

    def __getitem__(self, index):
        e = self.entries[index]
        image = _read_image(self.manifest.image_file(e))
        if self.masks:
            mask = _read_mask(self.manifest.mask_file(e)).resize(image.size, Image.NEAREST)
        else:
            mask = Image.new("L", image.size, 0)
        box = (0, 0, image.width, image.height)
        flip = False
        if self.train:
            rng = random.Random(f"{self.seed}:{self.epoch}:{index}")
            box = _crop_box(rng, image.width, image.height, self.scale)
            flip = self.hflip and rng.random() < 0.5
        size = (self.res, self.res)
        image = image.resize(size, Image.BILINEAR, box=box)
        mask = mask.resize(size, Image.NEAREST, box=box)
        if flip:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
            mask = mask.transpose(Image.FLIP_LEFT_RIGHT)
        x = torch.from_numpy(np.asarray(image, dtype=np.float32).transpose(2, 0, 1).copy()) / 255.0
        x = (x - self.mean) / self.std
        labels = torch.from_numpy(np.asarray(mask, dtype=np.uint8).copy())
        labels[labels > self.manifest.num_part_slots] = 0  # values beyond the part slots are background
        return x, labels, int(e["label"]), index


class ResumableSampler(torch.utils.data.Sampler):
    """DistributedSampler's split (same epoch-seeded shuffle on every rank), able to skip the
    batches a resumed epoch has already seen."""

    def __init__(self, size, world, rank, seed, shuffle, drop_last):
        self.size, self.world, self.rank, self.seed = size, world, rank, seed
        self.shuffle, self.drop_last = shuffle, drop_last
        self.epoch, self.skip = 0, 0
        self.per_rank = size // world if drop_last else -(-size // world)

    def set_epoch(self, epoch, skip=0):
        self.epoch, self.skip = epoch, skip

    def indices(self):
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=g).tolist()
        else:
            order = list(range(self.size))
        total = self.per_rank * self.world
        order = order[:total] if self.drop_last else (order + order[: total - len(order)])
        return order[self.rank:total:self.world]

    def __iter__(self):
        return iter(self.indices()[self.skip:])

    def __len__(self):
        return self.per_rank - self.skip


def build_loader(dataset, cfg, world, rank, train, device):
    sampler = ResumableSampler(len(dataset), world, rank, cfg["seed"], shuffle=train, drop_last=train)
    workers = cfg["num_workers"]
    extra = {"prefetch_factor": 4, "persistent_workers": False} if workers > 0 else {}
    g = torch.Generator()
    g.manual_seed(cfg["seed"])  # keeps the loader off the global RNG, so resumed runs replay it
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=cfg["batch_size"], sampler=sampler, num_workers=workers,
        pin_memory=device.type == "cuda", drop_last=train, generator=g, **extra)
    return loader, sampler
