"""The tiny preset learns the sample, through the command a user types (README, "Training"):
`pscl train --project samples/tiny-birds/tiny-birds.pscl.json --config tiny`, the cache built by the
demo CLIP, the test split scored in eval.json. Six classes told apart by the head colour: chance is
16.7 %; the preset reaches 87.5-100 % over the seeds measured (docs/training-sample.md), 100 % at
seed 0 with the full-vocabulary demo CLIP, 95.8 % with the plain clone's."""
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE = os.environ.get("NODE") or shutil.which("node")


def test_the_tiny_preset_learns_the_sample(tmp_path):
    assert NODE, "node is needed to run pscl (set NODE or put node on PATH)"
    ws = tmp_path / "tiny-birds"
    shutil.copytree(os.path.join(ROOT, "samples", "tiny-birds"), ws, ignore=shutil.ignore_patterns(".pscl-cache"))
    tsx = "file://" + os.path.join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")
    env = dict(os.environ, PSCL_PYTHON=sys.executable)
    r = subprocess.run([NODE, "--import", tsx, os.path.join(ROOT, "src", "cli", "main.ts"), "train",
                        "--project", "tiny-birds.pscl.json", "--config", "tiny", "--run-dir", "runs/s0",
                        "--set", "seed=0", "--device", "cpu"],
                       cwd=ws, env=env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, f"pscl train failed:\n{r.stdout}\n{r.stderr[-4000:]}"
    assert r.stdout.startswith("s0: finished"), r.stdout
    report = json.loads((ws / "runs" / "s0" / "eval.json").read_text())
    assert (report["split"], report["num_images"]) == ("test", 24)
    config = json.loads((ws / "runs" / "s0" / "config.json").read_text())["config"]
    assert (config["seed"], config["epochs"], config["resolution"]) == (0, 100, 64)  # the preset as shipped
    assert report["epoch"] == config["epochs"] - 1, "eval.json is the last epoch's"
    assert report["top1"] >= 0.9, f"test top-1 {report['top1']:.3f} (chance 0.167)\n{r.stderr[-2000:]}"
    # the per-class counts add up to the top-1 the report gives
    correct = sum(row[i] for i, row in enumerate(report["confusion"]))
    assert correct == round(report["top1"] * 24)
