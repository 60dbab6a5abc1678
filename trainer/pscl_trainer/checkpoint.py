"""Checkpoints: safetensors for every tensor (weights, optimiser moments, RNG states) and JSON for
the rest. Nothing is pickled, so loading a checkpoint never runs code.

checkpoints/
  <name>.safetensors        model weights (state dict of the unwrapped model)
  <name>.state.safetensors  optimiser state tensors (`opt.<param>.<key>`), RNG states (`rng.*`)
  <name>.json               epoch, step, batch_in_epoch, optimiser param groups and scalars,
                            grad-scaler state, python/numpy RNG scalars, running epoch sums
  last.json                 {"checkpoint": "<name>.json"}; written last, so it names a complete one
"""
import os
import random

import numpy as np
import torch

from .errors import DataError
from .fsutil import read_json, write_json_atomic
from .safetensors_io import load_file, save_file


def _rng_state():
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(keys.astype(np.int64))
    version, internal, gauss = random.getstate()
    meta = {"numpy": {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
            "python": {"version": version, "state": list(internal), "gauss": gauss}}
    return tensors, meta


def _set_rng_state(tensors, meta):
    torch.set_rng_state(tensors["rng.torch"])
    cuda = sorted(k for k in tensors if k.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda][: torch.cuda.device_count()])
    n = meta["numpy"]
    np.random.set_state((n["kind"], tensors["rng.numpy"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = meta["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))


def _split_optimizer(state_dict):
    tensors, scalars = {}, {}
    for pid, entry in state_dict["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"opt.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _join_optimizer(tensors, meta):
    state = {}
    for name, t in tensors.items():
        if name.startswith("opt."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = t
    for pid, entry in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(entry)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(run_dir, name, model, optimizer, scaler, info, keep):
    """Write weights, state and JSON for `name`, then point last.json at it; prune older ones."""
    folder = os.path.join(run_dir, "checkpoints")
    os.makedirs(folder, exist_ok=True)
    save_file(model.state_dict(), os.path.join(folder, name + ".safetensors"), {"format": "pscl-weights"})
    opt_tensors, opt_meta = _split_optimizer(optimizer.state_dict())
    rng_tensors, rng_meta = _rng_state()
    save_file({**opt_tensors, **rng_tensors}, os.path.join(folder, name + ".state.safetensors"))
    record = dict(info, weights=name + ".safetensors", state=name + ".state.safetensors",
                  optimizer=opt_meta, rng=rng_meta, scaler=scaler.state_dict() if scaler is not None else None)
    write_json_atomic(os.path.join(folder, name + ".json"), record)
    write_json_atomic(os.path.join(folder, "last.json"), {"checkpoint": name + ".json"})
    _prune(folder, keep, name)
    return os.path.join("checkpoints", name + ".safetensors")


def _prune(folder, keep, current):
    names = sorted(f[:-5] for f in os.listdir(folder) if f.startswith("epoch-") and f.endswith(".json"))
    for old in [n for n in names if n != current][: max(0, len(names) - keep)]:
        for suffix in (".json", ".safetensors", ".state.safetensors"):
            try:
                os.remove(os.path.join(folder, old + suffix))
            except FileNotFoundError:
                pass


def last_checkpoint(run_dir):
    """The JSON record of the newest complete checkpoint, or None when there is none."""
    pointer = os.path.join(run_dir, "checkpoints", "last.json")
    if not os.path.exists(pointer):
        return None
    name = read_json(pointer, "checkpoint pointer", DataError)["checkpoint"]
    record = read_json(os.path.join(run_dir, "checkpoints", name), "checkpoint", DataError)
    record["_dir"] = os.path.join(run_dir, "checkpoints")
    return record


def load_weights_file(model, path):
    """Load a weights .safetensors into `model`; a missing or misshaped tensor is an error naming it."""
    tensors = load_file(path)
    own = model.state_dict()
    missing = [k for k in own if k not in tensors]
    extra = [k for k in tensors if k not in own]
    if missing or extra:
        raise DataError(f"weights {path} do not fit this model (missing {missing[:3]}, unexpected {extra[:3]}); "
                        f"was it trained with another config?")
    for k, t in tensors.items():
        if tuple(t.shape) != tuple(own[k].shape):
            raise DataError(f"weights {path}: tensor {k!r} has shape {tuple(t.shape)}, the model needs {tuple(own[k].shape)}")
    model.load_state_dict(tensors)


def restore_checkpoint(record, model, optimizer, scaler):
    folder = record["_dir"]
    load_weights_file(model, os.path.join(folder, record["weights"]))
    tensors = load_file(os.path.join(folder, record["state"]))
    optimizer.load_state_dict(_join_optimizer(tensors, record["optimizer"]))
    if scaler is not None and record.get("scaler"):
        scaler.load_state_dict(record["scaler"])
    _set_rng_state(tensors, record["rng"])
