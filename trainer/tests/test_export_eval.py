"""`eval` (global branch, eval.json) and `export` (model.onnx + classes.json + preprocess.json).
The ONNX numbers are checked by test/unit/onnx-export.test.ts with onnxruntime-node."""
import json
import os

import torch

from conftest import run_cli
from pscl_trainer.data import CacheDataset, Manifest
from pscl_trainer.export import best_opset
from pscl_trainer.model import GlobalBranch
from pscl_trainer.runs import model_from_run
from pscl_trainer.safetensors_io import save_file


def test_eval_json_rolls_fine_predictions_up_the_levels(trained_run, tiny_cache, tmp_path):
    run, _ = trained_run
    # perturbed weights, so that there are mistakes to roll up and rank
    model, run_cfg, _ = model_from_run(run)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    weights = str(tmp_path / "perturbed.safetensors")
    save_file(model.state_dict(), weights)
    code, events, _ = run_cli("eval", "--run", run, "--split", "train", "--out", "eval-train.json",
                              "--checkpoint", weights)
    assert code == 0 and events[-1]["type"] == "eval" and events[-1]["path"] == "eval-train.json"
    with open(os.path.join(run, "eval-train.json")) as f:
        ev = json.load(f)
    manifest = Manifest(tiny_cache)
    # recompute from the same weights independently of evaluate.py
    ds = CacheDataset(manifest, "train", run_cfg["config"], train=False)
    with torch.no_grad():
        logits = GlobalBranch(model)(torch.stack([ds[i][0] for i in range(len(ds))]))
    labels = torch.tensor([ds.entries[i]["label"] for i in range(len(ds))])
    pred = logits.argmax(-1)
    assert ev["num_images"] == 96 and ev["split"] == "train"
    # (the reference means are float32: k/96 agrees to its precision)
    assert abs(ev["top1"] - (pred == labels).double().mean().item()) < 1e-12
    tone = torch.tensor([c[1] for c in manifest.level_index])
    assert abs(ev["per_level"]["tone"] - (tone[pred] == tone[labels]).double().mean().item()) < 1e-12
    assert ev["per_level"]["coarse"] == 1.0 and ev["per_level"]["fine"] == ev["top1"]
    conf = torch.tensor(ev["confusion"])
    assert conf.shape == (4, 4) and conf.sum() == 96 and conf.diag().sum() == (pred == labels).sum()
    assert [c["count"] for c in ev["per_class"]] == conf.sum(1).tolist()
    wrong = ev["most_confident_wrong"]
    assert 0 < len(wrong) == min(20, int((pred != labels).sum()))
    assert 0 < ev["top1"] < ev["per_level"]["tone"] < 1  # some mistakes stay within the right tone
    assert all(a["confidence"] >= b["confidence"] for a, b in zip(wrong, wrong[1:]))
    assert all(w["true"] != w["predicted"] and w["path"].startswith("images/") for w in wrong)
    assert ev["top5"] == 1.0  # 4 classes


def test_export_writes_model_classes_and_preprocessing(trained_run):
    run, _ = trained_run
    code, events, _ = run_cli("export", "--run", run, "--out", os.path.join(run, "export"))
    assert code == 0 and events[-1]["type"] == "export" and events[-1]["opset"] == best_opset() == 17
    out = os.path.join(run, "export")
    with open(os.path.join(out, "model.onnx"), "rb") as f:
        data = f.read()
    assert len(data) > 10_000 and b"pytorch" in data[:64] and b"logits" in data and b"batch" in data
    with open(os.path.join(out, "classes.json")) as f:
        classes = json.load(f)
    assert classes["levels"] == ["coarse", "tone", "fine"]
    assert classes["classes"][0] == {"index": 0, "id": "1", "name": "red-head",
                                     "path": {"coarse": "blob", "tone": "warm", "fine": "red-head"}}
    with open(os.path.join(out, "preprocess.json")) as f:
        pre = json.load(f)
    assert pre["input_size"] == [64, 64] and pre["mean"] == [0.485, 0.456, 0.406] and pre["layout"] == "NCHW"
    assert pre["probability"] == "softmax"


def test_export_without_a_checkpoint_is_an_actionable_error(tmp_path):
    code, events, _ = run_cli("export", "--run", str(tmp_path / "empty"), check=False)
    assert code == 2 and events[0]["kind"] == "config" and "train" in events[0]["message"]
