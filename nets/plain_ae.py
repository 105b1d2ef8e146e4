"""The standard-autoencoder baseline of the PCA-AE comparison (issue 6).

Same capacity as a fully grown :class:`nets.pca_ae.PCAAE` by construction: the encoder is the
PCA-AE's ``n_stages`` stage encoders side by side (each from :func:`nets.pca_ae.make_encoder`, a ``ConvEncoder`` or ``AllConvEncoder``
with its stage's ``packet`` outputs and the shift-free BatchNorm, as the public PCAAE code's AE also has),
and the decoder is the PCA-AE's final-stage decoder. Only the training differs: every
component is learned at once, with the plain reconstruction loss (eq. 1) -- no ordering, no
covariance term.
"""

from __future__ import annotations

import torch
from torch import nn

from nets.pca_ae import (PCAAEConfig, check_codes, check_images, init_weights, make_decoder, make_encoder,
                         reconstruction_loss)

__all__ = ["PlainAE"]


class PlainAE(nn.Module):
    """Standard autoencoder with the PCA-AE's architecture; ``forward = decode . encode``.

    Args:
        config: a :class:`nets.pca_ae.PCAAEConfig` (``lam_cov`` is ignored); the latent
            dimension is ``config.latent_dim``.
        seed: weights drawn from a private generator seeded with ``seed``.

    Shapes: ``encode`` ``(n, 1, s, s)`` or ``(n, s, s)`` -> ``(n, d)``; ``decode`` ``(n, d)``
    -> ``(n, 1, s, s)``. Trained with ``config.recon_loss`` (per-pixel MSE by default, or
    binary cross-entropy), like the PCA-AE it is compared with.
    """

    def __init__(self, config: PCAAEConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        if config is None:
            config = PCAAEConfig()
        if not isinstance(config, PCAAEConfig):
            raise TypeError(f"config must be a PCAAEConfig, got {type(config).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.config, self.seed = config, seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.encoders = nn.ModuleList(make_encoder(config, q, zero_mean=True) for q in config.packets)
            self.decoder = make_decoder(config, config.latent_dim)
            init_weights(self, config.init, config.leaky_slope)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> codes ``(n, d)``."""
        x = check_images(x, self.config.size)
        return torch.cat([enc(x) for enc in self.encoders], dim=1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(n, d)`` -> images ``(n, 1, s, s)``."""
        return self.decoder(check_codes(z, self.latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def training_loss(self, x_in: torch.Tensor, x_target: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"mse": ...}`` or ``{"bce": ...}`` per pixel (``config.recon_loss``)."""
        return reconstruction_loss(self(x_in), check_images(x_target, self.config.size), self.config.recon_loss)

    def encoder_parameters(self):
        return self.encoders.parameters()

    def decoder_parameters(self):
        return self.decoder.parameters()
