"""The standard-autoencoder baseline of the PCA-AE comparison.

Same capacity as a fully grown :class:`nets.pca_ae.PCAAE` by construction: the encoder is the
PCA-AE's ``n_stages`` stage encoders side by side (each from :func:`nets.conv_ae.make_encoder`,
a ``ConvEncoder`` or ``AllConvEncoder`` with its stage's ``packet`` outputs and the shift-free
BatchNorm, as the public PCAAE code's AE also has), and the decoder is the PCA-AE's
final-stage decoder. Only the training differs: every component is learned at once, with the
plain reconstruction loss (eq. 1) -- no ordering, no covariance term.
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .conv_ae import (ConvAEConfig, crop_images, init_weights, make_decoder, make_encoder, n_decoder_parameters,
                      n_encoder_parameters, pad_images, reconstruction_loss)

__all__ = ["PlainAE"]


class PlainAE(nn.Module):
    """Standard autoencoder with the PCA-AE's architecture; ``forward(x) = decode(encode(x))``.

    Args:
        config: a :class:`nets.conv_ae.ConvAEConfig` (default ``ConvAEConfig()``) or any
            subclass, e.g. a :class:`nets.pca_ae.PCAAEConfig` (whose ``lam_cov`` is ignored);
            the latent dimension is ``config.latent_dim``.
        seed: weights drawn from a private generator seeded with ``seed``, an int in
            ``[0, 2**63 - 1]``.

    Shapes: ``encode`` ``(n, 1, s, s)`` or ``(n, s, s)`` -> ``(n, d)``; ``decode`` ``(n, d)``
    -> ``(n, 1, s, s)``, ``s = config.size`` (any side in [8, 1024]: the nets are built for
    ``config.padded_size``; ``encode`` zero-pads its input to it and ``decode`` crops back, see
    :mod:`nets.conv_ae`, so the loss is measured on the ``s x s`` input pixels). Inputs are
    float tensors of any float dtype, cast to the model's dtype (float32 unless the model was
    converted); numpy arrays are refused (TypeError naming the argument). Trained with ``config.recon_loss`` (per-pixel MSE by default, or binary
    cross-entropy), like the PCA-AE it is compared with.

    Examples:
        >>> ae = PlainAE(ConvAEConfig(size=16, n_stages=2), seed=0)
        >>> ae.encode(torch.zeros(3, 16, 16)).shape
        torch.Size([3, 2])
    """

    def __init__(self, config: ConvAEConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        config, seed = _checks.model_args(config, ConvAEConfig, ConvAEConfig, seed)
        n = sum(n_encoder_parameters(config, q) for q in config.packets) + n_decoder_parameters(config, config.latent_dim)
        _checks.weights_budget(n, "config (size, widths, packet, n_stages)")
        self.config, self.seed = config, seed
        with _checks.seeded(seed):
            self.encoders = nn.ModuleList(make_encoder(config, q, zero_mean=True) for q in config.packets)
            self.decoder = make_decoder(config, config.latent_dim)
            init_weights(self, config.init, config.leaky_slope)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> codes ``(n, d)``."""
        x = pad_images(_checks.model_images(x, self, self.config.size), self.config.padded_size)
        return torch.cat([enc(x) for enc in self.encoders], dim=1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(n, d)`` -> images ``(n, 1, s, s)``."""
        return crop_images(self.decoder(_checks.model_codes(z, self, self.latent_dim)), self.config.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def training_loss(self, x_in: torch.Tensor, x_target: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"mse": ...}`` or ``{"bce": ...}`` per pixel (``config.recon_loss``)."""
        target = _checks.model_images(x_target, self, self.config.size, name="x_target")
        return reconstruction_loss(self(x_in), target, self.config.recon_loss)

    def encoder_parameters(self):
        return self.encoders.parameters()

    def decoder_parameters(self):
        return self.decoder.parameters()
