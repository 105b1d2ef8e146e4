"""What the engine minimises and what it measures.

:func:`make_loss_terms` assembles a step's loss as named, already weighted terms: the model's
own ``training_loss(x_in, x_target)`` hook or the per-pixel reconstruction MSE (talk eq. 1),
plus the regularisers of ``TrainConfig.regularisers`` (:mod:`nets.losses`); :func:`total`
sums them. :func:`evaluate` is the validation metric: the model's ``validation_mse(x)`` hook
or the per-pixel MSE of ``model(x)`` against ``x``, averaged over the validation set in
chunks of ``val_batch_size`` and accumulated in float64.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from . import losses as L
from ._batches import to_device_format
from .train_config import TrainConfig

__all__ = ["make_loss_terms", "total", "evaluate"]


def make_loss_terms(model: nn.Module, config: TrainConfig,
                    noise_gen: torch.Generator) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
    """``loss_terms(x) -> {name: 0-d tensor}`` for a batch ``x``; ``noise_gen`` draws the
    denoising noise eta (on the CPU, then moved to ``x``'s device)."""
    hook = getattr(model, "training_loss", None)

    def base(x_in: torch.Tensor, x_target: torch.Tensor) -> dict[str, torch.Tensor]:
        if callable(hook):
            out = hook(x_in, x_target)
            if not isinstance(out, dict) or not out:
                raise TypeError("model.training_loss must return a non-empty dict[str, Tensor]")
            return out
        return {"mse": L.reconstruction_mse(model, x_in, x_target)}

    regs = dict(config.regularisers)

    def loss_terms(x: torch.Tensor) -> dict[str, torch.Tensor]:
        terms = base(x, x) if config.clean_loss else {}
        if "denoise" in regs:
            eta = torch.randn(x.shape, generator=noise_gen, dtype=x.dtype).to(x.device)
            noisy = base(to_device_format(x + config.noise_std * eta, config.channels_last), x)
            terms["denoise"] = regs["denoise"] * torch.stack([v for v in noisy.values()]).sum()
        if "latent_l2" in regs:
            terms["latent_l2"] = regs["latent_l2"] * L.latent_l2(x, model.encode(x))
        if "encoder_l2" in regs:
            terms["encoder_l2"] = regs["encoder_l2"] * L.encoder_l2(model)
        if "all_l2" in regs:
            terms["all_l2"] = regs["all_l2"] * L.all_l2(model)
        if "contractive" in regs:
            terms["contractive"] = regs["contractive"] * L.contractive(model, x)
        return terms

    return loss_terms


def total(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """The loss a step minimises: the sum of the terms (the one term itself when alone)."""
    return torch.stack(list(terms.values())).sum() if len(terms) > 1 else next(iter(terms.values()))


@torch.no_grad()
def evaluate(model: nn.Module, val: torch.Tensor | None, config: TrainConfig) -> float:
    """The validation metric of ``model`` on ``val`` (NaN without validation data); the model
    runs in eval mode and is put back in train mode after."""
    if val is None:
        return float("nan")
    hook = getattr(model, "validation_mse", None)
    model.eval()
    try:
        acc, count = 0.0, 0
        for i in range(0, len(val), config.val_batch_size):
            x = to_device_format(val[i : i + config.val_batch_size].to(config.device), config.channels_last)
            if callable(hook):
                acc += float(hook(x)) * len(x)
                count += len(x)
            else:
                y = model(x)
                acc += float(torch.sum((y - x.reshape(y.shape)) ** 2, dtype=torch.float64))
                count += x.numel()
        return acc / count
    finally:
        model.train()
