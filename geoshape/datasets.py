"""Labelled datasets: sample generating factors, render the images, return both.

Each function takes ``rng`` (a ``numpy.random.Generator``, an int seed or None) and draws
all its factors from it in a fixed order before rendering, so the same seed gives the same
arrays (rendering is deterministic, also with numba's parallel loops).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import shapes
from . import checks

__all__ = ["Labelled", "centred_disks", "random_disks", "random_ellipses", "random_diracs",
           "random_diracs2d", "quantize_8bit"]


class Labelled(NamedTuple):
    """Images with the factors that generated them.

    images : float32 (n, size, size) (or (n, length) for 1-D Diracs)
    factors : dict name -> float64 (n,), in the order the factors were sampled
    """

    images: np.ndarray
    factors: dict

    @property
    def names(self) -> tuple:
        """Factor names, in order."""
        return tuple(self.factors)

    def factor_matrix(self) -> np.ndarray:
        """Factors stacked as float64 (n, k), columns in the order of :attr:`names`."""
        return np.stack([self.factors[k] for k in self.factors], axis=1)


def quantize_8bit(images) -> np.ndarray:
    """Images as an 8-bit PNG round trip leaves them: ``floor(255 clip(x, 0, 1)) / 255``.

    The authors' data sets are written with ``np.uint8(clip(255 x, 0, 255))`` (which truncates)
    and read back divided by 255; this is that round trip, as float32 of the same shape.

    Examples
    --------
    >>> quantize_8bit(np.array([0.0, 0.5, 0.999, 1.2, -0.1], np.float32)) * 255
    array([  0., 127., 254., 255.,   0.], dtype=float32)
    """
    x = checks.real_array(images, "images", ndim_max=None)
    return (np.floor(255.0 * np.clip(x, 0.0, 1.0)) / 255.0).astype(np.float32)


def _maybe_quantize(images: np.ndarray, quantize: bool) -> np.ndarray:
    return quantize_8bit(images) if quantize else images


def _budget(n: int, size: int) -> None:
    checks.budget(4 * n * size * size, "n, size", f"the images ({n}, {size}, {size}) float32")


def _range(value, name, lo, hi):
    arr = checks.real_array(value, name)
    if arr.shape != (2,):
        raise ValueError(f"{name} must be a (low, high) pair, got shape {arr.shape}")
    checks.check_range(arr, name, lo, hi)
    if arr[0] > arr[1]:
        raise ValueError(f"{name} must satisfy low <= high, got {tuple(arr)}")
    return float(arr[0]), float(arr[1])


def centred_disks(n, *, size=64, r_min=0.0, r_max=None, exclude=None, sigma=1.0,
                  quantize=False, rng=None) -> Labelled:
    """Centred blurred disks with radius uniform on ``[r_min, r_max)`` minus ``exclude``.

    The talk's disk data set (radii uniform over [0, size/2)); ``exclude=(11, 18)`` gives
    its interpolation set, trained without radii in [11, 18].

    Parameters
    ----------
    n : int
        Number of images.
    size : int
        Image side in pixels, any integer in ``[1, 32768]``.
    r_min, r_max : float
        Radius range in pixels; ``r_max`` defaults to ``size / 2``.
    exclude : None or (lo, hi)
        Interval of radii never drawn; must lie inside [r_min, r_max) and leave some of it.
    sigma : float
        Blur in pixels.
    quantize : bool
        Round the images through 8 bits as the authors' PNG files do (:func:`quantize_8bit`).
    rng : Generator | int | None

    Returns
    -------
    Labelled(images (n, size, size) float32, factors {"radius": (n,)})

    Examples
    --------
    >>> d = geoshape.centred_disks(1000, exclude=(11, 18), rng=0)
    >>> d.images.shape, bool(np.any((d.factors["radius"] >= 11) & (d.factors["radius"] < 18)))
    ((1000, 64, 64), False)
    """
    n = checks.count(n, "n")
    size = checks.image_size(size)
    _budget(n, size)
    quantize = checks.boolean(quantize, "quantize")
    r_min = checks.real(r_min, "r_min")
    r_max = size / 2.0 if r_max is None else checks.real(r_max, "r_max")
    r_min, r_max = _range((r_min, r_max), "(r_min, r_max)", 0.0, shapes.MAX_EXTENT_FACTOR * size)
    if exclude is not None:
        lo, hi = _range(exclude, "exclude", r_min, r_max)
        kept = (lo - r_min) + (r_max - hi)
        if kept <= 0:
            raise ValueError("exclude must leave part of [r_min, r_max) to sample from")
    gen = checks.rng(rng)
    u = gen.random(n)
    if exclude is None:
        radius = r_min + u * (r_max - r_min)
    else:
        # Inverse CDF of the uniform law on [r_min, lo) U [hi, r_max).
        t = u * kept
        radius = np.where(t < lo - r_min, r_min + t, hi + (t - (lo - r_min)))
    images = shapes.disks(radius, size=size, sigma=sigma)
    return Labelled(_maybe_quantize(images, quantize), {"radius": radius})


def random_disks(n, *, size=64, radius=(2.0, 12.0), position=True, grey=None, margin=None,
                 sigma=1.0, quantize=False, rng=None) -> Labelled:
    """Blurred disks with random radius, and optionally random position and grey level.

    Parameters
    ----------
    radius : (lo, hi)
        Radius range in pixels (uniform).
    position : bool
        If True, centres uniform so that the disk stays ``margin`` pixels inside the image
        (``margin`` defaults to ``radius_hi + 2 sigma``, clipped so the range is non-empty);
        otherwise the image centre.
    grey : None or (lo, hi)
        Grey-level range (uniform); None means grey 1.
    Other arguments as in :func:`centred_disks`.

    Returns
    -------
    Labelled with factors "radius", then "x", "y" (if position), then "grey" (if grey).
    """
    n = checks.count(n, "n")
    size = checks.image_size(size)
    _budget(n, size)
    quantize = checks.boolean(quantize, "quantize")
    r_lo, r_hi = _range(radius, "radius", 0.0, shapes.MAX_EXTENT_FACTOR * size)
    g = None if grey is None else _range(grey, "grey", -1e6, 1e6)
    sig = checks.real_array(sigma, "sigma")
    if sig.ndim:
        raise ValueError("sigma must be a scalar for a data set")
    # The default margin is computed from sigma: check sigma's range first.
    checks.check_range(sig, "sigma", 0.0, shapes.MAX_SIGMA_FACTOR * size)
    if margin is None:
        margin = min(r_hi + 2.0 * float(sig), (size - 1) / 2.0)
    marg = float(checks.real_array(margin, "margin", ndim=0))
    checks.check_range(np.array(marg), "margin", 0.0, (size - 1) / 2.0)
    position = checks.boolean(position, "position")
    gen = checks.rng(rng)
    factors = {"radius": gen.uniform(r_lo, r_hi, n)}
    if position:
        factors["x"] = gen.uniform(marg, size - 1 - marg, n)
        factors["y"] = gen.uniform(marg, size - 1 - marg, n)
        centres = np.stack([factors["x"], factors["y"]], axis=1)
    else:
        centres = None
    grey_values = 1.0
    if g is not None:
        factors["grey"] = gen.uniform(g[0], g[1], n)
        grey_values = factors["grey"]
    images = shapes.disks(factors["radius"], centres, size=size, sigma=sigma, grey=grey_values)
    return Labelled(_maybe_quantize(images, quantize), factors)


def random_ellipses(n, *, size=64, a=(4.0, 24.0), b=(4.0, 24.0), theta=(0.0, np.pi),
                    sigma=1.0, quantize=False, rng=None) -> Labelled:
    """Centred blurred ellipses with semi-axes and rotation uniform in the given ranges.

    The PCA-AE data set of the talk (two axes and a rotation). Factors "a", "b", "theta"
    (pixels, pixels, radians; ``a`` along (cos theta, sin theta) in (x, y)).
    """
    n = checks.count(n, "n")
    size = checks.image_size(size)
    _budget(n, size)
    quantize = checks.boolean(quantize, "quantize")
    a_rng = _range(a, "a", 0.0, shapes.MAX_EXTENT_FACTOR * size)
    b_rng = _range(b, "b", 0.0, shapes.MAX_EXTENT_FACTOR * size)
    if a_rng[0] <= 0 or b_rng[0] <= 0:
        raise ValueError("a and b ranges must be > 0")
    t_rng = _range(theta, "theta", -1e3, 1e3)
    gen = checks.rng(rng)
    factors = {"a": gen.uniform(*a_rng, n), "b": gen.uniform(*b_rng, n),
               "theta": gen.uniform(*t_rng, n)}
    images = shapes.ellipses(factors["a"], factors["b"], factors["theta"], size=size,
                             sigma=sigma)
    return Labelled(_maybe_quantize(images, quantize), factors)


def random_diracs(n, length, *, continuous=False, rng=None) -> Labelled:
    """1-D Diracs of length ``length``: integer positions uniform on {0..length-1}, or
    real positions uniform on [0, length-1] (eq. 13) if ``continuous``.

    Returns Labelled(images float32 (n, length), {"position": (n,)}).
    """
    n = checks.count(n, "n")
    length = checks.count(length, "length")
    continuous = checks.boolean(continuous, "continuous")
    checks.budget(4 * n * length, "n, length", f"the output ({n}, {length}) float32")
    gen = checks.rng(rng)
    if continuous:
        pos = gen.uniform(0.0, length - 1, n)
    else:
        pos = gen.integers(0, length, n).astype(np.float64)
    return Labelled(shapes.dirac(pos, length), {"position": pos})


def random_diracs2d(n, size, *, continuous=False, rng=None) -> Labelled:
    """2-D Diracs on ``size x size`` grids; factors "x" (column) and "y" (row).

    Returns Labelled(images float32 (n, size, size), {"x": (n,), "y": (n,)}).
    """
    n = checks.count(n, "n")
    size = checks.image_size(size)
    continuous = checks.boolean(continuous, "continuous")
    _budget(n, size)
    gen = checks.rng(rng)
    if continuous:
        xy = gen.uniform(0.0, size - 1, (n, 2))
    else:
        xy = gen.integers(0, size, (n, 2)).astype(np.float64)
    return Labelled(shapes.dirac2d(xy, size), {"x": xy[:, 0], "y": xy[:, 1]})
