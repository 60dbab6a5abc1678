"""Backbones that return multi-scale feature maps for stages 1..4.

Every backbone maps images [B, 3, H, W] to a list of maps [B, C_s, H_s, W_s], one per configured
stage, and exposes `channels` (C_s per returned stage) and `source_names` (own state-dict key ->
the key in the layout its pretrained weights come in: torchvision's, or the Hugging Face CLIP
vision tower's). Construction never reads weights: pretrained.py loads them into a fresh model,
so resuming or evaluating a run never needs the original weights file.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from ..errors import ConfigError
from .layers import EncoderLayer, attention, merge_heads, split_heads


def _torchvision_model(name):
    fn = getattr(torchvision.models, name, None)
    if fn is None:
        raise ConfigError(f"backbone {name!r} is not in torchvision {torchvision.__version__}; "
                          f"use resnet50 or vit_b_16, or upgrade torchvision")
    try:
        return fn(weights=None)
    except TypeError:  # torchvision < 0.13
        return fn(pretrained=False)


def _source_names(owner, net, prefix=""):
    """own state-dict key -> the key the same tensor has in `net` (the layout pretrained files use),
    matched by tensor identity, so the pieces a backbone keeps of a torchvision model keep their
    torchvision names for loading."""
    by_id = {id(t): prefix + k for k, t in net.state_dict(keep_vars=True).items()}
    return {k: by_id[id(t)] for k, t in owner.state_dict(keep_vars=True).items() if id(t) in by_id}


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
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layers = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])
        self.stages = cfg["stages"]
        self.channels = [[256, 512, 1024, 2048][s - 1] for s in self.stages]
        self.source_names = _source_names(self, net)


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
        self.conv_proj, self.class_token = net.conv_proj, net.class_token
        self.pos_embedding = net.encoder.pos_embedding
        self.blocks = net.encoder.layers
        self.taps = [cfg["vit_blocks"][s - 1] for s in cfg["stages"]]
        self.channels = [net.hidden_dim] * len(self.taps)
        self.source_names = _source_names(self, net)

    def forward(self, x):
        return self.vit_forward(x, self.conv_proj, self.class_token, self.pos_embedding, self.blocks)


class SwinBackbone(nn.Module):
    """torchvision Swin-B; stage s = the s-th Swin stage (strides 4, 8, 16, 32)."""

    def __init__(self, cfg):
        super().__init__()
        net = _torchvision_model("swin_b")
        self.features = net.features  # [patch, stage1, merge, stage2, merge, stage3, merge, stage4]
        self.stages = cfg["stages"]
        self.channels = [[128, 256, 512, 1024][s - 1] for s in self.stages]
        self.source_names = _source_names(self, net)

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
        self.source_names = {}


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
        self.source_names = {}

    def forward(self, x):
        return self.vit_forward(x, self.patch, self.class_token, self.pos_embedding, self.blocks)


CLIP_VISION_KEYS = ("hidden_size", "intermediate_size", "num_attention_heads", "num_hidden_layers", "patch_size",
                    "image_size", "hidden_act", "layer_norm_eps")


class _ClipAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(width, width) for _ in range(4))

    def forward(self, x):
        q, k, v = (split_heads(p(x), self.heads) for p in (self.q_proj, self.k_proj, self.v_proj))
        return self.out_proj(merge_heads(attention(q, k, v)))


class _ClipMLP(nn.Module):
    def __init__(self, width, hidden, act):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)
        self.quick = act == "quick_gelu"

    def forward(self, x):
        x = self.fc1(x)
        x = x * torch.sigmoid(1.702 * x) if self.quick else F.gelu(x)
        return self.fc2(x)


class _ClipLayer(nn.Module):
    def __init__(self, v):
        super().__init__()
        w, eps = v["hidden_size"], v["layer_norm_eps"]
        self.layer_norm1 = nn.LayerNorm(w, eps=eps)
        self.self_attn = _ClipAttention(w, v["num_attention_heads"])
        self.layer_norm2 = nn.LayerNorm(w, eps=eps)
        self.mlp = _ClipMLP(w, v["intermediate_size"], v["hidden_act"])

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class _ClipEmbeddings(nn.Module):
    def __init__(self, v):
        super().__init__()
        w, p = v["hidden_size"], v["patch_size"]
        self.class_embedding = nn.Parameter(torch.randn(w) * 0.02)
        self.patch_embedding = nn.Conv2d(3, w, p, p, bias=False)
        self.position_embedding = nn.Embedding((v["image_size"] // p) ** 2 + 1, w)


class _ClipEncoder(nn.Module):
    def __init__(self, v, depth):
        super().__init__()
        self.layers = nn.ModuleList(_ClipLayer(v) for _ in range(depth))


class ClipViTBackbone(nn.Module):
    """The vision tower of a Hugging Face CLIPModel (pre-LayerNorm, quick-GELU or GELU, patch
    embedding without bias: it does not map onto torchvision's ViT), its modules named as in
    transformers so `vision_model.<key>` is the file's key. Its shape comes from `clip_vision`
    (read from the folder's config.json when the run starts, then kept in the run's config);
    stage s is block `vit_blocks[s-1]` as a map; blocks after the last tap are not built."""

    def __init__(self, cfg):
        super().__init__()
        v = cfg["clip_vision"]
        if not v:
            raise ConfigError("backbone 'clip_vit' takes its shape from a CLIP folder: set backbone_weights to "
                              "\"clip:<folder or Hub repo>\" (or clip_vision to the folder's vision_config)")
        self.taps = [cfg["vit_blocks"][s - 1] for s in cfg["stages"]]
        depth = v["num_hidden_layers"]
        if max(self.taps) > depth:
            raise ConfigError(f"config 'vit_blocks' {cfg['vit_blocks']} names blocks beyond the {depth} layers of the "
                              f"CLIP vision tower; give {depth} or fewer (e.g. "
                              f"{[max(1, round(depth * k / 4)) for k in range(1, 5)]})")
        self.embeddings = _ClipEmbeddings(v)
        self.pre_layrnorm = nn.LayerNorm(v["hidden_size"], eps=v["layer_norm_eps"])  # (sic: transformers' name)
        self.encoder = _ClipEncoder(v, max(self.taps))
        self.patch = v["patch_size"]
        self.channels = [v["hidden_size"]] * len(self.taps)
        self.source_names = {k: "vision_model." + k for k in self.state_dict()}

    def forward(self, x):
        e = self.embeddings
        x = e.patch_embedding(x)
        b, c, gh, gw = x.shape
        x = x.flatten(2).transpose(1, 2)
        cls = e.class_embedding.view(1, 1, -1).expand(b, -1, -1).to(x.dtype)
        pos = _resize_positions(e.position_embedding.weight.unsqueeze(0), gh, gw)
        x = self.pre_layrnorm(torch.cat([cls, x], dim=1) + pos)
        out = []
        for i, layer in enumerate(self.encoder.layers, start=1):
            x = layer(x)
            if i in self.taps:
                out.append(x[:, 1:].transpose(1, 2).reshape(b, c, gh, gw))
        return out


_BACKBONES = {
    "resnet50": ResNetBackbone,
    "clip_vit": ClipViTBackbone,
    "vit_b_16": TorchvisionViTBackbone,
    "swin_b": SwinBackbone,
    "tiny_rn": TinyResNetBackbone,
    "tiny_vit": TinyViTBackbone,
}


def build_backbone(cfg):
    return _BACKBONES[cfg["backbone"]](cfg)
