"""Disentanglement scores (Locatello et al. 2019, ``disentanglement_lib``) on histograms.

- :func:`mig` (Chen et al. 2018): per factor, the gap between the two largest mutual
  informations with a single code, over the factor's entropy. As in ``disentanglement_lib``,
  codes are discretised into 20 equal-width histogram bins (:func:`discretize`: numpy's
  histogram edges and ``np.digitize``) and factors are used as labels as they are (dSprites'
  32 orientations and 40 positions stay 32 and 40 labels). A continuous factor (a radius, an
  area) would then have one label per sample; ``factor_bins=k`` discretises every factor with
  more than ``k`` distinct values into ``k`` histogram bins the same way as the codes.
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

``codes`` (n, d) and ``factors`` (n, k): a 1-D array is one column.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np

from validation.metrics import _arrays
from validation.metrics._arrays import columns, same_rows
from validation.metrics.compare import pearson

__all__ = ["N_BINS", "discretize", "entropy_discrete", "mutual_info_discrete", "mutual_info_matrix", "mig",
           "DCIResult", "dci", "sap_scores", "sap", "dci_gbt"]

N_BINS = 20  # disentanglement_lib's default histogram resolution for MIG


def _codes_factors(codes, factors, *, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    z = columns(codes, "codes", min_rows=min_rows)
    f = columns(factors, "factors", min_rows=min_rows)
    same_rows(("codes", "factors"), z, f)
    return z, f


# --------------------------------------------------------------------------------------------
# information theory on histograms


def discretize(x, n_bins: int = N_BINS) -> np.ndarray:
    """Equal-width histogram bin index (0 .. n_bins-1) of each column of ``x`` (n, d).

    ``disentanglement_lib``'s ``_histogram_discretize`` exactly, shifted to start at 0: the
    label of a value is ``np.digitize(column, np.histogram(column, n_bins)[1][:-1]) - 1``, a
    comparison with numpy's bin edges (a value lying on an edge as numpy rounds it goes to the
    bin that edge opens, the maximum to the last bin). A constant column lands in one bin
    (numpy widens its range to the value +- 0.5).
    """
    x = columns(x, "x", min_rows=1)
    n_bins = _arrays.n_bins(n_bins)
    out = np.empty(x.shape, dtype=np.int64)
    for j in range(x.shape[1]):
        edges = np.histogram_bin_edges(x[:, j], n_bins)
        out[:, j] = np.digitize(x[:, j], edges[:-1]) - 1
    return out


def _labels(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == object or a.dtype.kind not in "biufUS":
        raise TypeError(f"{name} must hold labels of one kind (numbers or strings), got dtype {a.dtype}")
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
    same_rows(("a", "b"), a, b)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= a.size
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(max(0.0, (joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum()))


def _discrete_factors(f: np.ndarray, factor_bins: int | None) -> np.ndarray:
    """Integer labels (n, k) of the factors. ``factor_bins=None``: each factor's values are its
    labels (``np.unique``), as ``disentanglement_lib`` uses them. An int: a factor with more
    than ``factor_bins`` distinct values counts as continuous and is discretised into
    ``factor_bins`` histogram bins as the codes (:func:`discretize`); one with at most
    ``factor_bins`` values keeps its values as labels. With ``None``, a factor with more
    distinct values than half its rows (scikit-learn's sign of a regression target) is
    warned about: it is continuous and needs ``factor_bins``."""
    out = np.empty(f.shape, dtype=np.int64)
    for j in range(f.shape[1]):
        u, inv = np.unique(f[:, j], return_inverse=True)
        if factor_bins is None and 2 * u.size > f.shape[0]:
            warnings.warn(
                f"factors column {j} has {u.size} distinct values in {f.shape[0]} rows: as labels a continuous "
                f"factor tells single samples apart, so every code looks informative about it; pass "
                f"factor_bins (e.g. N_BINS = {N_BINS}) to discretise it", UserWarning, stacklevel=3)
        if factor_bins is None or u.size <= factor_bins:
            out[:, j] = inv.ravel()
        else:
            out[:, j] = discretize(f[:, j], factor_bins)[:, 0]
    return out


def mutual_info_matrix(codes, factors, *, n_bins: int = N_BINS, factor_bins: int | None = None) -> np.ndarray:
    """MI (nats) between each code discretised into ``n_bins`` bins (rows, d) and each factor
    (columns, k): labels as they are, or with ``factor_bins`` as in :func:`mig`."""
    z, f = _codes_factors(codes, factors)
    n_bins = _arrays.n_bins(n_bins)
    factor_bins = _arrays.factor_bins(factor_bins)
    return _mi_table(discretize(z, n_bins), _discrete_factors(f, factor_bins))


def _mi_table(zd: np.ndarray, fd: np.ndarray) -> np.ndarray:
    """(d, k) MI of discrete codes (n, d) with discrete factors (n, k)."""
    return np.array([[mutual_info_discrete(zd[:, i], fd[:, j]) for j in range(fd.shape[1])]
                     for i in range(zd.shape[1])])


def mig(codes, factors, *, n_bins: int = N_BINS, factor_bins: int | None = None) -> float:
    """Mutual Information Gap (Chen et al. 2018): mean over factors of
    ``(I(z_a; f) - I(z_b; f)) / H(f)`` with ``z_a``, ``z_b`` the two most informative codes.

    ``codes`` (n, d) are discretised into ``n_bins`` equal-width bins (:func:`discretize`).
    ``factors`` (n, k), none constant: with ``factor_bins=None`` (default, the recipe of
    ``disentanglement_lib``) each factor's distinct values are its labels; with an int, a
    factor with more than ``factor_bins`` distinct values (a continuous one: a radius, an
    area) is discretised into ``factor_bins`` histogram bins the same way as the codes, the
    others keep their values. Continuous factors need it: as labels they have one value per
    sample, so they tell samples apart, every code has its whole entropy as MI with them and
    the gap vanishes (a UserWarning says so). A discrete factor with many values in a small
    sample keeps its labels with ``factor_bins`` >= its number of values.

    With one code the gap is the single MI. Identity codes score about 1 (minus histogram
    bias), constant codes 0.
    """
    z, f = _codes_factors(codes, factors)
    n_bins = _arrays.n_bins(n_bins)
    factor_bins = _arrays.factor_bins(factor_bins)
    fd = _discrete_factors(f, factor_bins)
    h = np.array([entropy_discrete(fd[:, j]) for j in range(f.shape[1])])
    if np.any(h <= 0):
        raise ValueError(f"factors column {int(np.argmin(h))} is constant: MIG undefined")
    mi = _mi_table(discretize(z, n_bins), fd)
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


def _split_args(test_fraction, rng) -> np.random.Generator:
    """Check the held-out share of the DCI estimators; the generator of their split."""
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not (
        0.0 < test_fraction < 1.0
    ):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    return _arrays.rng(rng)


def _split(n: int, test_fraction: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(test, train)`` row indices: a random ``test_fraction`` of ``n`` (at least 1, leaving 2)."""
    n_test = max(1, min(n - 2, int(round(test_fraction * n))))
    perm = gen.permutation(n)
    return perm[:n_test], perm[n_test:]


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
    z, f = _codes_factors(codes, factors, min_rows=8)
    n_bins = _arrays.n_bins(n_bins)
    gen = _split_args(test_fraction, rng)
    sd = f.std(axis=0)
    if np.any(sd == 0):
        raise ValueError(f"factors column {int(np.argmin(sd))} is constant: DCI undefined")
    test, train = _split(z.shape[0], test_fraction, gen)
    y = (f - f[train].mean(0)) / f[train].std(0).clip(min=1e-300)
    d, k = z.shape[1], f.shape[1]
    edges = []
    for i in range(d):
        edges.append(np.histogram_bin_edges(z[train, i], n_bins))  # the bins of discretize()
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
# DCI as disentanglement_lib computes it: gradient-boosted trees


def dci_gbt(codes, factors, *, factor_bins: int | None = None, test_fraction: float = 0.25,
            rng=0) -> DCIResult:
    """DCI with scikit-learn's ``GradientBoostingClassifier`` as the importance model, the
    estimator of ``disentanglement_lib`` (Locatello et al. 2019), beside :func:`dci`.

    The classes of a factor are its values as they are (``factor_bins=None``, as
    ``disentanglement_lib``), or, with an int, those of :func:`mig`'s ``factor_bins``: a
    factor with more than ``factor_bins`` distinct values (a continuous one) is discretised
    into ``factor_bins`` histogram bins. A continuous factor needs it (a UserWarning says so):
    as classes its values are seen about once each, and the trees take minutes to learn
    nothing. One classifier per factor (default settings, ``random_state`` from ``rng``) is
    fitted on the codes of a random ``1 - test_fraction`` split; R[:, j] = |feature_importances_|.
    D = sum_i rho_i (1 - H_k(R_i. + 1e-11)), C = sum_j kappa_j (1 - H_d(R_.j + 1e-11)) with
    the same weights as :func:`dci` (uniform when R is all zero, as disentanglement_lib
    does); ``informativeness`` is the mean held-out classification accuracy (its
    ``informativeness_test``). ``codes`` (n, d), ``factors`` (n, k) non-constant.
    """
    import scipy.stats
    from sklearn.ensemble import GradientBoostingClassifier

    z, f = _codes_factors(codes, factors, min_rows=8)
    factor_bins = _arrays.factor_bins(factor_bins)
    gen = _split_args(test_fraction, rng)
    fd = _discrete_factors(f, factor_bins)
    if np.any([np.unique(fd[:, j]).size < 2 for j in range(f.shape[1])]):
        raise ValueError("factors must not be constant: DCI undefined")
    test, train = _split(z.shape[0], test_fraction, gen)
    seed = int(gen.integers(2**31 - 1))
    d, k = z.shape[1], f.shape[1]
    importance = np.zeros((d, k))
    accuracy = []
    for j in range(k):
        model = GradientBoostingClassifier(random_state=seed).fit(z[train], fd[train, j])
        importance[:, j] = np.abs(model.feature_importances_)
        accuracy.append(float(np.mean(model.predict(z[test]) == fd[test, j])))
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    per_code = 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=k) if k > 1 else np.ones(d)
    per_factor = 1.0 - scipy.stats.entropy(importance + 1e-11, base=d) if d > 1 else np.ones(k)
    dis = float(np.sum(per_code * weights.sum(1) / weights.sum()))
    comp = float(np.sum(per_factor * weights.sum(0) / weights.sum()))
    return DCIResult(dis, comp, float(np.mean(accuracy)), importance)


# --------------------------------------------------------------------------------------------
# SAP


def sap_scores(codes, factors) -> np.ndarray:
    """(d, k) matrix of R^2 of the affine fit ``f_j ~ z_i`` (= Pearson^2; 0 for a constant
    code)."""
    z, f = _codes_factors(codes, factors)
    return np.array([[pearson(z[:, i], f[:, j]) ** 2 for j in range(f.shape[1])] for i in range(z.shape[1])])


def sap(codes, factors) -> float:
    """Separated Attribute Predictability (Kumar et al. 2018), continuous form: mean over
    factors of the gap between the two largest :func:`sap_scores`. Identity codes score about 1,
    constant or duplicated codes 0. With one code the gap is its score."""
    s = sap_scores(codes, factors)
    top = -np.sort(-s, axis=0)
    second = top[1] if s.shape[0] > 1 else np.zeros(s.shape[1])
    return float(np.mean(top[0] - second))
