"""Device choice, determinism, threads and mixed precision, the same for torch 1.13 and 2.x."""
import contextlib
import os

import torch

from .errors import CudaUnavailable


def resolve_device(requested, local_rank=0):
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, but no usable GPU"
        raise CudaUnavailable(f"CUDA was requested but this PyTorch ({torch.__version__}, {build}) cannot use it: "
                              f"run with --device cpu, or install a CUDA build of PyTorch matching your driver")
    return torch.device("cuda", local_rank)


def set_threads(world):
    n = int(os.environ.get("PSCL_TRAINER_THREADS", "0")) or max(1, min(2, (os.cpu_count() or 1) // world))
    torch.set_num_threads(n)


def seed_everything(seed, deterministic):
    import random

    import numpy as np
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick the fastest kernels


def autocast(device, cfg):
    """Mixed precision on CUDA when `amp` is on; a no-op context elsewhere."""
    if device.type != "cuda" or not cfg["amp"]:
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if cfg["amp_dtype"] == "bfloat16" else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def grad_scaler(device, cfg):
    """A GradScaler for float16 AMP on CUDA, else None."""
    if device.type != "cuda" or not cfg["amp"] or cfg["amp_dtype"] != "float16":
        return None
    amp = getattr(torch, "amp", None)
    if amp is not None and hasattr(amp, "GradScaler"):
        try:
            return amp.GradScaler("cuda")
        except TypeError:
            pass
    return torch.cuda.amp.GradScaler()


def is_out_of_memory(err):
    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(err, oom):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)
