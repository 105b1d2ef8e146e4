"""What the construction of :mod:`theory.placement` gives beyond 1-D: how far the ReLU-exact
2-D pyramid Dirac is from the separable (product) one (:func:`pyramid_product_gap`), and how
close a fixed template placed by the exact Dirac comes to the blurred disk at a sub-pixel centre
(:func:`disk_template`, :func:`template_placement_gap`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import geoshape
from geoshape import checks

from .placement import MAX_HALF_WIDTH, construct_dirac2d

# --------------------------------------------------------------------------- 2-D gap
@dataclass(frozen=True)
class PyramidGap:
    """How far the ReLU-exact pyramid ``min(hat_x, hat_y)`` is from the product Dirac.

    Over the sub-pixel offsets ``offsets x offsets`` (pixels, in ``[0, 1]``): ``max_abs`` the
    largest pixel difference (1/4, at ``worst_offset = (1/2, 1/2)``), ``max_rel_l2`` the
    largest ``|pyr - prod|_2 / |prod|_2``, ``mass`` ``(min, max)`` of the pyramid's sum (the
    product's is 1), ``max_centroid_error`` the largest distance in pixels between the
    pyramid's centroid and the placed position.
    """

    offsets: np.ndarray
    max_abs: float
    worst_offset: tuple
    max_rel_l2: float
    mass: tuple
    max_centroid_error: float


def pyramid_product_gap(n_offsets: int = 65) -> PyramidGap:
    """Measure the pyramid Dirac against the product Dirac over sub-pixel offsets.

    Both are built by :func:`construct_dirac2d` (3 layers, a 5 x 5 grid) at positions
    ``(1 + dx, 1 + dy)``, ``dx, dy`` on ``linspace(0, 1, n_offsets)``; by translation
    invariance one cell shows every case.

    Parameters
    ----------
    n_offsets : int in ``[2, 257]``, offsets per axis (odd values include 1/2).

    Returns
    -------
    :class:`PyramidGap`. Measured (n_offsets = 65 and 257 alike): max abs 0.25 at (1/2, 1/2)
    (the proved bound, attained), max relative L2 1.0 (at (1/2, 1/2): the pyramid is 1/2 on
    four pixels, the product 1/4), mass in [1, 2], centroid error at most 0.1213 pixel
    (``sqrt(2) (3/2 - sqrt(2))``, per axis ``3/2 - sqrt(2) = 0.0858``, at offsets
    ``1/sqrt(2) - 1/2``).
    """
    m = checks.integer(n_offsets, "n_offsets", lo=2, hi=257)
    off = np.linspace(0.0, 1.0, m)
    dx, dy = np.meshgrid(off, off, indexing="ij")
    ax, ay = (1 + dx) / 4, (1 + dy) / 4
    prod = construct_dirac2d(ax, ay, 3, "product")[-1]
    pyr = construct_dirac2d(ax, ay, 3, "pyramid")[-1]
    diff = np.abs(pyr - prod).reshape(m, m, -1).max(-1)
    w = np.unravel_index(np.argmax(diff), diff.shape)
    rel = np.linalg.norm((pyr - prod).reshape(m, m, -1), axis=-1) / np.linalg.norm(prod.reshape(m, m, -1), axis=-1)
    mass = pyr.sum((-1, -2))
    grid = np.arange(5.0)
    cx = (pyr.sum(-2) * grid).sum(-1) / mass
    cy = (pyr.sum(-1) * grid).sum(-1) / mass
    cerr = np.hypot(cx - (1 + dx), cy - (1 + dy))
    return PyramidGap(offsets=off, max_abs=float(diff.max()), worst_offset=(float(off[w[0]]), float(off[w[1]])),
                      max_rel_l2=float(rel.max()), mass=(float(mass.min()), float(mass.max())),
                      max_centroid_error=float(cerr.max()))


# --------------------------------------------------------------------------- blurred objects
def _half_width(radius: float, sigma: float, half_width) -> int:
    if half_width is None:
        return int(math.ceil(radius + 6.0 * sigma))
    return checks.integer(half_width, "half_width", lo=0, hi=MAX_HALF_WIDTH)


def disk_template(radius: float, sigma: float = 1.0, half_width: int | None = None) -> np.ndarray:
    """The fixed blur template: a blurred disk rendered at the integer centre of an odd square.

    Parameters
    ----------
    radius : disk radius in pixels, in ``[0, 1024]`` (and at most 16 template sides).
    sigma : Gaussian blur std in pixels, 0 or in ``[1e-3, 256]`` (as :func:`geoshape.disks`).
    half_width : None (``ceil(radius + 6 sigma)``: the blur tail beyond is below 1e-9) or an
        int in ``[0, 4096]``.

    Returns
    -------
    float64 array ``(2h + 1, 2h + 1)``
        ``h`` the half width: ``geoshape.disks(radius, centres=(h, h), size=2h + 1, sigma=sigma)``.

    Examples
    --------
    >>> disk_template(1.0, 0.0).tolist()   # sigma 0: the indicator, boundary included
    [[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]]
    """
    r = checks.real(radius, "radius", 0.0, 1024.0)
    s = checks.real(sigma, "sigma", 0.0, 256.0)
    h = _half_width(r, s, half_width)
    side = 2 * h + 1
    if r > 16 * side:   # geoshape.disks renders radii up to 16 sides
        raise ValueError(f"radius, half_width: radius must be <= 16 (2 half_width + 1) = {16 * side}, got {r:g}")
    checks.budget(4 * side * side, "radius, sigma, half_width", f"the template ({side}, {side}) float32")
    return geoshape.disks(r, centres=(h, h), size=side, sigma=s)[0].astype(np.float64)


def _paste(img: np.ndarray, tpl: np.ndarray, cx: int, cy: int, weight: float) -> None:
    """img += weight * tpl centred at pixel (row cy, column cx), clipped to the image."""
    h = tpl.shape[0] // 2
    size = img.shape[0]
    r0, r1 = max(cy - h, 0), min(cy + h + 1, size)
    c0, c1 = max(cx - h, 0), min(cx + h + 1, size)
    if r0 >= r1 or c0 >= c1:
        return
    img[r0:r1, c0:c1] += weight * tpl[r0 - cy + h:r1 - cy + h, c0 - cx + h:c1 - cx + h]


@dataclass(frozen=True)
class TemplateGap:
    """The Dirac-times-template decoder against the exact blurred disk at sub-pixel centres.

    ``offsets``: the sub-pixel offsets per axis (pixels, in ``[0, 1)``); ``max_abs[iy, ix]``
    and ``rel_l2[iy, ix]``: per offset ``(dx, dy) = (offsets[ix], offsets[iy])``, the largest
    pixel error and ``|decoded - exact|_2 / |exact|_2``; ``worst``: the overall maxima and
    the offset ``(dx, dy)`` where the max abs error occurs.
    """

    radius: float
    sigma: float
    size: int
    half_width: int
    offsets: np.ndarray
    max_abs: np.ndarray
    rel_l2: np.ndarray

    @property
    def worst_abs(self) -> float:
        return float(self.max_abs.max())

    @property
    def worst_rel_l2(self) -> float:
        return float(self.rel_l2.max())

    @property
    def worst_offset(self) -> tuple:
        iy, ix = np.unravel_index(np.argmax(self.max_abs), self.max_abs.shape)
        return float(self.offsets[ix]), float(self.offsets[iy])


def template_placement_gap(radius: float = 4.0, sigma: float = 1.0, size: int = 32, n_offsets: int = 8,
                           half_width: int | None = None) -> TemplateGap:
    """Decoded blurred disk (2-D product Dirac at a sub-pixel centre * fixed template) vs exact.

    The decoder output is ``dirac2d(c) * T`` (convolution), ``T = disk_template(radius,
    sigma, half_width)``: with ``c = (cx0 + dx, cy0 + dy)`` (``cx0 = cy0 = (size - 1) // 2``)
    it is the bilinear interpolation ``sum (1 - dx or dx)(1 - dy or dy) T`` of four
    integer-shifted templates. The reference is ``geoshape.disks(radius, centres=c, size,
    sigma)``. Linear interpolation errs by ``O(h^2 |Hessian|)`` (``h`` = 1 pixel): at most
    ``(max|I_xx| + max|I_yy|) / 8``, so the gap shrinks as the blur grows and is 0 at integer
    offsets.

    Parameters
    ----------
    radius : pixels, in ``[0, min(1024, 16 size)]``; sigma : pixels, 0 or in ``[1e-3, 256]``.
    size : image side in pixels, in ``[1, 1024]``.
    n_offsets : int in ``[1, 64]``; offsets ``k / n_offsets``, ``k = 0 .. n_offsets - 1``, per axis.
    half_width : the template's, see :func:`disk_template`.

    Returns
    -------
    :class:`TemplateGap`. Measured (radius 4, sigma 1, size 32, 8 x 8 offsets, also 16 x 16):
    worst max abs 0.0378 and worst relative L2 0.0384, both at (dx, dy) = (1/2, 1/2); a
    half-pixel offset on one axis only gives 0.0253 and 0.0240; integer offsets give 0.
    Sigma 0.5: 0.113 / 0.092; sigma 2: 0.0169 / 0.0194 (radius 4).
    """
    r = checks.real(radius, "radius", 0.0, 1024.0)
    s = checks.real(sigma, "sigma", 0.0, 256.0)
    size = checks.integer(size, "size", lo=1, hi=1024)
    if r > 16 * size:   # geoshape.disks renders radii up to 16 image sides
        raise ValueError(f"radius, size: radius must be <= 16 size = {16 * size}, got {r:g}")
    m = checks.integer(n_offsets, "n_offsets", lo=1, hi=64)
    checks.budget(12 * m * m * size * size, "n_offsets, size",
                  f"the {m * m} exact images ({size}, {size}) in float32 and float64")
    tpl = disk_template(r, s, half_width)
    h = tpl.shape[0] // 2
    off = np.arange(m) / m
    c0 = (size - 1) // 2
    dx, dy = np.meshgrid(off, off, indexing="xy")          # dx varies along columns
    centres = np.stack([c0 + dx.ravel(), c0 + dy.ravel()], axis=1)
    exact = geoshape.disks(r, centres=centres, size=size, sigma=s).astype(np.float64)
    max_abs = np.zeros(m * m)
    rel = np.zeros(m * m)
    for q, (ox, oy) in enumerate(zip(dx.ravel(), dy.ravel())):
        dec = np.zeros((size, size))
        for ix, wx in ((0, 1 - ox), (1, ox)):
            for iy, wy in ((0, 1 - oy), (1, oy)):
                if wx * wy:
                    _paste(dec, tpl, c0 + ix, c0 + iy, wx * wy)
        err = dec - exact[q]
        max_abs[q] = np.abs(err).max()
        norm = np.linalg.norm(exact[q])
        rel[q] = np.linalg.norm(err) / norm if norm > 0 else 0.0
    return TemplateGap(radius=r, sigma=s, size=size, half_width=h, offsets=off,
                       max_abs=max_abs.reshape(m, m), rel_l2=rel.reshape(m, m))
