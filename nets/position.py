"""Encoding and decoding position (talk, "Autoencoding position", eqs. 9-13, Table 1).

:class:`PositionEncoder` is the talk's linear network: ``log2(n)`` layers of
[3-tap correlation (zero padding, no bias), keep the samples at odd 0-based indices], then a
linear map, no nonlinearity. With the filter ``phi = [1, 2, 1]`` in every layer and a unit
final map it outputs ``i + 1`` for a Dirac at 0-based index i (docs/conventions.md), and
``a + 1`` for the continuous Dirac of eq. 13 at real position a. Trained from random weights it is fit to that
target, ``sum_i (i + 1) x_i`` (exact for eq. 13 Diracs), so the learnt filters can be compared
with phi (up to the scale ``c^L`` absorbed by the final map).

In 2-D the two axes are two channels (talk: "the two directions can be processed
independently"): a first 3x3 conv from the image to 2 channels, then depthwise (grouped)
3x3 convs, odd-index decimation along both axes, and a 2x2 linear map to ``(x, y)`` (x the
column, y the row, docs/conventions.md). The exact weights for channel x are ``outer([1, 1, 0], phi)``
(rows summed, columns weighted), and the transpose for y.

:class:`PositionDecoder` maps a position to the continuous Dirac of eq. 13 with a small
LeakyReLU MLP; its encoder is the exact, parameter-free centroid, so training it with the
engine's default reconstruction loss trains the decoder alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from geoshape import checks

from . import _checks

__all__ = ["PositionEncoderConfig", "PositionEncoder", "PositionDecoderConfig", "PositionDecoder", "render_dirac"]

PHI = (1.0, 2.0, 1.0)


def _check_common(config) -> None:
    """Check and normalise ``length`` (a power of two >= 2) and ``ndim`` (the int 1 or 2)."""
    object.__setattr__(config, "length", checks.size_pow2(config.length, "length", minimum=2))
    ndim = checks.integer(config.ndim, "ndim")
    object.__setattr__(config, "ndim", checks.choice(ndim, "ndim", (1, 2)))


def position_target(x: torch.Tensor, ndim: int) -> torch.Tensor:
    """``sum_i (i + 1) x_i`` per axis: ``(n, ndim)`` from ``(n, 1, L)`` / ``(n, 1, s, s)``.

    For a Dirac (integer or eq. 13) at 0-based position a this is ``a + 1``; columns are
    ``(x, y)`` = (column, row) in 2-D.
    """
    length = x.shape[-1]
    idx = torch.arange(1, length + 1, dtype=x.dtype, device=x.device)
    if ndim == 1:
        return (x[:, 0] * idx).sum(-1, keepdim=True)
    img = x[:, 0]
    return torch.stack([(img.sum(-2) * idx).sum(-1), (img.sum(-1) * idx).sum(-1)], dim=1)


def render_dirac(a: torch.Tensor, length: int) -> torch.Tensor:
    """Eq. 13 as a differentiable tensor op: ``max(0, 1 - |t - a|)`` for t = 0..length-1.

    a: ``(n, 1)`` -> ``(n, length)``; ``(n, 2)`` as (x, y) -> ``(n, 1, length, length)``, the
    product of the two 1-D splits (bilinear split of the unit mass onto 4 pixels).
    """
    t = torch.arange(length, dtype=a.dtype, device=a.device)
    hats = torch.clamp(1 - torch.abs(t[None, None, :] - a[:, :, None]), min=0)  # (n, k, L)
    if a.shape[1] == 1:
        return hats[:, 0]
    return (hats[:, 1, :, None] * hats[:, 0, None, :]).unsqueeze(1)


@dataclass(frozen=True)
class PositionEncoderConfig:
    """length: samples per axis (a power of two >= 2); ndim: 1 or 2;
    init: ``"random"`` (PyTorch default, seeded) or ``"phi"`` (the talk's filter, exact)."""

    length: int = 64
    ndim: int = 1
    init: str = "random"

    def __post_init__(self) -> None:
        _check_common(self)
        checks.choice(self.init, "init", ("random", "phi"))

    @property
    def n_layers(self) -> int:
        return int(round(math.log2(self.length)))


class PositionEncoder(nn.Module):
    """Linear filter/subsample network extracting ``a + 1`` per axis from a Dirac at a.

    encode: ``(n, L)`` or ``(n, s, s)`` (a channel axis of 1 is allowed) -> ``(n, ndim)``.
    decode: the exact eq. 13 rendering of position ``z - 1`` (no parameters), so
    ``forward`` returns an image of the input's shape. ``training_loss`` and
    ``validation_mse`` regress the code onto :func:`position_target` (the engine uses them).
    Inputs are float tensors of any float dtype, cast to the model's dtype (float32 unless
    the model was converted); numpy arrays are refused (TypeError naming the argument).
    ``seed``: an int in ``[0, 2**63 - 1]`` for the private generator of the random init.

    Examples:
        >>> enc = PositionEncoder(PositionEncoderConfig(length=8, init="phi"))
        >>> enc.encode(torch.eye(8)[[2, 5]]).flatten().tolist()
        [3.0, 6.0]
    """

    def __init__(self, config: PositionEncoderConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        config, seed = _checks.model_args(config, PositionEncoderConfig, PositionEncoderConfig, seed)
        self.config = config
        L, nd = config.n_layers, config.ndim
        with _checks.seeded(seed):
            if nd == 1:
                self.layers = nn.ModuleList([nn.Conv1d(1, 1, 3, padding=1, bias=False) for _ in range(L)])
            else:
                self.layers = nn.ModuleList(
                    [nn.Conv2d(1, 2, 3, padding=1, bias=False)]
                    + [nn.Conv2d(2, 2, 3, padding=1, groups=2, bias=False) for _ in range(L - 1)]
                )
            self.out = nn.Linear(nd, nd, bias=False)
        if config.init == "phi":
            self.set_phi()

    @torch.no_grad()
    def set_phi(self, c: float = 1.0) -> None:
        """Set every layer to ``c * phi`` and the final map to ``c^-L`` (identity when c = 1).

        ``c``: a finite real number != 0 (a negative c works too: the signs cancel) such that
        ``2 c`` and ``c^-L`` are finite and nonzero in the model's dtype; ValueError otherwise,
        e.g. for ``c = 0``, whose final map ``0^-L`` does not exist.
        """
        c = _checks.finite_real(c, "c (the scale of phi)")
        L = self.config.n_layers
        info = torch.finfo(_checks.dtype_of(self))
        # c^-L, and the taps 2c, must be finite and nonzero: |L log2 |c|| under the exponent range
        if c == 0 or L * abs(math.log2(abs(c))) >= math.log2(info.max) - 1:
            raise ValueError(f"c (the scale of phi) must be nonzero with 2 c and c^-{L} finite and nonzero in "
                             f"{info.dtype}, got {c!r}")
        phi = torch.tensor(PHI) * c
        if self.config.ndim == 1:
            for conv in self.layers:
                conv.weight.copy_(phi.view(1, 1, 3))
        else:
            rows = torch.tensor([1.0, 1.0, 0.0])  # sums rows 2k and 2k+1 into 2k+1
            kx, ky = torch.outer(rows, phi), torch.outer(phi, rows)
            for conv in self.layers:
                conv.weight.copy_(torch.stack([kx, ky]).unsqueeze(1).expand_as(conv.weight))
        self.out.weight.copy_(torch.eye(self.config.ndim) * c ** (-L))

    def _input(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        return _checks.model_images(x, self, self.config.length, self.config.ndim, name)

    def layer_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[u(1), ..., u(L)]`` of the talk's Table 1: each layer's output after subsampling,
        ``(n, c, length / 2^l)`` in 1-D (c = 1) or ``(n, 2, s / 2^l, s / 2^l)`` in 2-D."""
        h = self._input(x)
        outs = []
        for conv in self.layers:
            h = conv(h)
            h = h[:, :, 1::2] if self.config.ndim == 1 else h[:, :, 1::2, 1::2]
            outs.append(h)
        return outs

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Diracs ``(n, L)`` / ``(n, s, s)`` -> ``(n, ndim)``, ``a + 1`` per axis once trained."""
        return self.out(self.layer_outputs(x)[-1].flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(n, ndim)`` (``a + 1`` per axis) -> the eq. 13 Diracs at ``a``."""
        return render_dirac(_checks.model_codes(z, self, self.config.ndim) - 1, self.config.length)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def training_loss(self, x_in: torch.Tensor, x_target: torch.Tensor) -> dict[str, torch.Tensor]:
        target = position_target(self._input(x_target, "x_target"), self.config.ndim)
        return {"position_mse": torch.mean((self.encode(x_in) - target) ** 2)}

    def validation_mse(self, x: torch.Tensor) -> torch.Tensor:
        """Mean squared error (pixels^2) of the code against ``a + 1``."""
        return self.training_loss(x, x)["position_mse"]

    def filters(self) -> list[torch.Tensor]:
        """Each layer's filter normalised to its middle tap (compare with phi / 2 = [.5, 1, .5])."""
        out = []
        for conv in self.layers:
            w = conv.weight.detach()[0, 0]
            centre = w[1] if w.ndim == 1 else w[1, 1]
            out.append(w / centre)
        return out


@dataclass(frozen=True)
class PositionDecoderConfig:
    """length, ndim as for the encoder; hidden: MLP widths (a non-empty tuple of positive
    ints); leaky_slope in [0, 1).

    Decoding is the hard direction (talk: "does not produce reliable results"): the targets
    are hats of width 2 pixels, and a LeakyReLU MLP reaches them only slowly because its
    ramp features are badly conditioned (a least-squares head on 128 random ramps reaches
    1e-5 per pixel, Adam on the same net about 5e-3 after 3000 steps)."""

    length: int = 64
    ndim: int = 1
    hidden: tuple[int, ...] = (256, 256)
    leaky_slope: float = 0.01

    def __post_init__(self) -> None:
        _check_common(self)
        if not isinstance(self.hidden, (tuple, list)):
            raise TypeError(f"hidden must be a non-empty tuple of positive ints, got {type(self.hidden).__name__}")
        if not self.hidden:
            raise ValueError(f"hidden must be a non-empty tuple of positive ints, got {self.hidden!r}")
        object.__setattr__(self, "hidden",
                           tuple(checks.integer(h, f"hidden[{i}]", lo=1) for i, h in enumerate(self.hidden)))
        object.__setattr__(self, "leaky_slope",
                           checks.real(self.leaky_slope, "leaky_slope", 0.0, 1.0, hi_open=True))

    def n_parameters(self) -> int:
        """Parameters of ``PositionDecoder(self)``: the MLP and its ``length^ndim`` head."""
        widths = (self.ndim,) + self.hidden
        mlp = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
        return mlp + (widths[-1] + 1) * self.length**self.ndim


class PositionDecoder(nn.Module):
    """Position ``(n, ndim)`` (0-based, pixel units) -> continuous Dirac (eq. 13).

    encode: the exact centroid ``sum_i i x_i / sum_i x_i`` per axis (no parameters).
    decode: MLP on the position rescaled to [-1, 1]; output ``(n, L)`` or ``(n, 1, s, s)``.
    Inputs are float tensors of any float dtype, cast to the model's dtype; numpy arrays are
    refused (TypeError naming the argument). A config whose weights would take more than
    4 GiB (the head alone has ``hidden[-1] * length^ndim`` of them) is refused before any
    layer is allocated (ValueError with the bytes needed).
    """

    def __init__(self, config: PositionDecoderConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        config, seed = _checks.model_args(config, PositionDecoderConfig, PositionDecoderConfig, seed)
        _checks.weights_budget(config.n_parameters(), "config (length, ndim, hidden)")
        self.config = config
        widths = (config.ndim,) + config.hidden
        with _checks.seeded(seed):
            self.hidden = nn.ModuleList([nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])])
            self.head = nn.Linear(widths[-1], config.length**config.ndim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Diracs ``(n, L)`` / ``(n, s, s)`` -> their centroids ``(n, ndim)``."""
        h = _checks.model_images(x, self, self.config.length, self.config.ndim)
        mass = h.flatten(1).sum(1, keepdim=True).clamp_min(1e-12)
        return (position_target(h, self.config.ndim) - mass) / mass

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Positions ``(n, ndim)`` -> Diracs ``(n, L)`` or ``(n, 1, s, s)``."""
        z = _checks.model_codes(z, self, self.config.ndim)
        h = 2 * z / (self.config.length - 1) - 1
        for lin in self.hidden:
            h = F.leaky_relu(lin(h), self.config.leaky_slope)
        y = self.head(h)
        s = self.config.length
        return y if self.config.ndim == 1 else y.view(-1, 1, s, s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
