"""The convolutional architecture shared by the PCA-like autoencoder and its baselines.

:class:`nets.pca_ae.PCAAE`, :class:`nets.plain_ae.PlainAE` and :class:`nets.vae.BetaVAE` are
built from the same blocks so that all three have the same capacity; their configs
(:class:`nets.pca_ae.PCAAEConfig`, :class:`nets.vae.VAEConfig`) are :class:`ConvAEConfig` plus
the fields of their own loss.

Layouts (``ConvAEConfig.arch``, the one meaning of ``arch`` in nets):

* ``"subpixel"`` (default): an encoder is ``log2(size) - 2`` blocks
  ``[conv 3x3 stride 2, bias, LeakyReLU]`` taking ``size x size`` to ``4 x 4``, then a linear map
  to its outputs (:class:`ConvEncoder`). The decoder mirrors it: linear ``d -> w x 4 x 4`` +
  LeakyReLU, then sub-pixel blocks ``[conv 3x3 to 4 c_out channels, bias, pixel_shuffle x2,
  LeakyReLU]``, the last one to 1 channel with a linear (default) or sigmoid output
  (:class:`ConvDecoder`).
* ``"allconv"``: the public PCAAE notebook's layout, 4x4 stride-2 convolutions all the way to
  a 1x1 code and back (:class:`AllConvEncoder`, :class:`AllConvDecoder`).

:func:`make_encoder` / :func:`make_decoder` build the layout of a config; :func:`init_weights`
draws the weights with the config's law (call it inside :func:`nets._checks.seeded`);
:func:`n_encoder_parameters` / :func:`n_decoder_parameters` count the weights before they are
allocated (for the memory check of the models); :func:`reconstruction_loss` is the
reconstruction term of ``ConvAEConfig.recon_loss``.

Any image size (``ConvAEConfig.size`` in ``[8, 1024]``, odd sizes included): both layouts halve
the side at every block, so they are built for ``ConvAEConfig.padded_size``, the next power of
two ``>= size`` (``size`` itself when it is one). The models (PCA-AE, plain AE, beta-VAE,
beta-TCVAE) take and return images of the user's ``size``: :func:`pad_images` pads each input
with zeros to ``padded_size``, centred, the extra pixel of an odd difference at the bottom and
right (28 -> 32: 2 rows above, 2 below; 63 -> 64: none above, 1 below; 100 -> 128: 14 and 14),
and :func:`crop_images` cuts the same window out of the decoder's output, so ``model(x)`` has
``x``'s shape and every loss compares the cropped output with the input (the padded border is
never scored). Zeros, not a replicated edge: the images here are shapes on a black (0)
background, so zero padding only widens the background, it is what the convolutions already
do at the border, and it is linear (a bias-free net stays positively homogeneous). A
power-of-two size pads and crops nothing: same layers, same weights for a seed, same outputs
as before sizes other than powers of two were accepted.

Examples
--------
>>> cfg = ConvAEConfig(size=16, n_stages=2)
>>> enc = make_encoder(cfg, 1, zero_mean=True)
>>> enc(torch.zeros(3, 1, 16, 16)).shape
torch.Size([3, 1])
>>> n_encoder_parameters(cfg, 1) == sum(p.numel() for p in enc.parameters())
True
>>> odd = ConvAEConfig(size=63)
>>> odd.padded_size, odd.channel_widths
(64, (8, 16, 32, 32))
>>> crop_images(pad_images(torch.ones(2, 1, 63, 63), odd.padded_size), 63).shape
torch.Size([2, 1, 63, 63])
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from geoshape import checks

from . import _checks

__all__ = [
    "ConvAEConfig",
    "ConvEncoder",
    "ConvDecoder",
    "AllConvEncoder",
    "AllConvDecoder",
    "make_encoder",
    "make_decoder",
    "init_weights",
    "n_encoder_parameters",
    "n_decoder_parameters",
    "reconstruction_loss",
    "padded_side",
    "pad_images",
    "crop_images",
    "INITS",
    "MIN_SIZE",
    "MAX_SIZE",
    "ARCHS",
    "OUTPUTS",
    "RECON_LOSSES",
    "TRUNC_STD",
]

INITS = ("default", "kaiming", "trunc_normal")
ARCHS = ("subpixel", "allconv")
OUTPUTS = ("sigmoid", "linear")
RECON_LOSSES = ("mse", "bce")
_BCE_SLACK = 1e-4
TRUNC_STD = 0.05  # the public PCAAE code's intended truncated normal: std 0.05, cut at +-2 std
MIN_SIZE = 8  # the smallest image one stride-2 block (subpixel) takes down to 4x4
MAX_SIZE = 1024


# --------------------------------------------------------------------------------------------
# any image size: zero padding to the layout's size, and the crop back


def padded_side(size: int) -> int:
    """The next power of two ``>= size`` (a positive int): the side the layouts are built for.

    >>> [padded_side(s) for s in (28, 32, 63, 100)]
    [32, 32, 64, 128]
    """
    size = checks.integer(size, "size", lo=1)
    return 1 << (size - 1).bit_length()


def _margins(size: int, padded: int) -> tuple[int, int]:
    # rows (and columns) of zeros above and below: centred, the odd one below (and right)
    before = (padded - size) // 2
    return before, padded - size - before


def pad_images(x: torch.Tensor, padded: int) -> torch.Tensor:
    """``(n, c, s, s) -> (n, c, padded, padded)``: ``x`` centred on a canvas of zeros, the extra
    row and column of an odd ``padded - s`` at the bottom and right; ``x`` itself (no copy)
    when ``s == padded``. Unchecked: the models call it on validated images.

    >>> pad_images(torch.ones(1, 1, 3, 3), 4)[0, 0]
    tensor([[1., 1., 1., 0.],
            [1., 1., 1., 0.],
            [1., 1., 1., 0.],
            [0., 0., 0., 0.]])
    """
    s = x.shape[-1]
    if s == padded:
        return x
    before, after = _margins(s, padded)
    return F.pad(x, (before, after, before, after))


def crop_images(y: torch.Tensor, size: int) -> torch.Tensor:
    """``(n, c, P, P) -> (n, c, size, size)``: the window :func:`pad_images` put the image in
    (contiguous); ``y`` itself when ``P == size``."""
    p = y.shape[-1]
    if p == size:
        return y
    before, _ = _margins(size, p)
    return y[..., before : before + size, before : before + size].contiguous()


def _default_widths(size: int) -> tuple[int, ...]:
    # 8 channels at the first block, doubling every block to a cap of 32 (like nets.disk_ae)
    n_blocks = int(round(math.log2(size))) - 2
    return tuple(min(32, 8 * 2**i) for i in range(n_blocks))


@dataclass(frozen=True, kw_only=True)
class ConvAEConfig:
    """The architecture shared by PCA-AE, plain AE and beta-VAE (validated on construction;
    keyword arguments only).

    size: image side, an int in [8, 1024] of any parity; the layout is built for
        :attr:`padded_size`, the next power of two ``>= size``, and the models zero-pad their
        inputs to it and crop their outputs back (the module docstring says how).
    n_stages: K >= 1 encoders side by side (the PCA-AE's stages).
    packet: components per encoder: an int p >= 1 for every one (1 = the talk's PCA-AE) or a
        tuple of K ints, e.g. ``(1, 2)`` = one component, then a packet of two. The latent
        dimension is their sum (:attr:`latent_dim`).
    widths: channels after each encoder block, ``log2(padded_size) - 2`` positive ints; ``None``
        gives 8, 16, 32, 32, ... (size 64: (8, 16, 32, 32)). The decoder uses the same list
        reversed.
    leaky_slope: LeakyReLU alpha in [0, 1) (talk and public code: 0.2).
    output: ``"linear"`` (default) or ``"sigmoid"`` last layer of the decoder. With a squared
        error a sigmoid stops learning once it saturates (measured on grey disks, see
        :class:`nets.pca_ae.PCAAEConfig`); the public code pairs its sigmoid with a
        cross-entropy loss.
    init: ``"kaiming"`` (He normal with the leaky gain, zero biases), ``"trunc_normal"``
        (N(0, 0.05^2) cut at +-2 std, zero biases: what the public code meant to do) or
        ``"default"`` (PyTorch's own). The first two also zero a linear output layer
        (see :func:`init_weights`).
    bn_momentum: momentum of the encoders' BatchNorm running statistics, in (0, 1].
    recon_loss: ``"mse"`` (default; per-pixel mean squared error) or ``"bce"`` (per-pixel
        binary cross-entropy, the public PCAAE code's default; needs ``output="sigmoid"`` and
        targets in [0, 1]). See :func:`reconstruction_loss`; validation is per-pixel MSE
        either way.
    arch: the layout name, ``"subpixel"`` (default) or ``"allconv"`` (see the module
        docstring). ``"allconv"`` channels funnel from ``32 p`` to ``p``; on the 2-core CPU it
        costs about 5x more per step (PCA-AE stage 3, size 64: 114 vs 22 ms at batch 64, 1.18
        vs 0.22 s at batch 512). ``widths`` applies to ``"subpixel"`` only.
    """

    size: int = 64
    n_stages: int = 3
    packet: int | tuple[int, ...] = 1
    widths: tuple[int, ...] | None = None
    leaky_slope: float = 0.2
    output: str = "linear"
    init: str = "kaiming"
    bn_momentum: float = 0.1
    recon_loss: str = "mse"
    arch: str = "subpixel"

    def __post_init__(self) -> None:
        self.validate()

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    @property
    def padded_size(self) -> int:
        """The side the layout is built for: the next power of two ``>= size`` (read-only)."""
        return padded_side(self.size)

    @property
    def n_blocks(self) -> int:
        return int(round(math.log2(self.padded_size))) - 2

    @property
    def packets(self) -> tuple[int, ...]:
        """Components of each encoder (stage), length ``n_stages``."""
        return self.packet if isinstance(self.packet, tuple) else (self.packet,) * self.n_stages

    @property
    def channel_widths(self) -> tuple[int, ...]:
        return self.widths if self.widths is not None else _default_widths(self.padded_size)

    @property
    def latent_dim(self) -> int:
        return sum(self.packets)

    def validate(self) -> None:
        """Raise ValueError/TypeError naming the bad field and its allowed range; ints, reals
        and tuples are stored normalised (``int``, ``float``, ``tuple``)."""
        self._set("size", checks.integer(self.size, "size", lo=MIN_SIZE, hi=MAX_SIZE))
        self._set("n_stages", checks.integer(self.n_stages, "n_stages", lo=1))
        if isinstance(self.packet, (tuple, list)):
            if len(self.packet) != self.n_stages:
                raise ValueError(f"packet tuple must have n_stages = {self.n_stages} entries, got {self.packet!r}")
            self._set("packet", tuple(checks.integer(q, f"packet[{i}]", lo=1) for i, q in enumerate(self.packet)))
        else:
            self._set("packet", checks.integer(self.packet, "packet", lo=1))
        if self.widths is not None:
            if not isinstance(self.widths, (tuple, list)):
                raise TypeError(f"widths must be a tuple of ints or None, got {type(self.widths).__name__}")
            _checks.widths(tuple(self.widths), self.n_blocks,
                           f"log2(padded_size) - 2 (size {self.size} pads to {self.padded_size})")
            self._set("widths", tuple(int(w) for w in self.widths))
        self._set("leaky_slope", checks.real(self.leaky_slope, "leaky_slope", 0.0, 1.0, hi_open=True))
        checks.choice(self.output, "output", OUTPUTS)
        checks.choice(self.init, "init", INITS)
        self._set("bn_momentum", checks.real(self.bn_momentum, "bn_momentum", 0.0, 1.0, lo_open=True))
        checks.choice(self.recon_loss, "recon_loss", RECON_LOSSES)
        checks.choice(self.arch, "arch", ARCHS)
        if self.arch == "allconv" and self.widths is not None:
            raise ValueError("widths applies to arch='subpixel' only; leave it None with arch='allconv'")
        if self.recon_loss == "bce" and self.output != "sigmoid":
            raise ValueError(f"recon_loss='bce' needs output='sigmoid', got output={self.output!r}")

    def replace(self, **changes) -> "ConvAEConfig":
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------
# initialisation


def init_weights(module: nn.Module, init: str, leaky_slope: float) -> None:
    """Apply ``init`` to every conv / linear layer of ``module`` in place (see ConvAEConfig).

    Uses the global torch RNG: call it inside :func:`nets._checks.seeded`.
    """
    checks.choice(init, "init", INITS)
    if init == "default":
        return
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if init == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=leaky_slope, nonlinearity="leaky_relu")
            else:
                nn.init.trunc_normal_(m.weight, mean=0.0, std=TRUNC_STD, a=-2 * TRUNC_STD, b=2 * TRUNC_STD)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, (ConvDecoder, AllConvDecoder)) and m.output == "linear":
            # A linear output layer starts at zero: the decoder starts at the black image
            # instead of at outputs spanning about +-10, which He init gives this deep decoder.
            # (Not under a sigmoid: starting it at 0.5 everywhere let it saturate at 0 on
            # grey disks within a few steps.)
            nn.init.zeros_(m.convs[-1].weight)


# --------------------------------------------------------------------------------------------
# blocks


class ConvEncoder(nn.Module):
    """``(n, 1, s, s) -> (n, out_dim)``: stride-2 conv blocks down to 4x4, then linear.

    With ``zero_mean=True`` a ``BatchNorm1d(out_dim, affine=False)`` follows: no shift (beta = 0)
    and no scale, so in train mode each output has batch mean 0 and variance 1.
    """

    def __init__(self, size: int, widths: Sequence[int], out_dim: int, leaky_slope: float, *,
                 zero_mean: bool, bn_momentum: float = 0.1) -> None:
        super().__init__()
        chans = [1, *widths]
        self.convs = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1) for i in range(len(widths))
        )
        self.linear = nn.Linear(widths[-1] * 16, out_dim)
        self.bn = nn.BatchNorm1d(out_dim, affine=False, momentum=bn_momentum) if zero_mean else None
        self.slope = float(leaky_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = F.leaky_relu(conv(x), self.slope)
        z = self.linear(x.flatten(1))
        return self.bn(z) if self.bn is not None else z


class ConvDecoder(nn.Module):
    """``(n, in_dim) -> (n, 1, s, s)``: linear to ``w x 4 x 4``, then sub-pixel conv blocks."""

    def __init__(self, size: int, widths: Sequence[int], in_dim: int, leaky_slope: float, output: str) -> None:
        super().__init__()
        rev = list(reversed(widths))
        self.linear = nn.Linear(in_dim, rev[0] * 16)
        outs = rev[1:] + [1]
        # sub-pixel upsampling (conv to 4 c_out channels, then pixel_shuffle x2): the same
        # function class as a stride-2 transposed conv, 3-4x faster on CPU than
        # nearest-upsample + conv, whose single-channel 64x64 output layer dominates a step
        self.convs = nn.ModuleList(nn.Conv2d(rev[i], 4 * outs[i], 3, padding=1) for i in range(len(rev)))
        self.slope = float(leaky_slope)
        self.output = output
        self.c0 = rev[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.linear(z), self.slope).view(z.shape[0], self.c0, 4, 4)
        for i, conv in enumerate(self.convs):
            h = F.pixel_shuffle(conv(h), 2)
            if i < len(self.convs) - 1:
                h = F.leaky_relu(h, self.slope)
        return torch.sigmoid(h) if self.output == "sigmoid" else h


def _n_layers(size, dim_name: str, dim) -> int:
    checks.size_pow2(size, "size", minimum=2)
    checks.integer(dim, dim_name, lo=1)
    return int(round(math.log2(size)))


class AllConvEncoder(nn.Module):
    """``(n, 1, s, s) -> (n, out_dim)``: the public PCAAE notebook's encoder layout.

    ``log2(s)`` convolutions, kernel 4, stride 2, padding 1, each halving the side down to 1x1;
    channels ``out_dim * 2^(L-1), ..., 2 out_dim, out_dim`` (``L = log2(s)``; size 64, one
    component: 32, 16, 8, 4, 2, 1), LeakyReLU between them, none after the last; then the
    same shift-free BatchNorm as :class:`ConvEncoder` when ``zero_mean``.
    """

    def __init__(self, size: int, out_dim: int, leaky_slope: float, *, zero_mean: bool,
                 bn_momentum: float = 0.1) -> None:
        super().__init__()
        n = _n_layers(size, "out_dim", out_dim)
        chans = [1] + [out_dim * 2 ** (n - 1 - i) for i in range(n)]
        self.convs = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 4, stride=2, padding=1) for i in range(n))
        self.bn = nn.BatchNorm1d(out_dim, affine=False, momentum=bn_momentum) if zero_mean else None
        self.slope = float(leaky_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i < len(self.convs) - 1:
                x = F.leaky_relu(x, self.slope)
        z = x.flatten(1)
        return self.bn(z) if self.bn is not None else z


class AllConvDecoder(nn.Module):
    """``(n, in_dim) -> (n, 1, s, s)``: the notebook's decoder, the code read as a 1x1 image
    with ``in_dim`` channels, then ``log2(s)`` transposed convolutions (kernel 4, stride 2,
    padding 1) doubling the side, channels ``2 in_dim, 4 in_dim, ..., 2^(L-1) in_dim, 1``."""

    def __init__(self, size: int, in_dim: int, leaky_slope: float, output: str) -> None:
        super().__init__()
        n = _n_layers(size, "in_dim", in_dim)
        checks.choice(output, "output", OUTPUTS)
        chans = [in_dim * 2**i for i in range(n)] + [1]
        self.convs = nn.ModuleList(
            nn.ConvTranspose2d(chans[i], chans[i + 1], 4, stride=2, padding=1) for i in range(n)
        )
        self.slope = float(leaky_slope)
        self.output = output

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z.reshape(z.shape[0], z.shape[1], 1, 1)
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if i < len(self.convs) - 1:
                h = F.leaky_relu(h, self.slope)
        return torch.sigmoid(h) if self.output == "sigmoid" else h


# --------------------------------------------------------------------------------------------
# factories and parameter counts


def _factory_args(config, dim_name: str, dim) -> int:
    if not isinstance(config, ConvAEConfig):
        raise TypeError(f"config must be a ConvAEConfig, got {type(config).__name__}")
    return checks.integer(dim, dim_name, lo=1)


def make_encoder(config: ConvAEConfig, out_dim: int, *, zero_mean: bool) -> nn.Module:
    """The encoder of ``config.arch`` with ``out_dim`` outputs (PCA-AE stages, baselines), for
    images of side ``config.padded_size`` (pad with :func:`pad_images` first)."""
    out_dim = _factory_args(config, "out_dim", out_dim)
    if config.arch == "allconv":
        return AllConvEncoder(config.padded_size, out_dim, config.leaky_slope, zero_mean=zero_mean,
                              bn_momentum=config.bn_momentum)
    return ConvEncoder(config.padded_size, config.channel_widths, out_dim, config.leaky_slope, zero_mean=zero_mean,
                       bn_momentum=config.bn_momentum)


def make_decoder(config: ConvAEConfig, in_dim: int) -> nn.Module:
    """The decoder of ``config.arch`` reading ``in_dim`` components; its images have side
    ``config.padded_size`` (crop them with :func:`crop_images`)."""
    in_dim = _factory_args(config, "in_dim", in_dim)
    if config.arch == "allconv":
        return AllConvDecoder(config.padded_size, in_dim, config.leaky_slope, config.output)
    return ConvDecoder(config.padded_size, config.channel_widths, in_dim, config.leaky_slope, config.output)


def _conv_parameters(chans: Sequence[int], taps: int) -> int:
    # a chain of convolutions (or transposed ones) with biases, kernel of ``taps`` weights
    return sum(a * b * taps + b for a, b in zip(chans[:-1], chans[1:]))


def n_encoder_parameters(config: ConvAEConfig, out_dim: int) -> int:
    """Parameters of ``make_encoder(config, out_dim, ...)``, counted without building it (the
    layout of ``config.padded_size``)."""
    out_dim = _factory_args(config, "out_dim", out_dim)
    if config.arch == "allconv":
        n = int(round(math.log2(config.padded_size)))
        return _conv_parameters([1] + [out_dim * 2 ** (n - 1 - i) for i in range(n)], 16)
    w = config.channel_widths
    return _conv_parameters([1, *w], 9) + (w[-1] * 16 + 1) * out_dim


def n_decoder_parameters(config: ConvAEConfig, in_dim: int) -> int:
    """Parameters of ``make_decoder(config, in_dim)``, counted without building it."""
    in_dim = _factory_args(config, "in_dim", in_dim)
    if config.arch == "allconv":
        n = int(round(math.log2(config.padded_size)))
        return _conv_parameters([in_dim * 2**i for i in range(n)] + [1], 16)
    rev = list(reversed(config.channel_widths))
    outs = rev[1:] + [1]
    return (in_dim + 1) * rev[0] * 16 + sum(a * 4 * b * 9 + 4 * b for a, b in zip(rev, outs))


# --------------------------------------------------------------------------------------------
# the reconstruction term


def reconstruction_loss(rec: torch.Tensor, target: torch.Tensor, kind: str) -> dict[str, torch.Tensor]:
    """``{"mse": mean (rec - target)^2}`` or ``{"bce": mean binary cross-entropy}`` per pixel.

    ``rec``, ``target``: tensors of one shape, e.g. ``(n, 1, s, s)``; for ``"bce"`` both must
    lie in [0, 1] (a sigmoid output; targets outside [0, 1] by more than 1e-4 raise
    ValueError, closer ones, e.g. a rendered image overshooting 1 by an ulp, are clamped).
    """
    checks.choice(kind, "kind", RECON_LOSSES)
    _checks.tensor(rec, "rec")
    _checks.tensor(target, "target")
    if rec.shape != target.shape:
        raise ValueError(f"rec and target must have the same shape, got {tuple(rec.shape)} and {tuple(target.shape)}")
    if kind == "mse":
        return {"mse": torch.mean((rec - target) ** 2)}
    lo, hi = float(target.min()), float(target.max())
    if lo < -_BCE_SLACK or hi > 1.0 + _BCE_SLACK:
        raise ValueError(f"recon_loss='bce' needs images in [0, 1], got values in [{lo:.6g}, {hi:.6g}]")
    return {"bce": F.binary_cross_entropy(rec, target.clamp(0.0, 1.0))}
