"""Argument checks shared by the metrics modules, on top of :mod:`geoshape.checks`.

Metrics take any real (or boolean) array and compute in float64; these wrappers fix the
options every metric uses, so that each module states only the shapes it needs.
"""

from __future__ import annotations

import numpy as np

from geoshape import checks

__all__ = ["real", "columns", "vector", "same_rows", "n_bins", "factor_bins", "rng"]

same_rows = checks.same_rows
rng = checks.rng


def real(x, name: str, *, ndim: int | None = None, min_ndim: int | None = None,
         ndim_max: int | None = None) -> np.ndarray:
    """``x`` as a finite float64 array (booleans count as 0/1) with the stated dimensions."""
    return checks.real_array(x, name, ndim=ndim, min_ndim=min_ndim, ndim_max=ndim_max, allow_bool=True)


def columns(x, name: str, *, min_rows: int = 2) -> np.ndarray:
    """(n,) or (n, d) -> float64 (n, d), ``n >= min_rows``."""
    return checks.columns(x, name, min_rows=min_rows)


def vector(x, name: str, *, min_len: int = 2) -> np.ndarray:
    """A 1-D float64 sample of at least ``min_len`` entries."""
    a = real(x, name, ndim=1)
    if a.shape[0] < min_len:
        raise ValueError(f"{name} needs at least {min_len} entries, got {a.shape[0]}")
    return a


def n_bins(value) -> int:
    """A histogram resolution: an int >= 2."""
    return checks.integer(value, "n_bins", lo=2)


def factor_bins(value) -> int | None:
    """``None`` (factors are labels as they are) or a histogram resolution, an int >= 2."""
    return None if value is None else checks.integer(value, "factor_bins", lo=2)
