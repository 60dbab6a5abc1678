"""Fusion between scales inside PLM: ReSAF and the ablation alternatives.

ReSAF (reverse-key scale-aware attention fusion), the exact form used here (the paper gives only
the idea: reversed keys negate the similarity so high-level queries avoid what low levels hold):

    q = W_q LN(x_s)          x_s      : stage-s tokens            [B, N_s, d]
    k = W_k LN(x'_{s-1})     x'_{s-1} : fused tokens of stage s-1 [B, N_{s-1}, d]
    v = W_v LN(x'_{s-1})
    A = softmax( q (-k)^T / sqrt(d_h) )      per head: the key is reversed
    x'_s = x_s + W_o (A v)

`cross` is the same with +k (standard cross-attention); `mlp` concatenates x_s with x'_{s-1}
average-pooled (or nearest-upsampled) to the stage-s grid and adds MLP(LN(.)); `none` is x'_s = x_s.
W_o starts at zero so every variant starts as the identity and learns how much to fuse.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import attention, merge_heads, split_heads


class ScaleAttentionFusion(nn.Module):
    def __init__(self, dim, heads, reverse_key=True):
        super().__init__()
        self.heads = heads
        self.sign = -1.0 if reverse_key else 1.0
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, prev, grid, prev_grid):  # [B, N_s, d], [B, N_{s-1}, d] -> [B, N_s, d]
        q = split_heads(self.q(self.norm_q(x)), self.heads)
        k, v = self.kv(self.norm_kv(prev)).chunk(2, dim=-1)
        out = attention(q, split_heads(k, self.heads) * self.sign, split_heads(v, self.heads))
        return x + self.out(merge_heads(out))


class MLPFusion(nn.Module):
    def __init__(self, dim, mlp_ratio=2.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm = nn.LayerNorm(2 * dim)
        self.mlp = nn.Sequential(nn.Linear(2 * dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, x, prev, grid, prev_grid):
        b, _, d = prev.shape
        pm = prev.transpose(1, 2).reshape(b, d, prev_grid[0], prev_grid[1])
        if prev_grid[0] >= grid[0] and prev_grid[1] >= grid[1]:
            pm = F.adaptive_avg_pool2d(pm, grid)
        else:
            pm = F.interpolate(pm, size=grid, mode="nearest")
        pm = pm.flatten(2).transpose(1, 2)
        return x + self.mlp(self.norm(torch.cat([x, pm], dim=-1)))


def build_fusion(kind, dim, heads, mlp_ratio):
    if kind == "resaf":
        return ScaleAttentionFusion(dim, heads, reverse_key=True)
    if kind == "cross":
        return ScaleAttentionFusion(dim, heads, reverse_key=False)
    if kind == "mlp":
        return MLPFusion(dim, mlp_ratio)
    return None
