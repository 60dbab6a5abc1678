"""Focal-Smooth loss (per stage) and the smoothed targets built from the class hierarchy.

FSL_s = -(1/B) sum_b sum_{n'} sum_c [ y~_c (1-P_c)^gamma log P_c + (1-y~_c) P_c^gamma log(1-P_c) ]
with P = sigmoid(z) per class. The paper prints only the first (positive) term; with independent
sigmoids that term alone is minimised by P = 1 for every class, so the negative term (the focal
loss's usual binary form) is included by default (`loss_negative_term`; False gives the printed
formula). L_final = sum_s w_s FSL_s with w = stage_weights[s-1].

Smoothed targets y~ (`smoothing`; the paper says only that eps_s decreases with the stage):
  none       y~ = onehot(y)
  uniform    y~ = (1 - eps_s) onehot(y) + eps_s / C
  hierarchy  y~ = (1 - eps_s) onehot(y) + eps_s q, where q_c (c != y) is proportional to the number
             of ancestor levels (coarse and intermediate, not fine) that class c shares with y; this is
             how intermediate categories shape the targets: the smoothing mass goes to the classes
             the taxonomy says are close. Falls back to uniform when y shares no level with anyone.
"""
import torch
import torch.nn.functional as F


def smoothing_matrix(level_index, eps, mode):
    """level_index [C, L] (value index per level, fine last) -> targets [C, C], row y = y~ for label y."""
    level_index = torch.as_tensor(level_index, dtype=torch.long)
    c = level_index.shape[0]
    eye = torch.eye(c)
    if mode == "none" or eps == 0:
        return eye
    uniform = (1 - eps) * eye + eps / c
    if mode == "uniform":
        return uniform
    ancestors = level_index[:, :-1]
    shared = (ancestors.unsqueeze(1) == ancestors.unsqueeze(0)).sum(-1).float() * (1 - eye)  # [C, C]
    total = shared.sum(dim=1, keepdim=True)
    q = shared / total.clamp(min=1)
    hier = (1 - eps) * eye + eps * q
    return torch.where(total > 0, hier, uniform)


def focal_smooth_loss(logits, targets, gamma, negative_term=True):
    """logits [B, nb, C], targets [B, C] -> scalar: summed over branches and classes, mean over batch."""
    z = logits.float()
    y = targets.float().unsqueeze(1)
    p = torch.sigmoid(z)
    loss = -(y * (1 - p).pow(gamma) * F.logsigmoid(z))
    if negative_term:
        loss = loss - (1 - y) * p.pow(gamma) * F.logsigmoid(-z)
    return loss.sum(dim=(1, 2)).mean()


class PSCLLoss:
    """Weighted sum of the per-stage Focal-Smooth losses."""

    def __init__(self, cfg, level_index):
        self.gamma = cfg["gamma"]
        self.negative_term = cfg["loss_negative_term"]
        self.weights = [cfg["stage_weights"][s - 1] for s in cfg["stages"]]
        self.targets = [smoothing_matrix(level_index, cfg["epsilon"][s - 1], cfg["smoothing"]) for s in cfg["stages"]]

    def __call__(self, stage_logits, labels):
        """-> total loss, list of per-stage losses (unweighted)."""
        stage_losses = []
        for logits, table in zip(stage_logits, self.targets):
            targets = table.to(logits.device)[labels]
            stage_losses.append(focal_smooth_loss(logits, targets, self.gamma, self.negative_term))
        total = sum(w * l for w, l in zip(self.weights, stage_losses))
        return total, stage_losses
