"""VLCL-MG heads: class tokens -> per-class logits z, with P = sigmoid(z).

Contrastive head (the paper): z = tau * (W I) T^T + beta, T the fixed prototypes
norm(t_fine - t_coarse) from the cache, tau and beta learnable scalars per stage (tau kept positive
as exp(log_tau)). With `normalize_visual` W I is L2-normalised first, so z is a scaled cosine
(the paper's formula leaves the norm of W I free; normalising keeps tau meaningful).

Linear head (ablation without VLCL-MG): z = Linear(I).

The 3 class tokens of a branch give one prediction (`cls_reduce`, the paper is silent):
`mean` averages the tokens before the head, `concat` joins them (head input 3d),
`logit_mean` averages the 3 tokens' logits.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def center_prototypes(prototypes):
    """Rows minus their mean, renormalised: removes what every class shares, so text embeddings
    that cluster (a small or untrained CLIP) still point apart."""
    return F.normalize(prototypes - prototypes.mean(dim=0, keepdim=True), dim=-1)


class ContrastiveHead(nn.Module):
    def __init__(self, dim, prototypes, tau_init, beta_init, normalize_visual, center=False):
        super().__init__()
        num_classes, embed = prototypes.shape
        self.proj = nn.Linear(dim, embed, bias=False)  # W
        protos = prototypes.clone().float()
        if center and num_classes > 1:
            protos = center_prototypes(protos)
        self.register_buffer("prototypes", protos)  # T [C, D], fixed
        self.log_tau = nn.Parameter(torch.tensor(math.log(tau_init)))
        b0 = -math.log(max(num_classes - 1, 1)) if beta_init is None else beta_init
        self.beta = nn.Parameter(torch.tensor(float(b0)))
        self.normalize_visual = normalize_visual

    def embed(self, tokens):  # [..., dim] -> W I [..., D] (L2-normalised with normalize_visual)
        v = self.proj(tokens)
        return F.normalize(v, dim=-1) if self.normalize_visual else v

    def forward(self, tokens):  # [..., dim] -> [..., C]
        v = self.embed(tokens)
        return self.log_tau.exp() * torch.matmul(v, self.prototypes.t().to(v.dtype)) + self.beta


class LevelHead(nn.Module):
    """VLCL-MG against one intermediate level (training only): z = tau_l (W I) T_l^T + beta_l with
    the fine head's W, so the same visual embedding must also sit near its genus', family's...
    prototype; T_l = norm(t_value - t_coarse) like the fine prototypes."""

    def __init__(self, prototypes, tau_init, center=False):
        super().__init__()
        protos = prototypes.clone().float()
        if center and protos.shape[0] > 1:
            protos = center_prototypes(protos)
        self.register_buffer("prototypes", protos)
        self.log_tau = nn.Parameter(torch.tensor(math.log(tau_init)))
        self.beta = nn.Parameter(torch.tensor(-math.log(max(protos.shape[0] - 1, 1))))

    def forward(self, v):
        return self.log_tau.exp() * torch.matmul(v, self.prototypes.t().to(v.dtype)) + self.beta


class ClassTokenHead(nn.Module):
    """Reduces the class tokens of each branch [B, nb, T, d] to logits [B, nb, C] (and, when asked,
    the logits of every intermediate level [B, nb, n_l])."""

    def __init__(self, dim, tokens, reduce, num_classes, prototypes, cfg, level_prototypes=None):
        super().__init__()
        self.reduce = reduce if tokens > 1 else "mean"
        in_dim = dim * tokens if self.reduce == "concat" else dim
        if prototypes is not None:
            self.head = ContrastiveHead(in_dim, prototypes, cfg["tau_init"], cfg["beta_init"], cfg["normalize_visual"],
                                        cfg["prototype_center"])
        else:
            self.head = nn.Linear(in_dim, num_classes)
        self.levels = nn.ModuleList(LevelHead(t, cfg["tau_init"], cfg["prototype_center"])
                                    for t in (level_prototypes or []))

    def _reduced(self, fn, cls):
        if self.reduce == "mean":
            return fn(cls.mean(dim=2))
        if self.reduce == "concat":
            return fn(cls.flatten(2))
        return fn(cls).mean(dim=2)

    def forward(self, cls, with_levels=False):
        logits = self._reduced(self.head, cls)
        if not with_levels:
            return logits
        return logits, [self._reduced(lambda x, h=h: h(self.head.embed(x)), cls) for h in self.levels]
