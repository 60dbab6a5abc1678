"""Multi-scale Multi-part Progressive Reasoning: one reasoner per stage.

Per stage s and branch n': Z = [3 class tokens of (s, n') | feature tokens carried from stage s-1 |
flattened masked stage-s tokens + 2-D sine-cosine positions] goes through this stage's own
encoder layers (weights not shared across stages; shared across branches). The output splits into
class tokens I_{s,n'} (to VLCL-MG, never passed up) and the tokens at the stage-s positions, which
are carried to stage s+1. Carrying only the stage-s positions (the carried tokens already attended
to them) keeps the sequence at 3 + N_{s-1} + N_s instead of growing with every stage.

With `use_mmbpr` off (ablation) there are no encoders: I_{s,n'} is the masked average of G_{s,n'}.
"""
import torch
import torch.nn as nn

from .layers import EncoderLayer, sincos_positions


class StageReasoner(nn.Module):
    def __init__(self, dim, heads, depth, mlp_ratio, dropout, branches, class_tokens):
        super().__init__()
        self.class_tokens = nn.Parameter(torch.randn(branches, class_tokens, dim) * 0.02)
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, mlp_ratio, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, g, carried, grid):
        """g [B, nb, N, d] masked tokens, carried [B, nb, M, d] or None ->
        class tokens [B, nb, T, d], tokens to carry [B, nb, N, d]."""
        b, nb, n, d = g.shape
        t = self.class_tokens.shape[1]
        x = g + sincos_positions(grid[0], grid[1], d, g.device, g.dtype)
        cls = self.class_tokens[:nb].unsqueeze(0).expand(b, -1, -1, -1).to(g.dtype)
        parts = [cls, x] if carried is None else [cls, carried, x]
        z = torch.cat(parts, dim=2).reshape(b * nb, -1, d)
        for layer in self.layers:
            z = layer(z)
        z = self.norm(z).reshape(b, nb, -1, d)
        return z[:, :, :t], z[:, :, z.shape[2] - n:]


def masked_average(g, masks):
    """Ablation without MMBPR: [B, nb, N, d] masked tokens -> one token per branch [B, nb, 1, d]."""
    area = masks.sum(dim=-1, keepdim=True).clamp(min=1.0)  # [B, nb, 1]
    return (g.sum(dim=2) / area).unsqueeze(2)
