"""Atomic checkpoints: ``torch.save`` through :func:`geoshape.io.atomic_write_bytes`, so a
reader (or a crash mid-write) never sees a partial file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from geoshape.io import atomic_write_bytes

__all__ = ["atomic_torch_save"]


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (parents created)."""
    return atomic_write_bytes(path, lambda fh: torch.save(obj, fh), suffix=".pt.tmp")
