"""Loss, target and probability formulas against values computed by hand (plain math)."""
import math

import pytest
import torch

from pscl_trainer.config import load_config
from pscl_trainer.losses import PSCLLoss, focal_smooth_loss, probabilities, smoothing_matrix
from pscl_trainer.model.vlcl import ClassTokenHead, ContrastiveHead
from pscl_trainer.train import lr_at


def sig(x):
    return 1 / (1 + math.exp(-x))


def test_softmax_focal_smooth_loss_matches_hand_computation():
    # z = (0.5, -1, 2): e^z = 1.6487213, 0.3678794, 7.3890561, sum 9.4056568 (log 2.2413113)
    # P = (0.1752904, 0.0391126, 0.7855970); -log P = (1.7413113, 3.2413113, 0.2413113)
    # y~ = (0.8, 0.15, 0.05), gamma 2: -sum y~ (1 - P)^2 log P
    z = [[0.5, -1.0, 2.0]]
    y = [0.8, 0.15, 0.05]
    expected = 0.8 * 0.6801459 * 1.7413113 + 0.15 * 0.9233046 * 3.2413113 + 0.05 * 0.0459686 * 0.2413113
    got = focal_smooth_loss(torch.tensor([z]), torch.tensor([y]), 2.0, form="softmax")
    assert got.item() == pytest.approx(expected, rel=1e-5)
    # gamma 0 and a one-hot target: plain cross-entropy, -log P_y
    ce = focal_smooth_loss(torch.tensor([z]), torch.tensor([[0.0, 0.0, 1.0]]), 0.0, form="softmax")
    assert ce.item() == pytest.approx(0.2413113, rel=1e-5)
    # the positive-only term lowers the wrong classes: its gradient on a wrong logit is positive
    logits = torch.tensor([z], requires_grad=True)
    focal_smooth_loss(logits, torch.tensor([[0.0, 1.0, 0.0]]), 4.0, form="softmax").backward()
    g = logits.grad[0, 0].tolist()
    assert g[1] < 0 and g[0] > 0 and g[2] > 0
    assert probabilities(torch.tensor(z), "softmax")[0].tolist() == pytest.approx([0.1752904, 0.0391126, 0.7855970], rel=1e-5)


def test_sigmoid_positive_only_term_raises_every_class():
    """Why the sigmoid form needs its negative term: the printed term alone pushes all P up."""
    logits = torch.tensor([[[0.5, -1.0, 2.0]]], requires_grad=True)
    focal_smooth_loss(logits, torch.tensor([[0.0, 1.0, 0.0]]), 4.0, negative_term=False, form="sigmoid").backward()
    assert logits.grad[0, 0, 0].item() == 0 and logits.grad[0, 0, 1].item() < 0 and logits.grad[0, 0, 2].item() == 0
    smoothed = torch.tensor([[0.1, 0.8, 0.1]])
    logits.grad = None
    focal_smooth_loss(logits, smoothed, 4.0, negative_term=False, form="sigmoid").backward()
    assert (logits.grad < 0).all()  # every class pushed up, the wrong ones too


def test_sigmoid_focal_smooth_loss_matches_hand_computation():
    z = [[0.5, -1.0, 2.0]]
    y = [0.8, 0.15, 0.05]
    gamma = 2.0
    expected = 0.0
    for zc, yc in zip(z[0], y):
        p = sig(zc)
        expected += -(yc * (1 - p) ** gamma * math.log(p) + (1 - yc) * p ** gamma * math.log(1 - p))
    got = focal_smooth_loss(torch.tensor([z]), torch.tensor([y]), gamma, form="sigmoid")
    assert got.item() == pytest.approx(expected, rel=1e-6)
    positive_only = sum(-(yc * (1 - sig(zc)) ** gamma * math.log(sig(zc))) for zc, yc in zip(z[0], y))
    assert focal_smooth_loss(torch.tensor([z]), torch.tensor([y]), gamma, negative_term=False, form="sigmoid").item() == \
        pytest.approx(positive_only, rel=1e-6)
    # by hand, to 4 digits: sig = (0.622459, 0.268941, 0.880797)
    assert expected == pytest.approx(0.8 * 0.142537 * 0.474077 + 0.2 * 0.387455 * 0.974077
                                     + 0.15 * 0.534447 * 1.313262 + 0.85 * 0.072329 * 0.313262
                                     + 0.05 * 0.014209 * 0.126928 + 0.95 * 0.775803 * 2.126928, rel=1e-4)


def test_loss_sums_branches_and_averages_batch():
    z = torch.tensor([[[0.3, -0.2], [1.0, 0.0]], [[-0.5, 0.5], [0.2, 0.1]]])  # [B=2, nb=2, C=2]
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    per = [sum(focal_smooth_loss(z[b, n].view(1, 1, 2), y[b].view(1, 2), 4.0).item() for n in range(2)) for b in range(2)]
    assert focal_smooth_loss(z, y, 4.0).item() == pytest.approx(sum(per) / 2, rel=1e-6)


# levels: coarse, family, fine. classes 0,1 share family 0; class 2 family 1; class 3 another coarse.
LEVELS = [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3]]


def test_hierarchy_smoothing_spreads_eps_by_shared_ancestors():
    m = smoothing_matrix(LEVELS, 0.4, "hierarchy")
    # class 0 shares 2 levels with class 1, 1 level (coarse) with class 2, none with class 3
    assert m[0].tolist() == pytest.approx([0.6, 0.4 * 2 / 3, 0.4 * 1 / 3, 0.0])
    # class 3 shares nothing: uniform smoothing (1 - eps) onehot + eps / C
    assert m[3].tolist() == pytest.approx([0.1, 0.1, 0.1, 0.7])
    assert m.sum(1).tolist() == pytest.approx([1, 1, 1, 1])


def test_uniform_and_no_smoothing():
    assert smoothing_matrix(LEVELS, 0.2, "uniform")[1].tolist() == pytest.approx([0.05, 0.85, 0.05, 0.05])
    assert torch.equal(smoothing_matrix(LEVELS, 0.2, "none"), torch.eye(4))


def test_stage_weights_and_epsilons_follow_the_stages():
    cfg = load_config("tiny", ["stages=[2,3,4]"])
    loss = PSCLLoss(cfg, LEVELS)
    assert loss.weights == [0.2, 0.4, 1.0]
    assert loss.targets[0][2, 2].item() == pytest.approx(0.7)  # eps of stage 2 = 0.3
    logits = [torch.zeros(1, 1, 4), torch.zeros(1, 1, 4), torch.zeros(1, 1, 4)]
    total, stages = loss(logits, torch.tensor([2]))
    assert total.item() == pytest.approx(0.2 * stages[0].item() + 0.4 * stages[1].item() + stages[2].item(), rel=1e-6)


def test_vlcl_probability_formula_by_hand():
    protos = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    head = ContrastiveHead(2, protos, tau_init=2.0, beta_init=-1.0, normalize_visual=True)
    with torch.no_grad():
        head.proj.weight.copy_(torch.eye(2))
    i = torch.tensor([[3.0, 4.0]])
    # W I = (3, 4), normalised (0.6, 0.8); z = 2 * (0.6, 0.8) - 1
    p = torch.sigmoid(head(i))[0].tolist()
    assert p == pytest.approx([sig(0.2), sig(0.6)], rel=1e-6)
    head.normalize_visual = False
    assert torch.sigmoid(head(i))[0].tolist() == pytest.approx([sig(5.0), sig(7.0)], rel=1e-6)


def test_beta_starts_at_one_over_c_and_class_tokens_reduce():
    cfg = load_config("tiny")
    protos = torch.eye(4)
    head = ClassTokenHead(4, 3, "mean", 4, protos, cfg)
    assert torch.sigmoid(head.head.beta).item() == pytest.approx(1 / 4)
    cls = torch.randn(2, 5, 3, 4)
    assert torch.allclose(head(cls), head.head(cls.mean(2)))
    head.reduce = "logit_mean"
    assert torch.allclose(head(cls), head.head(cls).mean(2))
    concat = ClassTokenHead(4, 3, "concat", 4, protos, cfg)
    assert concat(cls).shape == (2, 5, 4) and concat.head.proj.in_features == 12


def test_learning_rate_warms_up_then_follows_a_cosine():
    cfg = {"lr": 1.0, "min_lr": 0.0}
    assert [lr_at(s, cfg, 4, 12) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert lr_at(8, cfg, 4, 12) == pytest.approx(0.5)  # half way through the cosine
    assert lr_at(12, cfg, 4, 12) == pytest.approx(0.0)
