"""Evaluation in the paper's inference mode: the global branch only, predictions from the last stage.

eval.json (docs/eval-format.md): top-1/top-5, per-level accuracy (fine predictions rolled up through
the manifest's levelIndex), per-class accuracy, the fine confusion matrix, the most confidently
wrong images, and the global-branch loss/accuracy of every stage.
"""
import os

import torch

from . import stopping
from .data import CacheDataset, Manifest
from .errors import DataError
from .fsutil import write_json_atomic
from .losses import PSCLLoss, probabilities
from .runtime import autocast, resolve_device, set_threads


@torch.no_grad()
def evaluate(model, dataset, manifest, cfg, device, loss_fn):
    """The evaluation summary (eval.json's fields); None when a stop was requested during it
    (stopping.py): a long evaluation must not hold up the checkpoint the stop is waiting for."""
    model.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg["batch_size"], shuffle=False,
                                         num_workers=cfg["num_workers"], pin_memory=device.type == "cuda")
    c = manifest.num_classes
    levels = torch.tensor(manifest.level_index, dtype=torch.long)  # [C, L]
    confusion = torch.zeros(c, c, dtype=torch.long)
    stages = len(cfg["stages"])
    stage_correct = [0] * stages
    stage_loss = [0.0] * stages
    top5 = 0
    loss_sum = 0.0
    n = 0
    wrong = []
    for images, _, labels, index in loader:
        if stopping.requested():
            return None
        with autocast(device, cfg):
            stage_logits = model(images.to(device), None)  # global branch only: [B, 1, C] per stage
        stage_logits = [l.float().cpu() for l in stage_logits]
        loss, losses = loss_fn(stage_logits, labels)
        b = labels.shape[0]
        n += b
        loss_sum += float(loss) * b
        for i, (l, sl) in enumerate(zip(stage_logits, losses)):
            stage_correct[i] += int((l[:, 0].argmax(-1) == labels).sum())
            stage_loss[i] += float(sl) * b
        logits = stage_logits[-1][:, 0]
        probs = probabilities(logits, cfg["loss_form"])
        conf, pred = probs.max(-1)
        k = min(5, c)
        top5 += int((logits.topk(k, dim=-1).indices == labels.unsqueeze(1)).any(1).sum())
        confusion.index_put_((labels, pred), torch.ones(b, dtype=torch.long), accumulate=True)
        for j in torch.nonzero(pred != labels).flatten().tolist():
            e = dataset.entries[int(index[j])]
            wrong.append({"key": e["key"], "path": e["path"], "true": int(labels[j]), "predicted": int(pred[j]),
                          "true_name": manifest.class_names[int(labels[j])],
                          "predicted_name": manifest.class_names[int(pred[j])], "confidence": float(conf[j])})
    if n == 0:
        raise DataError(f"split {dataset.split!r} of {manifest.path} has no usable images to evaluate")
    return summarize(confusion, levels, manifest, n, top5, wrong, cfg["top_wrong"],
                     loss_sum / n, stage_loss, stage_correct, cfg, dataset.split)


def summarize(confusion, levels, manifest, n, top5, wrong, top_wrong, loss, stage_loss, stage_correct, cfg, split):
    correct = confusion.diag()
    counts = confusion.sum(1)
    per_level = {}
    true_idx, pred_idx = torch.nonzero(confusion, as_tuple=True)
    weights = confusion[true_idx, pred_idx]
    for j, name in enumerate(manifest.levels):
        same = levels[true_idx, j] == levels[pred_idx, j]
        per_level[name] = float(weights[same].sum()) / n
    keys = [f"s{s}" for s in cfg["stages"]]
    wrong.sort(key=lambda w: -w["confidence"])
    return {
        "format": "pscl-eval", "version": 1, "split": split, "num_images": n,
        "top1": float(correct.sum()) / n, "top5": top5 / n, "loss": loss,
        "per_level": per_level,
        "per_class": [{"index": i, "name": manifest.class_names[i], "count": int(counts[i]),
                       "correct": int(correct[i]), "acc": float(correct[i]) / int(counts[i]) if counts[i] else None}
                      for i in range(len(manifest.class_names))],
        "confusion": confusion.tolist(),
        "most_confident_wrong": wrong[:top_wrong],
        "stage_loss": {k: v / n for k, v in zip(keys, stage_loss)},
        "stage_acc": {k: v / n for k, v in zip(keys, stage_correct)},
        "levels": manifest.levels,
        "classes": manifest.class_names,
    }


def write_eval(run_dir, result, name="eval.json"):
    write_json_atomic(os.path.join(run_dir, name), result)


def run_eval(args, events):
    """`eval` command: evaluate a run's checkpoint on a split of its cache, write eval.json."""
    from .runs import model_from_run
    model, run, weights = model_from_run(args.run, args.checkpoint)
    cfg = dict(run["config"])
    if args.split:
        cfg["eval_split"] = args.split
    set_threads(1)
    device = resolve_device(args.device)
    manifest = Manifest(args.cache or run["cache"])
    if manifest.num_classes != run["num_classes"]:
        raise DataError(f"{manifest.path} has {manifest.num_classes} classes but the run was trained on "
                        f"{run['num_classes']}; evaluate with the run's own cache")
    dataset = CacheDataset(manifest, cfg["eval_split"], cfg, train=False)
    result = evaluate(model.to(device), dataset, manifest, cfg, device, PSCLLoss(cfg, manifest.level_index))
    if result is None:
        raise KeyboardInterrupt  # reported as interrupted, exit 130
    result["checkpoint"] = os.path.relpath(weights, args.run)
    out = args.out or "eval.json"
    write_eval(args.run, result, out)
    events.emit("eval", epoch=None, top1=result["top1"], top5=result["top5"], per_level=result["per_level"], path=out)
    return 0
