"""The PCAAE notebook's ellipse protocol: three image measures, the |correlation| table of
measures against latent components, the matching of measures to components, and the
off-target correlation the data itself forces."""

from __future__ import annotations

import numpy as np

from validation.metrics._arrays import columns as as_columns, real, same_rows, vector
from validation.metrics.compare import pearson, spearman

__all__ = ["ellipse_measures", "abs_correlation_table", "best_assignment", "off_target_excess"]


def ellipse_measures(images) -> dict[str, np.ndarray]:
    """The PCAAE notebook's three image measures, each (n,) float64.

    - ``area``: pixel sum.
    - ``hv_ratio``: sum of the middle row over sum of the middle column. For an even size the
      image centre ((s-1)/2, docs/conventions.md) falls between two rows/columns, so "middle"
      means the two central ones together, which keeps a centred shape's ratio exactly 1 under
      transpose.
    - ``diag_ratio``: trace (main diagonal, top-left to bottom-right) over anti-trace.

    ``images``: (n, s, s) or (n, 1, s, s), s >= 2, non-negative values expected. Raises if a
    denominator (middle column or anti-diagonal sum) is not positive.
    """
    x = real(images, "images", min_ndim=3, ndim_max=4)
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
    z = as_columns(z, "z")
    if not isinstance(measures, dict) or not measures:
        raise TypeError("measures must be a non-empty dict {name: (n,) array}")
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    corr = pearson if method == "pearson" else spearman
    names = tuple(str(k) for k in measures)
    table = np.zeros((len(names), z.shape[1]))
    for i, (name, m) in enumerate(measures.items()):
        m = vector(m, f"measures[{name!r}]")
        same_rows(("z", f"measures[{name!r}]"), z, m)
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

    t = real(table, "table", ndim=2)
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
    t = real(table, "table", ndim=2)
    c = np.asarray(columns)
    if c.shape != (t.shape[0],) or not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"columns must be {t.shape[0]} ints, got {columns!r}")
    if np.any(c < 0) or np.any(c >= t.shape[1]) or len(set(c.tolist())) != len(c):
        raise ValueError(f"columns must be distinct indices in [0, {t.shape[1]}), got {columns!r}")
    mc = real(measure_corr, "measure_corr", ndim=2)
    if mc.shape != (t.shape[0], t.shape[0]):
        raise ValueError(f"measure_corr must be ({t.shape[0]}, {t.shape[0]}), got {mc.shape}")
    out = np.full(t.shape, np.nan)
    for k, j in enumerate(c):
        for i in range(t.shape[0]):
            if i != k:
                out[i, j] = t[i, j] - abs(mc[i, k])
    return out
