"""Blurred geometric shapes and Diracs: validated public wrappers over ``_kernels``.

Conventions (docs/conventions.md): images are float32 ``(n, size, size)``; pixel ``(i, j)``
(row, column) has its centre at ``(x, y) = (j, i)`` in pixel units; the default shape
centre is ``((size-1)/2, (size-1)/2)``; a blurred shape is the indicator convolved with
an isotropic Gaussian of standard deviation ``sigma`` pixels, point-sampled at pixel
centres, times ``grey``. ``sigma = 0`` gives the plain indicator (boundary included).

Per-image arguments broadcast: scalars, length-1 or length-n arrays; ``centres`` is
``None``, ``(2,)`` or ``(n, 2)`` as ``(x, y)``.
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from . import checks

__all__ = ["disks", "rings", "squares", "ellipses", "dirac", "dirac2d"]

#: Largest accepted blur, in pixels, as a multiple of the image size.
MAX_SIGMA_FACTOR = 1.0
#: Smallest nonzero blur, in pixels: below it the blurred shape differs from the indicator only
#: within 5e-3 pixel of the edge, and r / sigma would overflow the kernels' tables.
MIN_SIGMA = 1e-3
#: Largest accepted shape extent (radius, semi-axis, side), as a multiple of the image size.
MAX_EXTENT_FACTOR = 16.0
#: Smallest ellipse semi-axis, in pixels. The kernel's quadratic form holds 1 / a^2, which
#: overflows below ~1e-154; at 1e-12 the blurred mass is still pi a b to 1.3e-5 (measured).
MIN_SEMI_AXIS = 1e-12
#: Largest |grey| accepted: the images are float32 (largest finite value 3.4e38), and a blurred
#: ring is the difference of two disks of that grey level.
MAX_GREY = 1e30


def _images_budget(n: int, size: int, names: str) -> None:
    checks.budget(4 * n * size * size, names, f"the output ({n}, {size}, {size}) float32")


def _common(size, sigma, grey, centres):
    size = checks.image_size(size)
    sig = checks.real_array(sigma, "sigma")
    checks.check_range(sig, "sigma", 0.0, MAX_SIGMA_FACTOR * size)
    if np.any((sig > 0) & (sig < MIN_SIGMA)):
        raise ValueError(f"sigma must be 0 (no blur) or >= {MIN_SIGMA} pixels, got min nonzero "
                         f"{sig[sig > 0].min():g}")
    gr = checks.real_array(grey, "grey")
    checks.check_range(gr, "grey", -MAX_GREY, MAX_GREY)
    cen = checks.centres(centres, size)
    return size, sig, gr, cen


def _extent(value, name, size, *, lo_open=False):
    arr = checks.real_array(value, name)
    checks.check_range(arr, name, 0.0, MAX_EXTENT_FACTOR * size, lo_open=lo_open)
    return arr


def disks(radii, centres=None, *, size=64, sigma=1.0, grey=1.0) -> np.ndarray:
    """Blurred disks, exact to 4e-6 (the closed form of the talk's training images).

    Pixel value at distance ``d`` from the centre: ``grey * (1 - Q1(d/sigma, r/sigma))``,
    Q1 the Marcum Q-function, i.e. ``scipy.stats.ncx2.cdf((r/sigma)**2, 2, (d/sigma)**2)``.

    Parameters
    ----------
    radii : float or array (n,)
        Radii in pixels, in ``[0, 16*size]``. Radius 0 gives an empty image.
    centres : None, (2,) or (n, 2)
        Centres ``(x, y)`` in pixel units (sub-pixel allowed, may lie outside the image).
    size : int
        Image side in pixels, any integer in ``[1, 32768]`` (odd sides such as 63 have the
        default centre ``(size-1)/2`` on a pixel centre).
    sigma : float or array (n,)
        Gaussian blur std in pixels: 0 (the plain indicator) or in ``[1e-3, size]``.
    grey : float or array (n,)
        Grey level multiplying each image.

    Returns
    -------
    np.ndarray, float32, shape (n, size, size)

    Examples
    --------
    >>> import geoshape
    >>> x = geoshape.disks([4.0, 8.0], size=32)
    >>> x.shape, x.dtype
    ((2, 32, 32), dtype('float32'))
    >>> round(float(x[1].sum()), 1)  # mass = pi r^2 = 201.06...
    201.1
    """
    size, sig, gr, cen = _common(size, sigma, grey, centres)
    r = _extent(radii, "radii", size)
    n = checks.broadcast_n({"radii": r, "centres": cen, "sigma": sig, "grey": gr})
    _images_budget(n, size, "radii, size")
    out = np.empty((n, size, size), dtype=np.float32)
    _kernels.disks_kernel(out, checks.expand(r, n), checks.expand(cen[:, 0], n), checks.expand(cen[:, 1], n),
                          checks.expand(sig, n), checks.expand(gr, n), _kernels._GL_X, _kernels._GL_W)
    return out


def rings(inner, outer, centres=None, *, size=64, sigma=1.0, grey=1.0) -> np.ndarray:
    """Blurred annuli ``inner <= |p - c| <= outer``: exactly ``disks(outer) - disks(inner)``.

    ``inner`` and ``outer`` are radii in pixels with ``0 <= inner <= outer``; other
    arguments and the output as in :func:`disks`.

    Examples
    --------
    >>> x = geoshape.rings(3, 8, size=32)
    >>> round(float(x.sum()), 2)  # mass = pi (8^2 - 3^2) = 172.79
    172.79
    """
    size = checks.image_size(size)
    r_in = _extent(inner, "inner", size)
    r_out = _extent(outer, "outer", size)
    n = checks.broadcast_n({"inner": r_in, "outer": r_out})
    if np.any(checks.expand(r_in, n) > checks.expand(r_out, n)):
        raise ValueError("inner must be <= outer for every ring")
    # Validate the rest before rendering anything.
    _, sig, gr, cen = _common(size, sigma, grey, centres)
    checks.broadcast_n({"inner": r_in, "outer": r_out, "centres": cen, "sigma": sig, "grey": gr})
    return (disks(r_out, centres, size=size, sigma=sigma, grey=grey)
            - disks(r_in, centres, size=size, sigma=sigma, grey=grey))


def squares(side, theta=0.0, centres=None, *, size=64, sigma=1.0, grey=1.0) -> np.ndarray:
    """Blurred squares of side ``side`` pixels rotated by ``theta`` radians.

    Axis-aligned squares (theta a multiple of pi/2) use the exact product
    ``[Phi((x - x0)/s) - Phi((x - x1)/s)] [Phi((y - y0)/s) - Phi((y - y1)/s)]``;
    rotated squares a Gauss-Legendre quadrature of the exact chord integral
    (accurate to ~1e-5). Rotation is counter-clockwise in (x, y) coordinates, which
    appears clockwise on screen since y (rows) points down. Output as in :func:`disks`.

    Examples
    --------
    >>> round(float(geoshape.squares(10, theta=0.3, size=32).sum()), 2)  # mass = side^2
    100.0
    """
    size, sig, gr, cen = _common(size, sigma, grey, centres)
    s = _extent(side, "side", size)
    th = checks.real_array(theta, "theta")
    n = checks.broadcast_n({"side": s, "theta": th, "centres": cen, "sigma": sig, "grey": gr})
    _images_budget(n, size, "side, size")
    s, th, sig, gr = (checks.expand(v, n) for v in (s, th, sig, gr))
    cx, cy = checks.expand(cen[:, 0], n), checks.expand(cen[:, 1], n)
    out = np.empty((n, size, size), dtype=np.float32)
    aligned = np.isclose(np.mod(th, np.pi / 2), 0.0, atol=1e-12) | np.isclose(
        np.mod(th, np.pi / 2), np.pi / 2, atol=1e-12)
    if np.any(aligned):
        out[aligned] = _aligned_squares(s[aligned], cx[aligned], cy[aligned], sig[aligned],
                                        gr[aligned], size)
    rot = ~aligned
    if np.any(rot):
        half = s[rot] / 2.0
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
        c, si = np.cos(th[rot]), np.sin(th[rot])
        ux = corners[None, :, 0] * half[:, None]
        uy = corners[None, :, 1] * half[:, None]
        vx = np.ascontiguousarray(cx[rot, None] + c[:, None] * ux - si[:, None] * uy)
        vy = np.ascontiguousarray(cy[rot, None] + si[:, None] * ux + c[:, None] * uy)
        sub = np.empty((int(rot.sum()), size, size), dtype=np.float32)
        _kernels.polygons_kernel(sub, vx, vy, sig[rot], gr[rot], _kernels._GL_X, _kernels._GL_W,
                                 _kernels.PHI_TABLE)
        out[rot] = sub
    return out


def _aligned_squares(side, cx, cy, sigma, grey, size):
    from scipy.special import ndtr

    grid = np.arange(size, dtype=np.float64)
    half = side[:, None] / 2.0

    def profile(c):
        lo, hi = c[:, None] - half, c[:, None] + half
        d = grid[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            soft = ndtr((d - lo) / sigma[:, None]) - ndtr((d - hi) / sigma[:, None])
        hard = ((d >= lo) & (d <= hi)).astype(np.float64)
        return np.where(sigma[:, None] > 0, soft, hard)

    px, py = profile(cx), profile(cy)
    return (grey[:, None, None] * py[:, :, None] * px[:, None, :]).astype(np.float32)


def ellipses(a, b, theta, centres=None, *, size=64, sigma=1.0, grey=1.0) -> np.ndarray:
    """Blurred ellipses with semi-axes ``a``, ``b`` (pixels), rotated by ``theta`` radians.

    The semi-axis ``a`` points along ``(cos theta, sin theta)`` in (x, y) = (column, row)
    coordinates. The blurred indicator is computed by a spectrally convergent quadrature
    of its exact 1-D chord integral (module ``_kernels``): within 1e-4 of the disk closed
    form when ``a == b``, and within 1e-3 of a finely supersampled reference (tests).

    Parameters
    ----------
    a, b : float or array (n,)
        Semi-axes in pixels, in ``[1e-12, 16*size]`` (:data:`MIN_SEMI_AXIS`).
    theta : float or array (n,)
        Rotation in radians (any finite value).
    centres, size, sigma, grey : as in :func:`disks`.

    Returns
    -------
    np.ndarray, float32, shape (n, size, size)

    Examples
    --------
    >>> e = geoshape.ellipses(a=8, b=3, theta=0.5, size=32)
    >>> e.shape, round(float(e.sum()), 2)  # mass = pi a b = 75.40
    ((1, 32, 32), 75.4)
    """
    size, sig, gr, cen = _common(size, sigma, grey, centres)
    aa = _extent(a, "a", size)
    bb = _extent(b, "b", size)
    for name, arr in (("a", aa), ("b", bb)):
        checks.check_range(arr, name, MIN_SEMI_AXIS)
    th = checks.real_array(theta, "theta")
    n = checks.broadcast_n({"a": aa, "b": bb, "theta": th, "centres": cen, "sigma": sig, "grey": gr})
    _images_budget(n, size, "a, b, size")
    out = np.empty((n, size, size), dtype=np.float32)
    _kernels.ellipses_kernel(out, checks.expand(aa, n), checks.expand(bb, n), checks.expand(th, n),
                             checks.expand(cen[:, 0], n), checks.expand(cen[:, 1], n), checks.expand(sig, n),
                             checks.expand(gr, n), _kernels.PHI_TABLE)
    return out


def dirac(positions, n) -> np.ndarray:
    """1-D Diracs on ``n`` samples (talk eqs. 9 and 13).

    An integer position ``a`` gives the one-hot vector ``delta_a``; a real position the
    linear split of eq. 13: ``1 - (a - floor a)`` at ``floor a`` and ``1 - (ceil a - a)``
    at ``ceil a``.

    Parameters
    ----------
    positions : float or array (m,)
        0-based positions in ``[0, n - 1]``.
    n : int
        Number of samples, >= 1.

    Returns
    -------
    np.ndarray, float32, shape (m, n)

    Examples
    --------
    >>> geoshape.dirac([2, 0.25], 4)
    array([[0.  , 0.  , 1.  , 0.  ],
           [0.75, 0.25, 0.  , 0.  ]], dtype=float32)
    """
    n = checks.count(n, "n")
    pos = checks.real_array(positions, "positions")
    checks.check_range(pos, "positions", 0.0, n - 1)
    pos = np.atleast_1d(pos)
    checks.budget(4 * pos.size * n, "positions, n", f"the output ({pos.size}, {n}) float32")
    out = np.zeros((pos.size, n), dtype=np.float32)
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    rows = np.arange(pos.size)
    out[rows, lo] = 1.0 - frac
    hi = np.minimum(lo + 1, n - 1)
    split = frac > 0
    out[rows[split], hi[split]] += frac[split]
    return out


def dirac2d(positions, n) -> np.ndarray:
    """2-D Diracs on an ``n x n`` grid: the outer product of two 1-D Diracs (eq. 13 per axis).

    Parameters
    ----------
    positions : array (2,) or (m, 2)
        ``(x, y)`` = (column, row) positions in ``[0, n - 1]``.
    n : int
        Grid side, >= 1.

    Returns
    -------
    np.ndarray, float32, shape (m, n, n); image[k, i, j] = dirac(y_k)[i] * dirac(x_k)[j].
    """
    n = checks.count(n, "n")
    pos = checks.real_array(positions, "positions", ndim_max=2)
    if pos.ndim == 1:
        pos = pos[None, :]
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise ValueError(f"positions must have shape (2,) or (m, 2) as (x, y), got {pos.shape}")
    checks.check_range(pos, "positions", 0.0, n - 1)
    checks.budget(4 * len(pos) * n * n, "positions, n", f"the output ({len(pos)}, {n}, {n}) float32")
    dx = dirac(pos[:, 0], n)
    dy = dirac(pos[:, 1], n)
    return dy[:, :, None] * dx[:, None, :]


#: Most vertices of one polygon: the blurred kernel scans every edge once per band between
#: two vertex heights, ~n_vertices^2 steps per image (0.2 s at 4096 vertices).
MAX_POLYGON_VERTICES = 4096


def polygons(vertices, centres=None, *, radius=None, theta=0.0, size=64, sigma=1.0,
             grey=1.0) -> np.ndarray:
    """Blurred simple polygons (convex, star-shaped or not), filled by the even-odd rule.

    ``vertices`` is either an int ``n_sides`` -- the regular polygon of circumradius ``radius``
    with a vertex at angle ``theta`` -- or the vertex offsets ``(x, y)`` from the centre, in
    pixels, in boundary order, rotated by ``theta`` (counter-clockwise in (x, y), clockwise on
    screen). The blurred indicator is a Gauss-Legendre quadrature of its exact chord integral
    (module ``_kernels``): between two vertex heights every chord end is linear in the height,
    so the quadrature converges fast (within 1e-5 of the erf product of an axis-aligned square,
    within 1e-3 of a finely supersampled reference; tests). ``sigma = 0`` is the even-odd
    indicator at pixel centres, boundary included. For a self-intersecting vertex list the
    even-odd rule decides what is inside.

    Parameters
    ----------
    vertices : int in [3, 4096], or array (k, 2) or (n, k, 2) with k in [3, 4096]
        Number of sides of a regular polygon, or vertex offsets (x, y) in pixels, each
        coordinate in ``[-16*size, 16*size]``.
    centres : None, (2,) or (n, 2)
        Centres (x, y) in pixels, as in :func:`disks`.
    radius : float or array (n,), pixels in ``[0, 16*size]``
        Circumradius; required with an int ``vertices``, refused with vertex arrays.
    theta : float or array (n,)
        Rotation in radians (any finite value).
    size, sigma, grey : as in :func:`disks`.

    Returns
    -------
    np.ndarray, float32, shape (n, size, size)

    Examples
    --------
    >>> p = geoshape.polygons(6, radius=10.0, size=32)
    >>> p.shape, round(float(p.sum()), 2)  # mass = (3 sqrt(3) / 2) radius^2 = 259.81
    ((1, 32, 32), 259.81)
    >>> star = [[10, 0], [3, 3], [0, 10], [-3, 3], [-10, 0], [-3, -3], [0, -10], [3, -3]]
    >>> round(float(geoshape.polygons(star, size=32).sum()), 2)  # shoelace area = 120
    120.0
    """
    size, sig, gr, cen = _common(size, sigma, grey, centres)
    th = checks.real_array(theta, "theta")
    if isinstance(vertices, (int, np.integer)) and not isinstance(vertices, (bool, np.bool_)):
        k = checks.integer(int(vertices), "vertices", lo=3, hi=MAX_POLYGON_VERTICES)
        if radius is None:
            raise ValueError("radius (the circumradius, pixels) is required when vertices is a number of sides")
        rad = _extent(radius, "radius", size)
        n = checks.broadcast_n({"radius": rad, "theta": th, "centres": cen, "sigma": sig, "grey": gr})
        ang = 2.0 * np.pi * np.arange(k) / k
        rad = checks.expand(rad, n)
        ux = rad[:, None] * np.cos(ang)[None, :]
        uy = rad[:, None] * np.sin(ang)[None, :]
    else:
        if radius is not None:
            raise ValueError("radius must be None when vertices is an array of vertex offsets")
        v = checks.real_array(vertices, "vertices", ndim_max=3, min_ndim=2)
        if v.ndim == 2:
            v = v[None]
        if v.shape[-1] != 2 or not 3 <= v.shape[1] <= MAX_POLYGON_VERTICES:
            raise ValueError(f"vertices must be an int n_sides or an array (k, 2) or (n, k, 2) of (x, y) "
                             f"offsets with k in [3, {MAX_POLYGON_VERTICES}], got shape {np.shape(vertices)}")
        lim = MAX_EXTENT_FACTOR * size
        checks.check_range(v, "vertices", -lim, lim)
        n = checks.broadcast_n({"vertices": v, "theta": th, "centres": cen, "sigma": sig, "grey": gr})
        v = np.broadcast_to(v, (n,) + v.shape[1:])
        ux, uy = v[..., 0], v[..., 1]
    _images_budget(n, size, "vertices, size")
    th = checks.expand(th, n)[:, None]
    c, s = np.cos(th), np.sin(th)
    vx = np.ascontiguousarray(checks.expand(cen[:, 0], n)[:, None] + c * ux - s * uy)
    vy = np.ascontiguousarray(checks.expand(cen[:, 1], n)[:, None] + s * ux + c * uy)
    out = np.empty((n, size, size), dtype=np.float32)
    _kernels.simple_polygons_kernel(out, vx, vy, checks.expand(sig, n), checks.expand(gr, n),
                                    _kernels._GL_X, _kernels._GL_W, _kernels.PHI_TABLE)
    return out


__all__.append("polygons")
