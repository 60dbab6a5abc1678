"""Part Localization Module: part label maps -> per-branch masked stage features.

G_{s,n'} = f'_s (Hadamard) M_{s,n'} for every part slot n' = 1..K, plus the global branch with the
all-ones mask. Branch 0 is the global branch; branches 1..K are the part slots of the cache
(mask value k -> branch k). f'_s is the ReSAF-fused stage feature (see resaf.py).
"""
import torch
import torch.nn.functional as F


def part_onehot(label_map, num_slots, closing=1):
    """Label maps [B, H, W] (0 = background, k = part slot k) -> one-hot [B, K, H, W] float, each
    part's mask closed with a `closing` x `closing` kernel (the paper's M = (S + K) - K)."""
    slots = torch.arange(1, num_slots + 1, device=label_map.device).view(1, -1, 1, 1)
    return close_masks((label_map.unsqueeze(1).long() == slots).float(), closing)


def close_masks(masks, kernel):
    """Binary closing (dilate, then erode) of masks [B, K, H, W] with empty space around the image:
    zero-pad by the radius, max-pool (padding is ignored by the pooling), crop. The same
    definition as src/core/masks/morphology.ts `close`, so the preview shows what is trained."""
    if kernel <= 1:
        return masks
    if kernel % 2 == 0:
        raise ValueError(f"mask_closing must be odd, got {kernel}")
    r = kernel // 2
    x = F.pad(masks, (r, r, r, r))
    x = F.max_pool2d(x, kernel, stride=1, padding=r)
    x = -F.max_pool2d(-x, kernel, stride=1, padding=r)
    return x[..., r:-r, r:-r]


def branch_masks(onehot, grid, batch, device, dtype):
    """Masks of every branch on a stage grid [B, 1 + K, h*w]: the all-ones global mask first, then
    the part masks resized with nearest neighbour. `onehot` None -> the global branch only."""
    ones = torch.ones(batch, 1, grid[0] * grid[1], device=device, dtype=dtype)
    if onehot is None:
        return ones
    parts = F.interpolate(onehot, size=grid, mode="nearest").flatten(2).to(dtype)
    return torch.cat([ones, parts], dim=1)


def apply_masks(tokens, masks):
    """Hadamard product of stage tokens [B, N, d] with branch masks [B, nb, N] -> [B, nb, N, d]."""
    return tokens.unsqueeze(1) * masks.unsqueeze(-1)
