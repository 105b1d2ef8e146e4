"""The disk problem on the pixel grid: the discrete optimum, its scales and the error floors.

What a network sees are images ``x_n`` (n, H, W), not radial functions. An ideal bias-free
decoder with a 1-D latent outputs ``h_n f`` (talk, eq. 2); with ``h_n >= 0`` the best ``f`` is
the top eigenvector of the uncentred second moment ``sum_n x_n x_n^T`` (the pixel form of
eqs. 3-7) and the best scales are eq. (5) in pixels. Here:

- :func:`disk_profile` -- that top eigenvector (the discrete optimum, any image set);
- :func:`image_scales` -- eq. (5) per image, ``h_n = <f, x_n> / |f|^2``;
- :func:`rank1_floor` -- the mean-per-pixel MSE no ``h_n f`` output can beat;
- :func:`two_ray_fit` / :func:`two_ray_floor` -- one profile per sign of the latent
  (``z f_+`` or ``|z| f_-``), by local search;
- :func:`pixel_grid_profile` -- the exact discrete optimum of *unblurred* centred disks with
  radii uniform in ``[0, R)``, computed on the distinct pixel distances (no sampling).

Examples
--------
>>> import geoshape
>>> x = geoshape.centred_disks(64, size=16, rng=0).images
>>> f = disk_profile(x)
>>> print(f.shape, f"{np.linalg.norm(f):.12f}", bool(f.sum() > 0))
(16, 16) 1.000000000000 True
>>> print(bool(two_ray_floor(x, rng=0) <= rank1_floor(x)))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from geoshape import checks
from theory._checks import centre as _centre
from theory._checks import radius
from theory.radial import _pixel_distances

__all__ = [
    "disk_profile",
    "image_scales",
    "rank1_floor",
    "TwoRayFit",
    "two_ray_fit",
    "two_ray_floor",
    "pixel_grid_profile",
]


def _data_matrix(images, name: str = "images") -> tuple[np.ndarray, tuple]:
    """``images`` (n, ...) as the float64 data matrix (n, pixels) and the shape of one image."""
    x = checks.real_array(images, name, ndim_max=None, min_ndim=2, allow_bool=True)
    if x.shape[0] < 1 or x[0].size < 1:
        raise ValueError(f"{name} must hold at least one non-empty image, got shape {x.shape}")
    return x.reshape(x.shape[0], -1), x.shape[1:]


def _top_singular(X: np.ndarray) -> tuple[float, np.ndarray]:
    """Top singular value and right singular vector (sign: sums positive) of X (n, p)."""
    if min(X.shape) <= 512:
        _, s, vt = np.linalg.svd(X, full_matrices=False)
        s1, v = float(s[0]), vt[0]
    else:
        v0 = np.random.default_rng(0).standard_normal(min(X.shape))  # fixed: deterministic
        _, s, vt = scipy.sparse.linalg.svds(X, k=1, v0=v0, tol=0, solver="arpack")
        s1, v = float(s[0]), vt[0]
    if s1 == 0.0:
        raise ValueError("images must not be all zero (the top eigenvector is undefined)")
    tot = v.sum()
    if tot < 0 or (tot == 0 and v[np.argmax(np.abs(v))] < 0):
        v = -v
    return s1, v


def disk_profile(images) -> np.ndarray:
    """The discrete optimum: the profile an ideal bias-free 1-D-latent decoder learns (eqs. 3-7).

    The top eigenvector of the uncentred second-moment matrix ``sum_n x_n x_n^T`` of the
    images, computed as the top right singular vector of the data matrix ``(n, pixels)``
    (``numpy.linalg.svd`` when ``min(n, pixels) <= 512``, else ARPACK ``svds`` to machine
    precision from a fixed start vector).

    Parameters
    ----------
    images : array (n, ...) real and finite, not all zero (e.g. ``(n, size, size)``).

    Returns
    -------
    float64 array shaped like one image, unit Euclidean norm, sign fixed so that it sums >= 0.

    Examples
    --------
    >>> x = np.zeros((3, 2, 2))
    >>> x[:, 0, 0] = [1.0, 2.0, 3.0]
    >>> disk_profile(x).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    X, shape = _data_matrix(images)
    return _top_singular(X)[1].reshape(shape)


def image_scales(images, profile) -> np.ndarray:
    """Pixel form of eq. (5): ``h_n = <f, x_n> / |f|^2``, the least-squares scale of ``f`` in ``x_n``.

    Parameters
    ----------
    images : (n, ...) real finite array (e.g. ``(n, size, size)``), n >= 1 non-empty images.
    profile : real finite array shaped like one image, not all zero.

    Returns
    -------
    float64 (n,).

    Examples
    --------
    >>> f = np.ones((2, 2))
    >>> image_scales(np.stack([f, 3 * f]), f).tolist()
    [1.0, 3.0]
    """
    X, shape = _data_matrix(images)
    f = checks.real_array(profile, "profile", ndim_max=None, allow_bool=True)
    if f.shape != shape:
        raise ValueError(f"profile must have the shape of one image of images, {shape}, got {f.shape}")
    nf = float(np.sum(f * f))
    if nf == 0:
        raise ValueError("profile must not be identically zero")
    return X @ f.ravel() / nf


def rank1_floor(images) -> float:
    """Best mean-per-pixel MSE of any output ``h_n f`` (one profile, free scales, eq. 4).

    ``(|X|_F^2 - s_1^2) / (n * pixels)`` with ``s_1`` the top singular value: the floor that
    a bias-free decoder with a 1-D latent cannot beat when ``h >= 0`` (for non-negative images
    the top singular vector is non-negative, so the sign of ``h`` costs nothing).

    ``images`` : (n, ...) real finite array, not all zero; returns a float (squared image units).

    Examples
    --------
    >>> x = np.zeros((2, 1, 2))
    >>> x[0, 0, 0], x[1, 0, 1] = 1.0, 1.0     # two orthogonal images: one ray cannot fit both
    >>> print(rank1_floor(x))
    0.25
    """
    X, _ = _data_matrix(images)
    s1, _ = _top_singular(X)
    return float(max(np.sum(X * X) - s1 * s1, 0.0) / X.size)


@dataclass(frozen=True)
class TwoRayFit:
    """Result of :func:`two_ray_fit`: ``mse`` mean per pixel, ``labels`` (n,) bool (True: the
    image uses the ``z > 0`` ray), profiles ``f_pos`` / ``f_neg`` unit norm, image-shaped
    (zeros when a ray is unused), ``n_iter`` the iteration (1-based, within its start) at
    which the best labelling was met."""

    mse: float
    labels: np.ndarray = field(repr=False)
    f_pos: np.ndarray = field(repr=False)
    f_neg: np.ndarray = field(repr=False)
    n_iter: int


def _reduce(X: np.ndarray, rel: float = 1e-14):
    """Exact low-dimensional coordinates of the rows of X: ``X = Y W^T`` with W orthonormal.

    From the eigen-decomposition of the smaller Gram matrix; components whose energy is below
    ``rel`` of the total are dropped (they change any squared error by less than that)."""
    n, p = X.shape
    if n <= p:
        w, U = np.linalg.eigh(X @ X.T)
        keep = w > rel * max(w.sum(), 1e-300)
        Y = U[:, keep] * np.sqrt(w[keep])
        W = X.T @ (U[:, keep] / np.sqrt(w[keep]))
    else:
        w, V = np.linalg.eigh(X.T @ X)
        keep = w > rel * max(w.sum(), 1e-300)
        W = V[:, keep]
        Y = X @ W
    return Y, W


def _ray_fit(Y, labels):
    fs = []
    for grp in (labels, ~labels):
        if grp.any() and np.any(Y[grp]):
            v = _top_singular(Y[grp])[1]
            fs.append(v if np.sum(Y[grp] @ v) >= 0 else -v)  # the ray must capture its images
        else:
            fs.append(np.zeros(Y.shape[1]))
    proj = np.stack([np.maximum(Y @ fs[0], 0.0) ** 2, np.maximum(Y @ fs[1], 0.0) ** 2])
    return fs, proj


def two_ray_fit(images, *, n_iter: int = 50, n_random: int = 4, rng=None) -> TwoRayFit:
    """Best output ``D(z) = z f_+`` (z > 0) or ``|z| f_-`` (z < 0): a bias-free decoder with a
    1-D latent has one profile per ray (talk, eq. 2). Local search, not a global optimum.

    Alternates (like 2-means): each ray's profile is the top eigenvector of the second moment
    of its images; each image goes to the ray that captures more of it, ``max(<f, x>, 0)^2``;
    the best labelling met is kept (the alternation can cycle). Starts: all images on one ray
    (so the result is never worse than :func:`rank1_floor`), the sign of the second singular
    coefficient, the median of the first, and ``n_random`` random splits drawn from ``rng``.
    Works in the exact coordinates of the span of the images (Gram eigen-decomposition), so a
    1024 x 64 x 64 set takes seconds.

    Parameters
    ----------
    images : (n, ...) real finite array, not all zero. n_iter : int in [1, 10^4] per start.
    n_random : int in [0, 1024]. rng : numpy Generator, int seed >= 0 or None (same seed -> same result).

    Returns
    -------
    :class:`TwoRayFit` (``mse`` mean per pixel, in squared image units).

    Examples
    --------
    >>> x = np.zeros((2, 1, 2))
    >>> x[0, 0, 0], x[1, 0, 1] = 1.0, 1.0     # one image per ray fits exactly
    >>> fit = two_ray_fit(x, rng=0)
    >>> print(fit.mse, fit.labels.tolist())
    0.0 [False, True]
    """
    X, shape = _data_matrix(images)
    # Each start costs up to n_iter eigen-solves: the bounds keep a call to minutes at most.
    n_iter = checks.integer(n_iter, "n_iter", lo=1, hi=10_000)
    n_random = checks.integer(n_random, "n_random", lo=0, hi=1024)
    gen = checks.rng(rng)
    if not np.any(X):
        raise ValueError("images must not be all zero")
    Y, W = _reduce(X)
    n = len(Y)
    starts = [np.ones(n, bool)]
    if Y.shape[1] >= 2:
        c1, c2 = Y[:, -1], Y[:, -2]  # eigh sorts ascending: the two leading components
        starts += [c2 * np.sign(c1.sum() or 1.0) >= 0, np.abs(c1) >= np.median(np.abs(c1))]
    starts += [gen.random(n) < 0.5 for _ in range(n_random)]
    total = float(np.sum(Y * Y))
    best = None
    for lab in starts:
        lab = lab.copy()
        for it in range(1, n_iter + 1):
            fs, proj = _ray_fit(Y, lab)
            mse = max(total - float(np.where(lab, proj[0], proj[1]).sum()), 0.0) / X.size
            if best is None or mse < best[0]:
                best = (mse, lab.copy(), fs, it)
            new = proj[0] >= proj[1]
            if np.array_equal(new, lab):
                break
            lab = new
    mse, lab, fs, it = best
    return TwoRayFit(mse, lab, (W @ fs[0]).reshape(shape), (W @ fs[1]).reshape(shape), it)


def two_ray_floor(images, *, n_iter: int = 50, n_random: int = 4, rng=None) -> float:
    """Mean-per-pixel MSE of :func:`two_ray_fit` (a local-search upper bound on the two-ray
    floor; at most :func:`rank1_floor`). Arguments as in :func:`two_ray_fit`."""
    return two_ray_fit(images, n_iter=n_iter, n_random=n_random, rng=rng).mse


def pixel_grid_profile(size: int = 64, R=None, centre=None) -> np.ndarray:
    """Exact discrete optimum for *unblurred* disks with radii uniform in ``[0, R)`` (no sampling).

    With plain indicators, ``E_r[x_r(p) x_r(q)] = (R - max(d_p, d_q))_+ / R``, a matrix that
    depends on the pixel distances only; its top eigenvector is constant on pixels of equal
    distance, so it is computed on the distinct distances (weighted by their counts). This
    is the continuous problem with the area measure ``s ds`` replaced by pixel counting: its
    distance to :func:`theory.radial.airy_image` is the pure grid effect. The top eigenvector
    comes from ``scipy.linalg.eigh`` when there are at most 600 distinct distances, else
    from ARPACK ``eigsh`` to machine precision.

    Parameters
    ----------
    size : int in [1, 2^15], image side. R : float in [1e-6, 1e6] pixels (``R_RANGE``), default ``size / 2``.
    centre : (x, y) in pixels, default the image centre ``((size-1)/2, (size-1)/2)``.

    Returns
    -------
    float64 (size, size), unit norm, non-negative.

    Examples
    --------
    >>> G = pixel_grid_profile(16)
    >>> print(G.shape, f"{np.linalg.norm(G):.12f}", bool(G.min() >= 0))
    (16, 16) 1.000000000000 True
    """
    size = checks.image_size(size)
    R = size / 2.0 if R is None else radius(R)
    c = _centre(centre, size)
    # Distances, their rounded squares, the unique inverse and the image: ~6 arrays of size^2.
    checks.budget(6 * 8 * size * size, "size", f"a {size} x {size} pixel-grid optimum")
    d = _pixel_distances((size, size), c).ravel()
    _, inv, counts = np.unique(np.round(d * d, 9), return_inverse=True, return_counts=True)
    du = np.bincount(inv, weights=d) / counts
    sw = np.sqrt(counts.astype(np.float64))
    m = len(du)
    if m <= 600:
        K = np.maximum(R - np.maximum(du[:, None], du[None, :]), 0.0) * sw[:, None] * sw[None, :]
        _, vec = scipy.linalg.eigh(K, subset_by_index=[m - 1, m - 1])
    else:
        # K would be m x m with m ~ size^2 / 8 (3.2 GiB at size 512): use its structure.
        # np.unique sorts the distances, so max(d_i, d_j) is d_i for j <= i and d_j for
        # j > i, and (K v)_i = sw_i [(R - d_i)_+ sum_{j<=i} w_j + sum_{j>i} (R - d_j)_+ w_j]
        # with w = sw v: two cumulative sums, O(m) memory and time per product.
        gap = np.maximum(R - du, 0.0)

        def matvec(v):
            w = sw * np.ravel(v)
            head = np.cumsum(w)
            tail = np.cumsum((gap * w)[::-1])[::-1]
            return sw * (gap * head + np.concatenate([tail[1:], [0.0]]))

        K = scipy.sparse.linalg.LinearOperator((m, m), matvec=matvec, dtype=np.float64)
        _, vec = scipy.sparse.linalg.eigsh(K, k=1, which="LA", v0=sw, tol=0)
    u = vec[:, 0] / sw
    if u.sum() < 0:
        u = -u
    img = u[inv].reshape(size, size)
    return img / np.linalg.norm(img)
