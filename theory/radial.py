"""Radial functions on the pixel grid: radial averages, Gaussian blur of a radial profile, Airy images.

Conventions (those of geoshape): pixel ``(i, j)`` of an image sits at ``(x, y) = (j, i)``
pixels, the default centre of a ``size x size`` image is ``((size-1)/2, (size-1)/2)``, and
lengths (radii, ``sigma``) are in pixels.

- :func:`radial_profile` -- the radial average of one image (lossless on radial images);
- :func:`radial_blur` -- the 2-D Gaussian blur of a radial function, as a 1-D integral;
- :func:`airy_image` -- the Airy profile (eq. 8, :mod:`theory.airy`) rendered on the pixel
  grid, with or without blur, unit norm.

Examples
--------
>>> img = airy_image(8)
>>> print(img.shape, f"{np.linalg.norm(img):.12f}")
(8, 8) 1.000000000000
>>> rho, val = radial_profile(img)
>>> print(len(rho), f"{rho[0]:.4f}")
9 0.7071
"""

from __future__ import annotations

import numpy as np
import scipy.special

from geoshape import checks
from theory._checks import centre as _centre
from theory._checks import radii, radius
from theory.airy import airy_profile

#: Largest blur (pixels) of :func:`radial_blur` / :func:`airy_image`: sigma^2 and the Bessel
#: argument d s / sigma^2 stay far inside float64, and no image needs a blur wider than 2^15.
MAX_SIGMA = 1e6

__all__ = ["radial_profile", "radial_blur", "airy_image"]


def _pixel_distances(shape, centre):
    """Distance of every pixel centre to ``centre = (x, y)``: float64 array of ``shape`` (H, W)."""
    cx, cy = centre
    i, j = np.indices(shape, dtype=np.float64)
    return np.hypot(j - cx, i - cy)


def radial_profile(image, centre=None, bin_width: float | None = None):
    """Radial average of one image around ``centre`` (pixel (i, j) sits at (x, y) = (j, i)).

    Parameters
    ----------
    image : 2-D real finite array (H, W), H, W >= 1.
    centre : (x, y) in pixels; default the image centre ``((W-1)/2, (H-1)/2)``.
    bin_width : None -> one entry per distinct pixel distance (lossless for a radial image);
        a float > 0 -> bins ``[k w, (k+1) w)``, each reported at the mean distance of its pixels.

    Returns
    -------
    ``(rho, values)`` float64 arrays (m,), rho increasing (pixels), values the mean over the
    pixels of each distance (or bin).

    Examples
    --------
    >>> rho, val = radial_profile(np.ones((3, 3)))
    >>> rho.round(4).tolist(), val.tolist()
    ([0.0, 1.0, 1.4142], [1.0, 1.0, 1.0])
    """
    img = checks.real_array(image, "image", ndim=2, allow_bool=True)
    if img.size == 0:
        raise ValueError(f"image must have at least one pixel, got shape {img.shape}")
    if centre is None:
        centre = ((img.shape[1] - 1) / 2.0, (img.shape[0] - 1) / 2.0)
    else:
        centre = _centre(centre, 0)
    d = _pixel_distances(img.shape, centre).ravel()
    if bin_width is None:
        key = np.round(d * d, 9)
    else:
        bin_width = checks.positive(bin_width, "bin_width")
        key = np.floor(d / bin_width)
    _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    rho = np.bincount(inv, weights=d) / counts
    val = np.bincount(inv, weights=img.ravel()) / counts
    return rho, val


def _profile_values(profile, s: np.ndarray) -> np.ndarray:
    """``profile(s)`` as float64 (m,): TypeError / ValueError naming ``profile`` when it raises
    a TypeError / ValueError, or returns anything but ``m`` finite real numbers (a scalar, another
    shape, None, strings, NaN)."""
    try:
        out = profile(s)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"profile must be a callable f(s) vectorised on a float64 array (m,): "
                        f"profile(s) raised {type(exc).__name__}: {exc}") from exc
    try:
        vals = checks.real_array(out, "profile(s)", ndim_max=None, allow_bool=True)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"profile must return finite real numbers: {exc}") from None
    if vals.shape != s.shape:
        raise ValueError(f"profile must return an array shaped like its argument {s.shape} (one value per "
                         f"radius), got shape {vals.shape}")
    return vals


def radial_blur(profile, R, d, sigma, *, panel: float | None = None) -> np.ndarray:
    """Gaussian blur (std ``sigma``) of a radial function supported on ``[0, R]``, at radii ``d``.

    ``(G_sigma * f)(d) = int_0^R f(s) s / sigma^2 exp(-(d - s)^2 / (2 sigma^2)) I0e(d s / sigma^2) ds``
    (the angular integral of the 2-D Gaussian; ``I0e`` is the scaled Bessel function), by
    composite 8-point Gauss-Legendre on panels of width <= ``sigma / 2`` (the kink at ``R`` is
    a panel end). With ``f = 1`` it is the blurred disk that ``geoshape.disks`` renders,
    ``scipy.stats.ncx2.cdf((R / sigma)^2, 2, (d / sigma)^2)`` (a Marcum Q-function).

    Parameters
    ----------
    profile : callable ``f(s)`` vectorised on ``s in [0, R]`` (float64 (m,) -> (m,) finite
        reals; another shape, NaN or a non-number is refused, naming ``profile``).
    R : float in [1e-6, 1e6] pixels (``R_RANGE``), the support (pixels). d : array-like of radii >= 0 (pixels), any shape.
    sigma : float in (0, 1e6] (pixels). panel : float > 0, the largest panel width, default ``sigma / 2``.

    Returns
    -------
    float64 array shaped like ``d``.

    Examples
    --------
    >>> from scipy.stats import ncx2
    >>> d = np.array([0.0, 3.0, 5.0])
    >>> got = radial_blur(np.ones_like, 4.0, d, 1.0)
    >>> print(np.abs(got - ncx2.cdf(16.0, 2, d ** 2)).max() < 1e-12)
    True
    """
    if not callable(profile):
        raise TypeError(f"profile must be a callable f(s), got {type(profile).__name__}")
    R = radius(R)
    sigma = checks.real(sigma, "sigma", lo=0.0, lo_open=True, hi=MAX_SIGMA)
    d = radii(d, "d")
    width = sigma / 2.0 if panel is None else checks.positive(panel, "panel")
    panels = max(float(np.ceil(R / width)), 1.0)
    # Nodes, weights and one 256-row chunk of the kernel: ~(2 + 2 * 256) floats per node.
    checks.budget(8 * 8 * panels * 514, "R, sigma, panel", f"{panels:.3g} quadrature panels")
    n_pan = int(panels)
    x, w = np.polynomial.legendre.leggauss(8)
    edges = np.linspace(0.0, R, n_pan + 1)
    half = 0.5 * np.diff(edges)
    s = ((edges[:-1] + half)[:, None] + half[:, None] * x[None, :]).ravel()
    ws = (half[:, None] * w[None, :]).ravel()
    fs = _profile_values(profile, s) * s * ws / sigma ** 2
    uniq, inv = np.unique(d.ravel(), return_inverse=True)
    out = np.empty(len(uniq))
    for lo in range(0, len(uniq), 256):  # chunks bound the (radii x nodes) temporary
        dd = uniq[lo:lo + 256, None]
        with np.errstate(over="ignore"):  # a radius far past R: the Gaussian weight is exactly 0
            ker = np.exp(-(dd - s[None, :]) ** 2 / (2 * sigma ** 2)) * scipy.special.i0e(dd * s[None, :] / sigma ** 2)
        out[lo:lo + 256] = ker @ fs
    return out[inv].reshape(d.shape)


def airy_image(size: int = 64, R=None, sigma: float = 0.0, centre=None) -> np.ndarray:
    """The Airy profile rendered on the pixel grid: ``f(|p - c|)`` at pixel centres, unit norm.

    Parameters
    ----------
    size : int in [1, 2^15], image side. R : float in [1e-6, 1e6] pixels (``R_RANGE``), default ``size / 2`` (the
        inscribed disk).
    sigma : float in [0, 1e6] (pixels); > 0 renders the continuous Gaussian blur of the profile
        (:func:`radial_blur`) sampled at pixel centres, like a blurred disk.
    centre : (x, y), default the image centre ``((size-1)/2, (size-1)/2)``.

    Returns
    -------
    float64 (size, size), unit Euclidean norm (0 at pixels farther than R when sigma = 0).

    Examples
    --------
    >>> img = airy_image(16, sigma=1.0)
    >>> print(img.shape, f"{np.linalg.norm(img):.12f}", bool(img.min() > 0))
    (16, 16) 1.000000000000 True
    """
    size = checks.image_size(size)
    R = size / 2.0 if R is None else radius(R)
    sigma = checks.real(sigma, "sigma", lo=0.0, hi=MAX_SIGMA)
    c = _centre(centre, size)
    checks.budget(4 * 8 * size * size, "size", f"a {size} x {size} Airy image")
    d = _pixel_distances((size, size), c)
    if sigma == 0.0:
        img = airy_profile(d, R)
    else:
        img = radial_blur(lambda s: airy_profile(s, R), R, d, sigma)
    nrm = np.linalg.norm(img)
    if nrm == 0:
        raise ValueError(f"R={R} is smaller than every pixel distance: the image is empty")
    return img / nrm
