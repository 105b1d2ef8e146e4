"""A convolutional decoder that places an object: 2-D position -> image of the object there.

The talk's open question, "How does the autoencoder place an object in an image?", asked of
the decoders one would train. :class:`PlacementDecoder` maps a position ``(x, y)`` in pixels
(x the column, y the row, docs/conventions.md) to a ``size x size`` image, by

* a start map of ``widths[0]`` channels at ``4 x 4``: a linear layer of the position
  (``coords=False``, the talk's decoder), or, with ``coords=True`` (CoordConv, Liu et al.
  2018), the position tiled over the ``4 x 4`` grid beside two coordinate channels, then a
  1 x 1 convolution;
* ``log2(size) - 2`` upsampling blocks ``[transposed conv kernel 6, stride 2 (zero insertion
  followed by a 6-tap filter: three coarse samples reach every fine one, as the 5-tap
  construction of theory.placement needs), bias, LeakyReLU]``;
* a 3 x 3 convolution to one channel, linear output.

``padding`` is ``"zeros"`` (a border cue: the talk's decoder) or ``"circular"`` (the canvas
is a torus, so no layer can tell where the border is). With ``coords=True`` the two
coordinate channels (in [-1, 1]) enter every convolution.

encode: the exact, parameter-free intensity centroid of an image (the centre of a symmetric
object), so training the model with the engine's reconstruction loss trains the decoder alone.

Examples
--------
>>> dec = PlacementDecoder(PlacementDecoderConfig(size=16, widths=(4, 4)), seed=0)
>>> dec.decode(torch.tensor([[3.0, 9.5]])).shape
torch.Size([1, 1, 16, 16])
>>> [tuple(h.shape[-2:]) for h in dec.layer_outputs(torch.zeros(1, 2))]
[(4, 4), (8, 8), (16, 16)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from geoshape import checks

from . import _checks

__all__ = ["PlacementDecoderConfig", "PlacementDecoder", "image_centroid"]

PADDINGS = ("zeros", "circular")
#: Side of the start map.
START = 4


@dataclass(frozen=True)
class PlacementDecoderConfig:
    """size: canvas side in pixels, a power of two in [8, 1024]; widths: channels of the start
    map and of each upsampling block's output, ``log2(size) - 2`` positive ints (a shorter
    tuple repeats its last entry); padding: ``"zeros"`` or ``"circular"``; coords: CoordConv's
    coordinate channels; leaky_slope in [0, 1)."""

    size: int = 64
    widths: tuple[int, ...] = (16, 16, 16, 8)
    padding: str = "zeros"
    coords: bool = False
    leaky_slope: float = 0.01

    def __post_init__(self) -> None:
        size = checks.size_pow2(self.size, "size", minimum=8)
        if size > 1024:
            raise ValueError(f"size must be a power of two in [8, 1024], got {size}")
        object.__setattr__(self, "size", size)
        n = self.n_blocks
        if isinstance(self.widths, (str, bytes)) or not isinstance(self.widths, (tuple, list)) or not self.widths:
            raise TypeError(f"widths must be a non-empty tuple of positive ints, got {self.widths!r}")
        w = tuple(self.widths)
        if len(w) > n:
            raise ValueError(f"widths must hold at most log2(size) - 2 = {n} ints, got {len(w)}")
        w = w + (w[-1],) * (n - len(w))
        _checks.widths(w, n, "log2(size) - 2")
        object.__setattr__(self, "widths", w)
        checks.choice(self.padding, "padding", PADDINGS)
        object.__setattr__(self, "coords", checks.boolean(self.coords, "coords"))
        object.__setattr__(self, "leaky_slope",
                           checks.real(self.leaky_slope, "leaky_slope", 0.0, 1.0, hi_open=True))

    @property
    def n_blocks(self) -> int:
        """Upsampling blocks: ``log2(size / 4)``."""
        return int(round(math.log2(self.size))) - 2


def image_centroid(x: torch.Tensor) -> torch.Tensor:
    """Intensity centroid ``(x, y)`` in pixels of images ``(n, 1, s, s)``: ``(n, 2)``.

    Negative values count as 0 (a decoder's undershoot must not pull the centre); an image of
    zero mass gives the canvas centre.
    """
    w = x[:, 0].clamp_min(0)
    s = w.shape[-1]
    t = torch.arange(s, dtype=w.dtype, device=w.device)
    mass = w.sum((-2, -1))
    safe = torch.where(mass > 0, mass, torch.ones_like(mass))
    cx = (w.sum(-2) * t).sum(-1) / safe
    cy = (w.sum(-1) * t).sum(-1) / safe
    mid = torch.full_like(cx, (s - 1) / 2)
    return torch.stack([torch.where(mass > 0, cx, mid), torch.where(mass > 0, cy, mid)], dim=1)


def _coord_maps(side: int, n: int, like: torch.Tensor) -> torch.Tensor:
    """``(n, 2, side, side)``: the column and row of each cell's centre, in [-1, 1]."""
    t = torch.linspace(-1.0, 1.0, side, dtype=like.dtype, device=like.device)
    return torch.stack([t[None, :].expand(side, side), t[:, None].expand(side, side)]).expand(n, 2, side, side)


class PlacementDecoder(nn.Module):
    """Position ``(n, 2)`` in pixels -> image ``(n, 1, size, size)``; see the module docstring.

    ``seed``: an int in ``[0, 2**63 - 1]`` for the private generator of the initial weights.
    """

    def __init__(self, config: PlacementDecoderConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        config, seed = _checks.model_args(config, PlacementDecoderConfig, PlacementDecoderConfig, seed)
        self.config = config
        w, extra = config.widths, (2 if config.coords else 0)
        with _checks.seeded(seed):
            if config.coords:
                self.start = nn.Conv2d(2 + extra, w[0], 1)
            else:
                self.start = nn.Linear(2, w[0] * START * START)
            ins = (w[0],) + w[:-1]
            self.blocks = nn.ModuleList([nn.ConvTranspose2d(ci + extra, co, 6, stride=2, padding=2)
                                         for ci, co in zip(ins, w)])
            self.out = nn.Conv2d(w[-1] + extra, 1, 3, padding=1, padding_mode=config.padding)

    def _with_coords(self, h: torch.Tensor) -> torch.Tensor:
        if not self.config.coords:
            return h
        return torch.cat([h, _coord_maps(h.shape[-1], h.shape[0], h)], dim=1)

    def _up(self, conv: nn.ConvTranspose2d, h: torch.Tensor) -> torch.Tensor:
        if self.config.padding == "zeros":
            return conv(h)
        # Circular: wrap one coarse sample round each side, then crop: padding 2 + 2 * 1 = 4
        # keeps the output 2 * side and gives every fine sample the same three coarse
        # neighbours as the zero-padded layer has inside the canvas.
        return F.conv_transpose2d(F.pad(h, (1, 1, 1, 1), mode="circular"), conv.weight, conv.bias,
                                  stride=2, padding=4)

    def layer_outputs(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's activations for positions ``z`` ``(n, 2)``: the start map
        ``(n, widths[0], 4, 4)``, then each block's ``(n, widths[l], 2^(l+2), 2^(l+2))``."""
        z = _checks.model_codes(z, self, 2)
        n, slope = z.shape[0], self.config.leaky_slope
        u = 2 * z / (self.config.size - 1) - 1  # the canvas as [-1, 1]^2, like the coord maps
        if self.config.coords:
            h = self.start(self._with_coords(u[:, :, None, None].expand(n, 2, START, START)))
        else:
            h = self.start(u).view(n, self.config.widths[0], START, START)
        outs = [F.leaky_relu(h, slope)]
        for conv in self.blocks:
            outs.append(F.leaky_relu(self._up(conv, self._with_coords(outs[-1])), slope))
        return outs

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Positions ``(n, 2)`` as ``(x, y)`` pixels -> images ``(n, 1, size, size)``."""
        return self.out(self._with_coords(self.layer_outputs(z)[-1]))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(n, s, s)`` / ``(n, 1, s, s)`` -> their centroids ``(n, 2)`` in pixels."""
        return image_centroid(_checks.model_images(x, self, self.config.size, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
