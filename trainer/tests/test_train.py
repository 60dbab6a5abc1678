"""Training on the generated part-colour task, the ablation switches, and actionable errors."""
import json
import os

import pytest
import torch

from conftest import run_cli
from pscl_trainer.config import load_config
from pscl_trainer.data import CacheDataset, Manifest, build_loader, load_prototypes
from pscl_trainer.losses import PSCLLoss
from pscl_trainer.runs import build_model


def test_a_few_hundred_steps_learn_the_part_colour(trained_run):
    run, events = trained_run
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and "error" not in kinds
    start = events[0]
    assert start["total_steps"] == 240 and start["steps_per_epoch"] == 6 and start["train_images"] == 96
    evals = [e for e in events if e["type"] == "eval"]
    # 4 classes: chance is 0.25; the global branch alone must read the head's colour
    assert evals[-1]["top1"] >= 0.9, evals[-1]
    assert evals[-1]["per_level"]["tone"] >= evals[-1]["top1"]
    progress = [e for e in events if e["type"] == "progress"]
    assert progress[-1]["step"] == 240 and all(e["images_per_s"] > 0 for e in progress)
    checkpoints = [e for e in events if e["type"] == "checkpoint"]
    assert len(checkpoints) == 40 and os.path.exists(os.path.join(run, checkpoints[-1]["path"]))
    assert sorted(f for f in os.listdir(os.path.join(run, "checkpoints")) if f.startswith("epoch-")) == \
        ["epoch-0040.json", "epoch-0040.safetensors", "epoch-0040.state.safetensors"]  # keep_checkpoints=1
    with open(os.path.join(run, "events.jsonl")) as f:
        assert [json.loads(line) for line in f][: len(events)] == events  # later eval/export runs append
    assert events[-1]["status"] == "finished" and events[-1]["best_top1"] == max(e["top1"] for e in evals)


@pytest.mark.parametrize("sets", [["use_plm=false"], ["use_mmbpr=false"], ["use_vlcl=false"],
                                  ["use_plm=false", "use_mmbpr=false", "use_vlcl=false"],
                                  ["fusion=mlp", "cls_reduce=concat", "smoothing=uniform"],
                                  ["backbone=\"tiny_vit\"", "vit_blocks=[1,2,3,4]", "vit_width=32"]])
def test_ablation_switches_train(tiny_cache, sets):
    torch.manual_seed(0)
    cfg = load_config("tiny", sets)
    manifest = Manifest(tiny_cache)
    model = build_model(cfg, manifest.num_classes, manifest.num_part_slots, load_prototypes(tiny_cache, manifest))
    loader, sampler = build_loader(CacheDataset(manifest, "train", cfg, True), cfg, 1, 0, True, torch.device("cpu"))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    loss_fn = PSCLLoss(cfg, manifest.level_index)
    losses = []
    batch = next(iter(loader))
    for _ in range(8):  # the same batch: the loss must fall
        out = model(batch[0], batch[1])
        loss, _ = loss_fn(out, batch[2])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_cli_ablation_run_with_gradient_accumulation(tiny_cache, tmp_path):
    run = str(tmp_path / "abl")
    code, events, _ = run_cli("train", "--cache", tiny_cache, "--run", run, "--config", "tiny",
                              "--set", "use_plm=false", "--set", "use_mmbpr=false", "--set", "use_vlcl=false",
                              "--set", "epochs=1", "--set", "grad_accum=2")
    assert code == 0 and events[-1]["status"] == "finished"
    assert events[0]["steps_per_epoch"] == 3 and events[-1]["step"] == 3  # 6 batches, 2 per step
    # a finished run is never overwritten by a fresh start
    code, events, _ = run_cli("train", "--cache", tiny_cache, "--run", run, "--config", "tiny", check=False)
    assert code == 2 and "--resume" in events[0]["message"]


def test_out_of_memory_becomes_an_actionable_error(monkeypatch, capsys, tmp_path):
    import pscl_trainer.train
    from pscl_trainer.__main__ import main

    def boom(args):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    monkeypatch.setattr(pscl_trainer.train, "train", boom)
    assert main(["train", "--run", str(tmp_path / "oom"), "--cache", "x"]) == 4
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["kind"] == "oom" and "batch_size" in events[0]["message"] and "resolution" in events[0]["message"]
    assert events[1]["type"] == "end" and events[1]["status"] == "failed"


def test_unknown_config_key_is_named(tiny_cache, tmp_path):
    code, events, stderr = run_cli("train", "--cache", tiny_cache, "--run", str(tmp_path / "bad"), "--config", "tiny",
                                   "--set", "weight_decy=0.1", check=False)
    assert code == 2
    err = next(e for e in events if e["type"] == "error")
    assert err["kind"] == "config" and "'weight_decy'" in err["message"] and "did you mean 'weight_decay'" in err["message"]
    assert events[-1] == {**events[-1], "type": "end", "status": "failed"}


def test_missing_cache_is_a_data_error(tmp_path):
    code, events, _ = run_cli("train", "--cache", str(tmp_path / "nowhere"), "--run", str(tmp_path / "r"),
                              "--config", "tiny", check=False)
    assert code == 3 and events[0]["kind"] == "data" and "manifest.json" in events[0]["message"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_cuda(tiny_cache, tmp_path):
    code, events, _ = run_cli("train", "--cache", tiny_cache, "--run", str(tmp_path / "c"), "--config", "tiny",
                              "--device", "cuda", check=False)
    assert code == 5
    err = events[0]
    assert err["kind"] == "cuda" and "--device cpu" in err["message"]


@pytest.mark.parametrize("scale", [1.0, 0.1, 0.0])
def test_backbone_lr_scale_groups_the_backbone(tiny_cache, scale):
    from pscl_trainer.optim import param_groups
    cfg = load_config("tiny", [f"backbone_lr_scale={scale}"])
    manifest = Manifest(tiny_cache)
    model = build_model(cfg, manifest.num_classes, manifest.num_part_slots, load_prototypes(tiny_cache, manifest))
    names = {id(p): n for n, p in model.named_parameters()}
    groups = param_groups(model, cfg)
    grouped = {names[id(p)]: g["lr_scale"] for g in groups for p in g["params"]}
    backbone = [n for n in names.values() if n.startswith("backbone.")]
    heads = [n for n in names.values() if not n.startswith("backbone.")]
    assert backbone and heads
    assert all(grouped[n] == 1.0 for n in heads)
    if scale == 0.0:  # frozen: out of the optimiser, no gradients
        assert not any(n in grouped for n in backbone)
        assert not any(p.requires_grad for n, p in model.named_parameters() if n.startswith("backbone."))
    else:
        assert all(grouped[n] == scale for n in backbone)
    if scale == 1.0:  # as before the key existed: decayed, then not decayed
        assert len(groups) == 2 and groups[0]["weight_decay"] == cfg["weight_decay"] and groups[1]["weight_decay"] == 0.0


def test_a_frozen_backbone_stays_as_loaded_while_the_heads_learn(tiny_cache, tmp_path):
    from pscl_trainer.safetensors_io import load_file

    def weights_after(steps, scale):
        run = str(tmp_path / f"s{steps}-{scale}")
        run_cli("train", "--cache", tiny_cache, "--run", run, "--config", "tiny", "--set", "epochs=1",
                "--set", f"max_steps={steps}", "--set", f"backbone_lr_scale={scale}", "--set", "eval_every=0")
        ckpt = sorted(f for f in os.listdir(os.path.join(run, "checkpoints")) if f.endswith(".safetensors")
                      and not f.endswith(".state.safetensors"))[-1]
        return load_file(os.path.join(run, "checkpoints", ckpt))

    one, three, moving = weights_after(1, 0), weights_after(3, 0), weights_after(3, 1)
    backbone = [k for k in one if k.startswith("backbone.")]
    heads = [k for k in one if not k.startswith("backbone.") and one[k].is_floating_point()]
    assert backbone and heads
    assert all(torch.equal(one[k], three[k]) for k in backbone), "a frozen backbone does not move"
    assert any(not torch.equal(one[k], three[k]) for k in heads), "the heads train"
    assert any(not torch.equal(three[k], moving[k]) for k in backbone), "at scale 1 the backbone trains"


def test_a_negative_backbone_lr_scale_is_refused():
    from pscl_trainer.errors import ConfigError
    with pytest.raises(ConfigError, match="backbone_lr_scale"):
        load_config("tiny", ["backbone_lr_scale=-0.5"])
