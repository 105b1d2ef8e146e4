"""The beta-VAE baseline of the PCA-AE comparison (Higgins et al. 2017; issue 6).

Same capacity as a fully grown :class:`nets.pca_ae.PCAAE`: ``n_stages`` stage encoders side
by side, each from :func:`nets.pca_ae.make_encoder` (the config's ``arch``) with ``2 * packet`` outputs
numbers (the means and log-variances of its components; no BatchNorm, the KL term centres the
code), and the PCA-AE's final decoder.

Loss per image (``training_loss``, averaged over the batch):
``sum_pixels (x - D(z))^2 + beta * KL(N(mu, sigma^2) | N(0, I))`` with ``z = mu + sigma * eps``:
a Gaussian decoder of fixed variance 1/2 (the ELBO up to a constant for beta = 1), so beta is
measured against the summed, not the per-pixel, squared error. ``encode`` returns the mean
``mu`` (what the latent metrics and navigation grids use); ``forward`` decodes the mean.
``eps`` comes from the global torch RNG, which the engine forks and seeds per run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from nets.pca_ae import PCAAEConfig, check_codes, check_images, init_weights, make_decoder, make_encoder

__all__ = ["VAEConfig", "BetaVAE", "gaussian_kl"]

LOGVAR_CLAMP = 10.0  # |log sigma^2| bound: keeps exp() finite in the first steps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, diag exp(logvar)) | N(0, I))`` per row, summed over the d components:
    ``0.5 * sum(mu^2 + exp(logvar) - 1 - logvar)``. ``mu``, ``logvar``: (n, d) -> (n,)."""
    if not isinstance(mu, torch.Tensor) or not isinstance(logvar, torch.Tensor):
        raise TypeError("mu and logvar must be torch tensors")
    if mu.shape != logvar.shape or mu.ndim != 2:
        raise ValueError(
            f"mu and logvar must have the same (n, d) shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
    return 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)


@dataclass(frozen=True)
class VAEConfig:
    """``arch``: the shared architecture (:class:`nets.pca_ae.PCAAEConfig`, ``lam_cov``
    ignored); ``beta`` >= 0 the KL weight (1 = the plain VAE)."""

    arch: PCAAEConfig = PCAAEConfig()
    beta: float = 4.0

    def __post_init__(self) -> None:
        if not isinstance(self.arch, PCAAEConfig):
            raise TypeError(f"arch must be a PCAAEConfig, got {type(self.arch).__name__}")
        if isinstance(self.beta, bool) or not isinstance(self.beta, (int, float)) or not (
            math.isfinite(self.beta) and self.beta >= 0
        ):
            raise ValueError(f"beta must be a finite number >= 0, got {self.beta!r}")


class BetaVAE(nn.Module):
    """beta-VAE with the PCA-AE's architecture.

    Shapes: ``encode`` ``(n, 1, s, s)`` or ``(n, s, s)`` -> mean ``(n, d)``;
    ``encode_stats`` -> ``(mu, logvar)``; ``decode`` ``(n, d)`` -> ``(n, 1, s, s)``.
    """

    def __init__(self, config: VAEConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        if config is None:
            config = VAEConfig()
        if not isinstance(config, VAEConfig):
            raise TypeError(f"config must be a VAEConfig, got {type(config).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.config, self.seed = config, seed
        a = config.arch
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.encoders = nn.ModuleList(make_encoder(a, 2 * q, zero_mean=False) for q in a.packets)
            self.decoder = make_decoder(a, a.latent_dim)
            init_weights(self, a.init, a.leaky_slope)

    @property
    def latent_dim(self) -> int:
        return self.config.arch.latent_dim

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images -> ``(mu, logvar)``, each ``(n, d)``."""
        x = check_images(x, self.config.arch.size)
        outs = [enc(x) for enc in self.encoders]
        packets = self.config.arch.packets
        mu = torch.cat([o[:, :q] for o, q in zip(outs, packets)], dim=1)
        logvar = torch.cat([o[:, q:] for o, q in zip(outs, packets)], dim=1).clamp(-LOGVAR_CLAMP, LOGVAR_CLAMP)
        return mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> posterior means ``(n, d)``."""
        return self.encode_stats(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(check_codes(z, self.latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def training_loss(self, x_in: torch.Tensor, x_target: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"recon": mean_batch sum_pixels (x - D(z))^2, "kl": beta * mean_batch KL}``."""
        mu, logvar = self.encode_stats(x_in)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = self.decode(z)
        target = check_images(x_target, self.config.arch.size)
        recon = ((rec - target) ** 2).flatten(1).sum(1).mean()
        kl = gaussian_kl(mu, logvar).mean()
        return {"recon": recon, "kl": self.config.beta * kl}

    def encoder_parameters(self):
        return self.encoders.parameters()

    def decoder_parameters(self):
        return self.decoder.parameters()
