"""Atomic output for the experiments: write a temporary file in the target directory, then
``os.replace`` it over the destination, so a reader (or a crash) never sees a partial file."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

__all__ = ["atomic_write_bytes", "atomic_write_json", "atomic_savefig", "atomic_torch_save", "flat_numbers"]


def atomic_write_bytes(path: str | os.PathLike, write: Callable[[Any], None], *, suffix: str = ".tmp") -> Path:
    """Call ``write(fh)`` on a temporary binary file next to ``path``, fsync, then rename it to
    ``path`` (parents are created). ``suffix`` lets writers that infer a format from the file
    name (matplotlib) see the right extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def atomic_write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Indented, key-sorted JSON (numpy scalars/arrays converted); NaN/inf written as null."""

    def clean(o):
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return o

    data = (json.dumps(clean(json.loads(json.dumps(obj, default=_default))), indent=2, sort_keys=True) + "\n").encode()
    return atomic_write_bytes(path, lambda fh: fh.write(data), suffix=".json.tmp")


def atomic_savefig(fig, path: str | os.PathLike, **kwargs) -> Path:
    """``fig.savefig`` to ``path`` atomically (format from ``path``'s extension)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return atomic_write_bytes(path, lambda fh: fig.savefig(fh, format=fmt, **kwargs), suffix=f".tmp.{fmt}")


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` atomically."""
    import torch

    return atomic_write_bytes(path, lambda fh: torch.save(obj, fh), suffix=".pt.tmp")


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
