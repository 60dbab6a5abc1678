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
from . import preflight, pretrained
from .config import load_config, merge, parse_set
from .data import CacheDataset, Manifest, build_loader, level_prototypes, load_prototypes
from .distributed import init_distributed
from .errors import ConfigError, DataError, OutOfMemory
from .evaluate import evaluate, write_eval
from .events import Events, log
from .losses import PSCLLoss
from .optim import param_groups
from .runs import build_model, read_run_config, write_run_config
from .runtime import autocast, grad_scaler, is_out_of_memory, resolve_device, seed_everything, set_threads
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
    except RuntimeError as err:
        if is_out_of_memory(err):
            raise OutOfMemory(f"out of memory ({str(err).splitlines()[0][:200]}): {preflight.oom_advice(cfg)}") from None
        raise
    finally:
        d.close()


def _train(args, cfg, run_dir, resume_record, d):
    return TrainingSession(args, cfg, run_dir, resume_record, d).run()


class TrainingSession:
    """One training session (a fresh run or a resume), in named steps: set up the runtime, read the
    data, build the model and optimiser, plan the steps, restore or record the run, then epochs of
    steps with metrics, evaluation and a checkpoint after each."""

    def __init__(self, args, cfg, run_dir, resume_record, d):
        self.args, self.cfg, self.run_dir, self.resume_record, self.d = args, cfg, run_dir, resume_record, d
        self._setup_runtime()
        self._load_data()
        self._resolve_weights()
        self._check_memory()
        self._build_model()
        self._plan_steps()
        self._restore_or_record()

    # -- set-up ---------------------------------------------------------------------------------

    def _setup_runtime(self):
        d = self.d
        self.device = resolve_device(self.args.device, d.local_rank)
        set_threads(d.world)
        seed_everything(self.cfg["seed"], self.cfg["deterministic"])
        self.events = Events(self.run_dir, enabled=d.main)
        if d.main:
            os.makedirs(self.run_dir, exist_ok=True)

    def _load_data(self):
        cfg, d = self.cfg, self.d
        cache_dir = self.args.cache or (read_run_config(self.run_dir)["cache"] if self.resume_record else None)
        if not cache_dir:
            raise ConfigError("train needs --cache DIR (the folder with manifest.json)")
        self.cache_dir = cache_dir
        self.manifest = manifest = Manifest(cache_dir)
        self.prototypes = load_prototypes(cache_dir, manifest) if cfg["use_vlcl"] else None
        self.levels = level_prototypes(cache_dir, manifest) if cfg["use_vlcl"] and cfg["vlcl_levels"] else None
        if self.levels is not None and not self.levels:
            log(f"vlcl_levels: {manifest.path} has no intermediate level with 2+ values; only the fine level is contrasted",
                d.rank)
        self.train_set = CacheDataset(manifest, cfg["train_split"], cfg, train=True)
        if len(self.train_set) < cfg["batch_size"] * d.world:
            raise DataError(f"split {cfg['train_split']!r} of {manifest.path} has {len(self.train_set)} usable images, "
                            f"fewer than one batch ({cfg['batch_size']} x {d.world} processes); lower batch_size")
        self.eval_set = CacheDataset(manifest, cfg["eval_split"], cfg, train=False)
        self.loader, self.sampler = build_loader(self.train_set, cfg, d.world, d.rank, True, self.device)

    def _resolve_weights(self):
        """A fresh run finds its pretrained weights (downloading ImageNet ones when online) before
        anything is built; a resume restores every tensor from its checkpoint instead."""
        self.weights = None
        if self.resume_record is not None:
            return
        config_file = self.args.config if self.args.config and os.path.exists(self.args.config) else None
        dirs = pretrained.search_dirs(self.manifest.raw.get("project"), config_file)
        self.weights = pretrained.resolve(self.cfg, dirs)
        if self.weights.kind == "clip":
            self.cfg["clip_vision"] = pretrained.clip_vision_config(self.weights.path)
        if self.weights.kind == "imagenet":
            if self.d.main:
                self.weights = pretrained.fetch(self.weights)
            self.d.barrier()
            self.weights = pretrained.fetch(self.weights)  # other ranks: finds what rank 0 fetched

    def _check_memory(self):
        """Refuses a run this machine cannot hold before building it (preflight.py)."""
        proto_dim = int(self.prototypes.shape[1]) if self.prototypes is not None else 64
        counts = preflight.counts_from_cache(self.manifest, self.cfg, proto_dim)
        done = self.resume_record["step"] if self.resume_record else 0
        self.estimate = preflight.check_before_training(self.cfg, counts, self.device, self.d, self.run_dir, done)
        log(f"preflight: {self.estimate['summary']}", self.d.rank)

    def _build_model(self):
        cfg, d, device = self.cfg, self.d, self.device
        manifest = self.manifest
        self.model = build_model(cfg, manifest.num_classes, manifest.num_part_slots, self.prototypes, self.levels)
        self.pretrained = None
        if self.weights is not None:
            self.pretrained = pretrained.load_pretrained(self.model, cfg, self.weights, self.run_dir if d.main else None)
            if not self.pretrained["pretrained"]:
                log(f"warning: {preflight.scratch_warning(cfg['backbone'])}", d.rank)
        self.model = self.model.to(device)
        groups = param_groups(self.model, cfg)  # before DDP: a frozen backbone has no gradients to sync
        self.net = self.model
        if d.active:
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
        self.optimizer = torch.optim.AdamW(groups, lr=cfg["lr"])
        self.scaler = grad_scaler(device, cfg)
        self.loss_fn = PSCLLoss(cfg, manifest.level_index, self.levels)
        self.with_levels = bool(self.levels)

    def _plan_steps(self):
        cfg = self.cfg
        accum = self.accum = cfg["grad_accum"]
        self.steps_per_epoch = len(self.loader) // accum
        if self.steps_per_epoch == 0:
            raise ConfigError(f"grad_accum {accum} is larger than the {len(self.loader)} batches of an epoch; lower it")
        total = self.steps_per_epoch * cfg["epochs"]
        if cfg["max_steps"]:
            total = min(total, cfg["max_steps"])
        self.total_steps = total
        self.warmup_steps = min(cfg["warmup_epochs"] * self.steps_per_epoch, max(total - 1, 0))

    def _restore_or_record(self):
        """A resume restores weights, optimiser, scaler, RNG and the loop position; a fresh run
        writes the run's config.json."""
        d, record = self.d, self.resume_record
        self.state = {"epoch": 0, "step": 0, "batch_in_epoch": 0, "best_top1": None, "sums": None}
        if record is not None:
            ckpt.restore_checkpoint(record, self.model, self.optimizer, self.scaler)
            for key in self.state:
                self.state[key] = record.get(key, self.state[key])
            if d.rank != 0:
                self.state["sums"] = None  # the saved sums cover every rank and are carried by rank 0
            log(f"resumed from step {self.state['step']} (epoch {self.state['epoch']}, "
                f"batch {self.state['batch_in_epoch']})", d.rank)
        elif d.main:
            write_run_config(self.run_dir, self.cfg, self.cache_dir, self.manifest, self.prototypes, self.pretrained,
                             self.levels)
        d.barrier()

    # -- the run ----------------------------------------------------------------------------------

    def run(self):
        """Epochs until done or stopped; returns the exit code (0 finished, 130 stopped)."""
        self._emit_start()
        self.stop = StopRequest()
        self.stage_keys = _stage_keys(self.cfg)
        self.clock = {"started": time.time(), "window_t": time.time(), "window_images": 0, "steps": 0}
        stopped = False
        epoch = self.state["epoch"]
        while epoch < self.cfg["epochs"] and self.state["step"] < self.total_steps:
            sums = EpochSums(len(self.stage_keys), self.state["sums"])
            stopped = self._train_epoch(epoch, sums)
            if stopped:
                self._checkpoint_on_stop(epoch, sums)
                break
            done = self._end_epoch(epoch, sums)
            epoch += 1
            if not done and self.d.any_flag(self.stop.flag):  # asked during the evaluation or the checkpoint
                log(f"stop requested ({self.stop.signal or 'another rank'}): stopping after the checkpoint of "
                    f"epoch {epoch}", self.d.rank)
                stopped = True
                break
        return self._finish(stopped)

    def _emit_start(self):
        cfg, d = self.cfg, self.d
        self.events.emit("start", run=os.path.basename(self.run_dir), config=cfg, device=self.device.type,
                         world_size=d.world, epochs=cfg["epochs"], steps_per_epoch=self.steps_per_epoch,
                         total_steps=self.total_steps,
                         resumed_from=self.state["step"] if self.resume_record else None,
                         train_images=len(self.train_set), eval_images=len(self.eval_set), torch=torch.__version__,
                         pretrained=self._pretrained_record(),
                         preflight={k: self.estimate[k] for k in ("summary", "memory", "time")})
        log(f"training {cfg['backbone']} on {self.device} x{d.world}: {len(self.train_set)} images, "
            f"{self.steps_per_epoch} steps/epoch, {self.total_steps} steps", d.rank)

    def _pretrained_record(self):
        if self.resume_record is None:
            return self.pretrained
        return read_run_config(self.run_dir).get("pretrained")

    def _train_epoch(self, epoch, sums):
        """One epoch (or what is left of it after a resume); True when a stop was requested."""
        cfg, d, state = self.cfg, self.d, self.state
        self.train_set.set_epoch(epoch)
        self.sampler.set_epoch(epoch, skip=state["batch_in_epoch"] * cfg["batch_size"])
        self.net.train()
        micro = 0
        at_step = step_boundary(self.model, sums) if self.accum > 1 else None
        for images, parts, labels, _ in self.loader:
            micro += 1
            last_micro = micro % self.accum == 0
            loss = self._forward_backward(images, parts, labels, sums, sync=last_micro)
            if not last_micro:
                if d.any_flag(self.stop.flag):  # a long step: stop between its micro-batches
                    back_to_step_boundary(self.model, sums, at_step)
                    return True
                continue
            lr = self._optimizer_step()
            state["sums"] = sums.v
            if self.accum > 1:
                at_step = step_boundary(self.model, sums)
            self._report_progress(epoch, loss, lr)
            if d.any_flag(self.stop.flag):
                return True
            if state["step"] >= self.total_steps or state["batch_in_epoch"] >= self.steps_per_epoch * self.accum:
                break  # (micro-batches beyond the last whole step of an epoch are left out)
        return False

    def _forward_backward(self, images, parts, labels, sums, sync):
        """One micro-batch: forward, loss, backward (gradients synchronised only on the last
        micro-batch of a step); adds to the epoch sums and returns the loss."""
        device, d = self.device, self.d
        images = images.to(device, non_blocking=True)
        parts = parts.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        with (self.net.no_sync() if d.active and not sync else _null()):
            with autocast(device, self.cfg):
                if self.with_levels:
                    stage_logits, level_logits = self.net(images, parts, True)
                else:
                    stage_logits, level_logits = self.net(images, parts), None
            loss, stage_losses = self.loss_fn([l.float() for l in stage_logits], labels, level_logits)
            scaled = loss / self.accum
            (self.scaler.scale(scaled) if self.scaler else scaled).backward()
        sums.add(labels.shape[0], float(loss), stage_losses, [l.detach() for l in stage_logits], labels)
        self.clock["window_images"] += labels.shape[0] * d.world
        return loss

    def _optimizer_step(self):
        """Sets the scheduled learning rate, steps the optimiser (through the scaler under AMP),
        advances the loop position; returns the learning rate used."""
        state = self.state
        lr = lr_at(state["step"], self.cfg, self.warmup_steps, self.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        state["batch_in_epoch"] += self.accum
        self.clock["steps"] += 1
        return lr

    def _report_progress(self, epoch, loss, lr):
        step, clock = self.state["step"], self.clock
        if step % self.cfg["log_every"] != 0 and step != self.total_steps:
            return
        now = time.time()
        ips = clock["window_images"] / max(now - clock["window_t"], 1e-9)
        per_step = (now - clock["started"]) / clock["steps"]
        self.events.emit("progress", epoch=epoch, step=step, total_steps=self.total_steps, loss=float(loss),
                         lr=lr, images_per_s=round(ips, 2), eta_s=round(per_step * (self.total_steps - step), 1))
        clock["window_t"], clock["window_images"] = now, 0

    def _checkpoint_on_stop(self, epoch, sums):
        d, state = self.d, self.state
        log(f"stop requested ({self.stop.signal or 'another rank'}): saving a checkpoint at step {state['step']}", d.rank)
        state["sums"] = sums.reduced(d)  # all ranks' sums; on resume rank 0 carries them
        self.save(f"epoch-{epoch:04d}-step-{state['step']:07d}", epoch)

    def _end_epoch(self, epoch, sums):
        """Train metrics of the epoch, the evaluation when due, and the epoch's checkpoint; True when
        the run's last epoch or step is done."""
        cfg, state = self.cfg, self.state
        s = sums.reduced(self.d)
        n = max(s["n"], 1)
        keys = self.stage_keys
        self.events.emit("metrics", epoch=epoch, step=state["step"], split="train", loss=s["loss"] / n,
                         stage_loss={k: v / n for k, v in zip(keys, s["stage_loss"])},
                         acc={"top1": s["stage_correct"][-1] / n},
                         stage_acc={k: v / n for k, v in zip(keys, s["stage_correct"])})
        done_epochs = epoch + 1
        state.update(epoch=done_epochs, batch_in_epoch=0, sums=None)
        done = done_epochs >= cfg["epochs"] or state["step"] >= self.total_steps
        if done or (cfg["eval_every"] and done_epochs % cfg["eval_every"] == 0):
            self.run_eval(epoch)
        self.save(f"epoch-{done_epochs:04d}", epoch)
        return done

    def _finish(self, stopped):
        checksum, digest = param_checksum(self.model)
        log(f"param checksum {checksum!r} sha256 {digest} at step {self.state['step']}", self.d.rank)
        self.events.emit("end", status="stopped" if stopped else "finished", best_top1=self.state["best_top1"],
                         step=self.state["step"], param_checksum=checksum, param_sha256=digest)
        return 130 if stopped else 0

    # -- checkpoints and evaluation ---------------------------------------------------------------

    def save(self, name, epoch):
        """`epoch`: the (0-based) epoch the last step belongs to; the record keeps the resume point."""
        d, state = self.d, self.state
        if d.main:
            info = {"epoch": state["epoch"], "step": state["step"], "batch_in_epoch": state["batch_in_epoch"],
                    "best_top1": state["best_top1"], "sums": state["sums"], "config": self.cfg}
            path = ckpt.save_checkpoint(self.run_dir, name, self.model, self.optimizer, self.scaler, info,
                                        self.cfg["keep_checkpoints"])
            self.events.emit("checkpoint", epoch=epoch, step=state["step"], path=path)
        d.barrier()

    def run_eval(self, epoch):
        d, state = self.d, self.state
        result = None
        if d.main and len(self.eval_set) > 0:
            result = evaluate(self.model, self.eval_set, self.manifest, self.cfg, self.device, self.loss_fn)
            if result is None:
                log("stop requested: the evaluation was left unfinished", d.rank)
        if result is not None:
            result.update(epoch=epoch, step=state["step"])
            write_eval(self.run_dir, result)
            self.events.emit("metrics", epoch=epoch, step=state["step"], split="val", loss=result["loss"],
                             stage_loss=result["stage_loss"], acc={"top1": result["top1"], "top5": result["top5"]},
                             stage_acc=result["stage_acc"])
            self.events.emit("eval", epoch=epoch, top1=result["top1"], top5=result["top5"],
                             per_level=result["per_level"], path="eval.json")
            if state["best_top1"] is None or result["top1"] > state["best_top1"]:
                state["best_top1"] = result["top1"]
                os.makedirs(os.path.join(self.run_dir, "checkpoints"), exist_ok=True)
                save_file(self.model.state_dict(), os.path.join(self.run_dir, "checkpoints", "best.safetensors"),
                          {"format": "pscl-weights", "epoch": epoch, "top1": result["top1"]})
        d.barrier()


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
