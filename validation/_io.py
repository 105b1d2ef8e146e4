"""Validation's own output formats, written atomically with :mod:`geoshape.io`:
``metrics.json`` holds flat numbers (:func:`flat_numbers`), figure data goes to compressed
``.npz`` files (:func:`save_npz`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geoshape.io import atomic_write_bytes

__all__ = ["flat_numbers", "save_npz"]


def flat_numbers(d: dict) -> dict[str, float]:
    """Check that ``d`` is a flat {str: number} dict (bools become 0/1); returns floats."""
    out = {}
    for k, v in d.items():
        if not isinstance(k, str):
            raise TypeError(f"metric names must be str, got {k!r}")
        if isinstance(v, bool):
            v = int(v)
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"metric {k!r} must be a number, got {type(v).__name__}") from None
    return out


def save_npz(path: str | Path, data: dict) -> None:
    """``np.savez_compressed(**data)`` to ``path`` atomically."""
    atomic_write_bytes(path, lambda fh: np.savez_compressed(fh, **data), suffix=".npz.tmp")
