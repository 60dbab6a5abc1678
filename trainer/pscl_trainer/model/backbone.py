"""Backbones that return multi-scale feature maps for stages 1..4.

Every backbone maps images [B, 3, H, W] to a list of maps [B, C_s, H_s, W_s], one per configured
stage, and exposes `channels` (C_s per returned stage). Pretrained weights come only from a local
file (`backbone_weights`: .safetensors, or a torch state dict read with weights_only=True).
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from ..errors import ConfigError
from ..safetensors_io import load_file
from .layers import EncoderLayer


def _torchvision_model(name):
    fn = getattr(torchvision.models, name, None)
    if fn is None:
        raise ConfigError(f"backbone {name!r} is not in torchvision {torchvision.__version__}; "
                          f"use resnet50 or vit_b_16, or upgrade torchvision")
    try:
        return fn(weights=None)
    except TypeError:  # torchvision < 0.13
        return fn(pretrained=False)


def load_weights(module, path, ignore_prefixes=()):
    """Load a local state dict into `module`; a missing or misshaped tensor is an error naming it."""
    if not os.path.exists(path):
        raise ConfigError(f"backbone_weights file {path} does not exist; give a local path (weights are never downloaded)")
    if path.endswith(".safetensors"):
        state = load_file(path)
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unpickling refusal or corruption
            raise ConfigError(f"cannot read backbone_weights {path} as a plain state dict: {e}") from None
        state = state.get("state_dict", state.get("model", state)) if isinstance(state, dict) else state
    own = module.state_dict()
    missing = [k for k in own if k not in state and not k.startswith(ignore_prefixes)]
    if missing:
        raise ConfigError(f"backbone_weights {path} lacks tensor {missing[0]!r} ({len(missing)} missing); "
                          f"is it a torchvision {type(module).__name__} state dict?")
    for k, t in state.items():
        if k in own and tuple(own[k].shape) != tuple(t.shape):
            raise ConfigError(f"backbone_weights {path}: tensor {k!r} has shape {tuple(t.shape)}, "
                              f"the model needs {tuple(own[k].shape)}")
    module.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)


class _StagedCNN(nn.Module):
    """A stem then four stage layers; returns the outputs of the configured stages."""

    def forward(self, x):
        x = self.stem(x)
        out = []
        for s, layer in enumerate(self.layers, start=1):
            x = layer(x)
            if s in self.stages:
                out.append(x)
        return out


class ResNetBackbone(_StagedCNN):
    """torchvision ResNet-50; stage s = layer s (strides 4, 8, 16, 32)."""

    def __init__(self, cfg):
        super().__init__()
        net = _torchvision_model("resnet50")
        if cfg["backbone_weights"]:
            load_weights(net, cfg["backbone_weights"], ignore_prefixes=("fc.",))
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layers = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])
        self.stages = cfg["stages"]
        self.channels = [[256, 512, 1024, 2048][s - 1] for s in self.stages]


def _resize_positions(pos, gh, gw):
    """Bicubically resize a ViT position table [1, 1 + g*g, C] (class token first) to a gh x gw grid."""
    cls_pos, grid_pos = pos[:, :1], pos[:, 1:]
    g = int(round(grid_pos.shape[1] ** 0.5))
    if (g, g) == (gh, gw):
        return pos
    grid_pos = grid_pos.reshape(1, g, g, -1).permute(0, 3, 1, 2)
    grid_pos = F.interpolate(grid_pos, size=(gh, gw), mode="bicubic", align_corners=False)
    return torch.cat([cls_pos, grid_pos.flatten(2).transpose(1, 2)], dim=1)


class _ViTMaps(nn.Module):
    """Shared forward of ViT-like backbones: patch embedding, class token, resized positions,
    blocks; the outputs of the chosen blocks are reshaped (without the class token) to maps."""

    def vit_forward(self, x, patch, cls_token, pos, blocks):
        x = patch(x)  # [B, C, gh, gw]
        b, c, gh, gw = x.shape
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([cls_token.expand(b, -1, -1), x], dim=1) + _resize_positions(pos, gh, gw)
        out = []
        for i, block in enumerate(blocks, start=1):
            x = block(x)
            if i in self.taps:
                out.append(x[:, 1:].transpose(1, 2).reshape(b, c, gh, gw))
        return out


class TorchvisionViTBackbone(_ViTMaps):
    """torchvision ViT-B/16 at any resolution (positions resized; a border under 16 px is dropped)."""

    def __init__(self, cfg):
        super().__init__()
        net = _torchvision_model("vit_b_16")
        if cfg["backbone_weights"]:
            load_weights(net, cfg["backbone_weights"], ignore_prefixes=("heads.",))
        self.conv_proj, self.class_token = net.conv_proj, net.class_token
        self.pos_embedding = net.encoder.pos_embedding
        self.blocks = net.encoder.layers
        self.taps = [cfg["vit_blocks"][s - 1] for s in cfg["stages"]]
        self.channels = [net.hidden_dim] * len(self.taps)

    def forward(self, x):
        return self.vit_forward(x, self.conv_proj, self.class_token, self.pos_embedding, self.blocks)


class SwinBackbone(nn.Module):
    """torchvision Swin-B; stage s = the s-th Swin stage (strides 4, 8, 16, 32)."""

    def __init__(self, cfg):
        super().__init__()
        net = _torchvision_model("swin_b")
        if cfg["backbone_weights"]:
            load_weights(net, cfg["backbone_weights"], ignore_prefixes=("head.",))
        self.features = net.features  # [patch, stage1, merge, stage2, merge, stage3, merge, stage4]
        self.stages = cfg["stages"]
        self.channels = [[128, 256, 512, 1024][s - 1] for s in self.stages]

    def forward(self, x):
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)  # channels last [B, H, W, C]
            if i % 2 == 1 and (i + 1) // 2 in self.stages:
                out.append(x.permute(0, 3, 1, 2))
        return out


class TinyResNetBackbone(_StagedCNN):
    """A small ResNet-like CNN for tests and demos: strides 2, 4, 8, 16, widths `tiny_widths`."""

    def __init__(self, cfg):
        super().__init__()
        widths = cfg["tiny_widths"]
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks, cin = [], widths[0]
        for i, w in enumerate(widths):
            blocks.append(nn.Sequential(
                nn.Conv2d(cin, w, 3, 1 if i == 0 else 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                nn.Conv2d(w, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU()))
            cin = w
        self.layers = nn.ModuleList(blocks)
        self.stages = cfg["stages"]
        self.channels = [widths[s - 1] for s in self.stages]


class TinyViTBackbone(_ViTMaps):
    """A small ViT for tests and demos (patch `vit_patch`, width `vit_width`, depth `vit_depth`)."""

    def __init__(self, cfg):
        super().__init__()
        c, p = cfg["vit_width"], cfg["vit_patch"]
        g = max(cfg["resolution"] // p, 1)
        self.patch = nn.Conv2d(3, c, p, p)
        self.class_token = nn.Parameter(torch.zeros(1, 1, c))
        self.pos_embedding = nn.Parameter(torch.randn(1, 1 + g * g, c) * 0.02)
        self.blocks = nn.ModuleList(EncoderLayer(c, cfg["vit_heads"], 2.0) for _ in range(cfg["vit_depth"]))
        self.taps = [cfg["vit_blocks"][s - 1] for s in cfg["stages"]]
        if max(self.taps) > cfg["vit_depth"]:
            raise ConfigError(f"config 'vit_blocks' {cfg['vit_blocks']} names blocks beyond 'vit_depth' {cfg['vit_depth']}")
        self.channels = [c] * len(self.taps)

    def forward(self, x):
        return self.vit_forward(x, self.patch, self.class_token, self.pos_embedding, self.blocks)


_BACKBONES = {
    "resnet50": ResNetBackbone,
    "vit_b_16": TorchvisionViTBackbone,
    "swin_b": SwinBackbone,
    "tiny_rn": TinyResNetBackbone,
    "tiny_vit": TinyViTBackbone,
}


def build_backbone(cfg):
    if cfg["backbone_weights"] and cfg["backbone"].startswith("tiny"):
        raise ConfigError("config 'backbone_weights' is only for resnet50, vit_b_16 and swin_b")
    return _BACKBONES[cfg["backbone"]](cfg)
