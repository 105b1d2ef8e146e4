"""Argument checks for every package of the toolkit (geoshape, theory, nets, validation).

Each check runs before any work and raises ``TypeError`` (wrong kind of value) or
``ValueError`` (right kind, forbidden value) with a message that names the argument and the
allowed range. They live here, in the bottom layer, because every other package may import
geoshape and none may import another package's private module.

Scalars:   :func:`integer`, :func:`real`, :func:`positive`, :func:`nonnegative`,
           :func:`boolean`, :func:`choice`, :func:`size_pow2`, :func:`image_size`,
           :func:`seed`, :func:`rng`.
Memory:    :func:`budget` (refuse a call that would allocate past :data:`MEMORY_BUDGET_BYTES`).
Arrays:    :func:`real_array` (float64, finite, bounded ndim), :func:`check_range`,
           :func:`columns`, :func:`same_rows`.
Per-image: :func:`centres`, :func:`broadcast_n`, :func:`expand`.

Examples
--------
>>> integer(3, "n", lo=1)
3
>>> real(0.5, "sigma", lo=0.0)
0.5
>>> size_pow2(64)
64
>>> real_array([1, 2.5], "radius").tolist()
[1.0, 2.5]
>>> try:
...     positive(0, "R")
... except ValueError as e:
...     print(e)
R must be finite and > 0, got 0
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

__all__ = ["integer", "real", "positive", "nonnegative", "boolean", "choice", "size_pow2",
           "image_size", "budget", "seed", "rng", "real_array", "check_range", "columns", "same_rows", "centres", "broadcast_n",
           "expand", "count"]

#: Largest seed accepted by torch's and numpy's generators alike (a signed 64-bit value).
MAX_SEED = 2**63 - 1
#: Most bytes one public call may allocate for its output or its work arrays (4 GiB, a sixth
#: of the 24 GiB development machine): a call that would need more is refused before it
#: allocates, with the bytes it would need, instead of failing in numpy or swapping.
MEMORY_BUDGET_BYTES = 4 * 2**30
#: Largest image side: one float32 image of this side is already 4 GiB.
MAX_IMAGE_SIZE = 2**15


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# --------------------------------------------------------------------------- scalars
def integer(value, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an ``int`` in ``[lo, hi]`` (either bound optional); bools are refused."""
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        if hi is None:
            allowed = f">= {lo}"
        elif lo is None:
            allowed = f"<= {hi}"
        else:
            allowed = f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be {allowed}, got {v}")
    return v


def count(n, name: str = "n", minimum: int = 1) -> int:
    """A count ``>= minimum`` (an ``int``)."""
    return integer(n, name, lo=minimum)


def real(value, name: str, lo: float | None = None, hi: float | None = None, *,
         lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a finite ``float`` in the stated interval; bools are refused."""
    if not _is_real(value):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    ok = math.isfinite(v)
    if lo is not None:
        ok = ok and (v > lo if lo_open else v >= lo)
    if hi is not None:
        ok = ok and (v < hi if hi_open else v <= hi)
    if not ok:
        left = "-inf" if lo is None else f"{lo:g}"
        right = "inf" if hi is None else f"{hi:g}"
        interval = f"{'(' if lo_open or lo is None else '['}{left}, {right}{')' if hi_open or hi is None else ']'}"
        raise ValueError(f"{name} must be finite and in {interval}, got {value!r}")
    return v


def positive(value, name: str) -> float:
    """A finite real number > 0."""
    if not _is_real(value):
        raise TypeError(f"{name} must be a real number > 0, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


def nonnegative(value, name: str) -> float:
    """A finite real number >= 0."""
    if not _is_real(value):
        raise TypeError(f"{name} must be a real number >= 0, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def boolean(value, name: str) -> bool:
    """A ``bool`` (or ``numpy.bool_``); ``"no"``, ``0`` and ``None`` are refused, not cast."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def choice(value, name: str, allowed: Sequence[Any]) -> Any:
    """``value`` if it equals one of ``allowed`` and is of the same kind (``1.0`` is not ``1``,
    ``"1"`` is not ``1``, ``True`` is not ``1``)."""
    for a in allowed:
        if isinstance(a, str):
            if isinstance(value, str) and value == a:
                return value
        elif _is_int(a):
            if _is_int(value) and value == a:
                return int(value)
        elif type(value) is type(a) and value == a:
            return value
    raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")


def size_pow2(size, name: str = "size", minimum: int = 4) -> int:
    """An image side: an ``int``, a power of two, ``>= minimum``."""
    if not _is_int(size):
        raise TypeError(f"{name} must be an int, got {type(size).__name__}")
    size = int(size)
    if size < minimum or size & (size - 1):
        raise ValueError(f"{name} must be a power of two >= {minimum}, got {size}")
    return size


def image_size(size, name: str = "size", minimum: int = 1) -> int:
    """An image side of any parity: an ``int`` in ``[minimum, MAX_IMAGE_SIZE]``."""
    return integer(size, name, lo=minimum, hi=MAX_IMAGE_SIZE)


def budget(nbytes: int | float, names: str, what: str, limit: int | None = None) -> None:
    """ValueError naming ``names`` unless ``nbytes`` fits the memory budget.

    ``what`` describes the array (e.g. ``"the output (n, size, size) float32"``); ``limit``
    defaults to :data:`MEMORY_BUDGET_BYTES`.
    """
    limit = MEMORY_BUDGET_BYTES if limit is None else limit
    if nbytes > limit:
        raise ValueError(f"{names}: {what} would need {_bytes(nbytes)}, over the memory budget of "
                         f"{_bytes(limit)} (geoshape.checks.MEMORY_BUDGET_BYTES)")


def _bytes(n: int | float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit} ({int(n):,} bytes)"
    return f"{int(n)} bytes"


def seed(value, name: str = "seed") -> int:
    """A seed: an ``int`` in ``[0, 2**63 - 1]`` (what torch's and numpy's generators take)."""
    if not _is_int(value):
        raise TypeError(f"{name} must be a non-negative int, got {type(value).__name__}")
    v = int(value)
    if v < 0 or v > MAX_SEED:
        raise ValueError(f"{name} must be a non-negative int <= 2**63 - 1, got {value!r}")
    return v


def rng(value, name: str = "rng") -> np.random.Generator:
    """A numpy ``Generator`` from a ``Generator``, an ``int`` seed ``>= 0`` or ``None`` (fresh)."""
    if isinstance(value, np.random.Generator):
        return value
    if value is None:
        return np.random.default_rng()
    if not _is_int(value):
        raise TypeError(f"{name} must be a numpy.random.Generator, an int seed or None, "
                        f"got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} seed must be >= 0, got {value}")
    return np.random.default_rng(int(value))


# --------------------------------------------------------------------------- arrays
def real_array(value, name: str, *, ndim_max: int | None = 1, ndim: int | None = None,
               min_ndim: int | None = None, allow_bool: bool = False) -> np.ndarray:
    """``value`` as a finite float64 array.

    ``ndim`` demands an exact number of dimensions, ``min_ndim`` / ``ndim_max`` bound it
    (``ndim_max=None`` for no bound). Integer and float dtypes are accepted (``bool`` with
    ``allow_bool``); strings, objects, complex numbers and NaN/inf are refused.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number or an array of real numbers, "
                        f"got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged sequences
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
    kinds = "iufb" if allow_bool else "iuf"
    if arr.dtype == object or arr.dtype.kind not in kinds:
        raise TypeError(f"{name} must hold real numbers (int or float dtype), got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    if ndim is None and ndim_max is not None and arr.ndim > ndim_max:
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


def columns(value, name: str, *, min_rows: int = 2) -> np.ndarray:
    """A table ``(n,)`` or ``(n, d)`` as float64 ``(n, d)`` with ``n >= min_rows``, ``d >= 1``."""
    a = real_array(value, name, ndim_max=2, min_ndim=1, allow_bool=True)
    if a.ndim == 1:
        a = a[:, None]
    if a.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {a.shape[0]}")
    if a.shape[1] < 1:
        raise ValueError(f"{name} needs at least one column, got shape {a.shape}")
    return a


def same_rows(names: tuple[str, str], a: np.ndarray, b: np.ndarray) -> None:
    """ValueError unless ``a`` and ``b`` have the same number of rows."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{names[0]} and {names[1]} must have the same number of rows, "
                         f"got {a.shape[0]} and {b.shape[0]}")


# --------------------------------------------------------------------------- per-image
def centres(value, size: int, name: str = "centres") -> np.ndarray:
    """Centres as float64 ``(m, 2)`` of ``(x, y)`` pixels; ``None`` means the image centre."""
    if value is None:
        c = (size - 1) / 2.0
        return np.array([[c, c]])
    arr = real_array(value, name, ndim_max=2)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (2,) or (n, 2) as (x, y), got {np.shape(value)}")
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
    """Broadcast a scalar / length-1 / length-n array to a contiguous ``(n,)`` float64 array."""
    flat = np.atleast_1d(arr)
    return np.ascontiguousarray(np.broadcast_to(flat, (n,)), dtype=np.float64)
