"""The trainer's configuration: one flat dict of named settings.

Resolution order: DEFAULTS <- configs/<name>.json (or a JSON file path) <- `--set key=value`.
A key that DEFAULTS does not have is an error naming the key (and the closest known one).
"""
import difflib
import json
import os

from .errors import ConfigError

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")

DEFAULTS = {
    # backbone
    "backbone": "resnet50",          # resnet50 | vit_b_16 | swin_b | clip_vit | tiny_rn | tiny_vit
    "backbone_weights": "imagenet",  # imagenet | clip:<folder or Hub repo> | a .pth/.safetensors file | none
    "clip_vision": None,             # clip_vit's shape (the CLIP folder's vision_config), filled in at the start
    "tiny_widths": [16, 32, 64, 128],  # tiny_rn: channels of stages 1..4
    "vit_width": 64,                 # tiny_vit
    "vit_depth": 4,
    "vit_heads": 2,
    "vit_patch": 4,
    "vit_blocks": [3, 6, 9, 12],     # ViT blocks (1-based) whose outputs are stages 1..4
    "stages": [1, 2, 3, 4],          # s_min..4: which backbone stages feed PLM/MMBPR
    "resolution": 448,
    "normalization": "imagenet",     # imagenet | clip
    # PSCL heads
    "d_model": 256,                  # token width in ReSAF/MMBPR
    "heads": 8,
    "encoder_depth": 1,              # encoder layers per stage (unshared)
    "mlp_ratio": 2.0,
    "dropout": 0.0,
    "token_grid": 14,                # stage maps larger than this are average-pooled to it
    "num_class_tokens": 3,
    "cls_reduce": "mean",            # mean | concat | logit_mean (how the 3 class tokens give one P)
    "fusion": "resaf",               # resaf | cross | mlp | none (between scales, in PLM)
    "use_plm": True,                 # ablation: False = global branch only
    "mask_closing": 3,               # closing kernel of each part mask (1 = off), as in the preview
    "use_mmbpr": True,               # ablation: False = masked average pooling, no encoders
    "use_vlcl": True,                # ablation: False = linear head instead of text prototypes
    "normalize_visual": True,        # L2-normalise W I before comparing with T
    "tau_init": 10.0,
    "prototype_center": False,       # subtract the mean prototype before use (clustered text embeddings)
    "vlcl_levels": False,            # VLCL-MG also against each intermediate level's prototypes (training only)
    "level_weights": [0.5],          # loss weight per intermediate level, coarse to fine (the last repeats)
    "beta_init": None,               # None: -log(C - 1), i.e. P = 1/C at the start
    # loss
    "gamma": 4.0,
    "epsilon": [0.4, 0.3, 0.2, 0.1],       # smoothing noise of stages 1..4
    "stage_weights": [0.1, 0.2, 0.4, 1.0],  # loss weight of stages 1..4
    "smoothing": "hierarchy",        # hierarchy | uniform | none
    "loss_form": "softmax",          # softmax | sigmoid: how P = sigma(z) is read (docs/loss.md)
    "loss_negative_term": True,      # sigmoid form only: False = the paper's printed positive-only term
    # optimisation
    "epochs": 100,
    "warmup_epochs": 10,
    "batch_size": 16,                # per process
    "grad_accum": 1,
    "lr": 1e-4,
    "min_lr": 0.0,
    "weight_decay": 0.01,
    "backbone_lr_scale": 1.0,        # backbone's learning rate / lr (0 = frozen: a linear probe of the heads)
    "max_steps": None,               # stop early after this many optimiser steps (benchmarks)
    "amp": True,                     # mixed precision on CUDA (ignored on CPU)
    "amp_dtype": "float16",          # float16 | bfloat16
    # data
    "num_workers": 4,
    "crop_scale": [0.35, 1.0],
    "hflip": True,
    "train_split": "train",
    "eval_split": "test",
    # run
    "seed": 0,
    "deterministic": False,
    "log_every": 10,
    "eval_every": 1,                 # epochs between evaluations (0 = only at the end)
    "keep_checkpoints": 2,
    "top_wrong": 20,                 # most confidently wrong images kept in eval.json
}

_CHOICES = {
    "backbone": ["resnet50", "vit_b_16", "swin_b", "clip_vit", "tiny_rn", "tiny_vit"],
    "normalization": ["imagenet", "clip"],
    "cls_reduce": ["mean", "concat", "logit_mean"],
    "fusion": ["resaf", "cross", "mlp", "none"],
    "smoothing": ["hierarchy", "uniform", "none"],
    "loss_form": ["softmax", "sigmoid"],
    "amp_dtype": ["float16", "bfloat16"],
}


def config_names():
    return sorted(f[:-5] for f in os.listdir(CONFIG_DIR) if f.endswith(".json"))


def _read_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror}") from None
    except ValueError as e:
        raise ConfigError(f"{what} {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} must hold a JSON object")
    return data


def _unknown(key, where):
    near = difflib.get_close_matches(key, DEFAULTS.keys(), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return ConfigError(f"unknown config key {key!r} in {where}{hint}; known keys: {', '.join(sorted(DEFAULTS))}")


def _check_value(key, value, where):
    default = DEFAULTS[key]
    if value is None or default is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"config key {key!r} in {where} must be {type(default).__name__}, got {value!r}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"config key {key!r} in {where} must be one of {_CHOICES[key]}, got {value!r}")
    return value


def merge(cfg, overrides, where):
    for key, value in overrides.items():
        if key not in DEFAULTS:
            raise _unknown(key, where)
        cfg[key] = _check_value(key, value, where)
    return cfg


def parse_set(item):
    """`key=value` with value parsed as JSON when it is JSON, else kept as a string."""
    if "=" not in item:
        raise ConfigError(f"--set expects key=value, got {item!r}")
    key, raw = item.split("=", 1)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def load_config(name_or_path="rn50", sets=()):
    """Resolve a config by name (configs/<name>.json) or path, then apply `--set` items."""
    cfg = dict(DEFAULTS)
    if name_or_path:
        path = name_or_path if os.path.sep in name_or_path or name_or_path.endswith(".json") \
            else os.path.join(CONFIG_DIR, name_or_path + ".json")
        if not os.path.exists(path):
            raise ConfigError(f"no config {name_or_path!r}: give a file path or one of {config_names()}")
        merge(cfg, _read_json(path, "config"), path)
    for item in sets:
        key, value = parse_set(item)
        merge(cfg, {key: value}, f"--set {item}")
    validate(cfg)
    return cfg


# What a key meant before it existed: a stored config without it was trained that way.
LEGACY = {"loss_form": "sigmoid", "backbone_weights": "none", "vlcl_levels": False}


def from_dict(data, where):
    """A config stored in a run folder or checkpoint (unknown keys are still errors; keys it lacks
    take their LEGACY value, else the default)."""
    cfg = dict(DEFAULTS)
    cfg.update({k: v for k, v in LEGACY.items() if k not in data})
    merge(cfg, data, where)
    if cfg["backbone_weights"] is None:  # before "none" had to be said: null meant from scratch
        cfg["backbone_weights"] = "none"
    return validate(cfg)


def validate(cfg):
    stages = cfg["stages"]
    if not stages or sorted(set(stages)) != stages or stages[-1] != 4 or stages[0] < 1:
        raise ConfigError(f"config key 'stages' must be an increasing run ending at 4 (s_min..4), got {stages}")
    for key in ("epsilon", "stage_weights"):
        if len(cfg[key]) != 4:
            raise ConfigError(f"config key {key!r} needs one value per stage 1..4, got {cfg[key]}")
    if cfg["d_model"] % cfg["heads"]:
        raise ConfigError(f"config key 'd_model' ({cfg['d_model']}) must be divisible by 'heads' ({cfg['heads']})")
    if cfg["batch_size"] < 1 or cfg["grad_accum"] < 1 or cfg["epochs"] < 1:
        raise ConfigError("config keys 'batch_size', 'grad_accum' and 'epochs' must be >= 1")
    if cfg["backbone_lr_scale"] < 0:
        raise ConfigError(f"config key 'backbone_lr_scale' must be >= 0 (0 = frozen backbone), got {cfg['backbone_lr_scale']}")
    if cfg["mask_closing"] < 1 or cfg["mask_closing"] % 2 == 0:
        raise ConfigError(f"config key 'mask_closing' must be an odd kernel size >= 1 (1 = off), got {cfg['mask_closing']}")
    if cfg["vlcl_levels"] and not cfg["use_vlcl"]:
        raise ConfigError("config key 'vlcl_levels' needs use_vlcl (the level heads share its projection W)")
    if cfg["vlcl_levels"] and (not cfg["level_weights"] or any(w < 0 for w in cfg["level_weights"])):
        raise ConfigError(f"config key 'level_weights' needs one or more weights >= 0, got {cfg['level_weights']}")
    weights = cfg["backbone_weights"]
    if weights is None or not isinstance(weights, str) or not weights.strip():
        raise ConfigError("config key 'backbone_weights' must be \"imagenet\", \"clip:<folder or Hub repo>\", a weights "
                          "file (.pth/.safetensors), or \"none\" to train the backbone from scratch")
    if cfg["backbone"].startswith("tiny") and weights != "none":
        raise ConfigError(f"backbone {cfg['backbone']!r} has no pretrained weights: set backbone_weights to \"none\" "
                          f"(from scratch), or use resnet50, vit_b_16, swin_b or clip_vit")
    if cfg["backbone"] == "clip_vit" and weights != "none" and not weights.startswith("clip:"):
        raise ConfigError(f"backbone 'clip_vit' loads a CLIP vision tower: set backbone_weights to \"clip:<folder or Hub "
                          f"repo>\" (got {weights!r})")
    if weights.startswith("clip:") and cfg["backbone"] != "clip_vit":
        raise ConfigError(f"backbone_weights {weights!r} is a CLIP vision tower, which needs backbone \"clip_vit\" "
                          f"(it does not fit torchvision's {cfg['backbone']}: pre-LayerNorm, quick-GELU, no patch bias)")
    if cfg["backbone"] in ("vit_b_16", "tiny_vit", "clip_vit"):
        if len(cfg["vit_blocks"]) != 4:
            raise ConfigError("config key 'vit_blocks' needs 4 block numbers (stages 1..4)")
        taps = [cfg["vit_blocks"][s - 1] for s in stages]
        if any(b <= a for a, b in zip(taps, taps[1:])) or taps[0] < 1:
            raise ConfigError(f"config key 'vit_blocks' must give the stages {stages} increasing block numbers from 1, "
                              f"got {taps}")
    return cfg
