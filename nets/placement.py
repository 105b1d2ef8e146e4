"""A decoder that places an object exactly: the constructed ReLU decoder of :mod:`theory.placement`.

:class:`ConstructedPlacementDecoder` maps a position in pixels to the continuous Dirac of eq. 13,
``max(0, 1 - |t - position|)``, with the layers a convolutional decoder has, and exact weights:

* layer 1: ``nn.Linear(1, 2)`` with a bias (the only bias): ``a -> [1 - a, a]``, the Dirac at
  the code ``a = position / 2^(L-1)`` on 2 samples;
* layers 2..L, each: zero-insertion upsampling (a stride-2 transposed convolution with a 1-tap
  kernel), ``nn.Conv1d(1 -> 4, kernel 5, padding 2, no bias)`` with taps
  ``A = [-1, 0, 1, 0, -1]``, ``B = [0, 1, 0, 1, 0]``, ``C = [0, 1, 0, -1, 0]``,
  ``D = [0, -1, 0, 1, 0]``, ReLU, ``nn.Conv1d(4 -> 1, kernel 1, no bias)`` with the mix
  ``A + B - C - D``. The Dirac at ``p`` on ``n`` samples becomes the Dirac at ``2p`` on
  ``2n - 1`` samples (proved in :func:`theory.prove_position_decoder`);
* ``L`` is the smallest with ``2^(L-1) + 1 >= length``; the last layer is cropped to ``length``.

2-D: each axis runs the 1-D construction in its own channel (grouped convolutions), then a
per-pixel combine: ``"product"`` ``hat_y(i) hat_x(j)`` -- the bilinear Dirac of
:func:`geoshape.dirac2d`, and the one non-ReLU operation -- or ``"pyramid"``
``min(hat_x(j), hat_y(i)) = (hat_x + hat_y - relu(hat_x - hat_y) - relu(hat_y - hat_x)) / 2``,
ReLUs only (it differs from the product by at most 1/4 per pixel, see
:func:`theory.pyramid_product_gap`). An optional fixed template (e.g. a blurred disk,
:func:`theory.disk_template`) is convolved with the Dirac to place a blurred object.

Precision: the construction doubles the position in every layer, so the first layer's rounding
of ``1 - a`` (half an ulp of 1) is multiplied by ``2^(L-1)``. In float32 that is up to
``2^(L-1) 2^-25`` (measured 1.9e-6 at length 64, 9.5e-7 at length 32); the default dtype is
therefore float64 (error at most ``2^(L-1) 2^-53``, 7e-15 at length 64). The taps here are the
ones of :data:`theory.placement.TAPS` (nets imports only geoshape; a test holds them equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from geoshape import checks

from . import _checks

__all__ = ["ConstructedPlacementConfig", "ConstructedPlacementDecoder"]

#: Correlation taps at offsets -2..2 of the four channels A, B, C, D (as Conv1d, padding 2).
TAPS = ((-1.0, 0.0, 1.0, 0.0, -1.0), (0.0, 1.0, 0.0, 1.0, 0.0), (0.0, 1.0, 0.0, -1.0, 0.0),
        (0.0, -1.0, 0.0, 1.0, 0.0))
#: The mix of the rectified channels: A + B - C - D.
MIX = (1.0, 1.0, -1.0, -1.0)
#: The first layer: weight (-1, 1), bias (1, 0), so a -> [1 - a, a].
FIRST_WEIGHT = (-1.0, 1.0)
FIRST_BIAS = (1.0, 0.0)
#: Largest |template| value: four of them summed stay finite in float32 (3.4e38).
MAX_ABS_TEMPLATE = 1e30
#: Longest output: layer L has 2^(L-1) + 1 samples, the 2-D output length^2 pixels per code.
MAX_LENGTH = 2**15


def _template(value: Any, ndim: int, length: int) -> tuple | None:
    """``value`` (None or an array with ``ndim`` axes of odd sides in ``[1, 2 length + 1]``) as
    nested tuples of floats, so that the frozen config stays hashable and comparable."""
    if value is None:
        return None
    arr = checks.real_array(value, "template", ndim=ndim, allow_bool=True)
    checks.check_range(arr, "template", -MAX_ABS_TEMPLATE, MAX_ABS_TEMPLATE)
    if any(s % 2 == 0 or s > 2 * length + 1 for s in arr.shape):
        raise ValueError(f"template must have odd sides in [1, {2 * length + 1}] (2 length + 1), "
                         f"got shape {arr.shape}")
    return tuple(float(v) for v in arr) if ndim == 1 else tuple(tuple(float(v) for v in row) for row in arr)


@dataclass(frozen=True)
class ConstructedPlacementConfig:
    """The constructed decoder's configuration (all checked on construction).

    length: output samples per axis, an int in ``[2, 32768]`` (any parity; 2-D lengths are
    bounded further by the memory budget); ndim: 1 or 2; template: None or an array with
    ``ndim`` axes of odd sides (at most ``2 length + 1``) and values in ``[-1e30, 1e30]``, the
    fixed object convolved with the Dirac ('same' zero padding), stored as nested tuples;
    combine (2-D only): ``"product"`` (eq. 13 per axis, multiplied) or ``"pyramid"`` (their
    min, ReLUs only); dtype: ``"float64"`` (default, exact to ``2^(L-1) 2^-53``) or
    ``"float32"`` (to ``2^(L-1) 2^-25``: 1.9e-6 at length 64, measured)."""

    length: int = 64
    ndim: int = 1
    template: Any = None
    combine: str = "product"
    dtype: str = "float64"

    def __post_init__(self) -> None:
        object.__setattr__(self, "length", checks.integer(self.length, "length", lo=2, hi=MAX_LENGTH))
        ndim = checks.choice(checks.integer(self.ndim, "ndim"), "ndim", (1, 2))
        object.__setattr__(self, "ndim", ndim)
        checks.choice(self.combine, "combine", ("product", "pyramid"))
        checks.choice(self.dtype, "dtype", ("float32", "float64"))
        checks.budget(8 * (self.length ** ndim) * 4, "length, ndim", "one decoded image's work arrays (float64)")
        object.__setattr__(self, "template", _template(self.template, ndim, self.length))

    @property
    def n_layers(self) -> int:
        """``L``: the smallest with ``2^(L-1) + 1 >= length`` (length 64: 7 layers, 65 samples)."""
        return 1 + (self.length - 2).bit_length()

    @property
    def scale(self) -> int:
        """``2^(L-1)``: pixels per unit of the code, ``a = position / scale``."""
        return 2 ** (self.n_layers - 1)


class ConstructedPlacementDecoder(nn.Module):
    """Position ``(n, ndim)`` in pixels, in ``[0, length - 1]`` -> the eq. 13 Dirac there.

    forward: ``(n, length)`` in 1-D, ``(n, 1, length, length)`` in 2-D (``image[i, j]`` from
    ``y`` at row i and ``x`` at column j, columns of ``z`` being ``(x, y)``), convolved with the
    template if the config has one. layer_outputs: each layer's coarse Dirac(s). Weights are
    the exact construction (:meth:`set_construction`, called on construction), dtype as the
    config says. Inputs are float tensors of any float dtype, cast to the model's dtype; numpy
    arrays are refused (TypeError naming ``z``), positions outside ``[0, length - 1]`` or not
    finite too (ValueError naming ``z``).

    Examples:
        >>> dec = ConstructedPlacementDecoder(ConstructedPlacementConfig(length=8))
        >>> dec(torch.tensor([[2.25]])).tolist()
        [[0.0, 0.0, 0.75, 0.25, 0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, config: ConstructedPlacementConfig | None = None) -> None:
        super().__init__()
        config, _ = _checks.model_args(config, ConstructedPlacementConfig, ConstructedPlacementConfig, 0)
        self.config = config
        nd, L = config.ndim, config.n_layers
        with _checks.seeded(0):   # the layers' default init is overwritten; keep the caller's RNG
            self.first = nn.Linear(1, 2)                                                    # with bias
            self.convs = nn.ModuleList([nn.Conv1d(nd, 4 * nd, 5, padding=2, groups=nd, bias=False)
                                        for _ in range(L - 1)])
            self.mixes = nn.ModuleList([nn.Conv1d(4 * nd, nd, 1, groups=nd, bias=False) for _ in range(L - 1)])
            self.template = None
            if config.template is not None:
                side = len(config.template)
                conv = nn.Conv1d if nd == 1 else nn.Conv2d
                self.template = conv(1, 1, side, padding=side // 2, bias=False)
        self.register_buffer("insert", torch.ones(nd, 1, 1))   # 1-tap kernel of the zero insertion
        self.to(torch.float64 if config.dtype == "float64" else torch.float32)
        self.set_construction()

    @torch.no_grad()
    def set_construction(self) -> None:
        """Set every weight to the exact construction (taps, mix, first layer, flipped template)."""
        dt = _checks.dtype_of(self)
        nd = self.config.ndim
        self.first.weight.copy_(torch.tensor(FIRST_WEIGHT, dtype=dt).view(2, 1))
        self.first.bias.copy_(torch.tensor(FIRST_BIAS, dtype=dt))
        taps = torch.tensor(TAPS, dtype=dt).view(4, 1, 5).repeat(nd, 1, 1)     # (4 nd, 1, 5)
        mix = torch.tensor(MIX, dtype=dt).view(1, 4, 1).repeat(nd, 1, 1)       # (nd, 4, 1)
        for conv, m in zip(self.convs, self.mixes):
            conv.weight.copy_(taps)
            m.weight.copy_(mix)
        if self.template is not None:
            t = torch.tensor(np.asarray(self.config.template), dtype=dt)
            # conv layers correlate: the flipped template makes them convolve
            self.template.weight.copy_(torch.flip(t, dims=tuple(range(t.ndim))).view_as(self.template.weight))

    def _positions(self, z: torch.Tensor) -> torch.Tensor:
        z = _checks.model_codes(z, self, self.config.ndim)
        hi = self.config.length - 1
        if not bool(torch.all(torch.isfinite(z))) or bool(torch.any((z < 0) | (z > hi))):
            raise ValueError(f"z must hold finite positions in pixels in [0, {hi}] (length - 1), got min "
                             f"{float(z.min())}, max {float(z.max())}")
        return z

    def _layers(self, z: torch.Tensor) -> list[torch.Tensor]:
        a = (z / self.config.scale).unsqueeze(-1)          # (n, ndim, 1), exact: scale is 2^(L-1)
        c = self.first(a)                                   # (n, ndim, 2): [1 - a, a]
        outs = [c]
        for conv, mix in zip(self.convs, self.mixes):
            u = F.conv_transpose1d(c, self.insert, stride=2, groups=self.config.ndim)   # (n, ndim, 2 m - 1)
            c = mix(F.relu(conv(u)))                        # (n, 4 ndim, 2m - 1) -> (n, ndim, 2m - 1)
            outs.append(c)
        return outs

    def layer_outputs(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's coarse Dirac: ``L`` tensors ``(n, ndim, 2^(l-1) + 1)``, channel ``d`` the
        Dirac at ``2^(l-1) z[:, d] / 2^(L-1)`` (eq. 13); the last one is not cropped."""
        return self._layers(self._positions(z))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Positions ``(n, ndim)`` (pixels) -> ``(n, length)`` or ``(n, 1, length, length)``."""
        s = self.config.length
        h = self._layers(self._positions(z))[-1][:, :, :s]  # (n, ndim, length)
        if self.config.ndim == 1:
            out = h[:, 0]
            if self.template is not None:
                out = self.template(out.unsqueeze(1))[:, 0]
            return out
        hx, hy = h[:, 0, None, :], h[:, 1, :, None]         # (n, 1, s) along columns, (n, s, 1) along rows
        if self.config.combine == "product":
            img = hy * hx
        else:
            img = 0.5 * (hx + hy - F.relu(hx - hy) - F.relu(hy - hx))
        img = img.unsqueeze(1)                              # (n, 1, s, s)
        return img if self.template is None else self.template(img)
