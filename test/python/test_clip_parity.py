"""Parity of the TypeScript/ONNX Runtime CLIP (`pscl clip ...`) with the independent PyTorch
reference in clip_reference.py, on generated checkpoints: text embeddings and dense features of
every last-block variant, at the trained input size and at interpolated sizes, and with sliding
windows. Max abs difference < 1e-4."""
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from clip_reference import VARIANTS, ClipReference  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-4
torch.set_num_threads(1)

MODELS = {
    # name: make-tiny options, input shapes (trained first, then interpolated ones)
    "a": (["--seed", "0"], [(32, 32), (40, 56)]),
    "b": (["--width", "48", "--layers", "3", "--heads", "3", "--patch", "16", "--image-size", "64",
           "--text-width", "24", "--text-layers", "1", "--text-heads", "2", "--embed-dim", "20",
           "--act", "gelu", "--dtype", "F16", "--seed", "7"], [(64, 64), (96, 80)]),
}
EXTRA_VARIANTS = ["attn=kk,residual=off,ffn=on", "attn=vv,residual=on,ffn=off"]


def pscl(*args):
    r = subprocess.run(["node", str(ROOT / "bin" / "pscl.js"), *map(str, args)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f"pscl {' '.join(map(str, args))} failed:\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    base = tmp_path_factory.mktemp("clip")
    models = {}
    for name, (opts, _) in MODELS.items():
        pscl("clip", "make-tiny", "--out", base / name, *opts)
        models[name] = (base / name, ClipReference(str(base / name)))
    return base, models


def pixels_file(base, shape, seed):
    path = base / f"pixels-{shape[0]}x{shape[1]}-{seed}.npy"
    rng = np.random.default_rng(seed)
    np.save(path, rng.standard_normal((3, *shape)).astype(np.float32))
    return path


@pytest.mark.parametrize("variant", list(VARIANTS) + EXTRA_VARIANTS)
@pytest.mark.parametrize("model", list(MODELS))
def test_dense_features_match_reference(work, model, variant):
    base, models = work
    folder, ref = models[model]
    for i, shape in enumerate(MODELS[model][1]):
        pix = pixels_file(base, shape, i)
        out = base / f"dense-{model}-{i}-{abs(hash(variant))}.npy"
        pscl("clip", "dense", "--model", folder, "--pixels", pix, "--variant", variant, "--out", out, "--cache-dir", base / "cache", "--provider", "cpu")
        got = np.load(out)
        with torch.no_grad():
            want = ref.dense(torch.from_numpy(np.load(pix))[None], variant)[0].numpy()
        assert got.shape == want.shape == (shape[0] // ref.patch, shape[1] // ref.patch, want.shape[-1])
        assert np.abs(got - want).max() < TOL, f"{variant} at {shape}: max diff {np.abs(got - want).max()}"


@pytest.mark.parametrize("model", list(MODELS))
def test_image_embeddings_match_reference(work, model):
    """`pscl clip image`: the class token through the standard last block (the cache's image
    embeddings), at the trained size and at an interpolated, non-square one."""
    base, models = work
    folder, ref = models[model]
    for i, shape in enumerate(MODELS[model][1]):
        pix = pixels_file(base, shape, 20 + i)
        out = base / f"image-{model}-{i}.npy"
        pscl("clip", "image", "--model", folder, "--pixels", pix, "--out", out, "--cache-dir", base / "cache", "--provider", "cpu")
        got = np.load(out)
        with torch.no_grad():
            want = ref.image_embedding(torch.from_numpy(np.load(pix))[None]).numpy()
        assert got.shape == want.shape == (1, want.shape[-1])
        assert abs(np.linalg.norm(got) - 1) < 1e-5
        assert np.abs(got - want).max() < TOL, f"{shape}: max diff {np.abs(got - want).max()}"
        # not the mean of the vanilla patch tokens: the class token's own path
        with torch.no_grad():
            patches = ref.dense(torch.from_numpy(np.load(pix))[None], "vanilla")[0].reshape(-1, want.shape[-1]).mean(0)
        assert np.abs(want[0] - (patches / patches.norm()).numpy()).max() > 1e-3


def test_variants_really_differ(work):
    """Guards the parity test itself: each variant must change the output."""
    _, models = work
    _, ref = models["a"]
    x = torch.from_numpy(np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32))
    with torch.no_grad():
        outs = {v: ref.dense(x, v) for v in VARIANTS}
    names = list(outs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert (outs[a] - outs[b]).abs().max() > 1e-2, f"{a} and {b} agree"


def test_sliding_windows_match_reference(work):
    base, models = work
    folder, ref = models["a"]
    pix = pixels_file(base, (64, 80), 11)
    out = base / "slide.npy"
    pscl("clip", "dense", "--model", folder, "--pixels", pix, "--variant", "clearclip", "--window", 32, "--stride", 24, "--out", out, "--cache-dir", base / "cache")
    with torch.no_grad():
        want = ref.dense_sliding(torch.from_numpy(np.load(pix)), "clearclip", 32, 24).numpy()
    got = np.load(out)
    assert got.shape == want.shape == (8, 10, 16)
    assert np.abs(got - want).max() < TOL


# -- text -----------------------------------------------------------------------------------

def byte_ids():
    """CLIP's byte -> vocabulary index (printable bytes first, the rest after)."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    bs += [b for b in range(256) if b not in bs]
    return {b: i for i, b in enumerate(bs)}


def small_vocab_ids(text, n=77):
    """Tokenizes ASCII text for the 514-token byte vocabulary (no merges): one token per byte,
    the last byte of each word with '</w>' (+256); <|startoftext|> 512, <|endoftext|> 513."""
    ids = byte_ids()
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip().lower()
    out = [512]
    for word in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+", text):
        bs = word.encode("utf-8")
        out += [ids[b] for b in bs[:-1]] + [ids[bs[-1]] + 256]
    out.append(513)
    if len(out) > n:
        out = out[:n - 1] + [513]
    return out + [513] * (n - len(out))


TEXTS = ["a photo of a cat.", "Hello,   WORLD! it's 2026", "x", "wing " * 40]


@pytest.mark.parametrize("model", list(MODELS))
def test_text_embeddings_match_reference(work, model):
    base, models = work
    folder, ref = models[model]
    out = base / f"text-{model}.npy"
    args = ["clip", "text", "--model", folder, "--out", out, "--cache-dir", base / "cache"]
    for t in TEXTS:
        args += ["--text", t]
    pscl(*args)
    got = np.load(out)
    ids = torch.tensor([small_vocab_ids(t) for t in TEXTS])
    with torch.no_grad():
        want = ref.encode_text(ids).numpy()
    assert got.shape == want.shape
    assert np.abs(got - want).max() < TOL


def test_text_embeddings_with_real_clip_vocabulary(tmp_path):
    merges = ROOT / "test" / "data" / "clip" / "bpe_simple_vocab_16e6.txt.gz"
    assert merges.exists(), f"the repository's copy of the CLIP merges is missing: {merges}"
    folder = tmp_path / "real"
    pscl("clip", "make-tiny", "--out", folder, "--vocab", "real", "--merges", merges, "--text-width", "16", "--text-layers", "1", "--text-heads", "2", "--seed", "3")
    out = tmp_path / "t.npy"
    pscl("clip", "text", "--model", folder, "--text", "a photo of a cat.", "--out", out, "--cache-dir", tmp_path / "cache")
    # OpenAI CLIP's ids for this string, padded with <|endoftext|>
    ids = [49406, 320, 1125, 539, 320, 2368, 269, 49407]
    ids = torch.tensor([ids + [49407] * (77 - len(ids))])
    with torch.no_grad():
        want = ClipReference(str(folder)).encode_text(ids).numpy()
    assert np.abs(np.load(out) - want).max() < TOL


def test_cli_reports_a_damaged_checkpoint(work, tmp_path):
    base, models = work
    folder = tmp_path / "cut"
    pscl("clip", "make-tiny", "--out", folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    r = subprocess.run(["node", str(ROOT / "bin" / "pscl.js"), "clip", "text", "--model", folder, "--text", "x", "--out", tmp_path / "t.npy"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2
    assert "truncated file" in r.stderr and "'visual_projection.weight'" in r.stderr and str(weights) in r.stderr
    assert "internal error" not in r.stderr
    assert not (tmp_path / "t.npy").exists()
