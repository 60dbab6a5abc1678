"""The PSCL model: backbone -> per stage (projection, ReSAF, PLM, MMBPR, VLCL-MG head).

Shapes (B batch, K part slots, nb = 1 + K branches, d = d_model, C classes):
  backbone          images [B,3,H,W] -> maps [B,C_s,H_s,W_s] for the configured stages
  project           maps pooled to at most token_grid x token_grid -> LN -> Linear: x_s [B,N_s,d]
  ReSAF             x'_s = fuse(x_s, x'_{s-1})                          [B,N_s,d]
  PLM               G_s = x'_s (Hadamard) masks                          [B,nb,N_s,d]
  MMBPR             class tokens I_s [B,nb,3,d], carried tokens         [B,nb,N_s,d]
  VLCL-MG head      logits z_s [B,nb,C]; P_s = softmax(z_s) (or a sigmoid per class: `loss_form`);
                    training may add logits per intermediate level (`vlcl_levels`)
Inference runs the global branch (branch 0) alone and predicts from the last stage: the global
branch's computation never reads the part branches, so its logits equal branch 0 in training.
"""
import torch.nn as nn
import torch.nn.functional as F

from .backbone import build_backbone
from .mmbpr import StageReasoner, masked_average
from .plm import apply_masks, branch_masks, part_onehot
from .resaf import build_fusion
from .vlcl import ClassTokenHead


class StageProjection(nn.Module):
    def __init__(self, channels, dim, grid_cap):
        super().__init__()
        self.grid_cap = grid_cap
        self.norm = nn.LayerNorm(channels)
        self.linear = nn.Linear(channels, dim)

    def forward(self, fmap):  # [B, C, H, W] -> tokens [B, N, d], grid (h, w)
        h, w = fmap.shape[-2:]
        grid = (min(h, self.grid_cap), min(w, self.grid_cap))
        if grid != (h, w):
            fmap = F.adaptive_avg_pool2d(fmap, grid)
        return self.linear(self.norm(fmap.flatten(2).transpose(1, 2))), grid


class PSCLModel(nn.Module):
    def __init__(self, cfg, num_classes, num_part_slots, prototypes=None, level_prototypes=None):
        super().__init__()
        d = cfg["d_model"]
        self.cfg = cfg
        self.num_classes = num_classes
        self.num_part_slots = num_part_slots if cfg["use_plm"] else 0
        branches = 1 + self.num_part_slots
        tokens = cfg["num_class_tokens"] if cfg["use_mmbpr"] else 1
        protos = prototypes if cfg["use_vlcl"] else None
        if cfg["use_vlcl"] and prototypes is None:
            raise ValueError("VLCL-MG needs the cache's `fine` prototypes")
        self.backbone = build_backbone(cfg)
        n = len(cfg["stages"])
        self.project = nn.ModuleList(StageProjection(c, d, cfg["token_grid"]) for c in self.backbone.channels)
        fusions = [None] + [build_fusion(cfg["fusion"], d, cfg["heads"], cfg["mlp_ratio"]) for _ in range(n - 1)]
        self.fusion = nn.ModuleList(f if f is not None else nn.Identity() for f in fusions)
        self.has_fusion = [f is not None for f in fusions]
        self.reasoners = nn.ModuleList(
            StageReasoner(d, cfg["heads"], cfg["encoder_depth"], cfg["mlp_ratio"], cfg["dropout"], branches, tokens)
            for _ in range(n)) if cfg["use_mmbpr"] else None
        levels = level_prototypes if protos is not None else None
        self.heads = nn.ModuleList(
            ClassTokenHead(d, tokens, cfg["cls_reduce"], num_classes, protos, cfg, levels) for _ in range(n))

    def train(self, mode=True):
        """A frozen backbone (backbone_lr_scale 0) stays in eval mode: its normalisation statistics
        and dropout are those it was loaded with."""
        super().train(mode)
        if mode and self.cfg.get("backbone_lr_scale", 1.0) == 0.0:
            self.backbone.eval()
        return self

    def forward(self, images, part_labels=None, with_levels=False):
        """images [B,3,H,W], part_labels [B,H,W] (label maps) or None for the global branch only.
        Returns per-stage logits, a list of [B, nb, C] (branch 0 = global); with `with_levels` also
        the intermediate levels' logits per stage, [stage][level] -> [B, nb, n_level]."""
        b = images.shape[0]
        onehot = part_onehot(part_labels, self.num_part_slots, self.cfg["mask_closing"]) \
            if part_labels is not None and self.num_part_slots > 0 else None
        maps = self.backbone(images)
        prev = prev_grid = carried = None
        logits = []
        for i, fmap in enumerate(maps):
            x, grid = self.project[i](fmap)
            if self.has_fusion[i]:
                x = self.fusion[i](x, prev, grid, prev_grid)
            prev, prev_grid = x, grid
            masks = branch_masks(onehot, grid, b, x.device, x.dtype)
            g = apply_masks(x, masks)
            if self.reasoners is not None:
                cls, carried = self.reasoners[i](g, carried, grid)
            else:
                cls = masked_average(g, masks)
            logits.append(self.heads[i](cls, with_levels))
        if with_levels:
            return [l for l, _ in logits], [lv for _, lv in logits]
        return logits


class GlobalBranch(nn.Module):
    """Inference: images [B,3,H,W] -> last-stage global-branch logits [B, C] (what model.onnx holds)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        return self.model(images, None)[-1][:, 0]
