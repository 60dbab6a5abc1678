"""Reference for the TypeScript classifier (test/unit/runs.classify.test.ts): trains a tiny model
for two steps, exports it, and writes what the trainer's own eval path (CacheDataset with
train=False, GlobalBranch) gives for a few images of different sizes and modes.
Usage: python3 classify_reference.py OUT_DIR [EXTRA_IMAGE]...

Writes OUT_DIR/run/{model.onnx,classes.json,preprocess.json}, OUT_DIR/images/*.png, and
OUT_DIR/reference.json: per image its path, the input tensor file (<f4, [3,R,R]), logits, top-5.
"""
import contextlib
import json
import os
import sys
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


def main(out, extra):
    from fixtures import make_cache
    from pscl_trainer.__main__ import main as cli

    import numpy as np
    import torch
    from PIL import Image

    torch.set_num_threads(1)
    cache = make_cache(os.path.join(out, "data"), train_per_class=8, test_per_class=2)
    run = os.path.join(out, "run")
    with contextlib.redirect_stdout(sys.stderr):  # events are not this script's output
        assert cli(["train", "--cache", cache, "--run", run, "--config", "tiny", "--set", "epochs=1",
                    "--set", "max_steps=2", "--set", "resolution=64", "--device", "cpu"]) == 0
        assert cli(["export", "--run", run]) == 0
    from pscl_trainer.data import CacheDataset
    from pscl_trainer.model import GlobalBranch
    from pscl_trainer.runs import model_from_run

    # images that exercise the resampler: down- and up-scaling, odd sizes, grey, RGBA, palette
    rng = np.random.default_rng(7)
    folder = os.path.join(out, "images")
    os.makedirs(folder, exist_ok=True)
    made = []
    for name, (h, w), mode in (("down_97x53", (53, 97), "RGB"), ("up_23x17", (17, 23), "RGB"),
                               ("grey_61x77", (77, 61), "L"), ("rgba_45x45", (45, 45), "RGBA"),
                               ("square_40", (40, 40), "RGB"), ("tall_31x130", (130, 31), "P")):
        channels = {"RGB": 3, "L": 1, "RGBA": 4, "P": 1}[mode]
        a = rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)
        if mode == "P":
            img = Image.fromarray(a[:, :, 0], "L").convert("RGB").quantize(64)
        else:
            img = Image.fromarray(a.squeeze(-1) if channels == 1 else a, mode)
        p = os.path.join(folder, name + ".png")
        img.save(p)
        made.append(p)
    paths = made + [os.path.abspath(x) for x in extra]

    model, run_cfg, _ = model_from_run(run)
    manifest = SimpleNamespace(entries=lambda split: [{"path": p, "label": 0} for p in paths],
                               image_file=lambda e: e["path"], num_part_slots=0, dataset_root="/", cache_dir=cache)
    ds = CacheDataset(manifest, "test", run_cfg["config"], train=False)
    branch = GlobalBranch(model).eval()
    items = []
    for i, p in enumerate(paths):
        x = ds[i][0]
        with torch.no_grad():
            logits = branch(x.unsqueeze(0))[0]
        tensor = os.path.join(out, f"input{i}.f32")
        x.numpy().astype("<f4").tofile(tensor)
        items.append({"image": p, "input": tensor, "shape": list(x.shape), "logits": logits.tolist(),
                      "top5": torch.topk(logits, min(5, logits.numel())).indices.tolist()})
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"run": run, "items": items, "torch": torch.__version__}, f)


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]), sys.argv[2:])
