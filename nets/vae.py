"""The beta-VAE baseline of the PCA-AE comparison (Higgins et al. 2017).

Same capacity as a fully grown :class:`nets.pca_ae.PCAAE`: ``n_stages`` stage encoders side
by side, each from :func:`nets.conv_ae.make_encoder` (the config's ``arch`` layout) with
``2 * packet`` outputs (the means and log-variances of its components; no BatchNorm, the KL
term centres the code), and the PCA-AE's final decoder.

Loss per image (``training_loss``, averaged over the batch):
``sum_pixels (x - D(z))^2 + beta * KL(N(mu, sigma^2) | N(0, I))`` with ``z = mu + sigma * eps``:
a Gaussian decoder of fixed variance 1/2 (the ELBO up to a constant for beta = 1), so beta is
measured against the summed, not the per-pixel, squared error. ``encode`` returns the mean
``mu`` (what the latent metrics and navigation grids use); ``forward`` decodes the mean.
``eps`` comes from the global torch RNG, which the engine forks and seeds per run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from geoshape import checks

from . import _checks
from .conv_ae import (ConvAEConfig, crop_images, init_weights, make_decoder, make_encoder, n_decoder_parameters,
                      n_encoder_parameters, pad_images)

__all__ = ["VAEConfig", "BetaVAE", "gaussian_kl"]

LOGVAR_CLAMP = 10.0  # |log sigma^2| bound: keeps exp() finite in the first steps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, diag exp(logvar)) | N(0, I))`` per row, summed over the d components:
    ``0.5 * sum(mu^2 + exp(logvar) - 1 - logvar)``. ``mu``, ``logvar``: (n, d) -> (n,)."""
    _checks.float_tensor(mu, "mu")
    _checks.float_tensor(logvar, "logvar")
    if mu.shape != logvar.shape or mu.ndim != 2:
        raise ValueError(
            f"mu and logvar must have the same (n, d) shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
    return 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)


_ARCH_FIELDS = tuple(f.name for f in dataclasses.fields(ConvAEConfig))


@dataclass(frozen=True, kw_only=True)
class VAEConfig(ConvAEConfig):
    """The fields of :class:`nets.conv_ae.ConvAEConfig` (the shared architecture; ``arch`` is
    its layout name, as everywhere) plus

    beta: the KL weight, finite and >= 0 (1 = the plain VAE).

    ``VAEConfig.of(conv_config, beta=...)`` builds one from an existing architecture config
    (e.g. the ``PCAAEConfig`` of the PCA-AE it is compared with; ``lam_cov`` is dropped).
    """

    beta: float = 4.0

    @classmethod
    def of(cls, config: ConvAEConfig, *, beta: float = 4.0) -> "VAEConfig":
        """The VAE config with ``config``'s architecture fields and KL weight ``beta``."""
        if not isinstance(config, ConvAEConfig):
            raise TypeError(f"config must be a ConvAEConfig, got {type(config).__name__}")
        return cls(beta=beta, **{name: getattr(config, name) for name in _ARCH_FIELDS})

    def validate(self) -> None:
        """Raise ValueError/TypeError naming the bad field and its allowed range."""
        super().validate()
        self._set("beta", checks.nonnegative(self.beta, "beta"))

    def replace(self, **changes) -> "VAEConfig":
        return dataclasses.replace(self, **changes)


class BetaVAE(nn.Module):
    """beta-VAE with the PCA-AE's architecture.

    Args:
        config: a :class:`VAEConfig` (default ``VAEConfig()``).
        seed: weights drawn from a private generator seeded with ``seed``, an int in
            ``[0, 2**63 - 1]``.

    Shapes: ``encode`` ``(n, 1, s, s)`` or ``(n, s, s)`` -> mean ``(n, d)``;
    ``encode_stats`` -> ``(mu, logvar)``; ``decode`` ``(n, d)`` -> ``(n, 1, s, s)``;
    ``s = config.size``, any side in [8, 1024]: the nets are built for ``config.padded_size``,
    ``encode_stats`` zero-pads its input to it and ``decode`` crops back (see
    :mod:`nets.conv_ae`), so the reconstruction term sums over the ``s x s`` input pixels only.
    Inputs are
    float tensors of any float dtype, cast to the model's dtype (float32 unless the model was
    converted); numpy arrays are refused (TypeError naming the argument).

    Examples:
        >>> vae = BetaVAE(VAEConfig(size=16, n_stages=2, beta=1.0), seed=0)
        >>> [t.shape for t in vae.encode_stats(torch.zeros(3, 16, 16))]
        [torch.Size([3, 2]), torch.Size([3, 2])]
    """

    #: the config class this model takes (a subclass's own, e.g. the beta-TCVAE's)
    config_type: type = VAEConfig

    def __init__(self, config: VAEConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        config, seed = _checks.model_args(config, self.config_type, self.config_type, seed)
        n = sum(n_encoder_parameters(config, 2 * q) for q in config.packets) + n_decoder_parameters(
            config, config.latent_dim)
        _checks.weights_budget(n, "config (size, widths, packet, n_stages)")
        self.config, self.seed = config, seed
        with _checks.seeded(seed):
            self.encoders = nn.ModuleList(make_encoder(config, 2 * q, zero_mean=False) for q in config.packets)
            self.decoder = make_decoder(config, config.latent_dim)
            init_weights(self, config.init, config.leaky_slope)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images -> ``(mu, logvar)``, each ``(n, d)``."""
        x = pad_images(_checks.model_images(x, self, self.config.size), self.config.padded_size)
        outs = [enc(x) for enc in self.encoders]
        packets = self.config.packets
        mu = torch.cat([o[:, :q] for o, q in zip(outs, packets)], dim=1)
        logvar = torch.cat([o[:, q:] for o, q in zip(outs, packets)], dim=1).clamp(-LOGVAR_CLAMP, LOGVAR_CLAMP)
        return mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> posterior means ``(n, d)``."""
        return self.encode_stats(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(n, d)`` -> images ``(n, 1, s, s)``."""
        return crop_images(self.decoder(_checks.model_codes(z, self, self.latent_dim)), self.config.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def training_loss(self, x_in: torch.Tensor, x_target: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"recon": mean_batch sum_pixels (x - D(z))^2, "kl": beta * mean_batch KL}``."""
        mu, logvar = self.encode_stats(x_in)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = self.decode(z)
        target = _checks.model_images(x_target, self, self.config.size, name="x_target")
        recon = ((rec - target) ** 2).flatten(1).sum(1).mean()
        kl = gaussian_kl(mu, logvar).mean()
        return {"recon": recon, "kl": self.config.beta * kl}

    def encoder_parameters(self):
        return self.encoders.parameters()

    def decoder_parameters(self):
        return self.decoder.parameters()
