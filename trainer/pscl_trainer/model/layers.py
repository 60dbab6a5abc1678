"""Attention and transformer encoder layers shared by the tiny ViT, ReSAF and MMBPR."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

_HAS_SDPA = hasattr(F, "scaled_dot_product_attention")  # torch >= 2.0


def attention(q, k, v):
    """softmax(q k^T / sqrt(d)) v over [B, heads, L, d]; fused kernel on torch 2.x, math otherwise
    (and always while exporting to ONNX, so the graph is plain MatMul/Softmax)."""
    if _HAS_SDPA and not torch.onnx.is_in_onnx_export():
        return F.scaled_dot_product_attention(q, k, v)
    w = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    return torch.matmul(w.softmax(dim=-1), v)


def split_heads(x, heads):
    b, n, d = x.shape
    return x.reshape(b, n, heads, d // heads).transpose(1, 2)  # [B, heads, N, d/heads]


def merge_heads(x):
    b, h, n, dh = x.shape
    return x.transpose(1, 2).reshape(b, n, h * dh)


class SelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):  # [B, N, d] -> [B, N, d]
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        out = attention(split_heads(q, self.heads), split_heads(k, self.heads), split_heads(v, self.heads))
        return self.proj(merge_heads(out))


class EncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer: MHSA + MLP, each with LayerNorm and a residual."""

    def __init__(self, dim, heads, mlp_ratio=2.0, dropout=0.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.drop(self.attn(self.norm1(x)))
        return x + self.drop(self.mlp(self.norm2(x)))


def sincos_positions(h, w, dim, device, dtype):
    """Fixed 2-D sine-cosine position embedding [h*w, dim] (resolution independent, no weights)."""
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, device=device, dtype=torch.float32) / max(quarter, 1)))
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32),
                            torch.arange(w, device=device, dtype=torch.float32), indexing="ij")
    ang_y = ys.reshape(-1, 1) * omega
    ang_x = xs.reshape(-1, 1) * omega
    emb = torch.cat([ang_y.sin(), ang_y.cos(), ang_x.sin(), ang_x.cos()], dim=1)
    if emb.shape[1] < dim:
        emb = F.pad(emb, (0, dim - emb.shape[1]))
    return emb.to(dtype)
