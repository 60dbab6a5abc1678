"""The optimiser's parameter groups, shared by the training loop and the preflight's probed step."""


def param_groups(model, cfg):
    """No weight decay on norms, biases, tokens, positions and the head's tau/beta. The backbone's
    groups carry `lr_scale` = cfg["backbone_lr_scale"] (the loop multiplies the scheduled rate by
    it); at 0 the backbone is frozen instead: no gradients, no optimiser state."""
    scale = float(cfg.get("backbone_lr_scale", 1.0))
    groups = {}
    for name, p in model.named_parameters():
        in_backbone = name.startswith("backbone.")
        if in_backbone and scale == 0.0:
            p.requires_grad_(False)
        if not p.requires_grad:
            continue
        decays = (p.dim() >= 2 and "class_tokens" not in name and "pos_embedding" not in name
                  and "class_token" not in name)
        key = (in_backbone and scale != 1.0, decays)
        if key not in groups:
            groups[key] = {"params": [], "weight_decay": cfg["weight_decay"] if decays else 0.0,
                           "lr_scale": scale if key[0] else 1.0}
        groups[key]["params"].append(p)
    # a fixed order, whatever the parameter order: checkpoints map groups by position
    return [groups[k] for k in sorted(groups, key=lambda k: (k[0], not k[1]))]
