"""The PCA-like autoencoder of the talk (slides "PCA Autoencoder", eqs. 14-17).

The latent grows by one component -- or one *packet* of ``p`` components, the talk's remedy for
attributes such as a 2-D position that must be learned together -- per stage:

* stage k trains a new encoder ``E(k)`` that outputs component(s) k and a fresh decoder
  ``D(k)`` that reads all components so far; ``E(1) .. E(k-1)`` are frozen, i.e. their
  parameters have ``requires_grad=False`` *and* they stay in eval mode so that their
  BatchNorm running statistics do not move (``PCAAE.train(mode)`` is overridden for that;
  the public PCAAE code sets a misspelt ``param.required_grad`` and leaves them in train mode);
* each encoder ends with a BatchNorm without shift, ``BatchNorm1d(affine=False)``: beta is
  fixed to 0 so ``E[z] = 0`` (the talk fixes beta = 0). The scale gamma is fixed to 1 as well:
  a learnable scale would let stage k shrink its component and the decoder scale it back up,
  driving the covariance penalty to zero without decorrelating anything (eq. 14 is not
  scale-invariant). With unit-variance components the penalty is the squared correlation;
* the stage-k loss is eq. 17, ``mean |x - D(E(x))|^2 + lam * L_cov`` with :func:`covariance_loss`.

Architecture (shared with the baselines ``nets.plain_ae`` and ``nets.vae`` so that all three
have the same capacity): a stage encoder is ``log2(size) - 2`` blocks
``[conv 3x3 stride 2, bias, LeakyReLU]`` taking ``size x size`` to ``4 x 4``, then a linear map to
``p`` outputs. The decoder mirrors it: linear ``d -> w x 4 x 4`` + LeakyReLU, then sub-pixel blocks
``[conv 3x3 to 4 c_out channels, bias, pixel_shuffle x2, LeakyReLU]``, the last one to 1 channel
with a linear (default) or sigmoid output. Weights are initialised explicitly (``init``) inside a
seeded ``torch.random.fork_rng``, and the test-suite checks that the chosen law is what the
weights follow (the public code builds a truncated normal and never assigns it).

Training reuses the engine: :func:`train_pca_ae` calls ``nets.train`` once per stage, through
the ``training_loss(x_in, x_target)`` hook of :class:`PCAAE`.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "PCAAEConfig",
    "ConvEncoder",
    "ConvDecoder",
    "PCAAE",
    "covariance_loss",
    "train_pca_ae",
    "INITS",
    "OUTPUTS",
    "RECON_LOSSES",
    "reconstruction_loss",
    "AllConvEncoder",
    "AllConvDecoder",
    "ARCHS",
    "make_encoder",
    "make_decoder",
]

INITS = ("default", "kaiming", "trunc_normal")
ARCHS = ("subpixel", "allconv")
OUTPUTS = ("sigmoid", "linear")
RECON_LOSSES = ("mse", "bce")
_BCE_SLACK = 1e-4
TRUNC_STD = 0.05  # the public PCAAE code's intended truncated normal: std 0.05, cut at +-2 std


def _default_widths(size: int) -> tuple[int, ...]:
    # 8 channels at the first block, doubling every block to a cap of 32 (like nets.disk_ae)
    n_blocks = int(round(math.log2(size))) - 2
    return tuple(min(32, 8 * 2**i) for i in range(n_blocks))


def _check_int(name: str, v, lo: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if v < lo:
        raise ValueError(f"{name} must be >= {lo}, got {v}")


def _check_real(name: str, v, lo: float, hi: float, *, lo_open: bool = False) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    ok = (v > lo if lo_open else v >= lo) and v <= hi and math.isfinite(v)
    if not ok:
        raise ValueError(f"{name} must be in {'(' if lo_open else '['}{lo}, {hi}], got {v}")


@dataclass(frozen=True)
class PCAAEConfig:
    """Architecture and loss of :class:`PCAAE` (validated on construction).

    size: image side, a power of two >= 8.
    n_stages: K >= 1 stages.
    packet: components learned together per stage: an int p >= 1 for every stage (1 = the
        talk's PCA-AE) or a tuple of K ints, e.g. ``(1, 2)`` = one component, then a packet of
        two. The final latent dimension is their sum (:attr:`latent_dim`).
    widths: channels after each encoder block, ``log2(size) - 2`` positive ints; ``None`` gives
        8, 16, 32, 32, ... (size 64: (8, 16, 32, 32)). The decoder uses the same list reversed.
    leaky_slope: LeakyReLU alpha in [0, 1) (talk and public code: 0.2).
    lam_cov: lambda of eq. 17, >= 0 (public code: 1; with a per-pixel mean squared error).
    output: ``"linear"`` (default) or ``"sigmoid"`` last layer of the decoder. With the
        squared error of eq. 17 a sigmoid stops learning once it saturates: on grey disks the
        standard AE and the packet PCA-AE sat at the all-black image (test MSE 0.047 against
        0.0025 for linear PCA); the public code pairs its sigmoid with a cross-entropy loss.
        On ellipses, though, the sigmoid gave the better PCA-AE (validation.pca_ae_ellipses
        uses it; measured there).
    init: ``"kaiming"`` (He normal with the leaky gain, zero biases), ``"trunc_normal"``
        (N(0, 0.05^2) cut at +-2 std, zero biases: what the public code meant to do) or
        ``"default"`` (PyTorch's own). The first two also zero a linear output layer
        (see :func:`init_weights`).
    bn_momentum: momentum of the BatchNorm running statistics, in (0, 1].
    recon_loss: ``"mse"`` (default; eq. 17's squared error, per-pixel mean) or ``"bce"``
        (per-pixel binary cross-entropy, the public PCAAE code's default; needs
        ``output="sigmoid"`` and targets in [0, 1]). Used by :class:`PCAAE` and
        :class:`nets.plain_ae.PlainAE`; validation is per-pixel MSE either way.
    arch: ``"subpixel"`` (default; the blocks above: 3x3 stride-2 convs to 4x4, a linear
        head, sub-pixel decoder) or ``"allconv"``, the public PCAAE notebook's layout
        (:class:`AllConvEncoder` / :class:`AllConvDecoder`: 4x4 stride-2 convolutions all the
        way to a 1x1 code, no linear layer, channels funnelling from ``32 p`` to ``p``). On
        the 2-core CPU they cost about 5x more per step (PCA-AE stage 3, size 64: 114 vs
        22 ms at batch 64, 1.18 vs 0.22 s at batch 512); ``widths`` applies to
        ``"subpixel"`` only.
    """

    size: int = 64
    n_stages: int = 3
    packet: int | tuple[int, ...] = 1
    widths: tuple[int, ...] | None = None
    leaky_slope: float = 0.2
    lam_cov: float = 1.0
    output: str = "linear"
    init: str = "kaiming"
    bn_momentum: float = 0.1
    recon_loss: str = "mse"
    arch: str = "subpixel"

    def __post_init__(self) -> None:
        if self.widths is not None and not isinstance(self.widths, tuple):
            object.__setattr__(self, "widths", tuple(self.widths))
        if isinstance(self.packet, list):
            object.__setattr__(self, "packet", tuple(self.packet))
        self.validate()

    @property
    def n_blocks(self) -> int:
        return int(round(math.log2(self.size))) - 2

    @property
    def packets(self) -> tuple[int, ...]:
        """Components added by each stage, length ``n_stages``."""
        return self.packet if isinstance(self.packet, tuple) else (self.packet,) * self.n_stages

    @property
    def channel_widths(self) -> tuple[int, ...]:
        return self.widths if self.widths is not None else _default_widths(self.size)

    @property
    def latent_dim(self) -> int:
        return sum(self.packets)

    def validate(self) -> None:
        """Raise ValueError/TypeError naming the bad field and its allowed range."""
        _check_int("size", self.size, 8)
        if self.size & (self.size - 1):
            raise ValueError(f"size must be a power of two >= 8, got {self.size}")
        _check_int("n_stages", self.n_stages, 1)
        if isinstance(self.packet, tuple):
            if len(self.packet) != self.n_stages:
                raise ValueError(f"packet tuple must have n_stages = {self.n_stages} entries, got {self.packet!r}")
            for q in self.packet:
                _check_int("packet entries", q, 1)
        else:
            _check_int("packet", self.packet, 1)
        if self.widths is not None:
            if len(self.widths) != self.n_blocks:
                raise ValueError(f"widths must have log2(size) - 2 = {self.n_blocks} entries, got {len(self.widths)}")
            for w in self.widths:
                if isinstance(w, bool) or not isinstance(w, int) or w < 1:
                    raise ValueError(f"widths must be positive ints, got {self.widths!r}")
        _check_real("leaky_slope", self.leaky_slope, 0.0, 0.999999)
        _check_real("lam_cov", self.lam_cov, 0.0, 1e12)
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        _check_real("bn_momentum", self.bn_momentum, 0.0, 1.0, lo_open=True)
        if self.recon_loss not in RECON_LOSSES:
            raise ValueError(f"recon_loss must be one of {RECON_LOSSES}, got {self.recon_loss!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.arch == "allconv" and self.widths is not None:
            raise ValueError("widths applies to arch='subpixel' only; leave it None with arch='allconv'")
        if self.recon_loss == "bce" and self.output != "sigmoid":
            raise ValueError(f"recon_loss='bce' needs output='sigmoid', got output={self.output!r}")

    def replace(self, **changes) -> "PCAAEConfig":
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------
# building blocks (also used by nets.plain_ae and nets.vae)


def init_weights(module: nn.Module, init: str, leaky_slope: float) -> None:
    """Apply ``init`` to every conv / linear layer of ``module`` in place (see PCAAEConfig).

    Uses the global torch RNG: call it inside a seeded ``torch.random.fork_rng``.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
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


def _check_block_args(size, dim_name: str, dim) -> int:
    _check_int("size", size, 2)
    if size & (size - 1):
        raise ValueError(f"size must be a power of two >= 2, got {size}")
    _check_int(dim_name, dim, 1)
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
        n = _check_block_args(size, "out_dim", out_dim)
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
        n = _check_block_args(size, "in_dim", in_dim)
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
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


def _check_factory_args(config, dim_name: str, dim) -> None:
    if not isinstance(config, PCAAEConfig):
        raise TypeError(f"config must be a PCAAEConfig, got {type(config).__name__}")
    _check_int(dim_name, dim, 1)


def make_encoder(config: PCAAEConfig, out_dim: int, *, zero_mean: bool) -> nn.Module:
    """The encoder of ``config.arch`` with ``out_dim`` outputs (PCA-AE stages, baselines)."""
    _check_factory_args(config, "out_dim", out_dim)
    if config.arch == "allconv":
        return AllConvEncoder(config.size, out_dim, config.leaky_slope, zero_mean=zero_mean,
                              bn_momentum=config.bn_momentum)
    return ConvEncoder(config.size, config.channel_widths, out_dim, config.leaky_slope, zero_mean=zero_mean,
                       bn_momentum=config.bn_momentum)


def make_decoder(config: PCAAEConfig, in_dim: int) -> nn.Module:
    """The decoder of ``config.arch`` reading ``in_dim`` components."""
    _check_factory_args(config, "in_dim", in_dim)
    if config.arch == "allconv":
        return AllConvDecoder(config.size, in_dim, config.leaky_slope, config.output)
    return ConvDecoder(config.size, config.channel_widths, in_dim, config.leaky_slope, config.output)


def check_images(x, size: int) -> torch.Tensor:
    """Validate an image batch ``(n, 1, s, s)`` or ``(n, s, s)``; returns ``(n, 1, s, s)``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, size, size):
        raise ValueError(f"x must have shape (n, 1, {size}, {size}) or (n, {size}, {size}), got {tuple(x.shape)}")
    return x


def check_codes(z, dim: int) -> torch.Tensor:
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"z must be a torch.Tensor, got {type(z).__name__}")
    if z.ndim != 2 or z.shape[1] != dim:
        raise ValueError(f"z must have shape (n, {dim}), got {tuple(z.shape)}")
    return z


def _seed(name: str, seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed!r}")
    return seed


# --------------------------------------------------------------------------------------------
# the covariance loss (eqs. 14-16)


def reconstruction_loss(rec: torch.Tensor, target: torch.Tensor, kind: str) -> dict[str, torch.Tensor]:
    """``{"mse": mean (rec - target)^2}`` or ``{"bce": mean binary cross-entropy}`` per pixel.

    ``rec``, ``target``: ``(n, 1, s, s)``; for ``"bce"`` both must lie in [0, 1] (a sigmoid
    output; images with values outside [0, 1] by more than 1e-4 raise ValueError).
    """
    if kind == "mse":
        return {"mse": torch.mean((rec - target) ** 2)}
    if kind == "bce":
        lo, hi = float(target.min()), float(target.max())
        # float rounding of a rendered image may overshoot 1 by an ulp or so: tolerated, clamped
        if lo < -_BCE_SLACK or hi > 1.0 + _BCE_SLACK:
            raise ValueError(f"recon_loss='bce' needs images in [0, 1], got values in [{lo:.6g}, {hi:.6g}]")
        return {"bce": F.binary_cross_entropy(rec, target.clamp(0.0, 1.0))}
    raise ValueError(f"kind must be one of {RECON_LOSSES}, got {kind!r}")


def covariance_loss(z: torch.Tensor, n_new: int) -> torch.Tensor:
    """Mean squared batch covariance between the ``n_new`` newest components and all earlier
    ones, plus (packets) between the new components themselves.

    ``z``: (m, d) codes of a batch, the last ``n_new`` columns being the stage's new packet.
    Covariances are eq. 14, ``Cov(a, b) = mean(a b) - mean(a) mean(b)`` (normalised by m): the
    frozen components pass their BatchNorm in eval mode, so their batch mean is only close to
    0 and eq. 15's shortcut would not be exact. The mean runs over the penalised pairs:
    ``(d - p) p`` earlier-new pairs and ``p (p - 1) / 2`` pairs inside the packet (the talk's
    eq. 16 writes 1/k in front of a sum of k-1 terms; the public code divides by k-1, as here).
    Returns a 0-d tensor; 0 when there is no pair (first stage with p = 1).
    """
    if not isinstance(z, torch.Tensor) or z.ndim != 2:
        raise ValueError(f"z must be a 2-D tensor (m, d), got {getattr(z, 'shape', type(z).__name__)}")
    if isinstance(n_new, bool) or not isinstance(n_new, int) or not (1 <= n_new <= z.shape[1]):
        raise ValueError(f"n_new must be an int in [1, {z.shape[1]}], got {n_new!r}")
    if z.shape[0] < 2:
        raise ValueError(f"z needs at least 2 rows (a batch), got {z.shape[0]}")
    d = z.shape[1]
    zc = z - z.mean(dim=0, keepdim=True)
    cov = zc.T @ zc[:, d - n_new:] / z.shape[0]  # (d, p): column j = new component d-p+j
    old = cov[: d - n_new] ** 2
    inside = torch.triu(cov[d - n_new:], diagonal=1) ** 2
    n_pairs = (d - n_new) * n_new + n_new * (n_new - 1) // 2
    if n_pairs == 0:
        return z.sum() * 0.0
    return (old.sum() + inside.sum()) / n_pairs


# --------------------------------------------------------------------------------------------
# the model


class PCAAE(nn.Module):
    """PCA-like autoencoder; ``forward(x) = decode(encode(x))`` at the current stage.

    Built empty (stage 0); :meth:`add_stage` appends a new encoder and a fresh decoder and
    freezes everything trained before. All stage decoders are kept (frozen), so
    :meth:`reconstruct` can replay any earlier stage for the ordering measures.

    Args:
        config: :class:`PCAAEConfig`.
        seed: stage k's modules are drawn from a private generator seeded with
            ``seed * 1000 + k``; same seed -> same weights; the global RNG is untouched.

    Shapes: ``encode`` ``(n, 1, s, s)`` or ``(n, s, s)`` -> ``(n, d_k)``, ``d_k`` the
    components of stages 1..k (:attr:`latent_dim`); ``decode`` ``(n, d_k)`` -> ``(n, 1, s, s)``.

    Examples:
        >>> m = PCAAE(PCAAEConfig(size=16, n_stages=2), seed=0)
        >>> m.add_stage()
        1
        >>> m(torch.zeros(4, 1, 16, 16)).shape
        torch.Size([4, 1, 16, 16])
    """

    def __init__(self, config: PCAAEConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        if config is None:
            config = PCAAEConfig()
        if not isinstance(config, PCAAEConfig):
            raise TypeError(f"config must be a PCAAEConfig, got {type(config).__name__}")
        self.config = config
        self.seed = _seed("seed", seed)
        self.encoders = nn.ModuleList()
        self.decoders = nn.ModuleList()

    @property
    def stage(self) -> int:
        return len(self.encoders)

    @property
    def latent_dim(self) -> int:
        return sum(self.config.packets[: self.stage])

    def add_stage(self) -> int:
        """Freeze all existing modules and append stage k's encoder and decoder; returns k."""
        cfg = self.config
        if self.stage >= cfg.n_stages:
            raise ValueError(f"all n_stages = {cfg.n_stages} stages are already built")
        for m in list(self.encoders) + list(self.decoders):
            m.requires_grad_(False)
            m.eval()
        k = self.stage + 1
        ref = next(self.parameters(), None)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1000 + k)
            enc = make_encoder(cfg, cfg.packets[k - 1], zero_mean=True)
            dec = make_decoder(cfg, sum(cfg.packets[:k]))
            init_weights(enc, cfg.init, cfg.leaky_slope)
            init_weights(dec, cfg.init, cfg.leaky_slope)
        if ref is not None:
            enc.to(ref.device)
            dec.to(ref.device)
        enc.train(self.training)
        dec.train(self.training)
        self.encoders.append(enc)
        self.decoders.append(dec)
        return k

    def train(self, mode: bool = True) -> "PCAAE":
        """Set train/eval mode on the active stage only; earlier stages always stay in eval
        mode, so their BatchNorm statistics are frozen along with their weights."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for i, (enc, dec) in enumerate(zip(self.encoders, self.decoders)):
            active = mode and i == self.stage - 1
            enc.train(active)
            dec.train(active)
        return self

    def _require_stage(self) -> None:
        if self.stage == 0:
            raise RuntimeError("the PCAAE has no stage yet: call add_stage() first")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> codes ``(n, latent_dim)``, components ordered by stage."""
        self._require_stage()
        x = check_images(x, self.config.size)
        return torch.cat([enc(x) for enc in self.encoders], dim=1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(n, latent_dim)`` -> images ``(n, 1, s, s)`` with the current decoder."""
        self._require_stage()
        return self.decoders[-1](check_codes(z, self.latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def reconstruct(self, x: torch.Tensor, stage: int) -> torch.Tensor:
        """``D(stage)(E(1..stage)(x))``: the reconstruction after stage ``stage`` (1-based)."""
        self._require_stage()
        if isinstance(stage, bool) or not isinstance(stage, int) or not (1 <= stage <= self.stage):
            raise ValueError(f"stage must be an int in [1, {self.stage}], got {stage!r}")
        x = check_images(x, self.config.size)
        return self.decoders[stage - 1](self.encode(x)[:, : sum(self.config.packets[:stage])])

    def training_loss(self, x_in: torch.Tensor, x_target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Eq. 17 for the current stage k: ``{"mse": mean squared error per pixel (or "bce",
        see PCAAEConfig.recon_loss), "cov": lam_cov * covariance_loss(z, p_k)}``, p_k the
        stage's packet size (the engine sums the entries)."""
        self._require_stage()
        z = self.encode(x_in)
        rec = self.decode(z)
        target = check_images(x_target, self.config.size)
        terms = reconstruction_loss(rec, target, self.config.recon_loss)
        terms["cov"] = self.config.lam_cov * covariance_loss(z, self.config.packets[self.stage - 1])
        return terms

    def encoder_parameters(self):
        return self.encoders.parameters()

    def decoder_parameters(self):
        return self.decoders.parameters()


# --------------------------------------------------------------------------------------------
# training driver


def train_pca_ae(config: PCAAEConfig, data, train_config, *, val_data=None, seed: int = 0, start: PCAAE | None = None):
    """Build a :class:`PCAAE` and train its ``n_stages`` stages with ``nets.train``.

    Args:
        config: the model's :class:`PCAAEConfig`.
        data, val_data: as for ``nets.train`` (array of images or a sampler).
        train_config: one ``nets.TrainConfig`` used for every stage (stage k runs with
            ``seed = train_config.seed + k - 1`` so batches differ between stages), or a
            sequence of ``n_stages`` configs. With a ``checkpoint_dir``, stage k checkpoints
            into ``checkpoint_dir/stage_k`` (so ``resume`` works stage by stage).
        seed: model initialisation seed (see :class:`PCAAE`).
        start: a partly trained :class:`PCAAE` to branch from: a deep copy of it keeps its
            ``start.stage`` trained stages and only the later stages are trained (so variants
            that differ from stage ``start.stage + 1`` on share identical earlier stages).
            Its config must equal ``config`` except for ``lam_cov``, ``n_stages`` and the
            packets after its stages; ``start`` itself is not modified.

    Returns:
        ``(model, histories)``: the trained model (eval mode) and one ``History`` per stage
        trained by this call.
    """
    from nets.train import TrainConfig, train  # late: the engine is a sibling module

    if not isinstance(config, PCAAEConfig):
        raise TypeError(f"config must be a PCAAEConfig, got {type(config).__name__}")
    if isinstance(train_config, TrainConfig):
        configs = [
            dataclasses.replace(
                train_config,
                seed=train_config.seed + k,
                **(
                    {"checkpoint_dir": os.path.join(str(train_config.checkpoint_dir), f"stage_{k + 1}")}
                    if getattr(train_config, "checkpoint_dir", None)
                    else {}
                ),
            )
            for k in range(config.n_stages)
        ]
    elif isinstance(train_config, (list, tuple)) and all(isinstance(c, TrainConfig) for c in train_config):
        if len(train_config) != config.n_stages:
            raise ValueError(f"train_config must have n_stages = {config.n_stages} entries, got {len(train_config)}")
        configs = list(train_config)
    else:
        raise TypeError("train_config must be a TrainConfig or a sequence of n_stages TrainConfigs")
    if start is None:
        model = PCAAE(config, seed=seed)
    else:
        if not isinstance(start, PCAAE):
            raise TypeError(f"start must be a PCAAE or None, got {type(start).__name__}")
        k0 = start.stage
        free = ("lam_cov", "n_stages", "packet")
        a = {f.name: getattr(start.config, f.name) for f in dataclasses.fields(PCAAEConfig) if f.name not in free}
        b = {f.name: getattr(config, f.name) for f in dataclasses.fields(PCAAEConfig) if f.name not in free}
        if a != b or k0 > config.n_stages or start.config.packets[:k0] != config.packets[:k0]:
            raise ValueError(
                "start's config is incompatible with config (only lam_cov, n_stages and later packets may differ)"
            )
        model = copy.deepcopy(start)
        model.config = config
        configs = configs[k0:]
    histories = []
    for cfg in configs:
        model.add_stage()
        histories.append(train(model, data, cfg, val_data=val_data))
    model.eval()
    return model, histories
