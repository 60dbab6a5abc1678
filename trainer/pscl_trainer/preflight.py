"""Preflight: will this run fit, and how long will it take? Decided before anything heavy starts.

A one-step probe builds the model (on a separate RNG stream, so the run itself is unchanged) and
runs forward, backward and an AdamW step on random inputs:
  - CPU: at batch 2; the saved activations are counted per sample (autograd's saved-tensor hooks)
    and the process's peak RSS is read, so peak(b) = peak(2) + (b - 2) * activations/sample * 1.25
    (backward's temporaries), plus what the DataLoader workers hold; the step time is scaled
    linearly from batch 2.
  - CUDA: at the configured batch (halved on out-of-memory until it fits), peak allocated memory
    and the time of the second step, measured.
The peak is compared with the memory that is free (MemAvailable and the cgroup limit, or the
GPU's free memory), the time per step with the run's steps (dataset size, epochs) into an ETA.

Verdicts: `ok`; `adjust` (the batch does not fit: the largest that does, with grad_accum keeping
the effective batch; on CPU also fewer DataLoader workers than cores); `fallback` (no GPU, and the
config was nobody's choice (`--allow-fallback`) and is not a CPU preset: the CPU preset instead);
`refuse` (not even batch 1 fits, or a chosen config would take more than `max_cpu_hours` on the
CPU), with the advice to follow.
"""
import contextlib
import hashlib
import json
import math
import os
import resource
import sys
import time

import torch

from .config import load_config, merge
from .errors import ConfigError
from .fsutil import write_json_atomic

FALLBACK_CONFIG = "tiny"
MAX_CPU_HOURS = 24.0
HEADROOM = 0.9            # use at most this share of the free memory
BACKWARD_FACTOR = 1.25    # backward's temporaries on top of the saved activations (measured: 1.1-1.2)
WORKER_BYTES = 200 << 20  # a DataLoader worker's own memory (a forked interpreter with torch)
PREFLIGHT_FILE = "preflight.json"


# -- memory on this machine ------------------------------------------------------------------------


def _meminfo():
    out = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def _cgroup_free():
    """Room left under a cgroup (v2 or v1) memory limit, or None when there is none."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as f:
                raw = f.read().strip()
            if raw == "max" or int(raw) > 1 << 60:
                return None
            with open(usage_file) as f:
                return int(raw) - int(f.read().strip())
        except (OSError, ValueError):
            continue
    return None


def free_ram():
    """(free bytes, total bytes) of RAM: MemAvailable, capped by a cgroup limit."""
    info = _meminfo()
    total = info.get("MemTotal")
    free = info.get("MemAvailable")
    if total is None:  # not Linux
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            total = 8 << 30
        free = int(total * 0.6)
    cg = _cgroup_free()
    if cg is not None:
        free = min(free, cg)
    return free, total


def _rss_peak():
    """This process's peak RSS: VmHWM on Linux (the high-water mark of its own memory map;
    ru_maxrss would also carry the parent's RSS at fork across exec, e.g. an editor's), else
    ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


def _rss_now():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return _rss_peak()


# -- the probe --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _counting_saved():
    """Bytes of the distinct storages autograd saves for backward (the activations)."""
    seen, total = set(), [0]

    def pack(t):
        try:
            key = (t.untyped_storage().data_ptr() if hasattr(t, "untyped_storage") else t.storage().data_ptr())
            size = (t.untyped_storage().nbytes() if hasattr(t, "untyped_storage") else t.storage().nbytes())
        except RuntimeError:
            key, size = id(t), t.numel() * t.element_size()
        if key not in seen:
            seen.add(key)
            total[0] += size
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield total


def _probe_model(cfg, num_classes, num_part_slots, proto_dim, level_sizes):
    from .runs import build_model
    protos = torch.nn.functional.normalize(torch.randn(num_classes, proto_dim), dim=-1) if cfg["use_vlcl"] else None
    levels = [(f"l{i}", torch.nn.functional.normalize(torch.randn(n, proto_dim), dim=-1), torch.zeros(num_classes, dtype=torch.long))
              for i, n in enumerate(level_sizes)] or None
    return build_model(cfg, num_classes, num_part_slots, protos, levels), levels


def _step(model, opt, loss_fn, cfg, device, batch, num_part_slots, num_classes, with_levels, count=None):
    from .runtime import autocast
    r = cfg["resolution"]
    x = torch.randn(batch, 3, r, r, device=device)
    parts = torch.randint(0, num_part_slots + 1, (batch, r, r), device=device, dtype=torch.uint8)
    labels = torch.randint(0, num_classes, (batch,), device=device)
    ctx = _counting_saved() if count is not None else contextlib.nullcontext([0])
    with ctx as saved:
        with autocast(device, cfg):
            out = model(x, parts, True) if with_levels else model(x, parts)
        logits, level_logits = out if with_levels else (out, None)
        loss, _ = loss_fn([l.float() for l in logits], labels, level_logits)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    if count is not None:
        count.append(saved[0])


def probe(cfg, num_classes, num_part_slots, proto_dim, level_sizes, device):
    """One training step of the configured model on random data -> measurements (see module doc)."""
    from .losses import PSCLLoss
    from .optim import param_groups
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        model, levels = _probe_model(cfg, num_classes, num_part_slots, proto_dim, level_sizes)
        model = model.to(device).train()
        level_index = [[0, c] for c in range(num_classes)]  # (a coarse and a fine level: targets only)
        loss_fn = PSCLLoss(cfg, level_index, levels)
        with_levels = bool(levels)
        opt = torch.optim.AdamW(param_groups(model, cfg), lr=1e-6)
        params = sum(p.numel() * p.element_size() for p in model.parameters())
        out = {"params": sum(p.numel() for p in model.parameters()), "param_bytes": params}
        if device.type == "cpu":
            b0 = min(2, cfg["batch_size"])
            before = _rss_now()
            saved = []
            t = time.perf_counter()
            _step(model, opt, loss_fn, cfg, device, b0, num_part_slots, num_classes, with_levels, saved)
            step_s = time.perf_counter() - t  # the first step pays one-off set-up: time warm ones unless slow
            for _ in range(3 if step_s < 5.0 else 0):
                t = time.perf_counter()
                _step(model, opt, loss_fn, cfg, device, b0, num_part_slots, num_classes, with_levels)
                step_s = min(step_s, time.perf_counter() - t) if _ else time.perf_counter() - t
                if step_s > 1.0:
                    break
            out.update(probe_batch=b0, step_s=step_s, activation_bytes_per_sample=saved[0] / b0,
                       peak_bytes=max(_rss_peak(), _rss_now()), rss_before_bytes=before)
        else:
            b = cfg["batch_size"]
            while True:
                try:
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats(device)
                    _step(model, opt, loss_fn, cfg, device, b, num_part_slots, num_classes, with_levels)
                    t = time.perf_counter()
                    _step(model, opt, loss_fn, cfg, device, b, num_part_slots, num_classes, with_levels)
                    out.update(probe_batch=b, step_s=time.perf_counter() - t,
                               peak_bytes=torch.cuda.max_memory_allocated(device),
                               reserved_bytes=torch.cuda.max_memory_reserved(device))
                    break
                except RuntimeError as e:
                    from .runtime import is_out_of_memory
                    if not is_out_of_memory(e) or b == 1:
                        if is_out_of_memory(e):
                            out.update(probe_batch=0, step_s=None, peak_bytes=None)
                            break
                        raise
                    opt.zero_grad(set_to_none=True)
                    b //= 2
        del model, opt
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return out


# -- the estimate -------------------------------------------------------------------------------------


def _fmt_bytes(n):
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def fmt_duration(s):
    if s is None:
        return "?"
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def _cpu_peak(p, batch, workers, res):
    extra = (batch - p["probe_batch"]) * p["activation_bytes_per_sample"] * BACKWARD_FACTOR
    sample = 3 * res * res * 4 + res * res
    loader = workers * (WORKER_BYTES + 4 * batch * sample)  # prefetch_factor 4
    return int(p["peak_bytes"] + max(extra, 0) + loader)


def estimate(cfg, counts, device, world=1, local_world=1, threads=None, probe_result=None, done_steps=0):
    """The estimate for `cfg` on `device`: memory, time per step, ETA, verdict and advice.
    `counts`: {"train_images", "eval_images", "num_classes", "num_part_slots", "proto_dim", "level_sizes"}."""
    p = probe_result or probe(cfg, counts["num_classes"], counts["num_part_slots"], counts["proto_dim"],
                              counts.get("level_sizes", []), device)
    batch, accum, workers = cfg["batch_size"], cfg["grad_accum"], cfg["num_workers"]
    res = cfg["resolution"]
    threads = threads or torch.get_num_threads()
    steps_per_epoch = max(counts["train_images"] // (batch * world) // accum, 0)
    total_steps = steps_per_epoch * cfg["epochs"]
    if cfg["max_steps"]:
        total_steps = min(total_steps, cfg["max_steps"])
    out = {"device": device.type, "world_size": world, "backbone": cfg["backbone"], "resolution": res,
           "batch_size": batch, "grad_accum": accum, "num_workers": workers, "epochs": cfg["epochs"],
           "train_images": counts["train_images"], "eval_images": counts["eval_images"],
           "steps_per_epoch": steps_per_epoch, "total_steps": total_steps, "done_steps": done_steps, "params": p["params"],
           "set": {}, "messages": [], "warnings": []}
    if device.type == "cpu":
        free, total = free_ram()
        free //= max(local_world, 1)
        cores = os.cpu_count() or 1
        fit_workers = min(workers, max(0, cores // max(local_world, 1) - threads))
        if fit_workers != workers:
            out["set"]["num_workers"] = fit_workers
            out["messages"].append(f"num_workers {workers} -> {fit_workers}: {cores} CPU cores, {threads} compute "
                                   f"thread(s) per process; more workers would take cores from the training itself")
            workers = fit_workers
        peak = _cpu_peak(p, batch, workers, res)
        step_s = p["step_s"] * batch / p["probe_batch"] * accum
        fits = lambda b: _cpu_peak(p, b, workers, res) <= HEADROOM * free  # noqa: E731
        out["memory"] = {"kind": "RAM", "peak_bytes": peak, "free_bytes": free, "total_bytes": total,
                         "per_sample_bytes": int(p["activation_bytes_per_sample"] * BACKWARD_FACTOR)}
    else:
        free_gpu, total = torch.cuda.mem_get_info(device)
        free = free_gpu + torch.cuda.memory_reserved(device)  # what this process holds is ours to reuse
        if p["peak_bytes"] is None:
            peak, step_s = None, None
        else:
            scale = batch / p["probe_batch"]
            peak = int(p["reserved_bytes"] * scale) if p["probe_batch"] != batch else p["reserved_bytes"]
            step_s = p["step_s"] * scale * accum
        per = (p["peak_bytes"] / p["probe_batch"]) if p.get("probe_batch") else None
        fits = (lambda b: per is not None and per * b <= HEADROOM * free)  # noqa: E731
        out["memory"] = {"kind": "GPU memory", "peak_bytes": peak, "free_bytes": free, "total_bytes": total}
    evals = cfg["epochs"] // cfg["eval_every"] + 1 if cfg["eval_every"] else 1
    eval_s = (step_s or 0) / max(batch * accum, 1) / 3 * counts["eval_images"] * evals
    left = max(total_steps - done_steps, 0)
    out["time"] = {"step_s": step_s, "eta_s": step_s * left + eval_s if step_s is not None else None,
                   "probe": f"one step at batch {p['probe_batch']}" + (", scaled" if p["probe_batch"] != batch else "")}
    mem = out["memory"]
    if mem["peak_bytes"] is not None and mem["peak_bytes"] <= HEADROOM * free:
        out["verdict"] = "ok"
    else:
        smaller = next((b for b in range(batch - 1, 0, -1) if fits(b)), None)
        need = _fmt_bytes(mem["peak_bytes"]) if mem["peak_bytes"] else f"more than {_fmt_bytes(free)}"
        if smaller:
            new_accum = math.ceil(batch * accum / smaller)
            out["verdict"] = "adjust"
            out["set"].update(batch_size=smaller, grad_accum=new_accum)
            out["steps_per_epoch"] = max(counts["train_images"] // (smaller * world) // new_accum, 0)
            total_steps = out["steps_per_epoch"] * cfg["epochs"]
            out["total_steps"] = total_steps = min(total_steps, cfg["max_steps"]) if cfg["max_steps"] else total_steps
            out["messages"].append(f"batch {batch} needs about {need} of {mem['kind']}, {_fmt_bytes(free)} is free: "
                                   f"batch_size {smaller} with grad_accum {new_accum} (the same effective batch)")
            step_s = step_s * new_accum * smaller / (batch * accum) if step_s else step_s
            out["time"]["step_s"] = step_s
            if step_s:
                out["time"]["eta_s"] = step_s * max(total_steps - done_steps, 0) + eval_s
        else:
            out["verdict"] = "refuse"
            out["advice"] = (f"{cfg['backbone']} at {res} px needs about {need} of {mem['kind']} even at batch 1; "
                             f"{_fmt_bytes(free)} is free. Lower the resolution (--set resolution={max(32, res // 2)}), "
                             f"use a smaller backbone (--config tiny), or a machine with more memory")
    return out


def oom_advice(cfg):
    """What to change after running out of memory: a batch smaller than the current one (the
    effective batch kept by grad_accum), or at batch 1 the resolution or the backbone."""
    b, accum = cfg["batch_size"], cfg["grad_accum"]
    if b > 1:
        return (f"lower batch_size from {b} to {b // 2} and raise grad_accum to {accum * 2} to keep the effective batch "
                f"(--set batch_size={b // 2} --set grad_accum={accum * 2}), or lower the resolution")
    return (f"batch_size is already 1: lower the resolution (--set resolution={max(32, cfg['resolution'] // 2)}) or use a "
            f"smaller backbone (--config tiny)")


def decide(out, allow_fallback, max_cpu_hours=MAX_CPU_HOURS, force=False):
    """Without a GPU: a config nobody chose (allow_fallback) that is not a CPU preset gives way to
    the CPU preset; a chosen one whose ETA is beyond max_cpu_hours is refused with advice (unless
    force). Memory verdicts (adjust, refuse) stand either way."""
    eta = out["time"]["eta_s"]
    if out["verdict"] == "refuse" or out["device"] != "cpu":
        return out
    eta_text = fmt_duration(eta)
    if allow_fallback and not out["backbone"].startswith("tiny"):
        out["verdict"] = "fallback"
        out["config"] = FALLBACK_CONFIG
        peak = out["memory"]["peak_bytes"]
        need = f"need about {_fmt_bytes(peak)} of RAM and " if peak else ""
        out["messages"].append(f"no GPU: the default config ({out['backbone']} at {out['resolution']} px) is made for GPUs; "
                               f"on this CPU it would {need}take about {eta_text}. Using the CPU preset "
                               f"'{FALLBACK_CONFIG}' instead; give --config to train another config on the CPU anyway")
    elif eta is not None and eta > max_cpu_hours * 3600 and not force:
        out["verdict"] = "refuse"
        out["advice"] = (f"{out['backbone']} at {out['resolution']} px would take about {eta_text} on this CPU (no GPU). "
                         f"Train on a machine with a CUDA GPU, or use the CPU preset (--config {FALLBACK_CONFIG}), or "
                         f"lower the resolution or epochs (--set resolution=224 --set epochs=10); --force starts it anyway")
    return out


def summary(out):
    """One line for people: what, where, memory, time."""
    mem, t = out["memory"], out["time"]
    peak = _fmt_bytes(mem["peak_bytes"]) if mem["peak_bytes"] else "?"
    step = f"{t['step_s']:.2f} s/step" if t["step_s"] is not None else "? s/step"
    batch = out["set"].get("batch_size", out["batch_size"])
    accum = out["set"].get("grad_accum", out["grad_accum"])
    procs = f" x{out['world_size']}" if out["world_size"] > 1 else ""
    acc = f" x{accum} accumulated" if accum > 1 else ""
    steps = f"{out['total_steps']} steps"
    if out.get("done_steps"):
        steps = f"{out['total_steps'] - out['done_steps']} of {out['total_steps']} steps left"
    return (f"{out['backbone']} at {out['resolution']} px, batch {batch}{acc} on {out['device'].upper()}{procs}: "
            f"peak {peak} of {_fmt_bytes(mem['free_bytes'])} free {mem['kind']}, {step}, {steps}, "
            f"ETA {fmt_duration(t['eta_s'])}")


# -- reuse of the probe between the preflight command and train ---------------------------------------

_SHAPE_KEYS = ("backbone", "resolution", "stages", "d_model", "heads", "encoder_depth", "token_grid", "use_plm",
               "use_mmbpr", "use_vlcl", "vlcl_levels", "amp", "amp_dtype", "tiny_widths", "vit_width", "vit_depth",
               "vit_heads", "vit_patch", "vit_blocks", "clip_vision", "cls_reduce", "fusion", "mlp_ratio",
               "num_class_tokens")


def probe_key(cfg, device, counts):
    """What the probe's measurements depend on (on CUDA the batch too: it is probed as configured)."""
    shape = {k: cfg.get(k) for k in _SHAPE_KEYS}
    if device.type == "cuda":
        shape["batch_size"] = cfg["batch_size"]
    raw = json.dumps([shape, device.type, {k: counts[k] for k in ("num_classes", "num_part_slots", "proto_dim",
                                                                   "level_sizes")}], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def save(run_dir, key, probe_result, out):
    os.makedirs(run_dir, exist_ok=True)
    write_json_atomic(os.path.join(run_dir, PREFLIGHT_FILE),
                      {"probe_key": key, "probed_at": time.time(), "probe": probe_result, "estimate": out})


def load_probe(run_dir, key, max_age_s=3600):
    """The probe a recent `preflight --run` measured for the same model on this device, or None."""
    try:
        with open(os.path.join(run_dir, PREFLIGHT_FILE), encoding="utf-8") as f:
            saved = json.load(f)
    except (OSError, ValueError):
        return None
    if saved.get("probe_key") != key or time.time() - saved.get("probed_at", 0) > max_age_s:
        return None
    return saved.get("probe")


def counts_from_cache(manifest, cfg, proto_dim):
    train = len(manifest.entries(cfg["train_split"]))
    evals = len([e for e in manifest.images if e.get("split") == cfg["eval_split"] and e.get("status", "ok") == "ok"])
    levels = [len(manifest.level_values[lv]) for lv in manifest.levels[1:-1] if len(manifest.level_values[lv]) > 1] \
        if cfg["vlcl_levels"] and cfg["use_vlcl"] else []
    return {"train_images": train, "eval_images": evals, "num_classes": manifest.num_classes,
            "num_part_slots": manifest.num_part_slots if cfg["use_plm"] else 0, "proto_dim": proto_dim,
            "level_sizes": levels}


def check_before_training(cfg, counts, device, d, run_dir, done_steps=0):
    """Inside `train`: the memory check on the run's own config (the probe of a recent
    `preflight --run` is reused). Refuses, naming the batch that fits, rather than starting a run
    this machine cannot hold; returns the estimate for the `preflight` event."""
    from .errors import OutOfMemory
    key = probe_key(cfg, device, counts)
    p = load_probe(run_dir, key)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", d.world)) if device.type == "cpu" else 1
    if p is None:
        p = probe(cfg, counts["num_classes"], counts["num_part_slots"], counts["proto_dim"], counts["level_sizes"], device)
    out = estimate(cfg, counts, device, d.world, local_world, probe_result=p, done_steps=done_steps)
    if out["verdict"] == "adjust":
        s = out["set"]
        raise OutOfMemory(f"{out['messages'][-1]}. Start it with --set batch_size={s['batch_size']} "
                          f"--set grad_accum={s['grad_accum']} (pscl train and Start Training do this by themselves)")
    if out["verdict"] == "refuse":
        raise OutOfMemory(out["advice"])
    out["summary"] = summary(out)
    return out


def run_preflight(args):
    """`preflight` command: the estimate as one JSON line on stdout (see trainer/README.md)."""
    from .data import Manifest, load_prototypes
    from .pretrained import clip_vision_config, fetch, resolve, search_dirs
    from .runs import read_run_config
    from .runtime import resolve_device, set_threads
    done = 0
    if args.resume:
        from .checkpoint import last_checkpoint
        record = last_checkpoint(args.run)
        done = record["step"] if record else 0
        cfg = read_run_config(args.run)["config"]
        from .config import parse_set
        for item in args.set:
            merge(cfg, dict([parse_set(item)]), f"--set {item}")
        cache = args.cache or read_run_config(args.run)["cache"]
    else:
        cfg = load_config(args.config, args.set)
        cache = args.cache
    if not cache:
        raise ConfigError("preflight needs --cache DIR (or --run DIR --resume)")
    world = max(args.nproc, 1)
    device = resolve_device(args.device)
    set_threads(world)
    manifest = Manifest(cache)
    proto_dim = int(load_prototypes(cache, manifest).shape[1]) if cfg["use_vlcl"] else 64
    out_weights = None
    if not args.resume:
        config_file = args.config if args.config and os.path.exists(args.config) else None
        resolved = resolve(cfg, search_dirs(manifest.raw.get("project"), config_file))
        if resolved.kind == "clip":
            cfg["clip_vision"] = clip_vision_config(resolved.path)
    counts = counts_from_cache(manifest, cfg, proto_dim)
    local_world = world if device.type == "cpu" else 1
    fb = fb_probe = None
    if args.allow_fallback and not args.resume and device.type == "cpu" and not cfg["backbone"].startswith("tiny"):
        # probed first: on CPU the peak is read from the process's high-water mark
        fb = load_config(FALLBACK_CONFIG, args.set)
        fb_counts = counts_from_cache(manifest, fb, proto_dim)
        fb_probe = probe(fb, fb_counts["num_classes"], fb_counts["num_part_slots"], proto_dim, fb_counts["level_sizes"], device)
    p = probe(cfg, counts["num_classes"], counts["num_part_slots"], counts["proto_dim"], counts["level_sizes"], device)
    out = decide(estimate(cfg, counts, device, world, local_world, probe_result=p, done_steps=done),
                 args.allow_fallback and not args.resume, args.max_cpu_hours, args.force)
    out["weights"] = out_weights
    if args.resume and out["verdict"] == "adjust":  # a resumed epoch continues at its own batch size
        out["verdict"] = "refuse"
        out["advice"] = (f"{out['messages'][-1]}; but this run was trained with batch {cfg['batch_size']} and resumes "
                         f"with it. Free memory (close other programs) or resume on a machine with more")
    if out["verdict"] == "fallback":
        out["fallback"] = estimate(fb, fb_counts, device, world, local_world, probe_result=fb_probe)
        out["fallback"]["summary"] = summary(out["fallback"])
    if not args.resume:
        if out["verdict"] in ("ok", "adjust") and resolved.kind == "imagenet" and args.fetch:
            resolved = fetch(resolved)  # (after the verdict: a run that falls back or is refused needs no download)
        out["weights"] = {"source": resolved.spec, "kind": resolved.kind, "file": resolved.weights_file,
                          "status": "none" if resolved.kind == "none" else ("found" if resolved.path else "download")}
        if out["weights"]["status"] == "download" and out["verdict"] != "fallback":
            out["messages"].append(f"ImageNet weights will be downloaded to {resolved.weights_file}")
    trained = fb if out["verdict"] == "fallback" else cfg
    if trained["backbone_weights"] == "none":
        out["warnings"].append(scratch_warning(trained["backbone"]))
    out["summary"] = summary(out)
    if args.run:
        if out["verdict"] == "fallback":
            save(args.run, probe_key(fb, device, fb_counts), fb_probe, out)
        else:
            save(args.run, probe_key(cfg, device, counts), p, out)
    print(json.dumps({"type": "preflight", **out}), flush=True)
    return 0


def scratch_warning(backbone):
    if backbone.startswith("tiny"):
        return (f"backbone_weights is \"none\": {backbone} has no pretrained weights and trains from scratch "
                f"(right for the sample and tests; for real fine-grained data use resnet50, vit_b_16, swin_b or clip_vit)")
    return (f"backbone_weights is \"none\": the {backbone} backbone trains from scratch, which needs far more images "
            f"than fine-grained datasets have; use \"imagenet\" or \"clip:<model>\"")
