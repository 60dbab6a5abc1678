"""The run folder's config.json and rebuilding a trained model from it."""
import os

import torch

from .config import from_dict
from .errors import ConfigError, DataError
from .fsutil import read_json, write_json_atomic
from .model import PSCLModel
from .checkpoint import last_checkpoint, load_weights_file


def write_run_config(run_dir, cfg, cache_dir, manifest, prototypes, pretrained=None, levels=None):
    # the cache relative to the run folder: a workspace (run and cache) moved, or mounted elsewhere on
    # another machine of a cluster, still resumes and evaluates (docs/cluster.md)
    write_json_atomic(os.path.join(run_dir, "config.json"), {
        "format": "pscl-run", "version": 1, "config": cfg, "cache": _relative(cache_dir, run_dir),
        "levels": manifest.levels, "classes": manifest.class_paths(),
        "num_classes": manifest.num_classes, "num_part_slots": manifest.num_part_slots,
        "prototype_dim": int(prototypes.shape[1]) if prototypes is not None else None,
        "pretrained": pretrained,  # what backbone_weights loaded: source, path, layout, sha256, kept copy
        "level_prototypes": [[name, int(t.shape[0]), int(t.shape[1])] for name, t, _ in levels] if levels else None,
    })


def _relative(path, start):
    try:
        return os.path.relpath(os.path.abspath(path), os.path.abspath(start)).replace(os.sep, "/")
    except ValueError:  # another drive (Windows): only an absolute path can name it
        return os.path.abspath(path)


def read_run_config(run_dir):
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise ConfigError(f"{run_dir} is not a run folder ({path} is missing); start a run with `train` first")
    run = read_json(path, "run config", ConfigError)
    run["config"] = from_dict(run["config"], path)
    if isinstance(run.get("cache"), str):  # relative to the run folder (older runs: absolute)
        run["cache"] = os.path.normpath(os.path.join(os.path.abspath(run_dir), run["cache"]))
    return run


def build_model(cfg, num_classes, num_part_slots, prototypes, levels=None):
    """`levels`: [(level, T_l, class values)] for the intermediate-level heads (vlcl_levels)."""
    level_protos = [t for _, t, _ in levels] if levels and cfg["use_vlcl"] and cfg["vlcl_levels"] else None
    return PSCLModel(cfg, num_classes, num_part_slots, prototypes if cfg["use_vlcl"] else None, level_protos)


def model_from_run(run_dir, checkpoint=None):
    """(model on CPU in eval mode, run config, weights path) from a run folder's checkpoint."""
    run = read_run_config(run_dir)
    cfg = run["config"]
    protos = torch.zeros(run["num_classes"], run["prototype_dim"]) if run.get("prototype_dim") else None
    levels = [(name, torch.zeros(n, dim), None) for name, n, dim in run.get("level_prototypes") or []]
    model = build_model(cfg, run["num_classes"], run["num_part_slots"], protos, levels)
    if checkpoint is None:
        record = last_checkpoint(run_dir)
        if record is None:
            raise DataError(f"{run_dir} has no checkpoint yet (checkpoints/last.json); train at least one epoch")
        checkpoint = os.path.join(record["_dir"], record["weights"])
    elif not os.path.isabs(checkpoint) and not os.path.exists(checkpoint):
        checkpoint = os.path.join(run_dir, checkpoint)
    load_weights_file(model, checkpoint)
    return model.eval(), run, checkpoint
