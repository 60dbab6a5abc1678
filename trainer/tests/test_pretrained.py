"""backbone_weights: every supported source and key layout, with generated weights.

The state dicts in timm's and transformers' layouts are written here by renaming a torchvision
model's tensors the way those libraries name them (an independent spelling of the key maps);
loading them must put every tensor back where torchvision has it.
"""
import http.server
import json
import os
import re
import threading

import pytest
import torch
import torchvision

from conftest import run_cli
from fixtures import write_safetensors
from pscl_trainer import pretrained
from pscl_trainer.config import load_config
from pscl_trainer.errors import ConfigError
from pscl_trainer.model import backbone as backbone_mod
from pscl_trainer.runs import build_model
from pscl_trainer.safetensors_io import save_file


def build(cfg, classes=4, slots=2, protos=16):
    return build_model(cfg, classes, slots, torch.nn.functional.normalize(torch.randn(classes, protos), dim=-1))


def load(cfg, dirs=("/",), run_dir=None):
    torch.manual_seed(0)
    model = build(cfg)
    record = pretrained.load_pretrained(model, cfg, pretrained.resolve(cfg, list(dirs)), run_dir)
    return model, record


@pytest.fixture
def small_vit(monkeypatch):
    """torchvision's ViT class at a small size (the key maps do not depend on width or depth)."""
    from torchvision.models.vision_transformer import VisionTransformer

    def make(name):
        assert name == "vit_b_16"
        return VisionTransformer(image_size=32, patch_size=16, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)
    monkeypatch.setattr(backbone_mod, "_torchvision_model", make)
    torch.manual_seed(1)
    return make("vit_b_16")


def vit_cfg(weights, **extra):
    sets = [f"backbone_weights={json.dumps(weights)}", "resolution=32", "stages=[3,4]", "vit_blocks=[1,1,1,2]", "token_grid=2",
            "d_model=16", "heads=2"]
    return load_config("vit_b16", sets + [f"{k}={json.dumps(v)}" for k, v in extra.items()])


def timm_vit_keys(tv):
    """A torchvision ViT state dict renamed to timm's VisionTransformer keys."""
    out = {"cls_token": tv["class_token"], "pos_embed": tv["encoder.pos_embedding"],
           "patch_embed.proj.weight": tv["conv_proj.weight"], "patch_embed.proj.bias": tv["conv_proj.bias"],
           "norm.weight": tv["encoder.ln.weight"], "norm.bias": tv["encoder.ln.bias"],
           "head.weight": tv["heads.head.weight"], "head.bias": tv["heads.head.bias"]}
    for k, v in tv.items():
        m = re.match(r"encoder\.layers\.encoder_layer_(\d+)\.(.+)$", k)
        if not m:
            continue
        rest = (m.group(2).replace("ln_1", "norm1").replace("ln_2", "norm2")
                .replace("self_attention.in_proj_weight", "attn.qkv.weight").replace("self_attention.in_proj_bias", "attn.qkv.bias")
                .replace("self_attention.out_proj", "attn.proj").replace("mlp.0", "mlp.fc1").replace("mlp.3", "mlp.fc2"))
        out[f"blocks.{m.group(1)}.{rest}"] = v
    return out


def hf_vit_keys(tv):
    """A torchvision ViT state dict renamed to transformers' ViTForImageClassification keys."""
    out = {"vit.embeddings.cls_token": tv["class_token"], "vit.embeddings.position_embeddings": tv["encoder.pos_embedding"],
           "vit.embeddings.patch_embeddings.projection.weight": tv["conv_proj.weight"],
           "vit.embeddings.patch_embeddings.projection.bias": tv["conv_proj.bias"],
           "vit.layernorm.weight": tv["encoder.ln.weight"], "vit.layernorm.bias": tv["encoder.ln.bias"],
           "classifier.weight": tv["heads.head.weight"], "classifier.bias": tv["heads.head.bias"]}
    layers = {int(m.group(1)) for k in tv for m in [re.match(r"encoder\.layers\.encoder_layer_(\d+)\.", k)] if m}
    for i in layers:
        a, h = f"encoder.layers.encoder_layer_{i}.", f"vit.encoder.layer.{i}."
        for kind in ("weight", "bias"):
            q, k_, v = tv[a + f"self_attention.in_proj_{kind}"].chunk(3)
            out.update({h + f"attention.attention.query.{kind}": q, h + f"attention.attention.key.{kind}": k_,
                        h + f"attention.attention.value.{kind}": v,
                        h + f"attention.output.dense.{kind}": tv[a + f"self_attention.out_proj.{kind}"],
                        h + f"layernorm_before.{kind}": tv[a + f"ln_1.{kind}"], h + f"layernorm_after.{kind}": tv[a + f"ln_2.{kind}"],
                        h + f"intermediate.dense.{kind}": tv[a + f"mlp.0.{kind}"], h + f"output.dense.{kind}": tv[a + f"mlp.3.{kind}"]})
    return out


def assert_vit_loaded(model, tv):
    bb = model.backbone
    assert torch.equal(bb.class_token, tv["class_token"]) and torch.equal(bb.conv_proj.weight, tv["conv_proj.weight"])
    last = len(bb.blocks) - 1
    for name in ("self_attention.in_proj_weight", "self_attention.out_proj.bias", "ln_2.weight", "mlp.3.weight"):
        assert torch.equal(bb.blocks[last].state_dict()[name], tv[f"encoder.layers.encoder_layer_{last}.{name}"]), name


def test_timm_vit_b16_file_loads_at_full_size(tmp_path):
    """The real ViT-B/16 shapes (86 M parameters), saved in timm's layout as float16 safetensors."""
    torch.manual_seed(0)
    tv = {k: v.half() for k, v in torchvision.models.vit_b_16().state_dict().items()}
    path = tmp_path / "vit_base_patch16_224.safetensors"
    save_file(timm_vit_keys(tv), str(path))
    cfg = load_config("vit_b16", ["backbone_weights=" + str(path), "resolution=224"])
    model, record = load(cfg)
    assert record["layout"] == "timm_vit" and record["pretrained"] and record["sha256"] == pretrained.sha256_file(str(path))
    assert_vit_loaded(model, {k: v.float() for k, v in tv.items()})
    assert model.backbone.pos_embedding.shape == (1, 197, 768)


@pytest.mark.parametrize("layout", ["torchvision", "timm", "hf"])
def test_vit_layouts_load(tmp_path, small_vit, layout):
    tv = small_vit.state_dict()
    state = {"torchvision": dict(tv), "timm": timm_vit_keys(tv), "hf": hf_vit_keys(tv)}[layout]
    path = tmp_path / f"vit-{layout}.pth"
    torch.save(state, path)
    model, record = load(vit_cfg(str(path)))
    assert record["layout"] == {"torchvision": "torchvision", "timm": "timm_vit", "hf": "hf_vit"}[layout]
    assert_vit_loaded(model, tv)


def test_old_torchvision_vit_mlp_names_and_another_grid_load(tmp_path, small_vit):
    tv = small_vit.state_dict()
    old = {k.replace("mlp.0.", "mlp.linear_1.").replace("mlp.3.", "mlp.linear_2."): v for k, v in tv.items()}
    old["encoder.pos_embedding"] = torch.randn(1, 1 + 3 * 3, 32)  # trained at a 3x3 grid: resized to 2x2
    path = tmp_path / "vit-old.pth"
    torch.save({"state_dict": old}, path)
    model, _ = load(vit_cfg(str(path)))
    assert_vit_loaded(model, tv)
    assert model.backbone.pos_embedding.shape == (1, 5, 32)
    assert torch.equal(model.backbone.pos_embedding[0, 0], old["encoder.pos_embedding"][0, 0])


def test_relative_file_resolves_against_the_project_then_the_users_folder_and_is_kept(tmp_path, small_vit, monkeypatch):
    """A relative torchvision file: the project's folder first, then the user's (PSCL_CWD), whatever
    the trainer's own directory; the run keeps a link or copy and the hash, so moving it later is fine."""
    tv = small_vit.state_dict()
    user, project, elsewhere = tmp_path / "user", tmp_path / "project", tmp_path / "elsewhere"
    for d in (user / "weights", project, elsewhere):
        d.mkdir(parents=True)
    torch.save(tv, user / "weights" / "vit.pth")
    monkeypatch.setenv("PSCL_CWD", str(user))
    monkeypatch.chdir(elsewhere)
    dirs = pretrained.search_dirs(project_file=str(project / "p.pscl.json"))
    assert dirs == [str(project), str(user), str(elsewhere)]
    cfg = vit_cfg("weights/vit.pth")
    run = tmp_path / "run"
    model, record = load(cfg, dirs, str(run))
    assert record["path"] == str(user / "weights" / "vit.pth") and record["layout"] == "torchvision"
    assert record["kept"] == os.path.join("pretrained", "vit.pth")
    assert pretrained.sha256_file(str(run / "pretrained" / "vit.pth")) == record["sha256"]
    assert_vit_loaded(model, tv)
    (project / "weights").mkdir()
    other = {k: v + 1 if v.is_floating_point() else v for k, v in tv.items()}
    torch.save(other, project / "weights" / "vit.pth")  # the project's own file wins over the user's
    model, record = load(cfg, dirs)
    assert record["path"] == str(project / "weights" / "vit.pth")
    assert_vit_loaded(model, other)


def hf_resnet_keys(tv):
    out = {}
    for k, v in tv.items():
        if k.startswith("fc."):
            out["classifier.1." + k[3:]] = v
            continue
        k2 = re.sub(r"^conv1\.", "embedder.embedder.convolution.", k)
        k2 = re.sub(r"^bn1\.", "embedder.embedder.normalization.", k2)
        m = re.match(r"layer(\d)\.(\d+)\.(.+)$", k2)
        if m:
            s, b, rest = int(m.group(1)) - 1, m.group(2), m.group(3)
            rest = re.sub(r"^conv(\d)\.", lambda c: f"layer.{int(c.group(1)) - 1}.convolution.", rest)
            rest = re.sub(r"^bn(\d)\.", lambda c: f"layer.{int(c.group(1)) - 1}.normalization.", rest)
            rest = rest.replace("downsample.0.", "shortcut.convolution.").replace("downsample.1.", "shortcut.normalization.")
            k2 = f"encoder.stages.{s}.layers.{b}.{rest}"
        out["resnet." + k2] = v
    return out


@pytest.fixture(scope="module")
def resnet_state():
    torch.manual_seed(2)
    return torchvision.models.resnet50().state_dict()


@pytest.mark.parametrize("layout", ["torchvision.safetensors", "torchvision.pth", "hf.safetensors"])
def test_resnet50_layouts_load(tmp_path, resnet_state, layout):
    state = hf_resnet_keys(resnet_state) if layout.startswith("hf") else resnet_state
    path = str(tmp_path / f"rn50-{layout}")
    save_file(state, path) if path.endswith(".safetensors") else torch.save(state, path)
    model, record = load(load_config("rn50", [f"backbone_weights={path}", "resolution=64"]))
    bb = model.backbone
    assert record["layout"] == ("hf_resnet" if layout.startswith("hf") else "torchvision")
    assert torch.equal(bb.layers[3][2].conv3.weight, resnet_state["layer4.2.conv3.weight"])
    assert torch.equal(bb.layers[0][0].downsample[1].running_var, resnet_state["layer1.0.downsample.1.running_var"])
    assert torch.equal(bb.stem[0].weight, resnet_state["conv1.weight"])


def test_misshaped_missing_and_foreign_tensors_are_named(tmp_path, resnet_state):
    path = str(tmp_path / "rn50.safetensors")
    cfg = load_config("rn50", [f"backbone_weights={path}"])
    bad = dict(resnet_state)
    bad["layer1.0.conv1.weight"] = torch.zeros(1, 1, 1, 1)
    save_file(bad, path)
    with pytest.raises(ConfigError, match=r"'layer1\.0\.conv1\.weight' has shape \(1, 1, 1, 1\), the model needs \(64, 64, 1, 1\)"):
        load(cfg)
    save_file({k: v for k, v in resnet_state.items() if k != "layer2.1.bn2.bias"}, path)
    with pytest.raises(ConfigError, match=r"lacks tensor 'layer2\.1\.bn2\.bias'"):
        load(cfg)
    deeper = dict(resnet_state, **{"layer3.6.conv1.weight": torch.zeros(256, 1024, 1, 1)})  # a ResNet-101's block
    save_file(deeper, path)
    with pytest.raises(ConfigError, match=r"no place for, e\.g\. 'layer3\.6\.conv1\.weight'"):
        load(cfg)
    hf = hf_resnet_keys(resnet_state)
    hf["resnet.encoder.stages.0.layers.0.layer.1.convolution.weight"] = torch.zeros(3, 3)
    save_file(hf, path)
    with pytest.raises(ConfigError, match=r"'layer1\.0\.conv2\.weight' has shape \(3, 3\)"):
        load(cfg)


def write_clip(folder, width=32, layers=3, patch=8, image=32, heads=2, seed=3):
    """A Hugging Face CLIP folder (config.json + model.safetensors), both towers, random weights."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g) * 0.1  # noqa: E731
    t = {"vision_model.embeddings.class_embedding": r(width),
         "vision_model.embeddings.patch_embedding.weight": r(width, 3, patch, patch),
         "vision_model.embeddings.position_embedding.weight": r((image // patch) ** 2 + 1, width),
         "vision_model.pre_layrnorm.weight": 1 + r(width), "vision_model.pre_layrnorm.bias": r(width),
         "vision_model.post_layernorm.weight": 1 + r(width), "vision_model.post_layernorm.bias": r(width),
         "visual_projection.weight": r(16, width), "text_projection.weight": r(16, width), "logit_scale": torch.tensor(2.6),
         "text_model.embeddings.token_embedding.weight": r(50, width)}
    for i in range(layers):
        p = f"vision_model.encoder.layers.{i}."
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            t[p + f"self_attn.{n}.weight"], t[p + f"self_attn.{n}.bias"] = r(width, width), r(width)
        for n in ("layer_norm1", "layer_norm2"):
            t[p + f"{n}.weight"], t[p + f"{n}.bias"] = 1 + r(width), r(width)
        t[p + "mlp.fc1.weight"], t[p + "mlp.fc1.bias"] = r(4 * width, width), r(4 * width)
        t[p + "mlp.fc2.weight"], t[p + "mlp.fc2.bias"] = r(width, 4 * width), r(width)
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), {k: v.numpy() for k, v in t.items()})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"model_type": "clip", "projection_dim": 16,
                   "text_config": {"hidden_size": width, "num_hidden_layers": 1},
                   "vision_config": {"hidden_size": width, "intermediate_size": 4 * width, "num_attention_heads": heads,
                                     "num_hidden_layers": layers, "patch_size": patch, "image_size": image,
                                     "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}}, f)
    return t


def clip_cfg(spec, **extra):
    sets = [f"backbone_weights={json.dumps(spec)}", "backbone=\"clip_vit\"", "resolution=32", "stages=[2,3,4]",
            "vit_blocks=[1,1,2,3]", "token_grid=4", "d_model=16", "heads=2", "normalization=\"clip\""]
    return load_config("tiny", sets + [f"{k}={json.dumps(v)}" for k, v in extra.items()])


def test_clip_folder_loads_and_runs_as_the_hf_tower(tmp_path):
    t = write_clip(str(tmp_path / "proj" / "models" / "tinyclip"))
    cfg = clip_cfg("clip:models/tinyclip")
    dirs = [str(tmp_path / "proj"), str(tmp_path / "elsewhere")]
    resolved = pretrained.resolve(cfg, dirs)
    assert resolved.path == str(tmp_path / "proj" / "models" / "tinyclip")
    cfg["clip_vision"] = pretrained.clip_vision_config(resolved.path)
    torch.manual_seed(0)
    model = build(cfg)
    record = pretrained.load_pretrained(model, cfg, resolved)
    bb = model.backbone
    assert record["layout"] == "clip" and len(bb.encoder.layers) == 3
    assert torch.equal(bb.encoder.layers[2].mlp.fc2.weight, t["vision_model.encoder.layers.2.mlp.fc2.weight"])
    # the forward by hand, as transformers' CLIPVisionTransformer computes it (no resize at 32 px)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        maps = bb(x)
        h = torch.nn.functional.conv2d(x, t["vision_model.embeddings.patch_embedding.weight"], stride=8).flatten(2).transpose(1, 2)
        h = torch.cat([t["vision_model.embeddings.class_embedding"].expand(2, 1, -1), h], 1)
        h = h + t["vision_model.embeddings.position_embedding.weight"]
        ln = lambda z, n: torch.nn.functional.layer_norm(z, (32,), t[n + ".weight"], t[n + ".bias"], 1e-5)  # noqa: E731
        h = ln(h, "vision_model.pre_layrnorm")
        outs = []
        for i in range(3):
            p = f"vision_model.encoder.layers.{i}."
            y = ln(h, p + "layer_norm1")
            q, k, v = (torch.nn.functional.linear(y, t[p + f"self_attn.{n}.weight"], t[p + f"self_attn.{n}.bias"])
                       .view(2, 17, 2, 16).transpose(1, 2) for n in ("q_proj", "k_proj", "v_proj"))
            a = ((q * 16 ** -0.5) @ k.transpose(-1, -2)).softmax(-1) @ v
            h = h + torch.nn.functional.linear(a.transpose(1, 2).reshape(2, 17, 32), t[p + "self_attn.out_proj.weight"],
                                               t[p + "self_attn.out_proj.bias"])
            y = torch.nn.functional.linear(ln(h, p + "layer_norm2"), t[p + "mlp.fc1.weight"], t[p + "mlp.fc1.bias"])
            h = h + torch.nn.functional.linear(y * torch.sigmoid(1.702 * y), t[p + "mlp.fc2.weight"], t[p + "mlp.fc2.bias"])
            outs.append(h[:, 1:].transpose(1, 2).reshape(2, 32, 4, 4))
    assert len(maps) == 3
    for got, want in zip(maps, outs):
        assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_clip_errors_name_the_problem(tmp_path, monkeypatch):
    folder = str(tmp_path / "clip")
    t = write_clip(folder)
    with pytest.raises(ConfigError, match="needs backbone \"clip_vit\""):
        load_config("rn50", [f"backbone_weights=clip:{folder}"])
    t["vision_model.encoder.layers.1.self_attn.k_proj.weight"] = torch.zeros(32, 31)
    write_safetensors(os.path.join(folder, "model.safetensors"), {k: v.numpy() for k, v in t.items()})
    cfg = clip_cfg(f"clip:{folder}")
    cfg["clip_vision"] = pretrained.clip_vision_config(folder)
    with pytest.raises(ConfigError, match=r"'vision_model\.encoder\.layers\.1\.self_attn\.k_proj\.weight' has shape \(32, 31\)"):
        pretrained.load_pretrained(build(cfg), cfg, pretrained.resolve(cfg, ["/"]))
    monkeypatch.delenv("PSCL_DEMO_CLIP", raising=False)
    with pytest.raises(ConfigError, match="PSCL_DEMO_CLIP"):
        pretrained.resolve(clip_cfg("clip:demo"), ["/"])
    monkeypatch.setenv("PSCL_DEMO_CLIP", folder)
    assert pretrained.resolve(clip_cfg("clip:demo"), ["/"]).path == folder
    monkeypatch.setenv("PSCL_MODEL_CACHE", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ConfigError, match=r"npx pscl model fetch openai/clip-vit-base-patch16"):
        pretrained.resolve(clip_cfg("clip:openai/clip-vit-base-patch16"), ["/"])
    write_clip(str(tmp_path / "models" / "openai--clip-vit-base-patch16" / "main"))
    assert pretrained.resolve(clip_cfg("clip:openai/clip-vit-base-patch16"), ["/"]).path.endswith("openai--clip-vit-base-patch16/main")


def test_vit_blocks_beyond_the_clip_depth_are_named(tmp_path):
    folder = str(tmp_path / "clip")
    write_clip(folder, layers=2)
    cfg = clip_cfg(f"clip:{folder}")
    cfg["clip_vision"] = pretrained.clip_vision_config(folder)
    with pytest.raises(ConfigError, match="beyond the 2 layers"):
        build(cfg)


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_imagenet_weights_from_the_hub_cache_download_and_offline_error(tmp_path, monkeypatch, resnet_state):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cfg = load_config("rn50", ["resolution=64"])
    assert cfg["backbone_weights"] == "imagenet"
    resolved = pretrained.resolve(cfg, ["/"])
    want = str(tmp_path / "torch" / "hub" / "checkpoints" / os.path.basename(pretrained.imagenet_url("resnet50")))
    assert resolved.kind == "imagenet" and resolved.path is None and resolved.weights_file == want

    # offline: the error names the file to place and the command that makes it
    def offline(*a, **k):
        raise pretrained.urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(pretrained.urllib.request, "urlopen", offline)
    with pytest.raises(ConfigError) as e:
        load(cfg)
    msg = str(e.value)
    assert f"place the file at {want}" in msg and f"curl -L --create-dirs -o {want} {pretrained.imagenet_url('resnet50')}" in msg
    monkeypatch.undo()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    # online (a loopback server stands in for download.pytorch.org): downloaded, hash checked, loaded
    served = tmp_path / "served"
    served.mkdir()
    body = tmp_path / "body.pth"
    torch.save(resnet_state, body)
    digest = pretrained.sha256_file(str(body))
    os.replace(body, served / f"resnet50-{digest[:8]}.pth")
    handler = lambda *a, **k: _Files(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/resnet50-{digest[:8]}.pth"
        monkeypatch.setattr(pretrained, "imagenet_url", lambda backbone: url)
        model, record = load(cfg)
    finally:
        server.shutdown()
    cached = tmp_path / "torch" / "hub" / "checkpoints" / f"resnet50-{digest[:8]}.pth"
    assert cached.exists() and record["sha256"] == digest and record["source"] == "imagenet"
    assert torch.equal(model.backbone.layers[1][0].conv1.weight, resnet_state["layer2.0.conv1.weight"])
    # a damaged download is refused and leaves nothing behind
    cached.unlink()
    monkeypatch.setattr(pretrained, "imagenet_url", lambda backbone: url.replace(digest[:8], "00000000"))
    os.replace(served / f"resnet50-{digest[:8]}.pth", served / "resnet50-00000000.pth")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(pretrained, "imagenet_url",
                            lambda backbone: f"http://127.0.0.1:{server.server_address[1]}/resnet50-00000000.pth")
        with pytest.raises(ConfigError, match="damaged"):
            load(cfg)
    finally:
        server.shutdown()
    assert not list((tmp_path / "torch" / "hub" / "checkpoints").iterdir())


def test_tiny_backbones_and_missing_files_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="has no pretrained weights"):
        load_config("tiny", ["backbone_weights=imagenet"])
    with pytest.raises(ConfigError, match="must be \"imagenet\""):
        load_config("rn50", ["backbone_weights=null"])
    cfg = load_config("rn50", ["backbone_weights=weights/rn50.pth"])
    with pytest.raises(ConfigError, match=f"does not exist \\(looked in {tmp_path}"):
        pretrained.resolve(cfg, [str(tmp_path)])


def test_run_records_the_weights_and_resume_and_eval_do_not_need_them(tiny_cache, tmp_path):
    """A relative clip: folder next to the project; the run keeps a copy and the hash; deleting the
    folder does not stop --resume or eval."""
    project_dir = os.path.dirname(json.load(open(os.path.join(tiny_cache, "manifest.json")))["project"])
    folder = os.path.join(project_dir, "weights", "tinyclip")
    write_clip(folder)
    run = str(tmp_path / "clip-run")
    sets = ["backbone=\"clip_vit\"", "backbone_weights=\"clip:weights/tinyclip\"", "stages=[2,3,4]", "vit_blocks=[1,1,2,3]",
            "normalization=\"clip\"", "epochs=1"]
    args = ["train", "--cache", tiny_cache, "--run", run, "--config", "tiny"]
    for s in sets:
        args += ["--set", s]
    _, events, _ = run_cli(*args)
    start = events[0]
    digest = pretrained.sha256_file(os.path.join(folder, "model.safetensors"))
    assert start["pretrained"] == {**start["pretrained"], "source": "clip:weights/tinyclip", "pretrained": True,
                                   "layout": "clip", "sha256": digest, "kept": "pretrained/model.safetensors"}
    assert start["config"]["clip_vision"]["num_hidden_layers"] == 3
    with open(os.path.join(run, "config.json")) as f:
        assert json.load(f)["pretrained"]["sha256"] == digest
    assert pretrained.sha256_file(os.path.join(run, "pretrained", "model.safetensors")) == digest
    assert os.path.exists(os.path.join(run, "pretrained", "config.json"))
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    os.rmdir(folder)
    _, resumed, _ = run_cli("train", "--run", run, "--resume", "--set", "epochs=2")
    assert resumed[-1]["status"] == "finished" and resumed[0]["pretrained"]["sha256"] == digest
    _, ev, _ = run_cli("eval", "--run", run)
    assert ev[0]["type"] == "eval"


def test_from_scratch_is_said(tiny_cache, tmp_path):
    _, events, stderr = run_cli("train", "--cache", tiny_cache, "--run", str(tmp_path / "scratch"), "--config", "tiny",
                                "--set", "epochs=1")
    assert events[0]["pretrained"] == {"source": "none", "pretrained": False}
    assert "trains from scratch" in stderr
