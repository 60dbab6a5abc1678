"""Pretrained backbone weights: what `backbone_weights` names, where the file is, how its keys map
onto the backbone, and what the run records about it.

  "imagenet"          torchvision's default weights of the backbone, from the torch hub cache
                      (<hub>/checkpoints/<file>); downloaded there with progress when missing and
                      online; offline, the error names the file and the command that fetches it
  "clip:<x>"          a CLIP vision tower (backbone clip_vit) from a Hugging Face CLIP folder
                      (config.json + model.safetensors, what src/core/clip reads): <x> is a folder,
                      a Hub repo id already in PSCL Studio's model cache (`pscl model fetch`) or the
                      Hugging Face cache, or `demo` (the folder the CLI/extension pass in
                      PSCL_DEMO_CLIP)
  a .pth/.pt/.bin/.safetensors file
                      a state dict in torchvision's layout, timm's, or transformers' (ResNet-50 and
                      ViT-B/16, through the key maps below; Swin-B: torchvision only); a relative
                      path is looked up in the project's folder, then the current directory
  "none"              from scratch (only when asked for; the start event and the logs warn)

Weights are read once, when a run starts; the run's config.json records the source, the resolved
path, the layout and the SHA-256, and the file is hard-linked (or, when small, copied) into
<run>/pretrained/. Resume, eval and export restore every tensor from the run's checkpoints and
never read the original file.
"""
import hashlib
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request

import torch
import torch.nn.functional as F

from .errors import ConfigError
from .events import log
from .safetensors_io import load_file

COPY_LIMIT = 64 * 1024 * 1024  # files up to this size are copied when a hard link is not possible
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt")
TORCHVISION_NAMES = {"resnet50": "resnet50", "vit_b_16": "vit_b_16", "swin_b": "swin_b"}
# tensors of a file the backbone does not use (classifier heads, final norms, CLIP's text tower)
_UNUSED = {"resnet50": r"fc\.", "vit_b_16": r"heads\.|encoder\.ln\.", "swin_b": r"head\.|norm\.",
           "clip_vit": r"(?!vision_model\.)|vision_model\.(post_layernorm\.|embeddings\.position_ids)"}


class Resolved:
    """A resolved `backbone_weights`: kind (none | imagenet | clip | file), path (file or folder),
    the weights file to read and hash, and a description for logs and errors."""

    def __init__(self, spec, kind, path=None, weights_file=None, url=None):
        self.spec, self.kind, self.path, self.weights_file, self.url = spec, kind, path, weights_file, url

    def describe(self):
        return f"{self.spec} ({self.weights_file})" if self.weights_file and self.spec != self.weights_file else self.spec


# -- where the weights are ------------------------------------------------------------------------


def search_dirs(project_file=None, config_file=None):
    """Folders a relative path is looked up in: the project's, the config file's, the user's
    current directory (PSCL_CWD when a launcher runs the trainer elsewhere), the process's."""
    dirs = []
    for d in (os.path.dirname(project_file) if project_file else None,
              os.path.dirname(os.path.abspath(config_file)) if config_file else None,
              os.environ.get("PSCL_CWD"), os.getcwd()):
        if d and d not in dirs:
            dirs.append(d)
    return dirs


def _find_path(text, dirs):
    p = os.path.expanduser(text)
    if os.path.isabs(p):
        return p if os.path.exists(p) else None
    for d in dirs:
        if os.path.exists(os.path.join(d, p)):
            return os.path.abspath(os.path.join(d, p))
    return None


def hub_checkpoint_dir():
    return os.path.join(torch.hub.get_dir(), "checkpoints")


def imagenet_url(backbone):
    """torchvision's default (best) ImageNet weights of a backbone: the URL its weights enum holds."""
    name = TORCHVISION_NAMES.get(backbone)
    if name is None:
        raise ConfigError(f"backbone {backbone!r} has no ImageNet weights in torchvision; "
                          f"use backbone_weights \"none\" or a weights file")
    try:
        from torchvision.models import get_model_weights
        return get_model_weights(name).DEFAULT.url
    except (ImportError, AttributeError, ValueError):  # torchvision < 0.14: the enums, by name
        import torchvision.models as tvm
        enum = {"resnet50": "ResNet50_Weights", "vit_b_16": "ViT_B_16_Weights", "swin_b": "Swin_B_Weights"}[name]
        if not hasattr(tvm, enum):
            raise ConfigError(f"this torchvision ({getattr(__import__('torchvision'), '__version__', '?')}) lists no "
                              f"weights for {name}; give backbone_weights a file, or upgrade torchvision") from None
        return getattr(tvm, enum).DEFAULT.url


def model_cache_dirs():
    """Where `pscl model fetch` keeps CLIP folders (src/core/util/cacheDir.ts), then the HF cache."""
    env = os.environ
    pscl = env.get("PSCL_MODEL_CACHE") or os.path.join(
        env.get("PSCL_CACHE_DIR") or os.path.join(env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pscl-studio"),
        "models")
    hf = env.get("HF_HUB_CACHE") or os.path.join(env.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface"), "hub")
    return pscl, hf


def _clip_repo_folder(repo):
    """A Hub repo's folder in PSCL Studio's model cache (<cache>/<owner>--<name>/main) or the
    Hugging Face cache (models--<owner>--<name>/snapshots/<refs/main>); None when in neither."""
    pscl, hf = model_cache_dirs()
    candidates = [os.path.join(pscl, repo.replace("/", "--"), "main")]
    hub = os.path.join(hf, "models--" + repo.replace("/", "--"))
    ref = os.path.join(hub, "refs", "main")
    if os.path.exists(ref):
        with open(ref, encoding="utf-8") as f:
            candidates.append(os.path.join(hub, "snapshots", f.read().strip()))
    for c in candidates:
        if os.path.exists(os.path.join(c, "config.json")) and os.path.exists(os.path.join(c, "model.safetensors")):
            return c
    return None


def resolve(cfg, dirs):
    """`backbone_weights` -> Resolved; an error names what is missing and how to get it. The
    ImageNet file may still be missing (kind imagenet, path None): `fetch` downloads it."""
    spec = cfg["backbone_weights"]
    if spec == "none":
        return Resolved(spec, "none")
    if spec == "imagenet":
        url = imagenet_url(cfg["backbone"])
        path = os.path.join(hub_checkpoint_dir(), os.path.basename(url))
        return Resolved(spec, "imagenet", path if os.path.exists(path) else None, path, url)
    if spec.startswith("clip:"):
        target = spec[5:].strip()
        if target == "demo":
            folder = os.environ.get("PSCL_DEMO_CLIP")
            if not folder:
                raise ConfigError("backbone_weights \"clip:demo\" is PSCL Studio's demo CLIP; the pscl CLI and the "
                                  "extension pass its folder in PSCL_DEMO_CLIP. Start the run through them, or give "
                                  "clip:<folder> (a Hugging Face CLIP folder with config.json and model.safetensors)")
        else:
            folder = _find_path(target, dirs)
            if folder is None and re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", target):
                folder = _clip_repo_folder(target)
                if folder is None:
                    pscl, hf = model_cache_dirs()
                    raise ConfigError(
                        f"backbone_weights {spec!r}: the Hub repo {target} is not in the model cache ({pscl} or {hf}). "
                        f"Fetch it once with `npx pscl model fetch {target}` (online), or on a machine with internet "
                        f"run `npx pscl model fetch {target} --cache DIR` and copy DIR/{target.replace('/', '--')}/main "
                        f"to {os.path.join(pscl, target.replace('/', '--'), 'main')}")
            elif folder is None:
                raise ConfigError(f"backbone_weights {spec!r}: no folder {target!r} (looked in {', '.join(dirs)})")
        for f in ("config.json", "model.safetensors"):
            if not os.path.exists(os.path.join(folder, f)):
                raise ConfigError(f"backbone_weights {spec!r}: {folder} has no {f}; a CLIP folder holds config.json "
                                  f"and model.safetensors (pytorch_model.bin is not read: convert it to safetensors)")
        return Resolved(spec, "clip", folder, os.path.join(folder, "model.safetensors"))
    path = _find_path(spec, dirs)
    if path is None:
        raise ConfigError(f"backbone_weights file {spec!r} does not exist (looked in {', '.join(dirs)}); give a path "
                          f"to a .pth/.safetensors file, \"imagenet\", \"clip:<folder or repo>\" or \"none\"")
    if os.path.isdir(path):
        raise ConfigError(f"backbone_weights {path} is a folder; for a CLIP folder write \"clip:{spec}\"")
    return Resolved(spec, "file", path, path)


def clip_vision_config(folder):
    """The vision tower's shape from a Hugging Face CLIP config.json (transformers' defaults)."""
    path = os.path.join(folder, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read the CLIP config {path}: {e}") from None
    v = raw.get("vision_config") or raw.get("vision_config_dict")
    if not isinstance(v, dict):
        raise ConfigError(f"{path} has no vision_config: is it a Hugging Face CLIPModel config?")
    out = {"hidden_size": v.get("hidden_size", 768), "intermediate_size": v.get("intermediate_size", 3072),
           "num_attention_heads": v.get("num_attention_heads", 12), "num_hidden_layers": v.get("num_hidden_layers", 12),
           "patch_size": v.get("patch_size", 32), "image_size": v.get("image_size", 224),
           "hidden_act": v.get("hidden_act", "quick_gelu"), "layer_norm_eps": float(v.get("layer_norm_eps", 1e-5))}
    if out["hidden_act"] not in ("quick_gelu", "gelu"):
        raise ConfigError(f"{path}: vision_config.hidden_act {out['hidden_act']!r} is not supported (quick_gelu or gelu)")
    return out


def download_hint(resolved):
    path, url = resolved.weights_file, resolved.url
    return (f"place the file at {path}; on a machine with internet it is made by "
            f"`curl -L --create-dirs -o {path} {url}` (copy it here to the same path)")


def fetch(resolved, timeout=30):
    """Downloads the ImageNet file into the torch hub cache (progress on stderr, the SHA-256 prefix
    in torchvision's file name checked, written atomically); errors say where to put it by hand."""
    if resolved.kind != "imagenet" or resolved.path:
        return resolved
    dest, url = resolved.weights_file, resolved.url
    if os.path.exists(dest):  # fetched meanwhile (by rank 0 of a multi-process run)
        return Resolved(resolved.spec, "imagenet", dest, dest, url)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = f"{dest}.part-{os.getpid()}"
    prefix = re.search(r"-([0-9a-f]{8,})\.", os.path.basename(dest))
    log(f"downloading ImageNet weights {url} -> {dest}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as out:
            total = int(r.headers.get("Content-Length") or 0)
            done, last, digest = 0, 0.0, hashlib.sha256()
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if time.time() - last > 2 or done == total:
                    last = time.time()
                    pct = f"{100 * done / total:.0f}% of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
                    log(f"downloading {os.path.basename(dest)}: {pct}")
        if prefix and not digest.hexdigest().startswith(prefix.group(1)):
            raise ConfigError(f"the download of {url} is damaged (SHA-256 {digest.hexdigest()[:12]}..., its name says "
                              f"{prefix.group(1)}); try again, or {download_hint(resolved)}")
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
        raise ConfigError(f"backbone_weights \"imagenet\": {os.path.basename(dest)} is not in the torch hub cache and "
                          f"cannot be downloaded ({reason}). To use it offline, {download_hint(resolved)}. Or set "
                          f"backbone_weights to a local file, or to \"none\" to train from scratch") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return Resolved(resolved.spec, "imagenet", dest, dest, url)


# -- reading and key maps ---------------------------------------------------------------------------


def read_state(path):
    """Every tensor of a weights file: safetensors, or a torch state dict read with weights_only
    (nothing is unpickled beyond tensors); a wrapping {"state_dict"/"model": ...} is opened."""
    if path.endswith(".safetensors"):
        return load_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling refusal or corruption
        raise ConfigError(f"cannot read backbone_weights {path} as a plain state dict ({e}); give a .safetensors "
                          f"file or a torch.save(state_dict) file") from None
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ConfigError(f"backbone_weights {path} holds a {type(state).__name__}, not a state dict")
    return {k: v for k, v in state.items() if torch.is_tensor(v)}


def _strip_prefix(state, prefixes=("module.", "model.", "backbone.", "encoder.module.")):
    for p in prefixes:
        if state and all(k.startswith(p) for k in state):
            return {k[len(p):]: v for k, v in state.items()}
    return state


def detect_layout(state):
    keys = set(state)
    if any(k.startswith("vision_model.") for k in keys):
        return "clip"
    if "vit.embeddings.patch_embeddings.projection.weight" in keys or "embeddings.patch_embeddings.projection.weight" in keys:
        return "hf_vit"
    if "patch_embed.proj.weight" in keys and any(k.startswith("blocks.") for k in keys):
        return "timm_vit"
    if any(k.startswith(("resnet.embedder.", "embedder.embedder.")) for k in keys):
        return "hf_resnet"
    return "torchvision"  # (timm's ResNet-50 uses torchvision's names)


def _hf_vit(state):
    """transformers' ViTModel keys -> torchvision's vit_b_16 (q, k, v joined into in_proj)."""
    s = {k[4:] if k.startswith("vit.") else k: v for k, v in state.items()}
    out = {"class_token": s.pop("embeddings.cls_token"), "encoder.pos_embedding": s.pop("embeddings.position_embeddings"),
           "conv_proj.weight": s.pop("embeddings.patch_embeddings.projection.weight"),
           "conv_proj.bias": s.pop("embeddings.patch_embeddings.projection.bias")}
    layers = sorted({int(m.group(1)) for k in s for m in [re.match(r"encoder\.layer\.(\d+)\.", k)] if m})
    for i in layers:
        a, b = f"encoder.layer.{i}.", f"encoder.layers.encoder_layer_{i}."
        for kind in ("weight", "bias"):
            out[b + f"self_attention.in_proj_{kind}"] = torch.cat(
                [s.pop(a + f"attention.attention.{n}.{kind}") for n in ("query", "key", "value")])
            out[b + f"self_attention.out_proj.{kind}"] = s.pop(a + f"attention.output.dense.{kind}")
            out[b + f"ln_1.{kind}"] = s.pop(a + f"layernorm_before.{kind}")
            out[b + f"ln_2.{kind}"] = s.pop(a + f"layernorm_after.{kind}")
            out[b + f"mlp.0.{kind}"] = s.pop(a + f"intermediate.dense.{kind}")
            out[b + f"mlp.3.{kind}"] = s.pop(a + f"output.dense.{kind}")
    for kind in ("weight", "bias"):
        if f"layernorm.{kind}" in s:
            out[f"encoder.ln.{kind}"] = s.pop(f"layernorm.{kind}")
    return out, [k for k in s if not k.startswith(("pooler.", "classifier."))]


def _timm_vit(state):
    """timm's VisionTransformer keys -> torchvision's vit_b_16 (the same tensors, other names)."""
    out, left = {}, []
    simple = {"cls_token": "class_token", "pos_embed": "encoder.pos_embedding", "patch_embed.proj.weight": "conv_proj.weight",
              "patch_embed.proj.bias": "conv_proj.bias", "norm.weight": "encoder.ln.weight", "norm.bias": "encoder.ln.bias"}
    inner = {"norm1": "ln_1", "attn.qkv.weight": "self_attention.in_proj_weight", "attn.qkv.bias": "self_attention.in_proj_bias",
             "attn.proj": "self_attention.out_proj", "norm2": "ln_2", "mlp.fc1": "mlp.0", "mlp.fc2": "mlp.3"}
    for k, v in state.items():
        m = re.match(r"blocks\.(\d+)\.(.+)$", k)
        if k in simple:
            out[simple[k]] = v
        elif m:
            rest = m.group(2)
            for src, dst in inner.items():
                if rest == src or rest.startswith(src + "."):
                    out[f"encoder.layers.encoder_layer_{m.group(1)}.{dst}{rest[len(src):]}"] = v
                    break
            else:
                left.append(k)
        elif not k.startswith(("head.", "fc_norm.", "pre_logits.")):
            left.append(k)  # e.g. norm_pre (CLIP-style ViTs): not a plain ViT-B/16
    return out, left


def _hf_resnet(state):
    """transformers' ResNetModel keys -> torchvision's resnet50."""
    out, left = {}, []
    for k, v in state.items():
        k2 = k[7:] if k.startswith("resnet.") else k
        m = re.match(r"encoder\.stages\.(\d+)\.layers\.(\d+)\.(.+)$", k2)
        if k2.startswith("embedder.embedder.convolution."):
            out["conv1." + k2.split(".")[-1]] = v
        elif k2.startswith("embedder.embedder.normalization."):
            out["bn1." + k2.split(".")[-1]] = v
        elif m:
            base, rest = f"layer{int(m.group(1)) + 1}.{m.group(2)}.", m.group(3)
            c = re.match(r"layer\.(\d+)\.(convolution|normalization)\.(.+)$", rest)
            sc = re.match(r"shortcut\.(convolution|normalization)\.(.+)$", rest)
            if c:
                n = int(c.group(1)) + 1
                out[base + (f"conv{n}." if c.group(2) == "convolution" else f"bn{n}.") + c.group(3)] = v
            elif sc:
                out[base + ("downsample.0." if sc.group(1) == "convolution" else "downsample.1.") + sc.group(2)] = v
            else:
                left.append(k)
        elif not k.startswith("classifier."):
            left.append(k)
    return out, left


def _torchvision_mlp_names(state):
    """torchvision < 0.13 saved ViT MLPs as mlp.linear_1/linear_2 (its hub files still do)."""
    return {re.sub(r"\.mlp\.linear_([12])\.", lambda m: ".mlp.0." if m.group(1) == "1" else ".mlp.3.", k): v
            for k, v in state.items()}


def to_source_layout(state, backbone, path):
    """A state dict in any supported layout -> (the backbone's source layout, layout name)."""
    state = _strip_prefix(state)
    layout = detect_layout(state)
    maps = {("vit_b_16", "timm_vit"): _timm_vit, ("vit_b_16", "hf_vit"): _hf_vit, ("resnet50", "hf_resnet"): _hf_resnet}
    if layout == "clip" and backbone != "clip_vit":
        raise ConfigError(f"backbone_weights {path} is a CLIP model: use backbone \"clip_vit\" with backbone_weights "
                          f"\"clip:<its folder>\"")
    if backbone == "clip_vit":
        if layout != "clip":
            raise ConfigError(f"backbone_weights {path} is not a CLIP model (no vision_model.* tensors)")
        return state, layout
    if layout == "torchvision":
        return _torchvision_mlp_names(state) if backbone == "vit_b_16" else state, layout
    if (backbone, layout) not in maps:
        raise ConfigError(f"backbone_weights {path} looks like a {layout.replace('_', ' ')} state dict, which does not "
                          f"fit backbone {backbone}; {backbone} reads torchvision"
                          f"{', timm and transformers' if backbone in ('resnet50', 'vit_b_16') else ''} layouts")
    try:
        mapped, left = maps[(backbone, layout)](state)
    except KeyError as e:
        raise ConfigError(f"backbone_weights {path} ({layout.replace('_', ' ')}) lacks tensor {e.args[0]!r}") from None
    if left:
        raise ConfigError(f"backbone_weights {path} ({layout.replace('_', ' ')}) has tensors this {backbone} has no place "
                          f"for, e.g. {left[0]!r} ({len(left)} in all); is it a plain {backbone}?")
    return mapped, layout


def load_into(backbone, state, path, arch):
    """Copies the file's tensors into the backbone by its `source_names`; a missing tensor or one
    of another shape is an error naming it. Position tables of another grid are resized."""
    own = backbone.state_dict()
    missing = [src for k, src in backbone.source_names.items() if src not in state]
    if missing:
        raise ConfigError(f"backbone_weights {path} lacks tensor {missing[0]!r} ({len(missing)} missing); "
                          f"is it a {arch} state dict?")
    used = set(backbone.source_names.values())
    built = len(getattr(getattr(backbone, "encoder", None), "layers", []))
    extra = [k for k in state if k not in used and not re.match(_UNUSED.get(arch, r"$^"), k)
             and not (arch == "clip_vit" and _layer_beyond(k, built))]
    if extra:
        raise ConfigError(f"backbone_weights {path} has tensors a {arch} has no place for, e.g. {extra[0]!r} "
                          f"({len(extra)} in all); is it a {arch} state dict (not a deeper or wider model)?")
    new = {}
    for k, src in backbone.source_names.items():
        t = state[src]
        if tuple(t.shape) != tuple(own[k].shape):
            t = _fit_positions(t, own[k]) if "pos" in k or "position" in k else None
            if t is None:
                raise ConfigError(f"backbone_weights {path}: tensor {src!r} has shape {tuple(state[src].shape)}, "
                                  f"the model needs {tuple(own[k].shape)}")
        new[k] = t.to(own[k].dtype)
    backbone.load_state_dict(new, strict=False)


def _layer_beyond(key, built):
    """A CLIP vision layer after the last tapped block (not built, so not loaded)."""
    m = re.match(r"vision_model\.encoder\.layers\.(\d+)\.", key)
    return m is not None and int(m.group(1)) >= built


def _fit_positions(t, target):
    """A ViT position table ([1,]1+g*g, C) for another grid -> the target's grid, bicubically."""
    squeeze = t.dim() == 2
    t3, want = (t.unsqueeze(0), target.unsqueeze(0)) if squeeze else (t, target)
    if t3.dim() != 3 or t3.shape[-1] != want.shape[-1]:
        return None
    g, h = int(round((t3.shape[1] - 1) ** 0.5)), int(round((want.shape[1] - 1) ** 0.5))
    if g * g != t3.shape[1] - 1 or h * h != want.shape[1] - 1:
        return None
    grid = t3[:, 1:].reshape(1, g, g, -1).permute(0, 3, 1, 2).float()
    grid = F.interpolate(grid, size=(h, h), mode="bicubic", align_corners=False).flatten(2).transpose(1, 2)
    out = torch.cat([t3[:, :1].float(), grid], dim=1)
    return out[0] if squeeze else out


# -- the whole step, and the record ------------------------------------------------------------------


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def load_pretrained(model, cfg, resolved, run_dir=None):
    """Loads the resolved weights into model.backbone; returns the record kept in config.json."""
    if resolved.kind == "none":
        return {"source": "none", "pretrained": False}
    if resolved.kind == "imagenet" and not resolved.path:
        resolved = fetch(resolved)
    path = resolved.weights_file
    state, layout = to_source_layout(read_state(path), cfg["backbone"], path)
    load_into(model.backbone, state, path, cfg["backbone"])
    record = {"source": resolved.spec, "pretrained": True, "path": path, "layout": layout,
              "sha256": sha256_file(path), "bytes": os.path.getsize(path)}
    if run_dir:
        record["kept"] = _keep_copy(run_dir, resolved)
    log(f"backbone weights: {resolved.describe()} ({layout} layout, sha256 {record['sha256'][:12]}...)")
    expected = "clip" if layout == "clip" else "imagenet"
    if cfg["normalization"] != expected:
        log(f"warning: these weights were trained on {expected}-normalised images but normalization is "
            f"{cfg['normalization']!r}; set normalization=\"{expected}\" unless that is meant")
    return record


def _keep_copy(run_dir, resolved):
    """Hard-links the weights (and a CLIP folder's config.json) into <run>/pretrained/, or copies
    them when small; returns the run-relative path, or None when the file is only hashed."""
    folder = os.path.join(run_dir, "pretrained")
    files = [resolved.weights_file] + ([os.path.join(resolved.path, "config.json")] if resolved.kind == "clip" else [])
    kept = None
    for src in files:
        os.makedirs(folder, exist_ok=True)
        dest = os.path.join(folder, os.path.basename(src))
        if os.path.exists(dest):
            os.remove(dest)
        try:
            os.link(src, dest)
        except OSError:
            if os.path.getsize(src) > COPY_LIMIT:
                continue
            shutil.copyfile(src, dest)
        if src == resolved.weights_file:
            kept = os.path.relpath(dest, run_dir)
    return kept
