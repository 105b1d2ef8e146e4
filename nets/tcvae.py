"""The beta-TCVAE baseline of the PCA-AE comparison (Chen et al. 2018, "Isolating Sources of
Disentanglement in VAEs").

The :class:`nets.vae.BetaVAE` nets and reconstruction term, with the KL term split into its
three parts and the total correlation weighted by ``beta``:

``sum_pixels (x - D(z))^2 + alpha * MI(x; z) + beta * TC(z) + gamma * sum_d KL(q(z_d) | p(z_d))``

estimated on a batch of M images with the minibatch-weighted sampling of Chen et al. (their
eq. S5; ``N`` = ``dataset_size``, the number of training images):

- ``log q(z_i) ~ logsumexp_j log q(z_i | x_j) - log(N M)``,
- ``log prod_d q(z_id) ~ sum_d [logsumexp_j log q(z_id | x_j) - log(N M)]``,
- ``MI = mean_i [log q(z_i | x_i) - log q(z_i)]``, ``TC = mean_i [log q(z_i) - log prod_d
  q(z_id)]``, ``DWKL = mean_i [log prod_d q(z_id) - log p(z_i)]``, p = N(0, I);

so MI + TC + DWKL is the sampled KL of the beta-VAE, and ``alpha = beta = gamma = 1`` is the
plain VAE's objective in expectation. Chen et al. use ``beta = 6`` on dSprites.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from geoshape import checks

from . import _checks
from .conv_ae import ConvAEConfig
from .vae import _ARCH_FIELDS, BetaVAE

__all__ = ["TCVAEConfig", "BetaTCVAE", "tc_decomposition"]

_LOG_2PI = math.log(2.0 * math.pi)


def _log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (_LOG_2PI + logvar + (z - mu) ** 2 * torch.exp(-logvar))


def tc_decomposition(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, dataset_size: int) -> dict:
    """Minibatch-weighted-sampling estimates ``{"mi", "tc", "dwkl"}`` (nats, scalars) of the
    KL decomposition of a batch: ``z``, ``mu``, ``logvar`` ``(M, d)``, ``z_i`` drawn from
    ``N(mu_i, exp(logvar_i))``; ``dataset_size`` = N >= M, the training set's size."""
    for name, t in (("z", z), ("mu", mu), ("logvar", logvar)):
        _checks.float_tensor(t, name)
    if not (z.shape == mu.shape == logvar.shape and z.ndim == 2 and z.shape[0] >= 1):
        raise ValueError(f"z, mu and logvar must share one (M, d) shape, got {tuple(z.shape)}, "
                         f"{tuple(mu.shape)}, {tuple(logvar.shape)}")
    m = z.shape[0]
    n = checks.integer(dataset_size, "dataset_size", lo=m)
    # log q(z_i[d] | x_j[d]) for every pair (i, j): (M, M, d)
    pair = _log_normal(z[:, None, :], mu[None, :, :], logvar[None, :, :])
    log_nm = math.log(n * m)
    log_qz = torch.logsumexp(pair.sum(2), dim=1) - log_nm
    log_prod_qzd = (torch.logsumexp(pair, dim=1) - log_nm).sum(1)
    log_qz_x = _log_normal(z, mu, logvar).sum(1)
    log_pz = _log_normal(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
    return {"mi": (log_qz_x - log_qz).mean(), "tc": (log_qz - log_prod_qzd).mean(),
            "dwkl": (log_prod_qzd - log_pz).mean()}


@dataclass(frozen=True, kw_only=True)
class TCVAEConfig(ConvAEConfig):
    """The fields of :class:`nets.conv_ae.ConvAEConfig` plus

    beta: weight of the total correlation, finite and >= 0 (Chen et al.: 6);
    alpha, gamma: weights of the index-code mutual information and of the dimension-wise KL,
        finite and >= 0 (1, as Chen et al.);
    dataset_size: N, the number of training images, an int >= 1 (the minibatch-weighted
        sampling estimator's normaliser; a batch larger than N is refused in training).

    ``TCVAEConfig.of(conv_config, beta=..., dataset_size=...)`` takes an existing architecture.
    """

    beta: float = 6.0
    alpha: float = 1.0
    gamma: float = 1.0
    dataset_size: int = 10000

    @classmethod
    def of(cls, config: ConvAEConfig, **weights) -> "TCVAEConfig":
        """The TCVAE config with ``config``'s architecture fields and the given weights."""
        if not isinstance(config, ConvAEConfig):
            raise TypeError(f"config must be a ConvAEConfig, got {type(config).__name__}")
        return cls(**weights, **{name: getattr(config, name) for name in _ARCH_FIELDS})

    def validate(self) -> None:
        """Raise ValueError/TypeError naming the bad field and its allowed range."""
        super().validate()
        for name in ("beta", "alpha", "gamma"):
            self._set(name, checks.nonnegative(getattr(self, name), name))
        self._set("dataset_size", checks.integer(self.dataset_size, "dataset_size", lo=1))

    def replace(self, **changes) -> "TCVAEConfig":
        return dataclasses.replace(self, **changes)


class BetaTCVAE(BetaVAE):
    """beta-TCVAE: :class:`nets.vae.BetaVAE`'s nets (``encode`` = posterior means, shapes as
    there: any ``config.size`` in [8, 1024], inputs zero-padded to ``config.padded_size`` and
    outputs cropped back, so the reconstruction term covers the input's pixels only) trained on
    the decomposed objective of the module docstring.

    Examples:
        >>> vae = BetaTCVAE(TCVAEConfig(size=16, n_stages=2, dataset_size=100), seed=0)
        >>> sorted(vae.training_loss(torch.rand(8, 1, 16, 16), torch.rand(8, 1, 16, 16)))
        ['dwkl', 'mi', 'recon', 'tc']
    """

    config_type = TCVAEConfig

    def training_loss(self, x_in: torch.Tensor, x_target: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"recon": mean_batch sum_pixels (x - D(z))^2, "mi": alpha MI, "tc": beta TC,
        "dwkl": gamma DWKL}`` (:func:`tc_decomposition`)."""
        mu, logvar = self.encode_stats(x_in)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = self.decode(z)
        target = _checks.model_images(x_target, self, self.config.size, name="x_target")
        recon = ((rec - target) ** 2).flatten(1).sum(1).mean()
        if z.shape[0] > self.config.dataset_size:
            raise ValueError(f"batch of {z.shape[0]} images exceeds config.dataset_size = {self.config.dataset_size}")
        parts = tc_decomposition(z, mu, logvar, self.config.dataset_size)
        c = self.config
        return {"recon": recon, "mi": c.alpha * parts["mi"], "tc": c.beta * parts["tc"], "dwkl": c.gamma * parts["dwkl"]}
