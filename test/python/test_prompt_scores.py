"""`pscl prompts score --json` against an independent computation from the cache files (numpy):
zero-shot top-1/top-5 per level from the embeddings file and the stored level prototypes, the
hierarchical and control variants and every phrasing with the PyTorch reference text encoder
(clip_reference.py), the part keypoint hit rates from the keypoint features file, and the mask
statistics from the mask PNGs. Then `--against` a second template set: delta and CI per level."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from clip_reference import ClipReference  # noqa: E402
from test_cache_read import read_safetensors  # noqa: E402
from test_clip_parity import small_vocab_ids  # noqa: E402
from pscl_cli import pscl as run, sample_with_tiny_clip  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prompts")
    env = sample_with_tiny_clip(tmp, seed=2)
    project = tmp / "sample" / "tiny-birds.pscl.json"
    cache = tmp / "cache"
    run("cache", "build", "--project", project, "--model", tmp / "tiny", "--out", cache, "--input-size", "64", env=env)
    out = json.loads(run("prompts", "score", "--project", project, "--model", tmp / "tiny", "--cache", cache, "--json", env=env))
    return {"tmp": tmp, "env": env, "project": project, "cache": cache, "out": out, "ref": ClipReference(str(tmp / "tiny"))}


def encode(ref, texts):
    with torch.no_grad():
        return ref.encode_text(torch.tensor([small_vocab_ids(t) for t in texts])).numpy()


def mean_norm(rows):
    m = rows.mean(axis=0)
    return m / np.linalg.norm(m)


def topk(scores, truth):
    """top-1 (first maximum) and top-5 (truth's rank: higher scores, then equal ones before it)."""
    s = scores[truth]
    rank = int((scores > s).sum() + (scores[:truth] == s).sum())
    return int(np.argmax(scores) == truth), int(rank < 5)


def load(c):
    cache = c["cache"]
    m = json.load(open(cache / "manifest.json"))
    emb = read_safetensors(cache / m["embeddings"]["file"])[0]["image"].numpy()
    protos = {k: v.numpy() for k, v in read_safetensors(cache / "prototypes.safetensors")[0].items()}
    kp, meta = read_safetensors(cache / m["keypointFeatures"]["file"])
    project = json.load(open(c["project"]))
    return m, emb, protos, kp, project


def test_levels_and_classes_match_numpy(scored):
    m, emb, protos, _, _ = load(scored)
    out = scored["out"]
    ok = [i for i in m["images"] if i["status"] == "ok"]
    assert out["images"] == len(ok) == 72
    for li, level in enumerate(m["levels"]):
        p = protos[f"level.{level}"]
        hits = np.array([topk(emb[i["embedding"]] @ p.T, m["classes"][i["label"]]["levelIndex"][li]) for i in ok])
        assert out["levels"][level]["images"] == 72
        assert abs(out["levels"][level]["top1"] - hits[:, 0].mean()) < 1e-6, level
        assert abs(out["levels"][level]["top5"] - hits[:, 1].mean()) < 1e-6, level
        assert out["variants"]["flat"]["levels"][level] == out["levels"][level]
    # per class at the fine level
    p = protos[f"level.{m['levels'][-1]}"]
    for c in m["classes"]:
        mine = [topk(emb[i["embedding"]] @ p.T, c["levelIndex"][-1]) for i in ok if i["label"] == c["index"]]
        assert out["classes"][c["name"]] == {"top1": pytest.approx(np.mean([h[0] for h in mine]), abs=1e-6), "top5": pytest.approx(np.mean([h[1] for h in mine]), abs=1e-6), "images": len(mine)}


def test_the_stored_prototypes_are_the_reference_encoders(scored):
    """Guards the check above: level.* are the class template through the PyTorch text encoder."""
    m, _, protos, _, project = load(scored)
    template = project["templates"]["class"][0]
    for li, level in enumerate(m["levels"][:-1]):
        for v, value in enumerate(m["levelValues"][level]):
            want = mean_norm(encode(scored["ref"], [template.replace("{name}", value).replace("{coarse}", "bird")]))
            assert np.abs(protos[f"level.{level}"][v] - want).max() < 1e-4


def variant_prototypes(scored, level_index, names_texts):
    return np.stack([mean_norm(encode(scored["ref"], texts)) for texts in names_texts])


def test_hierarchical_and_control_variants_match_numpy(scored):
    m, emb, _, _, project = load(scored)
    out = scored["out"]
    ok = [i for i in m["images"] if i["status"] == "ok"]
    template = project["templates"]["class"][0]
    levels = m["levels"]
    classes = project["classes"]
    phrases = out["control"]["phrases"]
    assert len(phrases) == out["control"]["descriptors"] == 8
    for li, level in enumerate(levels):
        values = m["levelValues"][level]
        hier, control = [], []
        for value in values:
            cls = next(c for c in classes if (c["name"] if li == len(levels) - 1 else c["path"][level]) == value)
            ancestors = []
            for lj in range(li - 1, 0, -1):
                a = cls["path"][levels[lj]]
                if a not in ancestors:
                    ancestors.append(a)
            name = f"{value} ({', '.join(ancestors)})" if ancestors else value
            hier.append([template.replace("{name}", name).replace("{coarse}", "bird")])
            flat = template.replace("{name}", value).replace("{coarse}", "bird").rstrip(". ")
            control.append([f"{flat}, which has {d}." for d in phrases])
        for key, groups, table in (("hierarchical", hier, out["variants"]["hierarchical"]["levels"]), ("control", control, out["control"]["levels"])):
            p = variant_prototypes(scored, li, groups)
            hits = np.array([topk(emb[i["embedding"]] @ p.T, m["classes"][i["label"]]["levelIndex"][li]) for i in ok])
            assert abs(table[level]["top1"] - hits[:, 0].mean()) < 1e-6, (key, level)
            assert abs(table[level]["top5"] - hits[:, 1].mean()) < 1e-6, (key, level)
    assert out["variants"]["descriptions"] is None  # no class of the sample has a description


def hit_counts(features, parts, mapping, part_rows, p, T, k=3):
    """Hits of project part p at its keypoints, with part embeddings T (argmax ties to the lower index)."""
    hits = topk_hits = n = 0
    for r in range(features.shape[0]):
        if mapping.get(parts[r]) != p:
            continue
        s = features[r] @ T.T
        n += 1
        hits += int(np.argmax(s) == p)
        topk_hits += int((s > s[p]).sum() + (s[:p] == s[p]).sum() < k)
    return n, hits, topk_hits


def test_part_hit_rates_and_phrasings_match_numpy(scored):
    m, _, protos, kp, project = load(scored)
    out = scored["out"]
    names = m["keypointFeatures"]["parts"]
    bird = project["parts"]["bird"]
    mapping = {names.index(k): pi for pi, part in enumerate(bird) for k in part.get("keypoints", [])}
    features = kp["features"].numpy()
    parts = kp["part"].numpy().astype(int)
    T = protos["parts.bird"]
    template = project["templates"]["part"][0]
    margins = []
    for pi, part in enumerate(bird):
        got = out["parts"][f"bird/{part['name']}"]
        n, hits, topk_hits = hit_counts(features, parts, mapping, None, pi, T)
        assert got["keypoints"] == n > 0
        assert abs(got["hitRate"] - hits / n) < 1e-6, part["name"]
        assert abs(got["topKRate"] - topk_hits / n) < 1e-6, part["name"]
        for phrasing in part["prompts"]:
            Tp = T.copy()
            Tp[pi] = mean_norm(encode(scored["ref"], [template.replace("{part}", phrasing).replace("{coarse}", "bird")]))
            _, ph, _ = hit_counts(features, parts, mapping, None, pi, Tp)
            assert abs(got["phrasings"][phrasing] - ph / n) < 1e-6, (part["name"], phrasing)
    # the sample has every keypoint mapped: the keypoints scored are the visible ones
    assert sum(p["keypoints"] for p in out["parts"].values()) == features.shape[0]


def test_mask_statistics_match_numpy(scored):
    m, _, _, kp, project = load(scored)
    stats = scored["out"]["masks"]
    assert stats["stale"] is False and stats["images"] == 72
    parts = m["parts"]["bird"]
    cover = {p: [] for p in parts}
    pixels = np.zeros(len(parts) + 1)
    inside = {p: [0, 0] for p in parts}
    names = m["keypointFeatures"]["parts"]
    owner = {k: part["name"] for part in project["parts"]["bird"] for k in part.get("keypoints", [])}
    for i, img in enumerate(m["images"]):
        labels = np.asarray(Image.open(scored["cache"] / img["mask"]))
        counts = np.bincount(labels.ravel(), minlength=len(parts) + 1)
        pixels += counts
        for k, p in enumerate(parts):
            cover[p].append(counts[k + 1] / labels.size)
        start, n = img["keypoints"]
        for r in range(start, start + n):
            p = owner[names[int(kp["part"][r])]]
            x = min(labels.shape[1] - 1, int(np.floor(float(kp["position"][r][0]) * labels.shape[1])))
            y = min(labels.shape[0] - 1, int(np.floor(float(kp["position"][r][1]) * labels.shape[0])))
            inside[p][0] += 1
            inside[p][1] += int(labels[y, x] == parts.index(p) + 1)
    assert abs(stats["background"] - pixels[0] / pixels.sum()) < 1e-9
    for k, p in enumerate(parts):
        s = stats["parts"][f"bird/{p}"]
        c = np.array(cover[p])
        assert abs(s["coverage"]["mean"] - c.mean()) < 1e-9
        assert abs(s["coverage"]["p50"] - np.sort(c)[int(0.5 * len(c))]) < 1e-9
        assert abs(s["emptyRate"] - (c == 0).mean()) < 1e-9
        assert abs(s["argmaxShare"] - pixels[k + 1] / pixels[1:].sum()) < 1e-9
        assert s["keypoints"] == inside[p][0]
        assert abs(s["hitRate"] - inside[p][1] / inside[p][0]) < 1e-9


def test_against_a_second_template_set_gives_delta_and_ci_per_level(scored):
    other = scored["tmp"] / "sample" / "other.pscl.json"
    p = json.load(open(scored["project"]))
    p["templates"]["class"] = ["a bird called {name}.", "a close-up photo of a {name}."]
    other.write_text(json.dumps(p))
    env = scored["env"]
    c = json.loads(run("prompts", "score", "--project", other, "--model", scored["tmp"] / "tiny", "--cache", scored["cache"], "--against", scored["project"],
                       "--bootstrap", "400", "--no-masks", "--json", env=env))
    assert c["bootstrap"]["samples"] == 400 and c["bootstrap"]["images"] == 72
    for level in ["coarse", "order", "family", "genus", "species"]:
        for k in ("top1", "top5"):
            d = c["delta"]["levels"][level][k]
            assert d["delta"] == pytest.approx(c["a"]["levels"][level][k] - c["b"]["levels"][level][k], abs=2e-6)
            lo, hi = d["ci"]
            assert lo <= d["delta"] + 1e-9 and d["delta"] <= hi + 1e-9
    # the baseline's side is the first run's numbers (same images, same cache)
    assert c["b"]["levels"] == scored["out"]["levels"]
    # an independent paired bootstrap of the species top-1 delta (same resampling scheme, own draws)
    m, emb, protos, _, _ = load(scored)
    ok = [i for i in m["images"] if i["status"] == "ok"]
    ref = scored["ref"]
    pa = np.stack([mean_norm(encode(ref, [f"a bird called {c_['name']}.", f"a close-up photo of a {c_['name']}."])) for c_ in m["classes"]])
    pb = protos["level.species"]
    ha = np.array([topk(emb[i["embedding"]] @ pa.T, i["label"])[0] for i in ok])
    hb = np.array([topk(emb[i["embedding"]] @ pb.T, i["label"])[0] for i in ok])
    assert c["delta"]["levels"]["species"]["top1"]["delta"] == pytest.approx(ha.mean() - hb.mean(), abs=1e-6)
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(2000):
        idx = rng.integers(0, len(ok), len(ok))
        boots.append(ha[idx].mean() - hb[idx].mean())
    lo, hi = np.percentile(boots, [2.5, 97.5])
    got = c["delta"]["levels"]["species"]["top1"]["ci"]
    assert abs(got[0] - lo) < 0.05 and abs(got[1] - hi) < 0.05, (got, lo, hi)
