"""How a decoder places an object: an exact ReLU construction of the eq. 13 Dirac, and its proof.

The talk asks how an autoencoder *places* an object in an image. This module answers with a
construction: a decoder made only of zero-insertion upsampling, 5-tap convolutions and ReLU,
with a bias in its first layer only, maps a code ``a`` in ``[0, 1]`` to the continuous Dirac
of eq. 13, ``delta_p(t) = max(0, 1 - |t - p|)``, exactly.

* Layer 1 (affine, the only bias): ``a -> c = [1 - a, a]``, the Dirac at ``a`` on 2 samples.
  Weight ``(-1, 1)``, bias ``(1, 0)``.
* Layer ``l + 1`` (no bias) takes the Dirac at ``p`` on ``n`` samples,
  ``c_k = max(0, 1 - |k - p|)`` with ``p`` in ``[0, n - 1]``, to the Dirac at ``2p`` on
  ``2n - 1`` samples:

  - zero insertion: ``u_{2k} = c_k``, ``u_{2k+1} = 0`` (length ``2n - 1``);
  - four channels, each a correlation ``v_r[j] = sum_t TAPS[r][t] u[j + t - 2]`` (zero padding
    2), taps ``A = [-1, 0, 1, 0, -1]``, ``B = [0, 1, 0, 1, 0]``, ``C = [0, 1, 0, -1, 0]``,
    ``D = [0, -1, 0, 1, 0]``;
  - ReLU, then the fixed mix ``A + B - C - D`` (a 1x1 convolution).

  At an even sample ``j = 2k`` only the taps at offsets -2, 0, 2 see nonzero input, so the
  output is ``relu(c_k - c_{k-1} - c_{k+1})``; at an odd sample ``j = 2k + 1`` only the taps at
  offsets -1, +1 do, giving ``c_k + c_{k+1} - |c_k - c_{k+1}| = 2 min(c_k, c_{k+1})``, with
  ``|x| = relu(x) + relu(-x)``.

Sizes: ``n_1 = 2``, ``n_{l+1} = 2 n_l - 1``, so ``n_l = 2^(l-1) + 1`` and layer ``l`` holds the
Dirac at ``2^(l-1) a``. :func:`prove_position_decoder` proves this by induction with sympy
(each case of where ``a`` lies relative to ``k`` simplified to an identity, no sampling).

In float64 the construction is bit-exact (error 0 against eq. 13) for every ``a`` on the grid
``2^-53 Z`` (all that ``numpy.random.Generator.random`` draws, every float in ``[1/2, 1]``):
then every value of layer ``l``, and every sum or difference a layer forms, is a multiple of
``2^(l-54)`` of magnitude at most 1, which float64 holds exactly. Any other ``a`` (``a < 1/2``
with bits below ``2^-53``): the first layer rounds ``1 - a`` by at most ``2^-54`` and each
further layer doubles the position, so layer ``L`` is off by at most ``2^(L-1) 2^-53``
(measured: ``2^-44 = 5.7e-14`` at ``L = 11``).

2-D: each axis runs the 1-D construction in its own channel. The separable Dirac of
:func:`geoshape.dirac2d` (the product of the two hats, bilinear in the sub-pixel offsets) is
not piecewise linear in ``(a_x, a_y)``, so no ReLU network gives it exactly; the *pyramid*
``min(hat_x, hat_y) = (hat_x + hat_y - |hat_x - hat_y|) / 2`` is exact with ReLUs. The two
differ by at most 1/4 (proved; attained at the half-pixel offset ``(1/2, 1/2)``), see
:func:`pyramid_product_gap`.

Blurred objects: the Dirac convolved with a fixed template (a blurred disk rendered at an
integer centre) is the bilinear interpolation of four integer-shifted templates; against the
exact blurred disk at the sub-pixel centre its error is ``O(h^2 * curvature)``
(:func:`template_placement_gap`; measured for radius 4, sigma 1 over 8 x 8 sub-pixel
offsets: max abs error 0.0378 and relative L2 error 0.0384, both at the offset (1/2, 1/2)).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from geoshape import checks


__all__ = [
    "placement_layer",
    "construct_dirac",
    "construct_dirac2d",
    "placement_layer_table",
    "PlacementTable",
    "PlacementProof",
    "prove_position_decoder",
    "pyramid_product_gap",
    "PyramidGap",
    "disk_template",
    "template_placement_gap",
    "TemplateGap",
]

#: Correlation taps of the four channels at offsets -2..2 (``v_r[j] = sum_t TAPS[r][t] u[j+t-2]``,
#: as ``torch.nn.Conv1d(padding=2)``): A, B, C, D.
TAPS = ((-1, 0, 1, 0, -1), (0, 1, 0, 1, 0), (0, 1, 0, -1, 0), (0, -1, 0, 1, 0))
#: The fixed mix of the four rectified channels (a 1x1 convolution, no bias): A + B - C - D.
MIX = (1, 1, -1, -1)
#: The first (affine) layer: ``c = FIRST_WEIGHT * a + FIRST_BIAS = [1 - a, a]``.
FIRST_WEIGHT = (-1, 1)
FIRST_BIAS = (1, 0)
#: Most layers: layer 20 has 2^19 + 1 = 524,289 samples per code (the budget may refuse fewer).
MAX_LAYERS = 20
COMBINES = ("product", "pyramid")
#: Largest |c| a layer takes: it adds three values, which must stay finite in float64.
MAX_ABS_C = 1e300
#: Largest template half width: an 8193 x 8193 template renders in about 2 s.
MAX_HALF_WIDTH = 4096


# --------------------------------------------------------------------------- numerics
def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _layer(c: np.ndarray) -> np.ndarray:
    """One unchecked refinement step along the last axis, (..., n) -> (..., 2n - 1)."""
    n = c.shape[-1]
    m = 2 * n - 1
    u = np.zeros(c.shape[:-1] + (m + 4,))     # zero insertion, plus 2 zeros of padding per side
    u[..., 2:m + 2:2] = c
    out = np.zeros(c.shape[:-1] + (m,))
    for taps, w in zip(TAPS, MIX):
        ch = np.zeros(c.shape[:-1] + (m,))
        for t, tap in enumerate(taps):
            if tap:
                ch = ch + tap * u[..., t:t + m]
        out = out + w * _relu(ch)
    return out


def _first(a: np.ndarray) -> np.ndarray:
    """The affine first layer: (...,) -> (..., 2) = [1 - a, a]."""
    return np.stack([FIRST_WEIGHT[0] * a + FIRST_BIAS[0], FIRST_WEIGHT[1] * a + FIRST_BIAS[1]], axis=-1)


def _codes(a, name: str) -> np.ndarray:
    arr = checks.real_array(a, name, ndim_max=None)
    checks.check_range(arr, name, 0.0, 1.0)
    return arr


def _n_layers(n_layers) -> int:
    return checks.integer(n_layers, "n_layers", lo=1, hi=MAX_LAYERS)


def _layer_sizes(n_layers: int) -> list[int]:
    return [2 ** (l - 1) + 1 for l in range(1, n_layers + 1)]


def placement_layer(c) -> np.ndarray:
    """One bias-free refinement layer of the constructed decoder, on the last axis.

    Zero insertion, the four 5-tap channels :data:`TAPS` (zero padding), ReLU, the mix
    :data:`MIX`. For the eq. 13 Dirac at ``p`` on ``n`` samples (``p`` in ``[0, n - 1]``) it
    returns the eq. 13 Dirac at ``2p`` on ``2n - 1`` samples; on any other input it is just
    the layer.

    Parameters
    ----------
    c : array (..., n), real, ``|c| <= 1e300`` (so that sums of three stay finite), ``n >= 1``.

    Returns
    -------
    float64 array (..., 2n - 1): even samples ``relu(c_k - c_{k-1} - c_{k+1})``, odd samples
    ``c_k + c_{k+1} - |c_k - c_{k+1}|`` (``c_{-1} = c_n = 0``).

    Examples
    --------
    >>> placement_layer([0.75, 0.25]).tolist()   # the Dirac at 1/4 -> the Dirac at 1/2
    [0.5, 0.5, 0.0]
    """
    arr = checks.real_array(c, "c", ndim_max=None, min_ndim=1, allow_bool=True)
    checks.check_range(arr, "c", -MAX_ABS_C, MAX_ABS_C)
    if arr.shape[-1] < 1:
        raise ValueError(f"c must have at least 1 sample on its last axis, got shape {arr.shape}")
    n_rows = arr.size // arr.shape[-1]
    checks.budget(8 * 4 * n_rows * (2 * arr.shape[-1] + 3), "c", "the layer's work arrays (float64)")
    return _layer(arr)


def construct_dirac(a, n_layers: int) -> list[np.ndarray]:
    """Every layer's coarse Dirac of the constructed decoder for codes ``a``.

    Parameters
    ----------
    a : float or array (...), codes in ``[0, 1]`` (dimensionless).
    n_layers : int in ``[1, 20]``, the number of layers ``L`` (the first affine one included).

    Returns
    -------
    list of ``L`` float64 arrays; entry ``l - 1`` has shape ``a.shape + (2^(l-1) + 1,)`` and
    equals eq. 13 at position ``2^(l-1) a`` (in samples of that layer):
    ``max(0, 1 - |t - 2^(l-1) a|)``, exactly for ``a`` on the grid ``2^-53 Z`` (see the
    module docstring), else within ``2^(l-1) 2^-53``.

    Examples
    --------
    >>> [c.tolist() for c in construct_dirac(0.375, 3)]
    [[0.625, 0.375], [0.25, 0.75, 0.0], [0.0, 0.5, 0.5, 0.0, 0.0]]
    """
    arr = _codes(a, "a")
    L = _n_layers(n_layers)
    checks.budget(8 * 6 * max(arr.size, 1) * (2 ** L + 2), "a, n_layers",
                  "the layers (float64) and their work arrays")
    c = _first(arr)
    out = [c]
    for _ in range(L - 1):
        c = _layer(c)
        out.append(c)
    return out


def _combine(hx: np.ndarray, hy: np.ndarray, kind: str) -> np.ndarray:
    """(..., n) x (..., n) -> (..., n, n) images, image[..., i, j] from hy[i] (row) and hx[j]."""
    u = hx[..., None, :]
    v = hy[..., :, None]
    if kind == "product":
        return v * u
    d = u - v
    return 0.5 * (u + v - _relu(d) - _relu(-d))   # min(u, v) with |d| = relu(d) + relu(-d)


def construct_dirac2d(ax, ay, n_layers: int, kind: str = "product") -> list[np.ndarray]:
    """Every layer's 2-D coarse Dirac: per-axis 1-D constructions, combined per pixel.

    Parameters
    ----------
    ax, ay : float or arrays broadcasting together, codes in ``[0, 1]`` for the column (x)
        and the row (y) axis.
    n_layers : int in ``[1, 20]``; the memory budget bounds it further (layer ``l`` is
        ``(2^(l-1) + 1)^2`` pixels per code pair).
    kind : ``"product"`` -- ``hat_y(i) * hat_x(j)``, the bilinear Dirac of
        :func:`geoshape.dirac2d` (eq. 13 per axis; the product is the one non-ReLU operation);
        ``"pyramid"`` -- ``min(hat_x(j), hat_y(i)) = (hat_x + hat_y - |hat_x - hat_y|) / 2``,
        ReLUs only.

    Returns
    -------
    list of ``L`` float64 arrays, entry ``l - 1`` of shape ``shape + (n_l, n_l)`` with
    ``n_l = 2^(l-1) + 1``; ``image[..., i, j]`` combines ``hat(i - 2^(l-1) ay)`` (row i) and
    ``hat(j - 2^(l-1) ax)`` (column j).

    Examples
    --------
    >>> construct_dirac2d(0.25, 0.5, 2, "pyramid")[-1].tolist()
    [[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]
    """
    x = _codes(ax, "ax")
    y = _codes(ay, "ay")
    try:
        x, y = np.broadcast_arrays(x, y)
    except ValueError:
        raise ValueError(f"ax and ay must broadcast together, got shapes {np.shape(x)} and {np.shape(y)}") from None
    L = _n_layers(n_layers)
    kind = checks.choice(kind, "kind", COMBINES)
    n_last = 2 ** (L - 1) + 1
    # the layers (4/3 of the last one) and the pyramid's temporaries (up to 6 of the last one)
    checks.budget(8 * 8 * max(x.size, 1) * n_last * n_last + 8 * 12 * max(x.size, 1) * n_last,
                  "ax, ay, n_layers", "the 2-D layers (float64) and their work arrays")
    hx = construct_dirac(x, L)
    hy = construct_dirac(y, L)
    return [_combine(cx, cy, kind) for cx, cy in zip(hx, hy)]


# --------------------------------------------------------------------------- the table
def _fmt(v: float) -> str:
    f = Fraction(float(v))
    if f.denominator > 4096:
        return f"{v:.4g}"
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


@dataclass(frozen=True)
class PlacementTable:
    """The constructed decoder layer by layer, one row per placed position (cf. Table 1).

    ``n``: the output length; ``n_layers``: ``L``, the smallest with ``2^(L-1) + 1 >= n``;
    ``positions``: the placed positions (pixels of the output, in ``[0, n - 1]``), tuple of
    floats; ``codes``: ``a = position / 2^(L-1)``; ``layers[l - 1]``: float64 array
    ``(m, 2^(l-1) + 1)``, row r the Dirac at ``2^(l-1) a_r``; ``output``: ``(m, n)``, the last
    layer cropped to ``n`` samples. ``str()`` lists the layers per position (exact fractions
    for dyadic values); :meth:`to_markdown` gives a Markdown table.
    """

    n: int
    n_layers: int
    positions: tuple
    codes: tuple
    layers: tuple
    output: np.ndarray

    def column(self, r: int) -> list:
        """``[layer 1, ..., layer L, output]`` for position ``r`` as lists of floats."""
        return [layer[r].tolist() for layer in self.layers] + [self.output[r].tolist()]

    def _cells(self, r: int) -> list[str]:
        return ["[" + ", ".join(_fmt(v) for v in row) + "]" for row in self.column(r)]

    def __str__(self) -> str:
        head = (f"Constructed placement decoder: output length {self.n}, {self.n_layers} layers "
                f"(sizes {', '.join(map(str, _layer_sizes(self.n_layers)))}), code a = position / "
                f"{2 ** (self.n_layers - 1)}")
        lines = [head]
        for r, (p, a) in enumerate(zip(self.positions, self.codes)):
            lines.append(f"position {_fmt(p)} (a = {_fmt(a)})")
            cells = self._cells(r)
            for l, cell in enumerate(cells[:-1], 1):
                lines.append(f"  layer {l} (Dirac at {_fmt(2 ** (l - 1) * a)}): {cell}")
            lines.append(f"  output (cropped to {self.n}): {cells[-1]}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        sizes = _layer_sizes(self.n_layers)
        head = ["position", "a"] + [f"layer {l} ({s})" for l, s in enumerate(sizes, 1)] + [f"output ({self.n})"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r, (p, a) in enumerate(zip(self.positions, self.codes)):
            lines.append("| " + " | ".join([_fmt(p), _fmt(a)] + self._cells(r)) + " |")
        return "\n".join(lines)


def placement_layer_table(n: int = 8, positions: Sequence[float] | None = None) -> PlacementTable:
    """The constructed decoder's layers for a final length ``n`` (the decoder's Table 1).

    Parameters
    ----------
    n : int in ``[2, 4097]``, the output length; the decoder has ``L = 1 + ceil(log2(n - 1))``
        layers (``n = 8``: 4 layers of 2, 3, 5, 9 samples, cropped to 8).
    positions : None (the integer positions ``0, ..., n - 1``) or a 1-D sequence of positions
        in pixels of the output, in ``[0, n - 1]``.

    Returns
    -------
    :class:`PlacementTable`.

    Examples
    --------
    >>> t = placement_layer_table(8, positions=[3])
    >>> [str(c) for c in t._cells(0)]
    ['[5/8, 3/8]', '[1/4, 3/4, 0]', '[0, 1/2, 1/2, 0, 0]', '[0, 0, 0, 1, 0, 0, 0, 0, 0]', '[0, 0, 0, 1, 0, 0, 0, 0]']
    """
    n = checks.integer(n, "n", lo=2, hi=4097)
    L = 1 + (n - 2).bit_length()
    if positions is None:
        pos = np.arange(n, dtype=np.float64)
    else:
        pos = checks.real_array(positions, "positions", ndim=1)
        checks.check_range(pos, "positions", 0.0, n - 1)
        checks.budget(8 * 8 * pos.size * n, "positions, n", "the table's layers (float64)")
    a = pos / 2 ** (L - 1)
    layers = construct_dirac(a, L)
    return PlacementTable(n=n, n_layers=L, positions=tuple(float(p) for p in pos),
                          codes=tuple(float(v) for v in a), layers=tuple(layers),
                          output=layers[-1][:, :n].copy())


# The proof and the 2-D / blurred-object measures live in their own modules (one job each);
# their names stay importable from here.
from ._placement_proof import PlacementProof, prove_position_decoder  # noqa: E402
from .placement_objects import (PyramidGap, TemplateGap, disk_template, pyramid_product_gap,  # noqa: E402
                                template_placement_gap)
