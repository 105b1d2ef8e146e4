"""Generic comparisons: distances, correlations, fits, monotonicity and latent statistics.

Examples
--------
>>> pearson([1.0, 2.0, 3.0], [2.0, 4.0, 7.0])
0.9933992677987827
>>> monotonic_fraction([0.0, 1.0, 0.5, 2.0], [0.0, 1.0, 2.0, 3.0])
0.6666666666666666
"""

from __future__ import annotations

import math

import numpy as np

from validation.metrics._arrays import columns, real, same_rows, vector

__all__ = [
    "relative_l2",
    "cosine",
    "pearson",
    "spearman",
    "r_squared",
    "coefficient_of_determination",
    "monotonic_fraction",
    "is_monotonic",
    "latent_covariance",
    "latent_correlation",
]


def _same_shape(a, b, *, min_ndim: int) -> tuple[np.ndarray, np.ndarray]:
    a = real(a, "a", min_ndim=min_ndim, ndim_max=7)
    b = real(b, "b", min_ndim=min_ndim, ndim_max=7)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def _pair(x, y, names: tuple[str, str] = ("x", "y")) -> tuple[np.ndarray, np.ndarray]:
    """Two 1-D samples of equal length >= 2."""
    x = vector(x, names[0])
    y = vector(y, names[1])
    same_rows(names, x, y)
    return x, y


def relative_l2(a, b) -> float:
    """``|a - b|_2 / |b|_2`` over all entries (``b`` is the reference). Shapes must match."""
    a, b = _same_shape(a, b, min_ndim=0)
    nb = float(np.linalg.norm(b.ravel()))
    if nb == 0.0:
        raise ValueError("b (the reference) must not be all zeros: relative error undefined")
    return float(np.linalg.norm((a - b).ravel()) / nb)


def cosine(a, b) -> float:
    """Cosine of the angle between ``a`` and ``b`` flattened; in [-1, 1]."""
    a, b = _same_shape(a, b, min_ndim=1)
    na, nb = np.linalg.norm(a.ravel()), np.linalg.norm(b.ravel())
    if na == 0.0 or nb == 0.0:
        raise ValueError("a and b must both be non-zero: cosine undefined")
    return float(np.clip(np.dot(a.ravel(), b.ravel()) / (na * nb), -1.0, 1.0))


def pearson(x, y) -> float:
    """Pearson correlation of two 1-D samples of equal length (>= 2).

    A constant sample carries no linear information: the result is then 0.0, not nan, so that
    tables of a dead latent component stay numeric.
    """
    x, y = _pair(x, y)
    xc, yc = x - x.mean(), y - y.mean()
    sx, sy = math.sqrt(float(xc @ xc)), math.sqrt(float(yc @ yc))
    # relative threshold: float64 round-off of a constant sample is ~1e-16 of its magnitude
    if sx <= 1e-12 * (np.abs(x).max() + 1e-300) * math.sqrt(x.size) or sx == 0.0:
        return 0.0
    if sy <= 1e-12 * (np.abs(y).max() + 1e-300) * math.sqrt(y.size) or sy == 0.0:
        return 0.0
    return float(np.clip((xc @ yc) / (sx * sy), -1.0, 1.0))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    ranks = np.empty(x.size)
    start = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    end = np.r_[start[1:], x.size]
    for a, b in zip(start, end):
        ranks[order[a:b]] = 0.5 * (a + b - 1) + 1.0
    return ranks


def spearman(x, y) -> float:
    """Spearman rank correlation: :func:`pearson` of the average ranks of ``x`` and ``y``.
    Insensitive to any monotone reparametrisation, unlike Pearson (the PCAAE protocol's image
    ratios are heavy-tailed, which caps their Pearson correlation with a bounded code)."""
    x, y = _pair(x, y)
    return pearson(_average_ranks(x), _average_ranks(y))


def coefficient_of_determination(y_true, y_pred) -> float:
    """``1 - SS_res / SS_tot`` of predictions ``y_pred`` of a non-constant 1-D ``y_true``."""
    y_true, y_pred = _pair(y_true, y_pred, ("y_true", "y_pred"))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    if ss_tot == 0.0:
        raise ValueError("y_true must not be constant: R^2 undefined")
    return 1.0 - float(np.sum((y_true - y_pred) ** 2)) / ss_tot


def r_squared(x, y) -> float:
    """R^2 of the least-squares affine fit ``y ~ c + x @ w``.

    ``x``: (n,) or (n, k) regressors; ``y``: (n,) non-constant. For 1-D ``x`` this equals
    ``pearson(x, y)**2``.
    """
    x = columns(x, "x")
    y = vector(y, "y")
    same_rows(("x", "y"), x, y)
    design = np.column_stack([np.ones(x.shape[0]), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coefficient_of_determination(y, design @ coef)


def _grouped_steps(z, r) -> np.ndarray:
    """Steps of z averaged over equal values of r, ordered by increasing r."""
    z, r = _pair(z, r, ("z", "r"))
    order = np.argsort(r, kind="stable")
    rs, zs = r[order], z[order]
    _, start = np.unique(rs, return_index=True)
    sums = np.add.reduceat(zs, start)
    counts = np.diff(np.append(start, rs.size))
    zg = sums / counts
    if zg.size < 2:
        raise ValueError("r must take at least two distinct values")
    return np.diff(zg)


def monotonic_fraction(z, r) -> float:
    """Fraction of consecutive steps (``r`` sorted) along which ``z`` moves in its dominant
    direction; 1.0 for a monotone ``z(r)`` (either direction), about 0.5 for noise.

    Equal values of ``r`` are merged (``z`` averaged) first; flat steps count for both
    directions. ``z``, ``r``: 1-D of equal length with at least two distinct ``r``.
    """
    d = _grouped_steps(z, r)
    return float(max(np.sum(d >= 0), np.sum(d <= 0)) / d.size)


def is_monotonic(z, r, *, tol: float = 0.0) -> bool:
    """True if ``z`` is a monotone function of ``r`` (either direction), allowing steps of
    size ``tol`` against the direction. Equal ``r`` merged as in :func:`monotonic_fraction`."""
    _pair(z, r, ("z", "r"))
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    d = _grouped_steps(z, r)
    return bool(np.all(d >= -tol) or np.all(d <= tol))


# --------------------------------------------------------------------------------------------
# latent statistics


def latent_covariance(z) -> np.ndarray:
    """Covariance matrix (d, d) of codes ``z`` (n, d), normalised by n (the batch covariance of
    the talk's eq. 14)."""
    z = columns(z, "z")
    zc = z - z.mean(axis=0)
    return (zc.T @ zc) / z.shape[0]


def latent_correlation(z) -> np.ndarray:
    """Correlation matrix (d, d) of codes ``z`` (n, d). A constant component gets 0 off the
    diagonal and 1 on it (see :func:`pearson`)."""
    cov = latent_covariance(z)
    sd = np.sqrt(np.diag(cov))
    scale = np.abs(columns(z, "z")).max(axis=0) + 1e-300
    alive = sd > 1e-12 * scale
    out = np.zeros_like(cov)
    idx = np.flatnonzero(alive)
    out[np.ix_(idx, idx)] = cov[np.ix_(idx, idx)] / np.outer(sd[idx], sd[idx])
    np.fill_diagonal(out, 1.0)
    return np.clip(out, -1.0, 1.0)
