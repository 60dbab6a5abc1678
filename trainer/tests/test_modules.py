"""Shapes through every module, for the tiny RN-like and ViT-like backbones, and the behaviours the
design depends on (global-only inference equals branch 0, ReSAF's reversed key, weight loading)."""
import math

import pytest
import torch
import torchvision

from pscl_trainer.config import load_config
from pscl_trainer.model import GlobalBranch, PSCLModel
from pscl_trainer.model.backbone import build_backbone
from pscl_trainer.model.mmbpr import StageReasoner, masked_average
from pscl_trainer.model.plm import apply_masks, branch_masks, part_onehot
from pscl_trainer.model.resaf import ScaleAttentionFusion, build_fusion

B, K, C = 2, 3, 5


def make(config, *sets):
    torch.manual_seed(0)
    cfg = load_config(config, list(sets))
    return cfg, PSCLModel(cfg, C, K, torch.nn.functional.normalize(torch.randn(C, 16), dim=-1)).eval()


@pytest.mark.parametrize("config,maps", [
    ("tiny", [(16, 16, 16), (32, 8, 8), (32, 4, 4), (32, 2, 2)]),
    ("tiny_vit", [(32, 8, 8)] * 4),
])
def test_backbone_maps(config, maps):
    cfg = load_config(config)
    out = build_backbone(cfg)(torch.randn(B, 3, 32, 32))
    assert [tuple(m.shape) for m in out] == [(B, *s) for s in maps]


@pytest.mark.parametrize("config", ["tiny", "tiny_vit"])
@pytest.mark.parametrize("sets", [[], ["fusion=cross"], ["fusion=mlp"], ["fusion=none"], ["cls_reduce=concat"],
                                  ["use_plm=false"], ["use_mmbpr=false"], ["use_vlcl=false"], ["stages=[3,4]"]])
def test_model_outputs_per_stage_and_branch(config, sets):
    cfg, model = make(config, *sets)
    x, parts = torch.randn(B, 3, 32, 32), torch.randint(0, K + 1, (B, 32, 32))
    out = model(x, parts)
    branches = 1 + (K if cfg["use_plm"] else 0)
    assert len(out) == len(cfg["stages"])
    assert all(tuple(o.shape) == (B, branches, C) for o in out)
    out[-1].sum().backward()
    assert GlobalBranch(model)(x).shape == (B, C)


@pytest.mark.parametrize("config", ["tiny", "tiny_vit"])
def test_global_branch_alone_equals_branch_zero_of_training(config):
    _, model = make(config)
    x, parts = torch.randn(B, 3, 32, 32), torch.randint(0, K + 1, (B, 32, 32))
    full = model(x, parts)
    alone = model(x, None)
    for f, a in zip(full, alone):
        assert torch.allclose(f[:, :1], a, atol=1e-5)


def test_plm_masks_and_hadamard():
    labels = torch.tensor([[[0, 1], [2, 3]]])  # [1, 2, 2]
    onehot = part_onehot(labels, 3)
    assert onehot.shape == (1, 3, 2, 2) and onehot[0, 1].tolist() == [[0, 0], [1, 0]]
    masks = branch_masks(onehot, (1, 1), 1, "cpu", torch.float32)  # nearest to 1x1 keeps the top-left pixel
    assert masks.tolist() == [[[1.0], [0.0], [0.0], [0.0]]]
    masks = branch_masks(onehot, (2, 2), 1, "cpu", torch.float32)
    tokens = torch.arange(8.0).view(1, 4, 2)
    g = apply_masks(tokens, masks)
    assert g.shape == (1, 4, 4, 2)
    assert torch.equal(g[0, 0], tokens[0]) and g[0, 2].tolist() == [[0, 0], [0, 0], [4, 5], [0, 0]]
    assert masked_average(g, masks)[0, 2, 0].tolist() == [4, 5]


def test_stage_reasoner_splits_class_and_carried_tokens():
    r = StageReasoner(8, 2, 2, 2.0, 0.0, branches=4, class_tokens=3)
    g = torch.randn(B, 4, 6, 8)
    cls, carried = r(g, torch.randn(B, 4, 9, 8), (2, 3))
    assert cls.shape == (B, 4, 3, 8) and carried.shape == (B, 4, 6, 8)
    assert len(r.layers) == 2 and r.layers[0].attn.qkv.weight is not r.layers[1].attn.qkv.weight


def test_resaf_reverses_the_key():
    torch.manual_seed(0)
    resaf = ScaleAttentionFusion(4, 1, reverse_key=True)
    torch.nn.init.normal_(resaf.out.weight)
    x, prev = torch.randn(1, 3, 4), torch.randn(1, 5, 4)
    q = resaf.q(resaf.norm_q(x))
    k, v = resaf.kv(resaf.norm_kv(prev)).chunk(2, dim=-1)
    a = torch.softmax(-(q @ k.transpose(1, 2)) / math.sqrt(4), dim=-1)  # reversed key: negated scores
    assert torch.allclose(resaf(x, prev, (1, 3), (1, 5)), x + resaf.out(a @ v), atol=1e-5)
    cross = build_fusion("cross", 4, 1, 2.0)
    cross.load_state_dict(resaf.state_dict())
    assert not torch.allclose(cross(x, prev, (1, 3), (1, 5)), resaf(x, prev, (1, 3), (1, 5)))


@pytest.mark.parametrize("name,res,channels", [("resnet50", 64, [256, 512, 1024, 2048]),
                                               ("vit_b_16", 64, [768] * 4), ("swin_b", 64, [128, 256, 512, 1024])])
def test_torchvision_backbones(name, res, channels):
    if not hasattr(torchvision.models, name):
        pytest.skip(f"torchvision {torchvision.__version__} has no {name}")
    cfg = load_config({"resnet50": "rn50", "vit_b_16": "vit_b16", "swin_b": "swin_b"}[name], [f"resolution={res}"])
    with torch.no_grad():
        out = build_backbone(cfg)(torch.randn(1, 3, res, res))
    assert [m.shape[1] for m in out] == channels
    assert out[-1].shape[-1] == (res // 16 if name == "vit_b_16" else res // 32)
    if name == "resnet50":  # the whole model on the real backbone, paper widths
        model = PSCLModel(cfg, C, K, torch.nn.functional.normalize(torch.randn(C, 16), dim=-1)).eval()
        with torch.no_grad():
            stage_logits = model(torch.randn(1, 3, res, res), torch.randint(0, K + 1, (1, res, res)))
        assert [tuple(o.shape) for o in stage_logits] == [(1, 1 + K, C)] * 4
