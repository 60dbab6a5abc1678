"""Produces an exported model.onnx and PyTorch reference outputs for the TypeScript ONNX test
(test/unit/onnx-export.test.ts). Usage: python3 onnx_reference.py OUT_DIR

Writes OUT_DIR/run/{model.onnx,classes.json,preprocess.json}, OUT_DIR/input.f32 (raw little-endian
float32, NCHW), OUT_DIR/logits.f32, OUT_DIR/reference.json (shapes, paths).
"""
import contextlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


def main(out):
    from fixtures import make_cache
    from pscl_trainer.__main__ import main as cli

    import numpy as np
    import torch

    torch.set_num_threads(1)
    cache = make_cache(os.path.join(out, "data"), train_per_class=8, test_per_class=2)
    run = os.path.join(out, "run")
    with contextlib.redirect_stdout(sys.stderr):  # events are not this script's output
        assert cli(["train", "--cache", cache, "--run", run, "--config", "tiny", "--set", "epochs=1",
                    "--set", "max_steps=2", "--device", "cpu"]) == 0
        assert cli(["export", "--run", run]) == 0
    from pscl_trainer.data import CacheDataset, Manifest
    from pscl_trainer.model import GlobalBranch
    from pscl_trainer.runs import model_from_run
    model, run_cfg, _ = model_from_run(run)
    ds = CacheDataset(Manifest(cache), "test", run_cfg["config"], train=False)
    images = torch.stack([ds[0][0], ds[5][0], torch.randn_like(ds[0][0])])  # batch 3 (the export used 2), at the preset's resolution
    with torch.no_grad():
        logits = GlobalBranch(model)(images)
    images.numpy().astype("<f4").tofile(os.path.join(out, "input.f32"))
    logits.numpy().astype("<f4").tofile(os.path.join(out, "logits.f32"))
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"model": os.path.join(run, "model.onnx"), "input": "input.f32", "input_shape": list(images.shape),
                   "logits": "logits.f32", "logits_shape": list(logits.shape),
                   "preprocess": os.path.join(run, "preprocess.json"), "classes": os.path.join(run, "classes.json"),
                   "numpy": np.__version__, "torch": torch.__version__}, f)


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]))
