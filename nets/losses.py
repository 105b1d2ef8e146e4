"""Latent regularisers of the talk ("Interpolation", slide 25) and the official code's variants.

Each is a pure function returning an unweighted scalar tensor; the training engine
(:func:`nets.train`) multiplies it by the weight given in ``TrainConfig.regularisers``, a tuple
of ``(name, weight)`` pairs with names from :data:`REGULARISERS`:

=========== ====== ======================================================================
name        talk   value (x: inputs (n, ...), z = E(x): (n, d))
=========== ====== ======================================================================
latent_l2   type 1 mean over pairs i < j of ``(|x_i - x_j|^2 - |z_i - z_j|^2)^2``
denoise     type 2 the model's own loss on ``x + noise_std * eta`` with target ``x``
encoder_l2  type 3 ``sum_l |W_l|^2`` over the encoder's weight tensors (not biases)
all_l2      --     ``sum_l |W_l|^2`` over every weight tensor of the model
contractive --     mean over the batch of ``|dz/dx|_F^2`` (Jacobian of E, by autograd)
=========== ====== ======================================================================

Norms are plain sums of squares over all pixels (the talk's ``|.|_2^2``), not per-pixel means.
"Weights" are the parameters with two or more dimensions (conv kernels, linear matrices), so
biases and normalisation scales are excluded, as in the talk's ``sum_l |W^l|_2^2``.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn

from geoshape import checks

from . import _checks

__all__ = [
    "REGULARISERS",
    "latent_l2",
    "denoise",
    "encoder_l2",
    "all_l2",
    "contractive",
    "encoder_weights",
    "reconstruction_mse",
]

#: Largest noise std of ``denoise``: float32 images plus noise of 1e6 still square to finite
#: errors (float32 overflows near 1.8e19 squared).
MAX_NOISE_STD = 1e6

REGULARISERS = ("latent_l2", "denoise", "encoder_l2", "all_l2", "contractive")


def _module(model, name: str = "model") -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return model


def reconstruction_mse(model: nn.Module, x_in: torch.Tensor, x_target: torch.Tensor) -> torch.Tensor:
    """Per-pixel mean of ``(model(x_in) - x_target)^2`` (the engine's default loss, talk eq. 1).

    ``x_target`` must hold as many numbers as ``model(x_in)`` (it is reshaped to its shape).
    """
    _module(model)
    _checks.tensor(x_in, "x_in")
    _checks.float_tensor(x_target, "x_target")
    try:
        y = model(x_in)
    except (ValueError, TypeError) as e:  # the model names its own argument "x"
        raise type(e)(f"x_in: {e}") from e
    if x_target.numel() != y.numel():
        raise ValueError(f"x_target must have as many elements as model(x_in) {tuple(y.shape)}, "
                         f"got shape {tuple(x_target.shape)}")
    return torch.mean((y - x_target.reshape(y.shape)) ** 2)


def latent_l2(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Type 1: ``mean_{i<j} (|x_i - x_j|^2 - |z_i - z_j|^2)^2`` over all pairs of the batch.

    x: (n, ...) images, z: (n, d) codes, both floating-point, n >= 2. Returns a scalar. The
    n (n - 1) / 2 pairs are held at once: a batch whose pair tensors would pass
    :data:`geoshape.checks.MEMORY_BUDGET_BYTES` is refused (ValueError) before any allocation.
    """
    _checks.float_tensor(_checks.batch(x, "x", 2), "x")
    _checks.float_tensor(_checks.batch(z, "z", 2), "z")
    if x.shape[0] != z.shape[0]:
        raise ValueError(f"x and z must have the same batch size, got {x.shape[0]} and {z.shape[0]}")
    n = x.shape[0]
    checks.budget(_latent_l2_bytes(n, x[0].numel(), z[0].numel()), "x, z",
                  f"the {n * (n - 1) // 2:,} pairs of a batch of {n}")
    i, j = torch.triu_indices(n, n, offset=1, device=x.device)
    # The image distances come from the Gram matrix: gathering every pair of 63 x 63 images
    # moved 2 x 2016 x 3969 floats a batch of 64 (78 ms of a 110 ms training step, against
    # 2.5 ms this way). Float64 keeps |x_i|^2 + |x_j|^2 - 2 x_i.x_j free of cancellation for
    # images of a few thousand unit pixels.
    xf = x.reshape(n, -1).to(torch.float64)
    gram = xf @ xf.T
    sq = torch.diagonal(gram)
    dx = (sq[i] + sq[j] - 2 * gram[i, j]).clamp_min(0).to(torch.promote_types(x.dtype, z.dtype))
    zf = z.reshape(n, -1)
    dz = ((zf[i] - zf[j]) ** 2).sum(dim=1)
    return torch.mean((dx - dz) ** 2)


def _latent_l2_bytes(n: int, pixels: int, d: int) -> int:
    """Peak bytes of :func:`latent_l2` on a batch of ``n`` images of ``pixels`` values and
    codes of ``d`` components (float64 throughout, the worst case)."""
    pairs = n * (n - 1) // 2
    # two int64 index rows; sq[i], sq[j], gram[i, j], dx and its square (float64); zf[i], zf[j]
    # and their squared difference (d each); the float64 copy of x and its Gram matrix
    per_pair = 2 * 8 + 5 * 8 + 3 * 8 * d
    return pairs * per_pair + 8 * n * pixels + 8 * n * n


def denoise(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    noise_std: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Type 2: ``loss_fn(x + noise_std * eta, x)`` with eta standard normal (talk slide 25).

    loss_fn(x_in, x_target) -> scalar, e.g. the per-pixel reconstruction MSE. ``noise_std``:
    in [0, 1e6] (``MAX_NOISE_STD``; ValueError for negative, huge, NaN or inf; TypeError for a non-number).
    ``generator``: a ``torch.Generator`` making eta reproducible, or None (the global RNG).
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    _checks.float_tensor(_checks.batch(x, "x"), "x")
    noise_std = checks.real(noise_std, "noise_std", lo=0.0, hi=MAX_NOISE_STD)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    eta = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return loss_fn(x + noise_std * eta, x)


def _sum_sq(params: Iterable[torch.Tensor]) -> torch.Tensor:
    terms = [torch.sum(p**2) for p in params if p.ndim >= 2]
    if not terms:
        raise ValueError("no weight tensors (parameters with ndim >= 2) to regularise")
    return torch.stack(terms).sum()


def encoder_weights(model: nn.Module) -> list[torch.Tensor]:
    """Trainable weight tensors of the encoder: ``model.encoder_parameters()`` if the model has
    it, else the parameters of ``model.encoder``; only tensors with ndim >= 2."""
    _module(model)
    if hasattr(model, "encoder_parameters"):
        params = list(model.encoder_parameters())
    elif isinstance(getattr(model, "encoder", None), nn.Module):
        params = list(model.encoder.parameters())
    else:
        raise ValueError("encoder_l2 needs a model with encoder_parameters() or an `encoder` sub-module")
    return [p for p in params if p.requires_grad and p.ndim >= 2]


def encoder_l2(model: nn.Module) -> torch.Tensor:
    """Type 3: ``sum_l |W_l|^2`` over the encoder's trainable weight tensors (talk slide 25)."""
    return _sum_sq(encoder_weights(model))


def all_l2(model: nn.Module) -> torch.Tensor:
    """``sum_l |W_l|^2`` over every trainable weight tensor of the model (official code)."""
    _module(model)
    return _sum_sq(p for p in model.parameters() if p.requires_grad)


def contractive(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Contractive penalty: mean over the batch of ``|dE(x)/dx|_F^2``.

    One backward pass per latent dimension (d is small here), ``create_graph=True`` so the
    penalty is differentiable in the weights. Summing ``z[:, k]`` over the batch before
    differentiating gives per-sample gradients because each code depends on its own image
    only (not true for a BatchNorm in training mode, where this is an approximation).
    ``x`` must be a floating tensor (the Jacobian is taken with respect to it).
    """
    _module(model)
    if not callable(getattr(model, "encode", None)):
        raise TypeError(f"model must define encode(); {type(model).__name__} does not")
    _checks.batch(x, "x")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    xg = x.detach().requires_grad_(True)
    z = model.encode(xg)
    total = x.new_zeros(())
    for k in range(z.shape[1]):
        (g,) = torch.autograd.grad(z[:, k].sum(), xg, create_graph=True)
        total = total + torch.sum(g**2)
    return total / x.shape[0]
