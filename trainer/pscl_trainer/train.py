"""The training loop: AdamW, warm-up + cosine per step, AMP, gradient accumulation, DDP,
checkpoints every epoch and on SIGTERM/SIGINT/SIGHUP or when the launcher is gone (stopping.py),
exact resume."""
import hashlib
import math
import os
import copy
import time

import torch

from . import checkpoint as ckpt
from .config import load_config, merge, parse_set
from .data import CacheDataset, Manifest, build_loader, load_prototypes
from .distributed import init_distributed
from .errors import ConfigError, DataError
from .evaluate import evaluate, write_eval
from .events import Events, log
from .losses import PSCLLoss
from .runs import build_model, read_run_config, write_run_config
from .runtime import autocast, grad_scaler, resolve_device, seed_everything, set_threads
from .safetensors_io import save_file
from .stopping import StopRequest


def lr_at(step, cfg, warmup_steps, total_steps):
    """Linear warm-up to `lr` over warmup_steps, then cosine down to `min_lr` at total_steps."""
    base, low = cfg["lr"], cfg["min_lr"]
    if step < warmup_steps:
        return base * (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    t = min(step - warmup_steps, span) / span
    return low + (base - low) * 0.5 * (1 + math.cos(math.pi * t))


def param_groups(model, weight_decay):
    """No weight decay on norms, biases, tokens, positions and the head's tau/beta."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.dim() >= 2 and "class_tokens" not in name and "pos_embedding" not in name
         and "class_token" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class EpochSums:
    """Running sums for the epoch's train metrics (kept in checkpoints for mid-epoch resumes)."""

    def __init__(self, stages, saved=None):
        self.v = saved or {"n": 0, "loss": 0.0, "correct": 0, "stage_loss": [0.0] * stages, "stage_correct": [0] * stages}

    def add(self, batch, loss, stage_losses, stage_logits, labels):
        self.v["n"] += batch
        self.v["loss"] += loss * batch
        for i, (sl, lg) in enumerate(zip(stage_losses, stage_logits)):
            self.v["stage_loss"][i] += float(sl) * batch
            self.v["stage_correct"][i] += int((lg[:, 0].argmax(-1) == labels).sum())
        self.v["correct"] = self.v["stage_correct"][-1]

    def reduced(self, d):
        """Sums over all ranks."""
        if not d.active:
            return self.v
        vals = d.sum([self.v["n"], self.v["loss"], *self.v["stage_loss"], *self.v["stage_correct"]])
        k = len(self.v["stage_loss"])
        return {"n": vals[0], "loss": vals[1], "stage_loss": vals[2:2 + k], "stage_correct": vals[2 + k:],
                "correct": vals[-1]}


def step_boundary(model, sums):
    """What the micro-batches of a step change before the step is taken (the epoch sums, batch-norm
    statistics), so a stop between them can checkpoint the last whole step and resume exactly."""
    return copy.deepcopy(sums.v), {k: b.detach().clone() for k, b in model.named_buffers()}


def back_to_step_boundary(model, sums, saved):
    sums.v = saved[0]
    with torch.no_grad():
        for k, b in model.named_buffers():
            b.copy_(saved[1][k])


def _stage_keys(cfg):
    return [f"s{s}" for s in cfg["stages"]]


def param_checksum(model):
    """(sum of every parameter in float64, SHA-256 of their bytes): equal on all ranks when DDP kept
    them in sync."""
    digest = hashlib.sha256()
    total = 0.0
    with torch.no_grad():
        for p in model.parameters():
            t = p.detach().float().cpu().contiguous()
            total += float(t.double().sum())
            digest.update(t.numpy().tobytes())
    return total, digest.hexdigest()


def train(args):
    run_dir = os.path.abspath(args.run)
    resume_record = ckpt.last_checkpoint(run_dir) if args.resume else None
    if args.resume:
        if resume_record is None:
            raise DataError(f"--resume: {run_dir} has no checkpoint (checkpoints/last.json); start without --resume")
        cfg = read_run_config(run_dir)["config"]
        if args.set:
            for item in args.set:
                merge(cfg, dict([parse_set(item)]), f"--set {item}")
    else:
        if ckpt.last_checkpoint(run_dir) is not None:
            raise ConfigError(f"{run_dir} already holds a trained run; continue it with --resume, "
                              f"or give a new --run folder (nothing was overwritten)")
        cfg = load_config(args.config, args.set)
    if args.deterministic:
        cfg["deterministic"] = True
    d = init_distributed("cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu")
    try:
        return _train(args, cfg, run_dir, resume_record, d)
    finally:
        d.close()


def _train(args, cfg, run_dir, resume_record, d):
    device = resolve_device(args.device, d.local_rank)
    set_threads(d.world)
    seed_everything(cfg["seed"], cfg["deterministic"])
    events = Events(run_dir, enabled=d.main)
    if d.main:
        os.makedirs(run_dir, exist_ok=True)
    cache_dir = args.cache or (read_run_config(run_dir)["cache"] if resume_record else None)
    if not cache_dir:
        raise ConfigError("train needs --cache DIR (the folder with manifest.json)")
    manifest = Manifest(cache_dir)
    prototypes = load_prototypes(cache_dir, manifest) if cfg["use_vlcl"] else None
    train_set = CacheDataset(manifest, cfg["train_split"], cfg, train=True)
    if len(train_set) < cfg["batch_size"] * d.world:
        raise DataError(f"split {cfg['train_split']!r} of {manifest.path} has {len(train_set)} usable images, fewer than "
                        f"one batch ({cfg['batch_size']} x {d.world} processes); lower batch_size")
    eval_set = CacheDataset(manifest, cfg["eval_split"], cfg, train=False)
    loader, sampler = build_loader(train_set, cfg, d.world, d.rank, True, device)

    model = build_model(cfg, manifest.num_classes, manifest.num_part_slots, prototypes).to(device)
    net = model
    if d.active:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(param_groups(model, cfg["weight_decay"]), lr=cfg["lr"])
    scaler = grad_scaler(device, cfg)
    loss_fn = PSCLLoss(cfg, manifest.level_index)

    accum = cfg["grad_accum"]
    steps_per_epoch = len(loader) // accum
    if steps_per_epoch == 0:
        raise ConfigError(f"grad_accum {accum} is larger than the {len(loader)} batches of an epoch; lower it")
    total_steps = steps_per_epoch * cfg["epochs"]
    if cfg["max_steps"]:
        total_steps = min(total_steps, cfg["max_steps"])
    warmup_steps = min(cfg["warmup_epochs"] * steps_per_epoch, max(total_steps - 1, 0))

    state = {"epoch": 0, "step": 0, "batch_in_epoch": 0, "best_top1": None, "sums": None}
    if resume_record is not None:
        ckpt.restore_checkpoint(resume_record, model, optimizer, scaler)
        for key in state:
            state[key] = resume_record.get(key, state[key])
        if d.rank != 0:
            state["sums"] = None  # the saved sums cover every rank and are carried by rank 0
        log(f"resumed from step {state['step']} (epoch {state['epoch']}, batch {state['batch_in_epoch']})", d.rank)
    elif d.main:
        write_run_config(run_dir, cfg, cache_dir, manifest, prototypes)
    d.barrier()

    events.emit("start", run=os.path.basename(run_dir), config=cfg, device=device.type, world_size=d.world,
                epochs=cfg["epochs"], steps_per_epoch=steps_per_epoch, total_steps=total_steps,
                resumed_from=state["step"] if resume_record else None,
                train_images=len(train_set), eval_images=len(eval_set), torch=torch.__version__)
    log(f"training {cfg['backbone']} on {device} x{d.world}: {len(train_set)} images, "
        f"{steps_per_epoch} steps/epoch, {total_steps} steps", d.rank)
    stop = StopRequest()
    stage_keys = _stage_keys(cfg)

    def save(name, epoch):
        """`epoch`: the (0-based) epoch the last step belongs to; the record keeps the resume point."""
        if d.main:
            info = {"epoch": state["epoch"], "step": state["step"], "batch_in_epoch": state["batch_in_epoch"],
                    "best_top1": state["best_top1"], "sums": state["sums"], "config": cfg}
            path = ckpt.save_checkpoint(run_dir, name, model, optimizer, scaler, info, cfg["keep_checkpoints"])
            events.emit("checkpoint", epoch=epoch, step=state["step"], path=path)
        d.barrier()

    def run_eval(epoch):
        result = None
        if d.main and len(eval_set) > 0:
            result = evaluate(model, eval_set, manifest, cfg, device, loss_fn)
            if result is None:
                log("stop requested: the evaluation was left unfinished", d.rank)
        if result is not None:
            result.update(epoch=epoch, step=state["step"])
            write_eval(run_dir, result)
            events.emit("metrics", epoch=epoch, step=state["step"], split="val", loss=result["loss"],
                        stage_loss=result["stage_loss"], acc={"top1": result["top1"], "top5": result["top5"]},
                        stage_acc=result["stage_acc"])
            events.emit("eval", epoch=epoch, top1=result["top1"], top5=result["top5"],
                        per_level=result["per_level"], path="eval.json")
            if state["best_top1"] is None or result["top1"] > state["best_top1"]:
                state["best_top1"] = result["top1"]
                os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
                save_file(model.state_dict(), os.path.join(run_dir, "checkpoints", "best.safetensors"),
                          {"format": "pscl-weights", "epoch": epoch, "top1": result["top1"]})
        d.barrier()

    started = time.time()
    window_t, window_images = time.time(), 0
    steps_this_session = 0
    stopped = False
    epoch = state["epoch"]
    while epoch < cfg["epochs"] and state["step"] < total_steps:
        sums = EpochSums(len(stage_keys), state["sums"])
        train_set.set_epoch(epoch)
        sampler.set_epoch(epoch, skip=state["batch_in_epoch"] * cfg["batch_size"])
        net.train()
        micro = 0
        at_step = step_boundary(model, sums) if accum > 1 else None
        for images, parts, labels, _ in loader:
            images = images.to(device, non_blocking=True)
            parts = parts.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            micro += 1
            last_micro = micro % accum == 0
            sync = net.no_sync() if d.active and not last_micro else _null()
            with sync:
                with autocast(device, cfg):
                    stage_logits = net(images, parts)
                loss, stage_losses = loss_fn([l.float() for l in stage_logits], labels)
                scaled = loss / accum
                (scaler.scale(scaled) if scaler else scaled).backward()
            sums.add(labels.shape[0], float(loss), stage_losses, [l.detach() for l in stage_logits], labels)
            window_images += labels.shape[0] * d.world
            if not last_micro:
                if accum > 1 and d.any_flag(stop.flag):  # a long step: stop between its micro-batches
                    back_to_step_boundary(model, sums, at_step)
                    stopped = True
                    break
                continue
            lr = lr_at(state["step"], cfg, warmup_steps, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            state["batch_in_epoch"] += accum
            state["sums"] = sums.v
            if accum > 1:
                at_step = step_boundary(model, sums)
            steps_this_session += 1
            if state["step"] % cfg["log_every"] == 0 or state["step"] == total_steps:
                now = time.time()
                ips = window_images / max(now - window_t, 1e-9)
                per_step = (now - started) / steps_this_session
                events.emit("progress", epoch=epoch, step=state["step"], total_steps=total_steps, loss=float(loss),
                            lr=lr, images_per_s=round(ips, 2), eta_s=round(per_step * (total_steps - state["step"]), 1))
                window_t, window_images = now, 0
            if d.any_flag(stop.flag):
                stopped = True
                break
            if state["step"] >= total_steps or state["batch_in_epoch"] >= steps_per_epoch * accum:
                break  # (micro-batches beyond the last whole step of an epoch are left out)
        if stopped:
            log(f"stop requested ({stop.signal or 'another rank'}): saving a checkpoint at step {state['step']}", d.rank)
            state["sums"] = sums.reduced(d)  # all ranks' sums; on resume rank 0 carries them
            save(f"epoch-{epoch:04d}-step-{state['step']:07d}", epoch)
            break
        s = sums.reduced(d)
        n = max(s["n"], 1)
        events.emit("metrics", epoch=epoch, step=state["step"], split="train", loss=s["loss"] / n,
                    stage_loss={k: v / n for k, v in zip(stage_keys, s["stage_loss"])},
                    acc={"top1": s["stage_correct"][-1] / n},
                    stage_acc={k: v / n for k, v in zip(stage_keys, s["stage_correct"])})
        epoch += 1
        state.update(epoch=epoch, batch_in_epoch=0, sums=None)
        done = epoch >= cfg["epochs"] or state["step"] >= total_steps
        if done or (cfg["eval_every"] and epoch % cfg["eval_every"] == 0):
            run_eval(epoch - 1)
        save(f"epoch-{epoch:04d}", epoch - 1)
        if not done and d.any_flag(stop.flag):  # asked during the evaluation or the checkpoint
            log(f"stop requested ({stop.signal or 'another rank'}): stopping after the checkpoint of epoch {epoch}", d.rank)
            stopped = True
            break

    checksum, digest = param_checksum(model)
    log(f"param checksum {checksum!r} sha256 {digest} at step {state['step']}", d.rank)
    status = "stopped" if stopped else "finished"
    events.emit("end", status=status, best_top1=state["best_top1"], step=state["step"], param_checksum=checksum,
                param_sha256=digest)
    return 130 if stopped else 0


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
