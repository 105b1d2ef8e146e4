"""Argument checks shared by geoshape's public functions.

Every check runs before any work and raises ``TypeError`` (wrong kind of value) or
``ValueError`` (right kind, forbidden value) with a message naming the argument.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_real_array(value, name: str, *, ndim_max: int = 1) -> np.ndarray:
    """``value`` as a float64 array of at most ``ndim_max`` dims; finite, real numbers only."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number or an array of real numbers, "
                        f"got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers (int or float dtype), "
                        f"got dtype {arr.dtype}")
    if arr.ndim > ndim_max:
        raise ValueError(f"{name} must have at most {ndim_max} dimension(s), got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def check_range(arr: np.ndarray, name: str, lo: float | None = None, hi: float | None = None,
                *, lo_open: bool = False) -> None:
    """Raise ValueError unless every element lies in the stated range."""
    if arr.size == 0:
        return
    if lo is not None:
        bad = arr <= lo if lo_open else arr < lo
        if np.any(bad):
            op = ">" if lo_open else ">="
            raise ValueError(f"{name} must be {op} {lo}, got min {arr.min():g}")
    if hi is not None and np.any(arr > hi):
        raise ValueError(f"{name} must be <= {hi}, got max {arr.max():g}")


def check_size(size) -> int:
    """``size`` must be an int, a power of two and >= 4."""
    if isinstance(size, bool) or not isinstance(size, numbers.Integral):
        raise TypeError(f"size must be an int, got {type(size).__name__}")
    size = int(size)
    if size < 4 or size & (size - 1):
        raise ValueError(f"size must be a power of two >= 4, got {size}")
    return size


def check_count(n, name: str = "n", minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return int(n)


def as_centres(centres, size: int, name: str = "centres") -> np.ndarray:
    """Centres as float64 (m, 2) of (x, y); None means the image centre."""
    if centres is None:
        c = (size - 1) / 2.0
        return np.array([[c, c]])
    arr = as_real_array(centres, name, ndim_max=2)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (2,) or (n, 2) as (x, y), got {np.shape(centres)}")
    return arr


def broadcast_n(name_arrays: dict[str, np.ndarray]) -> int:
    """Common length of per-image arguments (scalars broadcast); ValueError on mismatch."""
    lengths = {k: len(v) for k, v in name_arrays.items() if v.ndim >= 1 and len(v) != 1}
    distinct = set(lengths.values())
    if len(distinct) > 1:
        desc = ", ".join(f"{k}: {n}" for k, n in lengths.items())
        raise ValueError(f"per-image arguments have mismatched lengths ({desc})")
    return distinct.pop() if distinct else 1


def expand(arr: np.ndarray, n: int) -> np.ndarray:
    """Broadcast a scalar / length-1 / length-n array to a contiguous (n,) float64 array."""
    flat = np.atleast_1d(arr)
    return np.ascontiguousarray(np.broadcast_to(flat, (n,)), dtype=np.float64)


def as_rng(rng) -> np.random.Generator:
    """numpy Generator from a Generator, an int seed or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, "
                        f"got {type(rng).__name__}")
    if rng < 0:
        raise ValueError(f"rng seed must be >= 0, got {rng}")
    return np.random.default_rng(int(rng))
