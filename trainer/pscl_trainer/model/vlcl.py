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


class ContrastiveHead(nn.Module):
    def __init__(self, dim, prototypes, tau_init, beta_init, normalize_visual):
        super().__init__()
        num_classes, embed = prototypes.shape
        self.proj = nn.Linear(dim, embed, bias=False)  # W
        self.register_buffer("prototypes", prototypes.clone().float())  # T [C, D], fixed
        self.log_tau = nn.Parameter(torch.tensor(math.log(tau_init)))
        b0 = -math.log(max(num_classes - 1, 1)) if beta_init is None else beta_init
        self.beta = nn.Parameter(torch.tensor(float(b0)))
        self.normalize_visual = normalize_visual

    def forward(self, tokens):  # [..., dim] -> [..., C]
        v = self.proj(tokens)
        if self.normalize_visual:
            v = F.normalize(v, dim=-1)
        return self.log_tau.exp() * torch.matmul(v, self.prototypes.t().to(v.dtype)) + self.beta


class ClassTokenHead(nn.Module):
    """Reduces the class tokens of each branch [B, nb, T, d] to logits [B, nb, C]."""

    def __init__(self, dim, tokens, reduce, num_classes, prototypes, cfg):
        super().__init__()
        self.reduce = reduce if tokens > 1 else "mean"
        in_dim = dim * tokens if self.reduce == "concat" else dim
        if prototypes is not None:
            self.head = ContrastiveHead(in_dim, prototypes, cfg["tau_init"], cfg["beta_init"], cfg["normalize_visual"])
        else:
            self.head = nn.Linear(in_dim, num_classes)

    def forward(self, cls):
        if self.reduce == "mean":
            return self.head(cls.mean(dim=2))
        if self.reduce == "concat":
            return self.head(cls.flatten(2))
        return self.head(cls).mean(dim=2)
