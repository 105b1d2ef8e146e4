"""Metrics shared by the validation experiments: generic comparisons, latent-space statistics,
the PCAAE ellipse protocol, disentanglement scores (MIG, DCI, SAP) and ordering measures.

Every function is pure numpy (scipy only for the assignment problem), validates its arguments
before any work, and returns plain floats or float64 arrays.

Conventions
-----------
- ``codes`` / ``z``: latent codes, array ``(n, d)`` (a 1-D array is one component, ``(n, 1)``).
- ``factors``: true generating factors, array ``(n, k)`` (``Labelled.factor_matrix()``).
- Images: ``(n, s, s)`` or ``(n, 1, s, s)``, row ``i`` / column ``j`` as in DESIGN.md.

Disentanglement scores (Locatello et al. 2019, ``disentanglement_lib``)
-----------------------------------------------------------------------
- :func:`mig` (Chen et al. 2018): per factor, the gap between the two largest mutual
  informations with a single code, over the factor's entropy; codes and continuous factors
  are discretised with equal-width histograms (20 bins), exactly as ``disentanglement_lib``.
- :func:`dci` (Eastwood & Williams 2018). ``disentanglement_lib`` takes the importance matrix
  from gradient-boosted trees; sklearn is not a dependency here, so the importance model is an
  *additive histogram regression* (a piecewise-constant GAM): each standardised factor is fitted
  by least squares as ``y ~ c + sum_i g_i(z_i)`` with ``g_i`` constant on 20 equal-width bins of
  code ``i``. The importance of code ``i`` for factor ``j`` is ``Var(g_ij(z_i))`` on the training
  split; informativeness is the held-out R^2 of the same model (clipped to [0, 1]). It sees any
  per-code nonlinearity (monotone or not) but, unlike trees, no interaction between codes.
- :func:`sap` (Kumar et al. 2018), continuous-factor form: the score of code ``i`` for factor
  ``j`` is the R^2 of the affine fit ``f_j ~ z_i`` (= Pearson^2); SAP is the mean gap between the
  two best codes of each factor.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

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
    "ellipse_measures",
    "abs_correlation_table",
    "best_assignment",
    "off_target_excess",
    "discretize",
    "entropy_discrete",
    "mutual_info_discrete",
    "mutual_info_matrix",
    "mig",
    "DCIResult",
    "dci",
    "sap_scores",
    "sap",
    "pca_errors",
    "explained_variance_shares",
]

N_BINS = 20  # disentanglement_lib's default histogram resolution for MIG


# --------------------------------------------------------------------------------------------
# validation helpers


def _float_array(name: str, x, *, ndims: tuple[int, ...]) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
    if a.ndim not in ndims:
        raise ValueError(f"{name} must have ndim in {ndims}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no nan/inf)")
    return a


def _columns(name: str, x, *, min_rows: int = 2) -> np.ndarray:
    """(n,) or (n, d) -> float64 (n, d)."""
    a = _float_array(name, x, ndims=(1, 2))
    if a.ndim == 1:
        a = a[:, None]
    if a.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {a.shape[0]}")
    if a.shape[1] < 1:
        raise ValueError(f"{name} needs at least one column, got shape {a.shape}")
    return a


def _vector(name: str, x, *, min_len: int = 2) -> np.ndarray:
    a = _float_array(name, x, ndims=(1,))
    if a.shape[0] < min_len:
        raise ValueError(f"{name} needs at least {min_len} entries, got {a.shape[0]}")
    return a


def _same_rows(names: tuple[str, str], a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of rows, "
            f"got {a.shape[0]} and {b.shape[0]}"
        )


def _n_bins(n_bins) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)):
        raise TypeError(f"n_bins must be an int, got {type(n_bins).__name__}")
    if n_bins < 2:
        raise ValueError(f"n_bins must be >= 2, got {n_bins}")
    return int(n_bins)


def _rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


# --------------------------------------------------------------------------------------------
# generic comparisons


def relative_l2(a, b) -> float:
    """``|a - b|_2 / |b|_2`` over all entries (``b`` is the reference). Shapes must match."""
    a = _float_array("a", a, ndims=tuple(range(0, 8)))
    b = _float_array("b", b, ndims=tuple(range(0, 8)))
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    nb = float(np.linalg.norm(b.ravel()))
    if nb == 0.0:
        raise ValueError("b (the reference) must not be all zeros: relative error undefined")
    return float(np.linalg.norm((a - b).ravel()) / nb)


def cosine(a, b) -> float:
    """Cosine of the angle between ``a`` and ``b`` flattened; in [-1, 1]."""
    a = _float_array("a", a, ndims=tuple(range(1, 8)))
    b = _float_array("b", b, ndims=tuple(range(1, 8)))
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    na, nb = np.linalg.norm(a.ravel()), np.linalg.norm(b.ravel())
    if na == 0.0 or nb == 0.0:
        raise ValueError("a and b must both be non-zero: cosine undefined")
    return float(np.clip(np.dot(a.ravel(), b.ravel()) / (na * nb), -1.0, 1.0))


def pearson(x, y) -> float:
    """Pearson correlation of two 1-D samples of equal length (>= 2).

    A constant sample carries no linear information: the result is then 0.0, not nan, so that
    tables of a dead latent component stay numeric.
    """
    x = _vector("x", x)
    y = _vector("y", y)
    _same_rows(("x", "y"), x, y)
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
    x = _vector("x", x)
    y = _vector("y", y)
    _same_rows(("x", "y"), x, y)
    return pearson(_average_ranks(x), _average_ranks(y))


def coefficient_of_determination(y_true, y_pred) -> float:
    """``1 - SS_res / SS_tot`` of predictions ``y_pred`` of a non-constant 1-D ``y_true``."""
    y_true = _vector("y_true", y_true)
    y_pred = _vector("y_pred", y_pred)
    _same_rows(("y_true", "y_pred"), y_true, y_pred)
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    if ss_tot == 0.0:
        raise ValueError("y_true must not be constant: R^2 undefined")
    return 1.0 - float(np.sum((y_true - y_pred) ** 2)) / ss_tot


def r_squared(x, y) -> float:
    """R^2 of the least-squares affine fit ``y ~ c + x @ w``.

    ``x``: (n,) or (n, k) regressors; ``y``: (n,) non-constant. For 1-D ``x`` this equals
    ``pearson(x, y)**2``.
    """
    x = _columns("x", x)
    y = _vector("y", y)
    _same_rows(("x", "y"), x, y)
    design = np.column_stack([np.ones(x.shape[0]), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coefficient_of_determination(y, design @ coef)


def _grouped_by(z: np.ndarray, r: np.ndarray) -> np.ndarray:
    """z averaged over equal values of r, ordered by increasing r."""
    order = np.argsort(r, kind="stable")
    rs, zs = r[order], z[order]
    _, start = np.unique(rs, return_index=True)
    sums = np.add.reduceat(zs, start)
    counts = np.diff(np.append(start, rs.size))
    return sums / counts


def monotonic_fraction(z, r) -> float:
    """Fraction of consecutive steps (``r`` sorted) along which ``z`` moves in its dominant
    direction; 1.0 for a monotone ``z(r)`` (either direction), about 0.5 for noise.

    Equal values of ``r`` are merged (``z`` averaged) first; flat steps count for both
    directions. ``z``, ``r``: 1-D of equal length with at least two distinct ``r``.
    """
    z = _vector("z", z)
    r = _vector("r", r)
    _same_rows(("z", "r"), z, r)
    zg = _grouped_by(z, r)
    if zg.size < 2:
        raise ValueError("r must take at least two distinct values")
    d = np.diff(zg)
    return float(max(np.sum(d >= 0), np.sum(d <= 0)) / d.size)


def is_monotonic(z, r, *, tol: float = 0.0) -> bool:
    """True if ``z`` is a monotone function of ``r`` (either direction), allowing steps of
    size ``tol`` against the direction. Equal ``r`` merged as in :func:`monotonic_fraction`."""
    z = _vector("z", z)
    r = _vector("r", r)
    _same_rows(("z", "r"), z, r)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    zg = _grouped_by(z, r)
    if zg.size < 2:
        raise ValueError("r must take at least two distinct values")
    d = np.diff(zg)
    return bool(np.all(d >= -tol) or np.all(d <= tol))


# --------------------------------------------------------------------------------------------
# latent statistics


def latent_covariance(z) -> np.ndarray:
    """Covariance matrix (d, d) of codes ``z`` (n, d), normalised by n (the batch covariance of
    the talk's eq. 14)."""
    z = _columns("z", z)
    zc = z - z.mean(axis=0)
    return (zc.T @ zc) / z.shape[0]


def latent_correlation(z) -> np.ndarray:
    """Correlation matrix (d, d) of codes ``z`` (n, d). A constant component gets 0 off the
    diagonal and 1 on it (see :func:`pearson`)."""
    cov = latent_covariance(z)
    sd = np.sqrt(np.diag(cov))
    scale = np.abs(_columns("z", z)).max(axis=0) + 1e-300
    alive = sd > 1e-12 * scale
    out = np.zeros_like(cov)
    idx = np.flatnonzero(alive)
    out[np.ix_(idx, idx)] = cov[np.ix_(idx, idx)] / np.outer(sd[idx], sd[idx])
    np.fill_diagonal(out, 1.0)
    return np.clip(out, -1.0, 1.0)


# --------------------------------------------------------------------------------------------
# the PCAAE ellipse protocol


def ellipse_measures(images) -> dict[str, np.ndarray]:
    """The PCAAE notebook's three image measures, each (n,) float64.

    - ``area``: pixel sum.
    - ``hv_ratio``: sum of the middle row over sum of the middle column. For an even size the
      image centre ((s-1)/2, DESIGN.md) falls between two rows/columns, so "middle" means the
      two central ones together, which keeps a centred shape's ratio exactly 1 under transpose.
    - ``diag_ratio``: trace (main diagonal, top-left to bottom-right) over anti-trace.

    ``images``: (n, s, s) or (n, 1, s, s), s >= 2, non-negative values expected. Raises if a
    denominator (middle column or anti-diagonal sum) is not positive.
    """
    x = _float_array("images", images, ndims=(3, 4))
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"images with 4 dims must be (n, 1, s, s), got {x.shape}")
        x = x[:, 0]
    n, s, s2 = x.shape
    if s != s2 or s < 2:
        raise ValueError(f"images must be square with side >= 2, got {x.shape[1:]}")
    if n < 1:
        raise ValueError("images must contain at least one image")
    mid = [s // 2] if s % 2 else [s // 2 - 1, s // 2]
    row = x[:, mid, :].sum(axis=(1, 2))
    col = x[:, :, mid].sum(axis=(1, 2))
    trace = np.trace(x, axis1=1, axis2=2)
    anti = np.trace(x[:, :, ::-1], axis1=1, axis2=2)
    for name, den in (("middle column", col), ("anti-diagonal", anti)):
        bad = np.flatnonzero(den <= 0)
        if bad.size:
            raise ValueError(
                f"images[{bad[0]}] has a non-positive {name} sum ({den[bad[0]]!r}): ratio undefined"
            )
    return {"area": x.sum(axis=(1, 2)), "hv_ratio": row / col, "diag_ratio": trace / anti}


def abs_correlation_table(z, measures: dict, *, method: str = "pearson") -> tuple[tuple[str, ...], np.ndarray]:
    """|Pearson| (or |Spearman| with ``method="spearman"``) between each measure and each
    latent component.

    ``z``: (n, d) codes; ``measures``: {name: (n,) array}. Returns (names, table) with table
    (len(names), d), row i = measure names[i], column j = component z_{j+1}.
    """
    z = _columns("z", z)
    if not isinstance(measures, dict) or not measures:
        raise TypeError("measures must be a non-empty dict {name: (n,) array}")
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    corr = pearson if method == "pearson" else spearman
    names = tuple(str(k) for k in measures)
    table = np.zeros((len(names), z.shape[1]))
    for i, (name, m) in enumerate(measures.items()):
        m = _vector(f"measures[{name!r}]", m)
        _same_rows(("z", f"measures[{name!r}]"), z, m)
        for j in range(z.shape[1]):
            table[i, j] = abs(corr(z[:, j], m))
    return names, table


def best_assignment(table) -> tuple[np.ndarray, float, float]:
    """Match rows (measures) to distinct columns (components) maximising the summed score.

    Returns (columns, on_target, off_target): ``columns[i]`` is the component given to row i,
    ``on_target`` the mean matched score, ``off_target`` the largest unmatched score in the
    matched columns (what leaks from the other measures into each chosen component). Needs
    rows <= columns.
    """
    from scipy.optimize import linear_sum_assignment

    t = _float_array("table", table, ndims=(2,))
    if t.shape[0] < 1 or t.shape[0] > t.shape[1]:
        raise ValueError(f"table must have 1 <= rows <= columns, got shape {t.shape}")
    rows, cols = linear_sum_assignment(-t)
    cols = cols[np.argsort(rows)]
    on = t[np.arange(t.shape[0]), cols]
    mask = np.ones(t.shape, bool)
    mask[np.arange(t.shape[0]), cols] = False
    sub = np.where(mask, t, -np.inf)[:, cols]
    off = float(sub.max()) if np.isfinite(sub).any() else 0.0
    return cols, float(on.mean()), off


def off_target_excess(table, columns, measure_corr) -> np.ndarray:
    """Off-target |corr| above what the data's own measure correlations force.

    If component ``columns[k]`` were exactly measure k, its |corr| with another measure i would
    be ``|corr(m_i, m_k)|``, not 0: the measures correlate in the data (ellipses: area and the
    H/V ratio, 0.12). The excess of entry (i, columns[k]), i != k, is
    ``table[i, columns[k]] - |measure_corr[i, k]|``; matched entries and unmatched columns are
    NaN.

    ``table``: (m, d) |corr| measure x component; ``columns``: (m,) distinct component indices
    (measure k -> component columns[k]); ``measure_corr``: (m, m) correlation matrix of the
    measures in the same data. Returns (m, d) float64.
    """
    t = _float_array("table", table, ndims=(2,))
    c = np.asarray(columns)
    if c.shape != (t.shape[0],) or not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"columns must be {t.shape[0]} ints, got {columns!r}")
    if np.any(c < 0) or np.any(c >= t.shape[1]) or len(set(c.tolist())) != len(c):
        raise ValueError(f"columns must be distinct indices in [0, {t.shape[1]}), got {columns!r}")
    mc = _float_array("measure_corr", measure_corr, ndims=(2,))
    if mc.shape != (t.shape[0], t.shape[0]):
        raise ValueError(f"measure_corr must be ({t.shape[0]}, {t.shape[0]}), got {mc.shape}")
    out = np.full(t.shape, np.nan)
    for k, j in enumerate(c):
        for i in range(t.shape[0]):
            if i != k:
                out[i, j] = t[i, j] - abs(mc[i, k])
    return out


# --------------------------------------------------------------------------------------------
# information theory on histograms


def discretize(x, n_bins: int = N_BINS) -> np.ndarray:
    """Equal-width histogram bin index (0 .. n_bins-1) of each column of ``x`` (n, d), as
    ``disentanglement_lib.histogram_discretize``. A constant column maps to bin 0."""
    x = _columns("x", x, min_rows=1)
    n_bins = _n_bins(n_bins)
    out = np.zeros(x.shape, dtype=np.int64)
    for j in range(x.shape[1]):
        lo, hi = x[:, j].min(), x[:, j].max()
        if hi > lo:
            out[:, j] = np.clip(((x[:, j] - lo) / (hi - lo) * n_bins).astype(np.int64), 0, n_bins - 1)
    return out


def _labels(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1 or a.size < 1:
        raise ValueError(f"{name} must be a non-empty 1-D array of labels, got shape {a.shape}")
    return np.unique(a, return_inverse=True)[1].ravel()


def entropy_discrete(a) -> float:
    """Shannon entropy (nats) of the empirical distribution of labels ``a`` (1-D)."""
    a = _labels("a", a)
    p = np.bincount(a) / a.size
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def mutual_info_discrete(a, b) -> float:
    """Mutual information (nats) of the empirical joint distribution of labels ``a``, ``b``."""
    a = _labels("a", a)
    b = _labels("b", b)
    _same_rows(("a", "b"), a, b)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= a.size
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(max(0.0, (joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum()))


def _discrete_factors(f: np.ndarray, n_bins: int) -> np.ndarray:
    """Factors with at most n_bins distinct values are kept as categories; others binned."""
    out = np.empty(f.shape, dtype=np.int64)
    for j in range(f.shape[1]):
        u, inv = np.unique(f[:, j], return_inverse=True)
        out[:, j] = inv.ravel() if u.size <= n_bins else discretize(f[:, j], n_bins)[:, 0]
    return out


def mutual_info_matrix(codes, factors, *, n_bins: int = N_BINS) -> np.ndarray:
    """MI (nats) between each discretised code (rows, d) and each factor (columns, k)."""
    z = _columns("codes", codes)
    f = _columns("factors", factors)
    _same_rows(("codes", "factors"), z, f)
    n_bins = _n_bins(n_bins)
    zd = discretize(z, n_bins)
    fd = _discrete_factors(f, n_bins)
    return np.array(
        [[mutual_info_discrete(zd[:, i], fd[:, j]) for j in range(f.shape[1])] for i in range(z.shape[1])]
    )


def mig(codes, factors, *, n_bins: int = N_BINS) -> float:
    """Mutual Information Gap (Chen et al. 2018): mean over factors of
    ``(I(z_a; f) - I(z_b; f)) / H(f)`` with ``z_a``, ``z_b`` the two most informative codes.

    ``codes`` (n, d), ``factors`` (n, k) with no constant factor. With one code the gap is the
    single MI. Identity codes score about 1 (minus histogram bias), constant codes 0.
    """
    z = _columns("codes", codes)
    f = _columns("factors", factors)
    _same_rows(("codes", "factors"), z, f)
    n_bins = _n_bins(n_bins)
    fd = _discrete_factors(f, n_bins)
    h = np.array([entropy_discrete(fd[:, j]) for j in range(f.shape[1])])
    if np.any(h <= 0):
        raise ValueError(f"factors column {int(np.argmin(h))} is constant: MIG undefined")
    mi = mutual_info_matrix(z, f, n_bins=n_bins)
    top = -np.sort(-mi, axis=0)
    second = top[1] if z.shape[1] > 1 else np.zeros(f.shape[1])
    return float(np.mean((top[0] - second) / h))


# --------------------------------------------------------------------------------------------
# DCI with an additive histogram regression as importance model


class DCIResult(NamedTuple):
    disentanglement: float
    completeness: float
    informativeness: float
    importance: np.ndarray  # (d codes, k factors), non-negative


def _bin_design(z: np.ndarray, edges: list[np.ndarray], n_bins: int) -> np.ndarray:
    cols = [np.ones((z.shape[0], 1))]
    for i, e in enumerate(edges):
        idx = np.clip(np.searchsorted(e, z[:, i], side="right") - 1, 0, n_bins - 1)
        onehot = np.zeros((z.shape[0], n_bins))
        onehot[np.arange(z.shape[0]), idx] = 1.0
        cols.append(onehot)
    return np.hstack(cols)


def _entropy_rows(p: np.ndarray, base: int) -> np.ndarray:
    """1 - H_base(row) of each row of non-negative weights (a zero row -> 0)."""
    if base <= 1:
        return np.where(p.sum(1) > 0, 1.0, 0.0)
    s = p.sum(1, keepdims=True)
    q = np.divide(p, s, out=np.zeros_like(p), where=s > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(q > 0, q * np.log(q), 0.0).sum(1) / math.log(base)
    return np.where(s[:, 0] > 0, 1.0 - ent, 0.0)


def dci(codes, factors, *, n_bins: int = N_BINS, test_fraction: float = 0.25, rng=0) -> DCIResult:
    """Disentanglement, completeness, informativeness (Eastwood & Williams 2018).

    Importance model: additive histogram regression (module docstring). With R the (d, k)
    importance matrix, rho_i = R_i. / sum R and kappa_j = R_.j / sum R (the weights
    ``disentanglement_lib`` uses):
    D = sum_i rho_i (1 - H_k(R_i.)), C = sum_j kappa_j (1 - H_d(R_.j)),
    I = mean_j clip(held-out R^2_j, 0, 1). Entropies use log base k (resp. d), so each score
    is in [0, 1]; with a single factor (code) D (C) is 1 for any informative code. All-zero
    importance (constant codes) gives D = C = 0.

    ``codes`` (n, d), ``factors`` (n, k) non-constant; ``rng`` fixes the train/test split.
    """
    z = _columns("codes", codes, min_rows=8)
    f = _columns("factors", factors, min_rows=8)
    _same_rows(("codes", "factors"), z, f)
    n_bins = _n_bins(n_bins)
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not (
        0.0 < test_fraction < 1.0
    ):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    gen = _rng(rng)
    sd = f.std(axis=0)
    if np.any(sd == 0):
        raise ValueError(f"factors column {int(np.argmin(sd))} is constant: DCI undefined")
    n = z.shape[0]
    n_test = max(1, min(n - 2, int(round(test_fraction * n))))
    perm = gen.permutation(n)
    test, train = perm[:n_test], perm[n_test:]
    y = (f - f[train].mean(0)) / f[train].std(0).clip(min=1e-300)
    d, k = z.shape[1], f.shape[1]
    edges = []
    for i in range(d):
        lo, hi = z[train, i].min(), z[train, i].max()
        edges.append(np.linspace(lo, hi, n_bins + 1) if hi > lo else np.full(n_bins + 1, lo))
    a_train = _bin_design(z[train], edges, n_bins)
    a_test = _bin_design(z[test], edges, n_bins)
    coef, *_ = np.linalg.lstsq(a_train, y[train], rcond=None)
    importance = np.zeros((d, k))
    for i in range(d):
        block = slice(1 + i * n_bins, 1 + (i + 1) * n_bins)
        g = a_train[:, block] @ coef[block]  # (n_train, k): g_i(z_i) for every factor
        importance[i] = g.var(axis=0)
    importance[importance < 1e-12] = 0.0  # round-off of an uninformative code
    pred = a_test @ coef
    info = []
    for j in range(k):
        ss_tot = float(np.sum((y[test, j] - y[test, j].mean()) ** 2))
        r2 = 0.0 if ss_tot == 0 else 1.0 - float(np.sum((y[test, j] - pred[:, j]) ** 2)) / ss_tot
        info.append(min(1.0, max(0.0, r2)))
    total = importance.sum()
    if total == 0:
        return DCIResult(0.0, 0.0, float(np.mean(info)), importance)
    rho = importance.sum(1) / total
    dis = float(np.sum(rho * _entropy_rows(importance, k)))
    comp = float(np.sum(importance.sum(0) / total * _entropy_rows(importance.T, d)))
    return DCIResult(dis, comp, float(np.mean(info)), importance)


# --------------------------------------------------------------------------------------------
# SAP


def sap_scores(codes, factors) -> np.ndarray:
    """(d, k) matrix of R^2 of the affine fit ``f_j ~ z_i`` (= Pearson^2; 0 for a constant
    code)."""
    z = _columns("codes", codes)
    f = _columns("factors", factors)
    _same_rows(("codes", "factors"), z, f)
    return np.array([[pearson(z[:, i], f[:, j]) ** 2 for j in range(f.shape[1])] for i in range(z.shape[1])])


def sap(codes, factors) -> float:
    """Separated Attribute Predictability (Kumar et al. 2018), continuous form: mean over
    factors of the gap between the two largest :func:`sap_scores`. Identity codes score about 1,
    constant or duplicated codes 0. With one code the gap is its score."""
    s = sap_scores(codes, factors)
    top = -np.sort(-s, axis=0)
    second = top[1] if s.shape[0] > 1 else np.zeros(s.shape[1])
    return float(np.mean(top[0] - second))


# --------------------------------------------------------------------------------------------
# ordering


def pca_errors(images, k_max: int) -> np.ndarray:
    """Per-pixel MSE of the best affine rank-k reconstruction (PCA, numpy SVD) of ``images``,
    for k = 0 .. k_max; entry 0 is the total per-pixel variance (the mean image). (k_max+1,)."""
    x = _float_array("images", images, ndims=(2, 3, 4))
    x = x.reshape(x.shape[0], -1)
    if x.shape[0] < 2:
        raise ValueError("images needs at least 2 samples")
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or not (
        0 <= k_max <= min(x.shape) - 1
    ):
        raise ValueError(f"k_max must be an int in [0, {min(x.shape) - 1}], got {k_max!r}")
    xc = x - x.mean(0)
    s = np.linalg.svd(xc, compute_uv=False)
    lam = s**2 / x.size
    return np.array([lam[k:].sum() for k in range(k_max + 1)])


def explained_variance_shares(stage_errors, total_error) -> np.ndarray:
    """Share of the total variance explained by each stage: ``(e_{k-1} - e_k) / e_0`` with
    ``e_0 = total_error`` (per-pixel variance of the data, :func:`pca_errors` entry 0) and
    ``e_k = stage_errors[k-1]`` the reconstruction MSE after stage k. A PCA-like latent has
    decreasing, non-negative shares. Returns (K,)."""
    e = _vector("stage_errors", stage_errors, min_len=1)
    if isinstance(total_error, bool) or not isinstance(total_error, (int, float, np.floating)) or not (
        total_error > 0 and math.isfinite(total_error)
    ):
        raise ValueError(f"total_error must be a finite number > 0, got {total_error!r}")
    prev = np.concatenate([[float(total_error)], e[:-1]])
    return (prev - e) / float(total_error)
