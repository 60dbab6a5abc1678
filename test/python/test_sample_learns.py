"""The CPU presets learn the sample, through the command a user types (README, "Training"):
`pscl train --project samples/tiny-birds/tiny-birds.pscl.json --config tiny` (or `tiny_clip`), the
cache built by the demo CLIP, the test split scored in eval.json. Six classes told apart by the
head colour: chance is 16.7 %.
- `tiny` trains a small CNN from scratch: 87.5-100 % over the seeds measured
  (docs/training-sample.md), 100 % at seed 0 with the full-vocabulary demo CLIP, 95.8 % with the
  plain clone's.
- `tiny_clip` starts from the demo CLIP's vision tower (`backbone_weights: "clip:demo"`, frozen)
  and trains the PSCL heads: 100 % at seeds 0-2."""
import json
import os
import shutil
import subprocess
import sys

from clip_reference import read_safetensors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE = os.environ.get("NODE") or shutil.which("node")


def train_sample(tmp_path, config, seed=0):
    """`pscl train` on a copy of the sample; returns (run folder, eval.json, the run's config)."""
    assert NODE, "node is needed to run pscl (set NODE or put node on PATH)"
    ws = tmp_path / "tiny-birds"
    shutil.copytree(os.path.join(ROOT, "samples", "tiny-birds"), ws, ignore=shutil.ignore_patterns(".pscl-cache"))
    tsx = "file://" + os.path.join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")
    env = dict(os.environ, PSCL_PYTHON=sys.executable)
    r = subprocess.run([NODE, "--import", tsx, os.path.join(ROOT, "src", "cli", "main.ts"), "train",
                        "--project", "tiny-birds.pscl.json", "--config", config, "--run-dir", f"runs/s{seed}",
                        "--set", f"seed={seed}", "--device", "cpu"],
                       cwd=ws, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f"pscl train failed:\n{r.stdout}\n{r.stderr[-4000:]}"
    assert r.stdout.startswith(f"s{seed}: finished"), r.stdout
    run = ws / "runs" / f"s{seed}"
    report = json.loads((run / "eval.json").read_text())
    assert (report["split"], report["num_images"]) == ("test", 24)
    config = json.loads((run / "config.json").read_text())["config"]
    assert report["epoch"] == config["epochs"] - 1, "eval.json is the last epoch's"
    # the per-class counts add up to the top-1 the report gives
    correct = sum(row[i] for i, row in enumerate(report["confusion"]))
    assert correct == round(report["top1"] * 24)
    return run, report, config, r.stderr


def test_the_tiny_preset_learns_the_sample(tmp_path):
    _, report, config, stderr = train_sample(tmp_path, "tiny")
    assert (config["seed"], config["epochs"], config["resolution"]) == (0, 100, 64)  # the preset as shipped
    assert report["top1"] >= 0.9, f"test top-1 {report['top1']:.3f} (chance 0.167)\n{stderr[-2000:]}"


def test_the_demo_clip_preset_learns_the_sample_from_the_demo_clips_tower(tmp_path):
    run, report, config, stderr = train_sample(tmp_path, "tiny_clip")
    assert (config["backbone"], config["backbone_weights"], config["backbone_lr_scale"]) == ("clip_vit", "clip:demo", 0.0)
    assert report["top1"] >= 0.95, f"test top-1 {report['top1']:.3f} (chance 0.167)\n{stderr[-2000:]}"
    # the tower is the demo CLIP's as it was loaded, unchanged by training (frozen)
    demo = read_safetensors(os.path.join(ROOT, "models", "demo-clip", "model.safetensors"))
    last = sorted((run / "checkpoints").glob("epoch-*[0-9].safetensors"))[-1]
    final = read_safetensors(str(last))
    pairs = [(k, "vision_model." + k[len("backbone."):]) for k in final if k.startswith("backbone.")]
    pairs = [(k, d) for k, d in pairs if d in demo]
    assert len(pairs) >= 4 * 12, f"the backbone's tensors are the demo CLIP's vision tower: {len(pairs)} matched"
    changed = [k for k, d in pairs if not (final[k] == demo[d]).all()]
    assert not changed, f"a frozen tower does not move: {changed[:5]}"
