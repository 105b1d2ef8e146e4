"""General scaling: the disk theory (eqs. 3-8) for any star-shaped shape, and when the code folds.

The talk's disk data are one scaled family, ``x_r = 1[x in r B]`` with ``B`` the unit disk and
``r`` uniform on ``[0, R]``. Replace ``B`` by any unit shape ``S`` (``geoshape.unit_shape``)
scaled about a fixed centre. Two results, proved here and checked numerically in
``tests/test_theory_gauge.py`` (full text and measured numbers: ``docs/general_scaling.md``).

Theorem 1 (the optimum is the disk's profile of the gauge)
-----------------------------------------------------------
Let ``S`` be star-shaped about the centre 0, with radial function ``rho(theta) >= 0`` (the
boundary point in direction ``u(theta)`` is ``rho(theta) u(theta)``; rho bounded and measurable)
and gauge ``|x|_S = inf {t > 0 : x in t S} = |x| / rho(theta(x))``. Then ``x in r S`` iff
``|x|_S <= r``, and the maximiser of the disk energy (eqs. 3-7)::

    J(f) = int_0^R <f, x_r>^2 dr   subject to   |f|^2 = int f(x)^2 dx = 1

is ``f(x) = g(|x|_S)`` (0 outside ``R S``) with ``g`` the disk's Airy profile (eq. 8,
``k^(1/3) R = x0``, :func:`theory.airy.airy_profile`), unique up to sign. The maximum of
``J / |f|^2`` is ``2 area(S) / k``: ``area(S) / pi`` times the disk's ``2 pi / k``.

Proof. In polar coordinates ``x = t u(theta)``, ``dx = t dt dtheta``; put ``t = s rho(theta)`` on
each ray: ``dx = s ds dmu(theta)`` with ``dmu = rho(theta)^2 dtheta``, a measure of mass
``M = int rho^2 dtheta = 2 area(S)`` (no derivative of rho is needed). With
``fbar(s) = int f(s, theta) dmu / M`` (the mu-average of f on the level set ``|x|_S = s``)::

    <f, x_r> = int_0^r s ds int f(s, theta) dmu = M int_0^r fbar(s) s ds = M F(r),
    |f|^2 >= int_0^R s ds int f^2 dmu  >=  M int_0^R fbar(s)^2 s ds        (Cauchy-Schwarz in mu)

(the first inequality drops ``|x|_S > R``, where no image reaches) with equality iff f is 0
outside ``R S`` and ``f(s, .)`` is mu-a.e. constant on each level set. With
``Q(fbar) = int_0^R fbar^2 s ds`` and ``J_disk(fbar) = int_0^R F(r)^2 dr`` (the disk
functional of :mod:`theory.functional`: ``J_disk <= Q / k``, with equality only at the Airy
profile, eq. 8)::

    J(f) = M^2 J_disk(fbar)  <=  M^2 Q(fbar) / k  <=  M |f|^2 / k,

and both inequalities are equalities iff ``fbar`` is the Airy profile ``g`` and ``f`` is
constant on level sets: ``f = g(|x|_S)``. For the disk ``M = 2 pi``. QED.

The same proof works for any law of ``r`` (the s-problem is then the disk problem of that
law) and shows more: the data covariance ``K(x, y) = (R - max(|x|_S, |y|_S))_+`` acts as
``(K f)(s, theta) = M int k(s, s') fbar(s') s' ds'``: ``M`` times the disk's radial operator
after the mu-average over level sets. Its spectrum is the disk's radial spectrum times
``M / (2 pi)`` on functions of the gauge, and 0 on everything that averages to 0 on level sets.
On the pixel grid with point-sampled data the same holds exactly: ``K_pq`` depends on the
gauges of p and q only, so the discrete optimum is a function of the pixel's gauge.

A tempting shortcut does not work: the energy is not a sum over directions of 1-D energies.
``<f, x_r>`` integrates over all directions *before* it is squared, so the directions are
coupled; were the energy ``int dmu int_0^R F_theta(r)^2 dr``, every ``f = g(s) c(theta)`` would
tie and the gauge composition would not be singled out (the Cauchy-Schwarz step is what forces
the angular factor to be constant). Nor is ``rho^2`` a per-direction rescaling of the disk
problem: it is the measure on the level sets, and the optimum is constant along them, not
weighted by rho. The conclusion holds; that argument alone does not prove it.

Where it stops holding: (a) ``S`` not star-shaped about the scaling centre (annulus, crescent):
``x in r S`` is no longer ``|x|_S <= r`` and the family is not nested (Theorem 2); (b) blur:
``G * 1[r S]`` is not a scaled copy of ``G * 1[S]``, so blurred data obey the theorem only up
to the blur (measured); (c) the pixel grid counts pixels on level sets instead of the measure
``M s ds`` (measured, it converges); (d) another law of ``r`` keeps ``f = g(|x|_S)`` but changes
``g`` (not Airy).

Theorem 2 (nested families never fold)
--------------------------------------
A bias-free decoder with a 1-D latent outputs ``h(r) f`` with ``h(r) = <f, x_r> / |f|^2``
(eq. 5): the code, up to a positive factor. If the family is nested (``x_s <= x_t``
pixel-wise for ``s <= t``) and ``f >= 0``, then ``h(t) - h(s) = <f, x_t - x_s> / |f|^2 >= 0``:
the code is non-decreasing in the scale, it never folds. Both hypotheses hold for the top
eigenvector of the data of a star-shaped family: ``r S`` is nested iff ``S`` is star-shaped
about the centre (``x in r S`` gives ``x / t = (r / t)(x / r) in S``), a Gaussian blur keeps
the order, and the data covariance ``sum_n x_n x_n^T`` has non-negative entries, so by
Perron-Frobenius its top eigenvector can be taken ``>= 0`` (:func:`theory.disk_profile`
fixes its sign so).

A non-nested family folds near the largest scale. With ``r`` uniform on ``[0, R]`` and
``x in r S`` for ``r in [lo(x), hi(x)]``, ``K(x, x) = |[lo, hi] cap [0, R]|`` vanishes where a
point enters only at ``R`` (``lo = R``), so the continuous optimum ``f`` (continuous: it is
``K f / lambda``) is 0 on the outer boundary of ``R S``, and ``h'(R)`` keeps only the loss
term: ``-`` (the flux of ``f`` through the part of ``R S``'s boundary where points leave).
Where ``f > 0`` there (Perron: ``f > 0`` wherever the kernel connects, e.g. on the whole open
disk for the annulus) ``h'(R) < 0``: the code rises, then turns back at ``r* < R``, and two
scales get the same code. For the annulus of ratio ``a`` (``a r <= |x| <= r``):
``h'(r) = 2 pi r [f(r) - a^2 f(a r)]``, ``f(R) = 0`` and ``f(a R) > 0``, so every ratio
``a in (0, 1)`` folds, at the root of ``f(r) = a^2 f(a r)`` (checked on the discrete optimum
to 0.5%). This part is an argument under regularity (f continuous and positive where points
leave), checked numerically, not a proof.

Measured
--------
By :func:`gauge_vs_discrete` at size 64 (the tables, sizes 16-128: ``docs/general_scaling.md``).

- Unblurred 4 x 4 sub-pixel averages: ``cos(P, A) >= 0.99999`` for disk, square, ellipse
  (aspect 0.5), pentagon and star (5 lobes, 0.3); ``|P - A|`` 1.5e-3 to 4.4e-3, falling like
  ``size^-1.44`` to ``size^-1.61`` (sizes 16-128; the sub-pixel averages smear the kinks of g
  at ``R S`` and of the gauge); ``|P - A_data|`` 3.4e-5 to 1.2e-4, order 1.66-1.96.
  Point-sampled data: ``|P - A|`` 2.5e-5 (disk) to 1.1e-4 (square), order 2.0-2.75.
- Blurred (sigma = 1): ``cos(P, A)`` 0.99960 (star) to 0.99996, ``|P - A|`` 8.4e-3 to 2.8e-2
  (order ~1.4 at fixed sigma); ``|P - A_1|`` 3.9e-4 to 1.0e-3: the gap is the blur.
- Annulus (0.5) and crescent (offset 0.5, bite 0.8): ``cos(P, A)`` 0.836 and 0.816, ``|P - A|``
  0.57 and 0.61 at every size (no convergence: the claim fails), blurred or not; their codes
  fold at 0.92-0.94 R.

Public names
------------
:func:`gauge_image`, :func:`gauge_airy_profile`, :func:`gauge_airy_image` (the prediction of
Theorem 1 on the pixel grid), :func:`scaled_family_profile` (the exact discrete optimum of
unblurred scaled shapes, no sampling of r), :func:`code_curve`, :func:`fold_scale`
(Theorem 2), :func:`gauge_vs_discrete` (the comparison, as a :class:`GaugeReport`).

Examples
--------
>>> g = gauge_image("square", 4)               # max(|x|, |y|) about the centre (1.5, 1.5)
>>> g[0].tolist()
[1.5, 1.5, 1.5, 1.5]
>>> gauge_airy_profile([0.0, 16.0, np.inf], 16.0).round(6).tolist()
[1.0, 0.0, 0.0]
>>> rep = gauge_vs_discrete("square", (16, 32), supersample=2)
>>> print(f"{rep.rows[-1].cosine:.5f} {rep.rows[-1].rel_l2_data:.1e} {rep.order_data:.1f}")
0.99999 2.7e-05 1.9
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from geoshape import checks
from geoshape.scaled import UnitShape, unit_shape
from theory._checks import centre as _centre
from theory._checks import radius
from theory.airy import airy_profile
from theory.discrete import image_scales

__all__ = [
    "gauge_image",
    "gauge_airy_profile",
    "gauge_airy_image",
    "scaled_family_profile",
    "code_curve",
    "fold_scale",
    "gauge_vs_discrete",
    "GaugeReport",
    "GaugeRow",
]

#: Sub-pixel factor of the blurred gauge-Airy image (odd: pixel centres are fine-grid points).
#: The integrand is continuous with a kink on the boundary of R S, so the midpoint quadrature
#: is second order: on the disk, 7 is 1.0e-5 (size 16) and 1.3e-6 (size 64) from the exact
#: radial blur of :func:`theory.airy_image` (unit-norm images, Euclidean distance).
BLUR_SUPERSAMPLE = 7
#: Largest sub-pixel factor of :func:`scaled_family_profile` (work grows as supersample^2).
MAX_SUPERSAMPLE = 16
#: Most fine-grid points of a blurred :func:`gauge_airy_image` (~0.7 GiB of work arrays, ~5 s).
MAX_FINE_POINTS = 1 << 23
#: Most sub-pixel points of :func:`scaled_family_profile` (e.g. 256 x 256 pixels, 4 x 4 each):
#: one product with the covariance sorts nothing and costs ~10 passes over them.
MAX_SUBSAMPLES = 1 << 20
#: Up to this many pixels the exact covariance is formed densely (``scipy.linalg.eigh``).
DENSE_PIXELS = 400


def _shape(kind, params) -> UnitShape:
    return unit_shape(kind, **params)


def _pixel_offsets(size, c, supersample=1):
    """Offsets (x, y) from the centre of the sub-pixel sample points, shape (size*m, size*m)."""
    off = (np.arange(supersample) + 0.5) / supersample - 0.5
    t = (np.arange(size)[:, None] + off[None, :]).ravel()
    x, y = np.meshgrid(t - c[0], t - c[1])
    return x, y


def gauge_image(kind, size=64, *, centre=None, **params) -> np.ndarray:
    """The gauge ``|p - c|_S`` of the unit shape of ``kind`` at every pixel centre (pixels).

    ``|p|_S = inf {t > 0 : p in t S}``: the scale at which the boundary of ``t S`` reaches the
    pixel (for the square, the half side; the kinds and their scales are those of
    :mod:`geoshape.scaled`). ``inf`` where no scale reaches the pixel. For the annulus and the
    crescent (not star-shaped) it is the gauge of their star hull.

    Parameters
    ----------
    kind : one of ``geoshape.SCALED_KINDS``. size : int in [1, 4096].
    centre : (x, y) pixels, default the image centre ``((size-1)/2, (size-1)/2)``.
    **params : the shape's parameters (``geoshape.unit_shape``), e.g. ``aspect=0.5``.

    Returns
    -------
    float64 (size, size), values in [0, inf].

    Examples
    --------
    >>> gauge_image("ellipse", 3, aspect=0.5).tolist()
    [[2.23606797749979, 2.0, 2.23606797749979], [1.0, 0.0, 1.0], [2.23606797749979, 2.0, 2.23606797749979]]
    """
    shape = _shape(kind, params)
    size = checks.integer(size, "size", lo=1, hi=4096)
    c = _centre(centre, size)
    checks.budget(10 * 8 * size * size, "size", f"the gauge of a {size} x {size} image")
    x, y = _pixel_offsets(size, c)
    return shape.gauge(x, y)


def gauge_airy_profile(gauge_image, R) -> np.ndarray:
    """Theorem 1's optimum on an image of gauge values: ``g(|x|_S)``, g the Airy profile (eq. 8).

    Parameters
    ----------
    gauge_image : real array of gauge values in [0, inf] (any shape; ``inf``: never reached).
    R : float in [1e-6, 1e6] pixels, the largest scale.

    Returns
    -------
    float64 array shaped like ``gauge_image``: ``airy_profile(gauge, R)``, ``g(0) = 1``, 0 for
    gauge ``>= R``.

    Examples
    --------
    >>> gauge_airy_profile([[0.0, 10.0], [20.0, 30.0]], 20.0).round(6).tolist()
    [[1.0, 0.841982], [0.0, 0.0]]
    """
    R = radius(R)
    if isinstance(gauge_image, (str, bytes)) or gauge_image is None:
        raise TypeError(f"gauge_image must be an array of real numbers, got {type(gauge_image).__name__}")
    try:
        g = np.asarray(gauge_image)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"gauge_image must be an array of real numbers: {exc}") from None
    if g.dtype == object or g.dtype.kind not in "iufb":
        raise TypeError(f"gauge_image must hold real numbers, got dtype {g.dtype}")
    g = g.astype(np.float64)
    if np.any(np.isnan(g)) or np.any(g < 0):
        raise ValueError("gauge_image must hold gauge values in [0, inf] (no NaN, no negative value)")
    return airy_profile(np.minimum(g, R), R)


def _default_R(shape: UnitShape, size: int) -> float:
    return size / (2.0 * shape.half_width)


def gauge_airy_image(kind, size=64, R=None, *, sigma=0.0, centre=None, **params) -> np.ndarray:
    """:func:`gauge_airy_profile` of :func:`gauge_image` as a unit-norm image (Theorem 1).

    ``sigma > 0`` renders the profile blurred by a Gaussian of std ``sigma`` pixels (as the
    data are): the profile on a grid :data:`BLUR_SUPERSAMPLE` times finer, padded by
    ``6 sigma``, integrated against the Gaussian centred on each pixel (a separable midpoint
    quadrature: two matrix products).

    Parameters
    ----------
    kind, centre, **params : as in :func:`gauge_image`. size : int in [1, 1024] (with blur,
        ``((size + 12 sigma) 7)^2 <= 2^23``, :data:`MAX_FINE_POINTS`: size <= 400 at sigma 1).
    R : float in [1e-6, 1e6] pixels, default ``size / (2 half_width)``: the largest ``R S``
        that fits the image. sigma : 0 or a float in [1e-3, 16] pixels.

    Returns
    -------
    float64 (size, size), unit Euclidean norm.

    Examples
    --------
    >>> a = gauge_airy_image("disk", 16)
    >>> print(np.allclose(a, theory.airy_image(16)))
    True
    """
    shape = _shape(kind, params)
    size = checks.integer(size, "size", lo=1, hi=1024)
    R = _default_R(shape, size) if R is None else radius(R)
    sigma = checks.real(sigma, "sigma", lo=0.0, hi=16.0)
    if 0.0 < sigma < 1e-3:
        raise ValueError(f"sigma must be 0 or in [1e-3, 16] pixels, got {sigma!r}")
    c = _centre(centre, size)
    if sigma == 0.0:
        checks.budget(10 * 8 * size * size, "size", f"a {size} x {size} image")
        x, y = _pixel_offsets(size, c)
        img = gauge_airy_profile(shape.gauge(x, y), R)
    else:
        q = BLUR_SUPERSAMPLE
        pad = int(math.ceil(6.0 * sigma))
        n_fine = (size + 2 * pad) * q
        if n_fine * n_fine > MAX_FINE_POINTS:
            raise ValueError(f"size, sigma: the blurred image needs a {n_fine} x {n_fine} fine grid, more than "
                             f"{MAX_FINE_POINTS} points; use a smaller size or sigma (e.g. size <= 400 at sigma 1)")
        checks.budget(10 * 8 * n_fine * n_fine, "size, sigma", f"a {n_fine} x {n_fine} fine grid")
        t = -pad + (np.arange(n_fine) + 0.5) / q - 0.5              # fine points, pixel units
        x, y = np.meshgrid(t - c[0], t - c[1])
        fine = gauge_airy_profile(shape.gauge(x, y), R)
        p = np.arange(size, dtype=np.float64)
        G = np.exp(-0.5 * ((p[:, None] - t[None, :]) / sigma) ** 2) / (math.sqrt(2 * math.pi) * sigma * q)
        img = G @ fine @ G.T
    nrm = np.linalg.norm(img)
    if nrm == 0:
        raise ValueError(f"R={R} is smaller than the gauge of every pixel: the image is empty")
    return img / nrm


# --------------------------------------------------------------------------- exact family
class _ExactFamily:
    """The unblurred scaled family ``x_r(p) = mean over the m x m sub-samples a of pixel p of
    1[r in [lo_a, hi_a)]``, r uniform on [0, R], integrated over r exactly.

    ``K = int_0^R x_r x_r^T dr`` is applied without forming it: with ``c(r) = <v, x_r>`` (a
    step function of r, jumping at the sub-samples' lo / hi) and ``C`` its integral,
    ``(K v)_p = (1 / m^2) sum_{a in p} [C(hi_a) - C(lo_a)]``: one sort, then cumulative sums.
    """

    def __init__(self, shape, size, R, m, c):
        x, y = _pixel_offsets(size, c, m)
        lo, hi = shape.interval(x, y)
        lo, hi = np.minimum(lo, R).ravel(), np.minimum(hi, R).ravel()
        row = np.repeat(np.arange(size), m)
        pix = (row[:, None] * size + row[None, :]).ravel()       # pixel of each sub-sample
        keep = hi > lo
        pos = np.concatenate([lo[keep], hi[keep]])
        sign = np.concatenate([np.ones(keep.sum()), -np.ones(keep.sum())])
        owner = np.concatenate([pix[keep], pix[keep]])
        order = np.argsort(pos, kind="stable")
        self.pos, self.sign, self.owner = pos[order], sign[order], owner[order]
        self.gaps = np.diff(self.pos)
        self.n_pix, self.m2, self.size = size * size, float(m * m), size

    def matvec(self, v):
        w = self.sign * np.ravel(v)[self.owner] / self.m2
        cum = np.cumsum(w)
        big_c = np.concatenate([[0.0], np.cumsum(cum[:-1] * self.gaps)])
        return -np.bincount(self.owner, weights=self.sign * big_c, minlength=self.n_pix) / self.m2

    def codes(self, f, r):
        """``<f, x_r>`` at the scales ``r`` (exact)."""
        cum = np.cumsum(self.sign * np.ravel(f)[self.owner] / self.m2)
        idx = np.searchsorted(self.pos, r, side="right") - 1
        return np.where(idx >= 0, cum[np.maximum(idx, 0)], 0.0)

    def top(self):
        p = self.n_pix
        if not len(self.pos):
            raise ValueError("the scaled family is empty on this grid (no pixel is ever inside)")
        if p <= DENSE_PIXELS:
            K = np.stack([self.matvec(e) for e in np.eye(p)], axis=1)
            _, vec = scipy.linalg.eigh(0.5 * (K + K.T), subset_by_index=[p - 1, p - 1])
            v = vec[:, 0]
        else:
            op = scipy.sparse.linalg.LinearOperator((p, p), matvec=self.matvec, dtype=np.float64)
            _, vec = scipy.sparse.linalg.eigsh(op, k=1, which="LA", v0=np.ones(p), tol=0)
            v = vec[:, 0]
        if v.sum() < 0:
            v = -v
        return (v / np.linalg.norm(v)).reshape(self.size, self.size)


def _exact(kind, size, R, supersample, centre, params):
    shape = _shape(kind, params)
    size = checks.integer(size, "size", lo=1, hi=1024)
    R = _default_R(shape, size) if R is None else radius(R)
    m = checks.integer(supersample, "supersample", lo=1, hi=MAX_SUPERSAMPLE)
    c = _centre(centre, size)
    if (size * m) ** 2 > MAX_SUBSAMPLES:
        raise ValueError(f"size, supersample: (size * supersample)^2 must be <= {MAX_SUBSAMPLES} sub-samples "
                         f"(~3 s), got ({size} * {m})^2")
    # sub-sample coordinates, intervals, events and their sort: ~12 float64 per sub-sample
    checks.budget(12 * 8 * (size * m) ** 2, "size, supersample", f"{(size * m) ** 2} sub-samples")
    return _ExactFamily(shape, size, R, m, c), shape, size, R, c


def scaled_family_profile(kind, size=64, R=None, *, supersample=4, centre=None, **params) -> np.ndarray:
    """The exact discrete optimum of unblurred scaled shapes, ``r`` uniform on ``[0, R]``.

    The data are ``x_r(p)`` = the fraction of the ``supersample^2`` sub-pixel points of pixel
    ``p`` inside ``r S`` (``supersample=1``: the indicator at pixel centres); the optimum is the
    top eigenvector of ``E_r[x_r x_r^T]``, integrated over r exactly (no radius sampling; a
    sort and cumulative sums per product, ARPACK to machine precision), the analogue of
    :func:`theory.pixel_grid_profile` for any kind, star-shaped or not.

    Parameters
    ----------
    kind, centre, **params : as in :func:`gauge_image`. size : int in [1, 1024].
    R : float in [1e-6, 1e6] pixels, default ``size / (2 half_width)``.
    supersample : int in [1, 16], with ``(size * supersample)^2 <= 2^20`` (:data:`MAX_SUBSAMPLES`).

    Returns
    -------
    float64 (size, size), unit norm, sign fixed so that it sums > 0 (it is >= 0: Perron).

    Examples
    --------
    >>> P = scaled_family_profile("disk", 8, supersample=1)
    >>> print(np.allclose(P, theory.pixel_grid_profile(8)))
    True
    """
    fam, *_ = _exact(kind, size, R, supersample, centre, params)
    return fam.top()


# --------------------------------------------------------------------------- codes and folds
def code_curve(images, profile) -> np.ndarray:
    """The code of a bias-free 1-D decoder with profile ``f``: ``h_n = <f, x_n> / |f|^2`` (eq. 5).

    A positive multiple of ``<f, x_n>``; the same numbers as :func:`theory.image_scales`.

    Parameters
    ----------
    images : (n, ...) real finite array. profile : real finite array shaped like one image,
        not all zero.

    Returns
    -------
    float64 (n,).

    Examples
    --------
    >>> x = np.stack([np.eye(2), 2 * np.eye(2)])
    >>> code_curve(x, np.eye(2)).tolist()
    [1.0, 2.0]
    """
    return image_scales(images, profile)


def fold_scale(scales, images, profile, *, rtol=1e-6):
    """Where the code ``h(s)`` of a family folds: the scale of its maximum; None if monotone.

    Sorts the images by scale and computes :func:`code_curve`. If ``h`` ever decreases, by more
    than ``rtol max |h|`` from one scale to the next, returns the scale where ``h`` is largest
    (where ``h`` rises then falls, the fold: scales on both sides share codes); else None
    (Theorem 2: always so for nested families and ``f >= 0``).

    Parameters
    ----------
    scales : real finite array (n,), n >= 2. images : (n, ...) real finite array.
    profile : real finite array shaped like one image, not all zero.
    rtol : float in [0, 1], the tolerance relative to ``max |h|`` (float32 images carry ~1e-7).

    Returns
    -------
    float (a scale from ``scales``) or None.

    Examples
    --------
    >>> x = np.array([[[1.0]], [[3.0]], [[2.0]]])
    >>> fold_scale([1.0, 2.0, 3.0], x, np.ones((1, 1)))
    2.0
    >>> print(fold_scale([1.0, 2.0, 3.0], np.sort(x, axis=0), np.ones((1, 1))))
    None
    """
    s = checks.real_array(scales, "scales", ndim=1)
    if len(s) < 2:
        raise ValueError(f"scales must hold at least 2 scales, got {len(s)}")
    rtol = checks.real(rtol, "rtol", lo=0.0, hi=1.0)
    h = code_curve(images, profile)
    if len(h) != len(s):
        raise ValueError(f"scales and images must have the same length, got {len(s)} and {len(h)}")
    order = np.argsort(s, kind="stable")
    hs, ss = h[order], s[order]
    if not np.any(np.diff(hs) < -rtol * np.max(np.abs(hs))):
        return None
    return float(ss[np.argmax(hs)])


# The numerical check of Theorem 1 lives in its own module; its names stay importable here.
from .gauge_report import GaugeReport, GaugeRow, gauge_vs_discrete  # noqa: E402
