"""Focal-Smooth loss (per stage) and the smoothed targets built from the class hierarchy.

The paper prints FSL_s = -sum_{n'} sum_c (1-P_c)^gamma y~_c log P_c with P = sigma(z). Which sigma
is meant decides whether the loss can learn (docs/loss.md has the reasoning):

  softmax (`loss_form`, default)  P = softmax(z) over the classes: the printed formula as it
      stands is label-smoothed focal cross-entropy. Raising log P_y lowers every other class
      through the normaliser, so the positive-only term is complete.
  sigmoid  P = sigmoid(z) per class. The printed term alone is minimised by P = 1 for every class,
      so the binary focal loss's negative term -(1-y~_c) P_c^gamma log(1-P_c) is added
      (`loss_negative_term`, default on; off gives the printed formula literally).

Both are summed over branches and classes and averaged over the batch;
L_final = sum_s w_s FSL_s with w = stage_weights[s-1].

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


def focal_smooth_loss(logits, targets, gamma, negative_term=True, form="sigmoid"):
    """logits [B, nb, C], targets [B, C] -> scalar: summed over branches and classes, mean over batch."""
    z = logits.float()
    y = targets.float().unsqueeze(1)
    if form == "softmax":
        log_p = F.log_softmax(z, dim=-1)
        loss = -(y * (1 - log_p.exp()).pow(gamma) * log_p)
    else:
        p = torch.sigmoid(z)
        loss = -(y * (1 - p).pow(gamma) * F.logsigmoid(z))
        if negative_term:
            loss = loss - (1 - y) * p.pow(gamma) * F.logsigmoid(-z)
    return loss.sum(dim=(1, 2)).mean()


def probabilities(logits, form):
    """P as the loss reads it: softmax over the classes, or an independent sigmoid per class."""
    return logits.float().softmax(dim=-1) if form == "softmax" else torch.sigmoid(logits.float())


def level_targets(values, n, eps):
    """Class -> smoothed one-hot of its value at an intermediate level: [C, n]."""
    onehot = torch.nn.functional.one_hot(torch.as_tensor(values, dtype=torch.long), n).float()
    return (1 - eps) * onehot + eps / n


class PSCLLoss:
    """Weighted sum of the per-stage Focal-Smooth losses; with level heads (`vlcl_levels`) each stage
    adds sum_l lambda_l FSL(level logits, the class's value at level l), lambda = level_weights."""

    def __init__(self, cfg, level_index, levels=None):
        self.gamma = cfg["gamma"]
        self.form = cfg["loss_form"]
        self.negative_term = cfg["loss_negative_term"]
        self.weights = [cfg["stage_weights"][s - 1] for s in cfg["stages"]]
        self.targets = [smoothing_matrix(level_index, cfg["epsilon"][s - 1], cfg["smoothing"]) for s in cfg["stages"]]
        levels = (levels or []) if cfg["vlcl_levels"] and cfg["use_vlcl"] else []
        lw = cfg["level_weights"] or [0.0]
        self.level_weights = [lw[min(i, len(lw) - 1)] for i in range(len(levels))]
        self.level_targets = [[level_targets(values, t.shape[0], cfg["epsilon"][s - 1]) for _, t, values in levels]
                              for s in cfg["stages"]]

    def __call__(self, stage_logits, labels, level_logits=None):
        """-> total loss, list of per-stage (fine) losses, unweighted. `level_logits` [stage][level]."""
        stage_losses = []
        for logits, table in zip(stage_logits, self.targets):
            targets = table.to(logits.device)[labels]
            stage_losses.append(focal_smooth_loss(logits, targets, self.gamma, self.negative_term, self.form))
        total = sum(w * l for w, l in zip(self.weights, stage_losses))
        if level_logits:
            for w, per_level, tables in zip(self.weights, level_logits, self.level_targets):
                for lam, logits, table in zip(self.level_weights, per_level, tables):
                    targets = table.to(logits.device)[labels]
                    total = total + w * lam * focal_smooth_loss(logits.float(), targets, self.gamma,
                                                                self.negative_term, self.form)
        return total, stage_losses
