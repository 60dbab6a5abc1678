"""Export the global branch (the paper's inference mode) to ONNX, with the class list and the
preprocessing the model expects.

<out>/model.onnx        input `image` [batch, 3, R, R] float32; outputs `logits` and `probs`
                        [batch, C] (softmax over the classes, or sigmoid per class: the run's
                        `loss_form`, named in preprocess.json); the batch axis is dynamic
<out>/classes.json      classes in output order with their value at every level
<out>/preprocess.json   input size, layout, scale, mean/std
"""
import inspect
import os
import warnings

import torch

from .data import NORMALIZATION
from .fsutil import write_json_atomic
from .losses import probabilities
from .model import GlobalBranch
from .runs import model_from_run


class _WithProbs(torch.nn.Module):
    def __init__(self, model, form):
        super().__init__()
        self.branch = GlobalBranch(model)
        self.form = form

    def forward(self, image):
        logits = self.branch(image)
        return logits, probabilities(logits, self.form)


def best_opset(wanted=17):
    """17 where this torch can write it, else the highest it can (torch 1.13 writes up to 17)."""
    try:
        from torch.onnx import _constants
        top = getattr(_constants, "ONNX_MAX_OPSET", None) or getattr(_constants, "onnx_main_opset", wanted)
    except ImportError:
        top = wanted
    return min(wanted, int(top))


def export_onnx(model, path, resolution, opset, form="sigmoid"):
    wrapper = _WithProbs(model, form).eval()
    dummy = torch.zeros(2, 3, resolution, resolution)
    kwargs = dict(input_names=["image"], output_names=["logits", "probs"], opset_version=opset,
                  dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}, "probs": {0: "batch"}},
                  do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter needs no onnxscript package
    tmp = f"{path}.tmp-{os.getpid()}"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch 1.13's shape-inference chatter
        torch.onnx.export(wrapper, (dummy,), tmp, **kwargs)
    os.replace(tmp, path)


def run_export(args, events):
    model, run, weights = model_from_run(args.run, args.checkpoint)
    cfg = run["config"]
    out = os.path.abspath(args.out or args.run)
    os.makedirs(out, exist_ok=True)
    opset = args.opset or best_opset()
    path = os.path.join(out, "model.onnx")
    export_onnx(model, path, cfg["resolution"], opset, cfg["loss_form"])
    write_json_atomic(os.path.join(out, "classes.json"), {"levels": run["levels"], "classes": run["classes"]})
    mean, std = NORMALIZATION[cfg["normalization"]]
    write_json_atomic(os.path.join(out, "preprocess.json"), {
        "input": "image", "outputs": ["logits", "probs"], "input_size": [cfg["resolution"], cfg["resolution"]],
        "layout": "NCHW", "color": "RGB", "scale": 1 / 255, "mean": mean, "std": std,
        "normalization": cfg["normalization"], "resize": "whole image, bilinear, to input_size",
        "probability": cfg["loss_form"],
        "opset": opset, "torch": torch.__version__, "weights": os.path.relpath(weights, args.run)})
    events.emit("export", path=os.path.relpath(path, args.run), opset=opset, classes=run["num_classes"],
                input_size=[cfg["resolution"], cfg["resolution"]])
    return 0
