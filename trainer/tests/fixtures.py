"""Generates a tiny dataset and its training cache in exactly the format of docs/cache-format.md.

The class is the colour of one part (the "head", a disk in the upper half); the other part (the
"tail", a bar in the lower half) gets a random colour from the same palette, so only a model that looks at the right part can be sure. The part
label maps mark the head (1) and the tail (2).
"""
import json
import os
import struct

import numpy as np
from PIL import Image

PALETTE = {"red": (200, 40, 40), "green": (40, 170, 60), "blue": (40, 70, 200), "yellow": (210, 190, 40)}
TONE = {"red": "warm", "yellow": "warm", "green": "cool", "blue": "cool"}
IMAGE_W, IMAGE_H, MASK_LONG = 48, 40, 24
EMBED_DIM = 16


def write_safetensors(path, arrays):
    """Independent safetensors writer (numpy only) so tests check the trainer's reader against it."""
    header, blobs, offset = {}, [], 0
    for name, arr in arrays.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def _norm(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _draw(rng, colour, tail_colour):
    img = rng.integers(90, 140, size=(IMAGE_H, IMAGE_W, 3)).astype(np.int16)
    mask = np.zeros((IMAGE_H, IMAGE_W), dtype=np.uint8)
    s = 12
    hx, hy = rng.integers(2, IMAGE_W - s - 2), rng.integers(1, 8)  # head: a disk in the upper half
    tx, ty = rng.integers(2, IMAGE_W - 18), rng.integers(24, IMAGE_H - 8)  # tail: a bar in the lower half
    yy, xx = np.mgrid[0:s, 0:s]
    disk = (yy - (s - 1) / 2) ** 2 + (xx - (s - 1) / 2) ** 2 <= (s / 2) ** 2
    bar = np.ones((6, 16), dtype=bool)
    for (x, y, c, k, shape) in ((hx, hy, colour, 1, disk), (tx, ty, tail_colour, 2, bar)):
        h, w = shape.shape
        patch = np.array(PALETTE[c]) + rng.integers(-20, 20, size=(h, w, 3))
        img[y:y + h, x:x + w][shape] = patch[shape]
        mask[y:y + h, x:x + w][shape] = k
    img = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    mw, mh = MASK_LONG, round(MASK_LONG * IMAGE_H / IMAGE_W)
    return img, Image.fromarray(mask, "L").resize((mw, mh), Image.NEAREST)


def make_cache(root, train_per_class=24, test_per_class=8, seed=0):
    """Writes <root>/dataset/images/... and <root>/cache/{manifest.json,prototypes.safetensors,masks/};
    returns the cache folder."""
    rng = np.random.default_rng(seed)
    dataset, cache = os.path.join(root, "dataset"), os.path.join(root, "cache")
    os.makedirs(os.path.join(cache, "masks"), exist_ok=True)
    names = list(PALETTE)
    tones = ["warm", "cool"]
    classes = [{"index": i, "id": str(i + 1), "name": f"{n}-head", "levelIndex": [0, tones.index(TONE[n]), i]}
               for i, n in enumerate(names)]
    images = []
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        for label, colour in enumerate(names):
            folder = os.path.join(dataset, "images", f"{label:03d}.{colour}")
            os.makedirs(folder, exist_ok=True)
            for j in range(per_class):
                key = f"{split}{label}{j:03d}"
                img, mask = _draw(rng, colour, names[rng.integers(len(names))])
                rel = f"images/{label:03d}.{colour}/{key}.png"
                img.save(os.path.join(dataset, rel))
                mask.save(os.path.join(cache, "masks", key + ".png"))
                images.append({"key": key, "path": rel, "split": split, "label": label,
                               "mask": f"masks/{key}.png", "status": "ok"})
    images.append({"key": "broken", "path": "images/broken.jpg", "split": "train", "label": 0,
                   "status": "error", "error": "unsupported image format"})
    t_coarse = _norm(rng.normal(size=(1, EMBED_DIM)))
    t_tone = _norm(rng.normal(size=(2, EMBED_DIM)))
    t_fine = _norm(rng.normal(size=(len(names), EMBED_DIM)) + 0.5 * t_coarse)
    write_safetensors(os.path.join(cache, "prototypes.safetensors"), {
        "level.coarse": t_coarse, "level.tone": t_tone, "level.fine": t_fine,
        "fine": _norm(t_fine - t_coarse), "parts.blob": _norm(rng.normal(size=(2, EMBED_DIM)))})
    manifest = {
        "format": "pscl-cache", "version": 1, "createdBy": "pscl-trainer test fixture",
        "project": os.path.join(root, "tiny.pscl.json"), "datasetRoot": dataset,
        "model": {"id": "tiny-clip", "hash": "sha256:fixture", "embedDim": EMBED_DIM, "imageSize": 224},
        "hashes": {"masks": "sha256:fixture-masks", "prototypes": "sha256:fixture-prototypes"},
        "levels": ["coarse", "tone", "fine"],
        "levelValues": {"coarse": ["blob"], "tone": tones, "fine": [c["name"] for c in classes]},
        "classes": classes, "parts": {"blob": ["head", "tail"]}, "numPartSlots": 2,
        "maskSize": MASK_LONG, "images": images,
    }
    with open(os.path.join(cache, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return cache


if __name__ == "__main__":
    import sys
    print(make_cache(sys.argv[1]))
