"""The process-wide torch settings of a training run, set for its duration and restored after.

:func:`torch_settings` sets the thread count (``TrainConfig.threads``), deterministic
algorithms (on CUDA in ``warn_only`` mode, with ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` unless
already set), denormal flushing, and forks the global torch RNG and seeds it, so that a model
drawing from it (a VAE's ``torch.randn``) is reproducible and the caller's RNG is untouched.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import torch

from .train_config import TrainConfig

__all__ = ["torch_settings", "flushing_denormals"]


def flushing_denormals() -> bool:
    """Whether this thread flushes denormal floats to zero now (torch has a setter only).

    A quarter of the smallest normal float64 is a denormal: it comes out as 0 exactly when
    flush-to-zero is on.
    """
    tiny = torch.tensor([2.2250738585072014e-308], dtype=torch.float64)
    return bool((tiny / 4.0).item() == 0.0)


@contextlib.contextmanager
def torch_settings(config: TrainConfig, torch_seed: int) -> Iterator[None]:
    """Run the block under ``config``'s torch settings with the global RNG seeded with
    ``torch_seed``; the previous threads, determinism flags and RNG state come back after,
    also when the block raises."""
    prev_threads = torch.get_num_threads()
    prev_flush = flushing_denormals()
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        cuda = config.device != "cpu"
        if cuda and config.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(config.deterministic, warn_only=cuda)
        if config.flush_denormal:
            torch.set_flush_denormal(True)
        with torch.random.fork_rng(devices=[torch.device(config.device)] if cuda else []):
            torch.manual_seed(torch_seed)
            yield
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        torch.set_flush_denormal(prev_flush)
