"""The demo CLIP (models/demo-clip/) means something on the tiny-birds sample, measured
independently of the TypeScript core and of its trainer (demo_clip_measure.py): zero-shot species
top-1 and the ClearCLIP part keypoint hit rate on the sample's test images; a random CLIP of the
same shape fails the same measurement. The core's ONNX graphs and `pscl masks` give what the
PyTorch reference gives on these weights. The slow test makes the weights again from nothing and
compares their hash with the committed one."""
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from clip_reference import ClipReference  # noqa: E402
from demo_clip_measure import ROOT, SAMPLE, BpeTokenizer, Sample, load_pixels, measure, part_masks, part_prompts  # noqa: E402

MODEL = ROOT / "models" / "demo-clip"
TOL = 1e-4


def pscl(*args, env=None):
    r = subprocess.run(["node", str(ROOT / "bin" / "pscl.js"), *map(str, args)], cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, f"pscl {' '.join(map(str, args))} failed:\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def measured():
    return measure(MODEL)


@pytest.fixture(scope="module")
def sample():
    return Sample()


def test_zero_shot_species_top1_on_the_test_images(measured):
    species = measured["levels"]["species"]
    assert species["images"] == 24
    assert species["top1"] >= 0.8, json.dumps(measured["levels"])


def test_clearclip_part_hit_rate_on_the_test_images(measured):
    parts = measured["parts"]
    # every project part has keypoints in the sample (eye, leg and wing from CUB's left/right ones)
    assert sorted(parts) == sorted(["back", "beak", "belly", "breast", "crown", "forehead", "eye", "leg", "wing", "nape", "tail", "throat"])
    assert all(p["keypoints"] >= 24 for p in parts.values())
    assert measured["meanHitRate"] >= 0.6, json.dumps(parts)


@pytest.fixture(scope="module")
def prompts_score(tmp_path_factory):
    """`pscl prompts score --split test --json` on a copy of the sample with the default model (the
    demo CLIP): it builds the training cache first (448 px, the default)."""
    tmp = tmp_path_factory.mktemp("score")
    shutil.copytree(SAMPLE, tmp / "sample", ignore=shutil.ignore_patterns(".pscl-cache"))
    env = {k: v for k, v in os.environ.items() if k != "PSCL_CLIP_MODEL"} | {"PSCL_CACHE_DIR": str(tmp / "user-cache")}
    r = pscl("prompts", "score", "--project", tmp / "sample" / "tiny-birds.pscl.json", "--split", "test", "--json", env=env)
    assert "demo model" in r.stderr
    return json.loads(r.stdout)


def test_pscl_prompts_score_gives_the_same_figures(prompts_score, measured):
    """The core's scores from its cache (sharp's resize, F16 keypoint features) against this
    independent count (PIL, PyTorch): the same images and keypoints, top-1 within one image and
    each part's hit rate within two keypoints."""
    got = prompts_score
    assert got["images"] == 24 and got["split"] == "test"
    for level, want in measured["levels"].items():
        assert abs(got["levels"][level]["top1"] - want["top1"]) <= 1 / 24 + 1e-9, (level, got["levels"][level], want)
    assert got["levels"]["species"]["top1"] >= 0.8, json.dumps(got["levels"])
    rates = []
    for part, want in measured["parts"].items():
        g = got["parts"][f"bird/{part}"]
        assert g["keypoints"] == want["keypoints"], part
        assert abs(g["hitRate"] - want["hitRate"]) <= 2 / want["keypoints"] + 1e-9, (part, g["hitRate"], want)
        rates.append(g["hitRate"])
    assert float(np.mean(rates)) >= 0.6, json.dumps({p: v["hitRate"] for p, v in got["parts"].items()})


# (image id, the class it is relabelled to): one image of each species, three to the other
# species of its genus (fine-grained), three to another family or order (gross errors); train and
# test images alike
PLANTED = {2: 2, 15: 5, 28: 4, 41: 1, 54: 6, 67: 3}


def plant_relabels(root):
    """Moves each planted image into its new class's folder and relabels it there, as a mislabelled
    image is filed in a real dataset (images.txt, image_class_labels.txt); returns their paths
    relative to the dataset root."""
    ds = root / "CUB_tiny"
    folders = {int(i): name for i, name in (line.split() for line in (ds / "classes.txt").read_text().splitlines())}
    paths = dict(line.split() for line in (ds / "images.txt").read_text().splitlines())
    labels = dict(line.split() for line in (ds / "image_class_labels.txt").read_text().splitlines())
    moved = []
    for image, cls in PLANTED.items():
        old = paths[str(image)]
        assert labels[str(image)] != str(cls)
        new = f"{folders[cls]}/planted_{Path(old).name}"
        (ds / "images" / old).rename(ds / "images" / new)
        paths[str(image)], labels[str(image)] = new, str(cls)
        moved.append(f"images/{new}")
    (ds / "images.txt").write_text("".join(f"{i} {p}\n" for i, p in paths.items()))
    (ds / "image_class_labels.txt").write_text("".join(f"{i} {c}\n" for i, c in labels.items()))
    return moved


def test_pscl_curate_finds_the_planted_relabels_with_the_demo_model(tmp_path):
    """A copy of the sample with 6 images filed under a wrong species; the training cache built with
    the default model (the demo CLIP), no trained run: at least 4 of the 6 are among the top 10
    mislabel findings."""
    shutil.copytree(SAMPLE, tmp_path / "sample", ignore=shutil.ignore_patterns(".pscl-cache"))
    planted = plant_relabels(tmp_path / "sample")
    project = tmp_path / "sample" / "tiny-birds.pscl.json"
    env = {k: v for k, v in os.environ.items() if k != "PSCL_CLIP_MODEL"} | {"PSCL_CACHE_DIR": str(tmp_path / "user-cache")}
    pscl("validate", project, env=env)
    build = pscl("cache", "build", "--project", project, env=env)
    assert "demo model" in build.stderr
    out = json.loads(pscl("curate", "--project", project, "--json", "--kind", "mislabel", env=env).stdout)
    top = [f for f in out["findings"] if f["kind"] == "mislabel"][:10]
    found = [f for f in top if f["images"][0] in planted]
    assert len(found) >= 4, json.dumps({"planted": planted, "top10": top}, indent=1)
    for f in found:  # the class it suggests (an id) is the one the image shows: where it was filed before
        image = next(i for i, p in zip(PLANTED, planted) if p == f["images"][0])
        assert f["suggested"] == str((image - 1) // 12 + 1), f


def test_a_random_clip_of_the_same_shape_fails_the_measurement(tmp_path):
    """Guards the measurement itself: without training, the hit rate is about 1 / 12."""
    with open(MODEL / "config.json") as f:
        cfg = json.load(f)
    v, t = cfg["vision_config"], cfg["text_config"]
    folder = tmp_path / "random"
    pscl("clip", "make-tiny", "--out", folder, "--width", v["hidden_size"], "--layers", v["num_hidden_layers"],
         "--heads", v["num_attention_heads"], "--patch", v["patch_size"], "--image-size", v["image_size"],
         "--text-width", t["hidden_size"], "--text-layers", t["num_hidden_layers"], "--text-heads", t["num_attention_heads"],
         "--embed-dim", cfg["projection_dim"], "--vocab", "small", "--seed", "5")
    random = measure(folder)
    assert random["meanHitRate"] < 0.3, json.dumps(random["parts"])


def test_core_graphs_match_the_reference_on_the_demo_weights(tmp_path, sample):
    """`pscl clip dense` (ONNX, the patch convolution at 448) and `pscl clip text` (the core's
    tokenizer) against the PyTorch reference and this test's own tokenizer."""
    ref = ClipReference(str(MODEL))
    ids = [i for i in sorted(sample.images) if sample.split[i] == "test"][:3]
    for i in ids:
        pixels = load_pixels(sample.images[i], 448)
        np.save(tmp_path / "pix.npy", pixels.numpy())
        pscl("clip", "dense", "--model", MODEL, "--pixels", tmp_path / "pix.npy", "--variant", "clearclip",
             "--out", tmp_path / "dense.npy", "--cache-dir", tmp_path / "graphs")
        with torch.no_grad():
            want = ref.dense(pixels[None], "clearclip")[0].numpy()
        got = np.load(tmp_path / "dense.npy")
        assert got.shape == want.shape == (14, 14, 64)
        assert np.abs(got - want).max() < TOL
    tok = BpeTokenizer(MODEL)
    texts = ["a photo of the top of the head of a bird.", "a photo of a Red crowned Finch, a type of bird.", "Zürich: an unseen word, 42!"]
    args = ["clip", "text", "--model", MODEL, "--out", tmp_path / "text.npy", "--cache-dir", tmp_path / "graphs"]
    for t in texts:
        args += ["--text", t]
    pscl(*args)
    with torch.no_grad():
        want = ref.encode_text(torch.tensor([tok(t) for t in texts])).numpy()
    assert np.abs(np.load(tmp_path / "text.npy") - want).max() < TOL


def test_pscl_masks_with_the_default_model_gives_the_reference_masks(tmp_path, sample):
    """`pscl masks` without --model is the demo CLIP; its label maps (sharp decodes and resizes the
    image) agree with this test's (PIL) on nearly every pixel, and its patch probabilities closely."""
    ref = ClipReference(str(MODEL))
    tok = BpeTokenizer(MODEL)
    names, part_txt = part_prompts(ref, tok, sample)
    env = {k: v for k, v in os.environ.items() if k != "PSCL_CLIP_MODEL"}
    ids = [i for i in sorted(sample.images) if sample.split[i] == "test"][::8]
    for i in ids:
        image = sample.images[i]
        out = tmp_path / str(i)
        r = pscl("masks", "--project", SAMPLE / "tiny-birds.pscl.json", "--image", image, "--out", out, env=env)
        assert "demo model" in r.stderr
        base = image.stem
        got = np.asarray(Image.open(out / f"{base}.labels.png"))
        assert got.shape == (448, 448)  # the label map has the encoder input's size
        with torch.no_grad():
            labels, probs = part_masks(ref, part_txt, load_pixels(image, 448), got.shape)
        agree = float((got == labels.numpy() + 1).mean())
        assert agree > 0.97, f"{image.name}: {agree:.3f} of the pixels agree"
        assert np.abs(np.load(out / f"{base}.probabilities.npy") - probs.numpy()).mean() < 0.01
        legend = json.loads((out / f"{base}.legend.json").read_text())
        assert [p["name"] for p in legend["parts"]] == names


def cpu_flags():
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


@pytest.mark.slow
def test_the_training_script_remakes_the_committed_weights():
    """scripts/demo-clip/make.ts --check: draws the birds, trains on the CPU and compares the four
    files' sha256 with models/demo-clip/SHA256SUMS. Bitwise equality needs the same library builds
    and an x86-64 CPU with AVX2 (the kernels are pinned to it, README.md there)."""
    if platform.machine() not in ("x86_64", "AMD64") or " avx2" not in cpu_flags():
        pytest.skip("the demo CLIP's weights are pinned to x86-64 AVX2 kernels; this CPU cannot reproduce them bit for bit")
    with open(MODEL / "training.json") as f:
        made_with = json.load(f)
    if made_with["torch"] != torch.__version__:
        pytest.skip(f"the committed weights were made with torch {made_with['torch']}, this is {torch.__version__}: "
                    "floating-point kernels differ between versions, so the hash cannot match")
    r = subprocess.run(["node", "--import", "tsx", str(ROOT / "scripts" / "demo-clip" / "make.ts"), "--check"],
                       cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert r.stdout.strip(), r.stderr[-3000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    # the drawn birds first: if they differ (another libvips build), the weights cannot match
    assert result["sameData"], f"the generator drew different training images than models/demo-clip/training.json records:\n{r.stderr[-2000:]}"
    assert result["check"] == "same", f"made:\n{result['made']}\ncommitted:\n{result['committed']}\n{r.stderr[-2000:]}"
