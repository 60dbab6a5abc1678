"""The optimiser's parameter groups, shared by the training loop and the preflight's probed step."""


def param_groups(model, weight_decay):
    """No weight decay on norms, biases, tokens, positions and the head's tau/beta."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.dim() >= 2 and "class_tokens" not in name and "pos_embedding" not in name
         and "class_token" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
