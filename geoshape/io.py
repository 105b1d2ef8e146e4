"""Atomic output for every package: write a temporary file in the target directory, fsync,
then ``os.replace`` it over the destination, so a reader (or a crash) never sees a partial
file. Lives in the bottom layer so that nets (checkpoints) and validation (metrics, figures)
share one implementation.

Examples
--------
>>> import json, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = atomic_write_json({"b": 1, "a": float("nan")}, d / "m.json")
>>> json.loads((d / "m.json").read_text())
{'a': None, 'b': 1}
>>> sorted(p.name for p in d.iterdir())   # no temporary file left behind
['m.json']
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["atomic_write_bytes", "atomic_write_json", "atomic_savefig"]


def atomic_write_bytes(path: str | os.PathLike, write: Callable[[Any], None], *, suffix: str = ".tmp") -> Path:
    """Call ``write(fh)`` on a temporary binary file next to ``path``, fsync, then rename it to
    ``path`` (parents are created). ``suffix`` lets writers that infer a format from the file
    name (matplotlib) see the right extension. On any error the temporary file is removed and
    ``path`` is left as it was."""
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
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _finite_or_none(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {str(k): _finite_or_none(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite_or_none(v) for v in o]
    return o


def atomic_write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Indented, key-sorted JSON (numpy scalars/arrays converted); NaN/inf written as null."""
    plain = json.loads(json.dumps(obj, default=_default))
    data = (json.dumps(_finite_or_none(plain), indent=2, sort_keys=True) + "\n").encode()
    return atomic_write_bytes(path, lambda fh: fh.write(data), suffix=".json.tmp")


def atomic_savefig(fig, path: str | os.PathLike, **kwargs) -> Path:
    """``fig.savefig`` to ``path`` atomically (format from ``path``'s extension)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return atomic_write_bytes(path, lambda fh: fig.savefig(fh, format=fmt, **kwargs), suffix=f".tmp.{fmt}")
