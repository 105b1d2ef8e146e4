"""Where the engine's batches come from, and the memory format they reach the model in.

:func:`make_batches` turns ``train``'s ``data`` / ``val_data`` into a batch source and the
validation tensor: :class:`ArrayBatches` (epoch-wise shuffles of a fixed array, or a fresh
shuffle per batch) or
:class:`SamplerBatches` (a fresh ``sample(n, rng)`` per step, optionally generated one step
ahead in a worker thread). Both expose ``next()``, ``state()`` / ``load(state)`` (for
checkpoints) and ``close()``. Batches are float32 ``(batch_size, 1, s, s)`` or
``(batch_size, L)`` tensors on the CPU.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np
import torch

from geoshape import checks

from . import _checks
from .train_config import TrainConfig

__all__ = ["ArrayBatches", "SamplerBatches", "make_batches", "to_device_format"]


def to_device_format(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """``x`` in channels-last strides when ``channels_last`` and ``x`` is 4-D, else unchanged."""
    if channels_last and x.ndim == 4:
        # A (n, 1, s, s) tensor is already channels-last compatible in memory; this only
        # fixes its strides so the first conv picks the channels-last kernel.
        return x.contiguous(memory_format=torch.channels_last)
    return x


def make_batches(data: Any, val_data: Any, config: TrainConfig, split_rng: np.random.Generator,
                 data_rng: np.random.Generator) -> tuple[Any, torch.Tensor | None, torch.Tensor | None, int]:
    """``(batches, val, train_images, total_steps)`` for ``train(model, data, config, val_data=...)``.

    ``split_rng`` draws the validation split of an array (or the validation images of a
    sampler), ``data_rng`` the batch order (or the sampler's batches). ``train_images`` is
    None for a sampler; ``val`` is None when there is no validation. Every check of ``data``
    and ``val_data`` runs here, before any step.
    """
    val = _checks.as_images(val_data, "val_data") if val_data is not None else None
    if callable(data) and not isinstance(data, np.ndarray):
        if config.epochs is not None:
            raise ValueError("epochs needs an array dataset; give steps for a sampler")
        _sampler_budget(data, config, split_rng, val is None)
        if val is None:
            val = _checks.as_images(data(config.val_size, split_rng), "sample(val_size, rng)")
        batches: Any = SamplerBatches(data, config.batch_size, data_rng, tuple(val.shape[1:]),
                                      prefetch=config.resolved_prefetch())
        return batches, val, None, config.steps
    images = _checks.as_images(data, "data")
    if val is None and config.val_fraction > 0:
        n_val = max(1, int(round(config.val_fraction * len(images))))
        perm = torch.from_numpy(split_rng.permutation(len(images)))
        val, train_images = images[perm[:n_val]], images[perm[n_val:]]
    else:
        train_images = images
    n_train = len(train_images)
    if n_train < config.batch_size:
        raise ValueError(f"batch_size ({config.batch_size}) must be <= the number of training images ({n_train})")
    if val is not None and tuple(val.shape[1:]) != tuple(train_images.shape[1:]):
        raise ValueError(f"val_data images {tuple(val.shape[1:])} differ from data images {tuple(train_images.shape[1:])}")
    total = config.steps if config.steps is not None else config.epochs * (n_train // config.batch_size)
    return (ArrayBatches(train_images, config.batch_size, data_rng, fresh=config.batching == "random"),
            val, train_images, total)


def _sampler_budget(sample: Callable, config: TrainConfig, split_rng: np.random.Generator, draws_val: bool) -> None:
    """ValueError naming ``val_size`` / ``batch_size`` when the images a sampler would be asked
    for (the validation draw, a batch) pass :data:`geoshape.checks.MEMORY_BUDGET_BYTES`,
    before the sampler allocates them.

    The size of one image is read from one image drawn with a copy of ``split_rng`` (the run's
    own generators are untouched, so the numbers of the run do not change). An image costs the
    sampler's array (its dtype) plus the float32 tensor it is converted to; prefetching holds
    two batches at once.
    """
    probe = sample(1, copy.deepcopy(split_rng))
    one = _checks.as_images(probe, "sample(1, rng)")
    elements = one[0].numel()
    itemsize = probe.dtype.itemsize if isinstance(probe, np.ndarray) else 4
    per_image = elements * (itemsize + 4)
    shape = tuple(one.shape[1:])
    if draws_val:
        checks.budget(config.val_size * per_image, "val_size",
                      f"{config.val_size:,} validation images {shape} drawn from the sampler")
    in_flight = 2 if config.resolved_prefetch() else 1
    checks.budget(in_flight * config.batch_size * per_image, "batch_size",
                  f"{in_flight} batch(es) of {config.batch_size:,} images {shape} drawn from the sampler")


class ArrayBatches:
    """Epoch-wise shuffled batches (the last incomplete batch of an epoch is dropped); with
    ``fresh``, every batch is the head of a new shuffle of the whole set."""

    def __init__(self, images: torch.Tensor, batch_size: int, rng: np.random.Generator, fresh: bool = False):
        self.images, self.batch_size, self.rng, self.fresh = images, batch_size, rng, fresh
        self.perm = torch.empty(0, dtype=torch.long)
        self.pos = 0

    def next(self) -> torch.Tensor:
        if self.fresh or self.pos + self.batch_size > len(self.perm):
            self.perm = torch.from_numpy(self.rng.permutation(len(self.images)))
            self.pos = 0
        idx = self.perm[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return self.images.index_select(0, idx)

    def close(self) -> None:
        pass

    def state(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "perm": self.perm.clone(), "pos": self.pos}

    def load(self, s: dict) -> None:
        self.rng.bit_generator.state = s["rng"]
        self.perm, self.pos = s["perm"].clone(), int(s["pos"])


class SamplerBatches:
    """Fresh batches from ``sample(n, rng)``; with ``prefetch`` the next batch is generated in
    a worker thread while the net trains on the current one (the sampler is still called in
    order on the one generator, so the numbers are those of the sequential loop). ``state``
    is the generator state before the first batch not yet handed out, so a resumed run
    regenerates exactly the batch that was in flight."""

    def __init__(self, sample: Callable, batch_size: int, rng: np.random.Generator, shape: tuple | None,
                 prefetch: bool = False):
        self.sample, self.batch_size, self.rng, self.shape = sample, batch_size, rng, shape
        self.prefetch = prefetch
        self._pool = None
        self._pending = None
        self._state_before_pending = None

    def _make(self) -> torch.Tensor:
        t = _checks.as_images(self.sample(self.batch_size, self.rng), "sample(n, rng)")
        if len(t) != self.batch_size:
            raise ValueError(f"sample(n, rng) returned {len(t)} images for n = {self.batch_size}")
        if self.shape is not None and tuple(t.shape[1:]) != self.shape:
            raise ValueError(f"sample(n, rng) returned images of shape {tuple(t.shape[1:])}, expected {self.shape}")
        return t

    def next(self) -> torch.Tensor:
        if not self.prefetch:
            return self._make()
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="nets-prefetch")
        batch = self._pending.result() if self._pending is not None else self._make()
        # Nothing is in flight here, so reading the generator's state is race-free.
        self._state_before_pending = self.rng.bit_generator.state
        self._pending = self._pool.submit(self._make)
        return batch

    def state(self) -> dict:
        if self._pending is not None:
            return {"rng": self._state_before_pending}
        return {"rng": self.rng.bit_generator.state}

    def load(self, s: dict) -> None:
        self.close()
        self.rng.bit_generator.state = s["rng"]

    def close(self) -> None:
        if self._pending is not None:
            try:
                self._pending.result()
            except Exception:
                pass  # an error in a batch nobody will use is not the caller's problem
            self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
