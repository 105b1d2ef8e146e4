"""The configuration of a training run: :class:`TrainConfig` (validated on construction).

It holds every number that determines a run of :func:`nets.train.train` (optimiser, schedule,
regularisers, validation, seed) and the settings that do not change numbers (threads,
prefetch, checkpoints, progress bar). ``to_dict`` / ``TrainConfig(**d)`` round-trip through
JSON, and checkpoints store ``to_dict()`` to refuse resuming with a different config.

Examples
--------
>>> cfg = TrainConfig(steps=100, lr=1e-3, lr_schedule="cosine", min_lr_ratio=0.1)
>>> cfg.lr_at(0, 100), round(cfg.lr_at(99, 100), 6)
(0.001, 0.0001)
>>> cfg.replace(steps=10).steps
10
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass

import numpy as np
import torch

from geoshape import checks

from . import losses as L

__all__ = ["TrainConfig", "LR_SCHEDULES", "BATCHINGS"]

#: Learning-rate schedules of ``TrainConfig.lr_schedule``.
LR_SCHEDULES = ("constant", "cosine", "linear")
#: How ``TrainConfig.batching`` draws batches from an array dataset.
BATCHINGS = ("epoch", "random")
_BOOL_FIELDS = ("clean_loss", "channels_last", "flush_denormal", "compile", "resume", "progress", "deterministic")


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (validated on construction).

    steps: optimiser steps (exactly one of ``steps`` / ``epochs``).
    epochs: passes over an array dataset; steps = epochs * (n_train // batch_size).
    batch_size, lr, betas, eps, weight_decay: Adam (``torch.optim.Adam``; weight_decay is
        Adam's coupled L2, prefer the ``all_l2`` regulariser for the talk's variant).
    lr_schedule: ``"constant" | "cosine" | "linear"``: after ``warmup_steps`` of linear warm-up,
        decay from ``lr`` to ``lr * min_lr_ratio`` at the last step.
    grad_clip: max global gradient norm, or None.
    regularisers: ``((name, weight), ...)``, names in ``nets.losses.REGULARISERS``, weight >= 0.
    noise_std: eta's standard deviation for ``"denoise"`` (must be > 0 when it is used).
    clean_loss: keep the clean reconstruction loss; False with ``("denoise", w)`` gives the
        talk's pure type 2, ``w * |D(E(x + eta)) - x|^2``.
    val_fraction: share of an array dataset held out for validation when val_data is None
        (0 = no validation: val_mse is NaN).
    val_size: validation images drawn once from a sampler when val_data is None.
        With a sampler, ``train`` refuses (ValueError naming ``val_size`` / ``batch_size``)
        a validation draw or a batch whose images would pass the memory budget of
        ``geoshape.checks``, before asking the sampler for them.
    eval_every: record train loss and validation every this many steps (and at the end);
        0 = only at the end.
    val_batch_size: chunk size of the validation forward passes.
    seed: the one seed of the run (see module docstring).
    threads: ``torch.set_num_threads`` during training (restored after); None (default)
        keeps torch's setting (one thread per physical core, or ``OMP_NUM_THREADS``). Give
        ``threads=1`` when several trainings or other busy processes share the cores: on
        the 2-core machine a 2-thread training ran 3x slower than a 1-thread one while a
        busy loop held the other core (OpenMP threads spin-wait on each other), and 1.6x
        faster when it had both cores to itself (validation.bench.nets).
    channels_last: run 4-D image models in channels-last memory format (same numbers up to
        float rounding; 5-10 % more steps/s for the disk AE on the 2-core machine).
    flush_denormal: flush denormal floats to zero while training (no-op where unsupported).
    compile: wrap the loss computation in ``torch.compile`` (disk AE, 1 thread: 32.0 vs 31.4
        steps/s after 2.6 s of compilation; see validation.bench.nets).
    prefetch: generate the next sampler batch in a worker thread during the step (same
        numbers as without). None (default) = only when the training threads leave a core
        free: on 2 threads of 2 cores the worker (and numba's threads inside it) took the
        cores from torch's threads and the step ran 1.7x slower (27 vs 47 steps/s).
    checkpoint_dir: where ``last.pt`` is written (atomically); None = no checkpoints.
    checkpoint_every: steps between checkpoints (0 = only at the end, if checkpoint_dir).
    resume: continue from ``checkpoint_dir/last.pt`` if it exists (else start afresh).
    progress: tqdm progress bar.
    deterministic: ``torch.use_deterministic_algorithms(True)`` during training (on CUDA in
        ``warn_only`` mode with ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` unless already set: GPU runs
        are repeatable where cuDNN and cuBLAS allow it, not guaranteed bit-identical).
    device: ``"cpu"`` (default; everything in this project is built and tested there) or
        ``"cuda"`` / ``"cuda:N"``: the model is moved there for the run and left there, each
        batch is copied there. For optional GPU runs (the public PCAAE notebook's budget in
        validation.pca_ae_ellipses); a CUDA device must be available. Not covered by CI
        (no GPU); the checks here are of the argument only.
    batching: how batches come from an array dataset: ``"epoch"`` (default) -- a shuffle per
        epoch, cut into batches; ``"random"`` -- every step the first ``batch_size`` images of
        a fresh shuffle of the whole set (the authors' Keras loop: images may repeat across
        steps within an epoch). Samplers ignore it.
    keep_best_every: 0 (default) keeps the last weights; ``N > 0`` checks the step's batch
        loss at the 0-based steps ``0, N, 2N, ...`` and, at the end, puts back the weights
        (after that step's update) of the lowest one (the authors' keep-best rule, ``N = 500``;
        see ``History.best_step``). Works with checkpoints and ``resume``.
    """

    steps: int | None = None
    epochs: int | None = None
    batch_size: int = 64
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    grad_clip: float | None = None
    regularisers: tuple[tuple[str, float], ...] = ()
    noise_std: float = 0.0
    clean_loss: bool = True
    val_fraction: float = 0.1
    val_size: int = 1024
    eval_every: int = 100
    val_batch_size: int = 512
    seed: int = 0
    threads: int | None = None
    channels_last: bool = True
    flush_denormal: bool = True
    compile: bool = False
    prefetch: bool | None = None
    checkpoint_dir: str | None = None
    checkpoint_every: int = 0
    resume: bool = False
    progress: bool = True
    deterministic: bool = True
    device: str = "cpu"
    batching: str = "epoch"
    keep_best_every: int = 0

    def __post_init__(self) -> None:
        # Check the container fields before converting them, so a wrong shape is named.
        if not isinstance(self.betas, (tuple, list)):
            raise TypeError(f"betas must be a tuple of two floats in [0, 1), got {self.betas!r}")
        if not isinstance(self.regularisers, (tuple, list)):
            raise TypeError(f"regularisers must be a tuple of (name, weight) pairs, got {self.regularisers!r}")
        for item in self.regularisers:
            if not isinstance(item, (tuple, list)) or len(item) != 2 or not isinstance(item[0], str):
                raise ValueError(f"regularisers must be (name, weight) pairs such as (('latent_l2', 1e-3),), "
                                 f"got the item {item!r}")
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, (str, os.PathLike)):
            raise TypeError(f"checkpoint_dir must be a path (str or os.PathLike) or None, "
                            f"got {type(self.checkpoint_dir).__name__}")
        # Normalise lists to tuples so configs compare, hash and round-trip through JSON.
        object.__setattr__(self, "betas", tuple(self.betas))
        object.__setattr__(self, "regularisers", tuple((n, w) for n, w in self.regularisers))
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, str):
            object.__setattr__(self, "checkpoint_dir", os.fspath(self.checkpoint_dir))
        # numpy bools pass the checks; store plain bools so the config round-trips through JSON
        for name in _BOOL_FIELDS + ("prefetch",):
            if isinstance(getattr(self, name), np.bool_):
                object.__setattr__(self, name, bool(getattr(self, name)))
        self.validate()

    def validate(self) -> None:
        """Raise ValueError (TypeError for wrong types) naming the field and allowed range."""
        if (self.steps is None) == (self.epochs is None):
            raise ValueError(f"give exactly one of steps and epochs, got steps={self.steps!r}, epochs={self.epochs!r}")
        for name in ("steps", "epochs"):
            if getattr(self, name) is not None:
                checks.integer(getattr(self, name), name, lo=1)
        for name in ("batch_size", "val_size", "val_batch_size"):
            checks.integer(getattr(self, name), name, lo=1)
        for name in ("warmup_steps", "eval_every", "checkpoint_every"):
            checks.integer(getattr(self, name), name, lo=0)
        checks.seed(self.seed, "seed")
        checks.positive(self.lr, "lr")
        if len(self.betas) != 2:
            raise ValueError(f"betas must be two floats in [0, 1), got {self.betas!r}")
        for i, b in enumerate(self.betas):
            checks.real(b, f"betas[{i}]", 0.0, 1.0, hi_open=True)
        checks.positive(self.eps, "eps")
        checks.nonnegative(self.weight_decay, "weight_decay")
        checks.choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        checks.real(self.min_lr_ratio, "min_lr_ratio", 0.0, 1.0)
        if self.grad_clip is not None:
            checks.positive(self.grad_clip, "grad_clip (None = no clipping)")
        seen = set()
        for item in self.regularisers:
            if len(item) != 2:
                raise ValueError(f"regularisers must be (name, weight) pairs, got {item!r}")
            name, w = item
            if name not in L.REGULARISERS:
                raise ValueError(f"unknown regulariser {name!r}; regularisers names must be in {L.REGULARISERS}")
            if name in seen:
                raise ValueError(f"regulariser {name!r} given twice in regularisers")
            seen.add(name)
            checks.nonnegative(w, f"regulariser weight for {name!r}")
        checks.real(self.noise_std, "noise_std", lo=0.0, hi=L.MAX_NOISE_STD)
        if "denoise" in seen and self.noise_std <= 0:
            raise ValueError("noise_std must be > 0 when the 'denoise' regulariser is used")
        if not self.clean_loss and "denoise" not in seen:
            raise ValueError("clean_loss=False needs the 'denoise' regulariser (else there is no loss)")
        checks.real(self.val_fraction, "val_fraction", 0.0, 1.0, hi_open=True)
        if self.threads is not None:
            checks.integer(self.threads, "threads (None = torch's setting)", lo=1)
        if self.resume and self.checkpoint_dir is None:
            raise ValueError("resume=True needs a checkpoint_dir")
        if self.prefetch is not None:
            checks.boolean(self.prefetch, "prefetch (None = auto)")
        if not isinstance(self.device, str):
            raise TypeError(f"device must be a str ('cpu', 'cuda' or 'cuda:N'), got {self.device!r}")
        if not re.fullmatch(r"cpu|cuda(:\d+)?", self.device):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if self.device != "cpu":
            idx = int(self.device.split(":")[1]) if ":" in self.device else 0
            n = torch.cuda.device_count() if torch.cuda.is_available() else 0
            if idx >= n:
                raise ValueError(f"device={self.device!r} but this machine has {n} CUDA device(s)")
        for name in _BOOL_FIELDS:
            checks.boolean(getattr(self, name), name)
        checks.choice(self.batching, "batching", BATCHINGS)
        checks.integer(self.keep_best_every, "keep_best_every (0 = keep the last weights)", lo=0)

    def resolved_threads(self) -> int:
        """Threads the run will use: ``threads``, or torch's current setting when None."""
        return self.threads if self.threads is not None else torch.get_num_threads()

    def resolved_prefetch(self) -> bool:
        """Whether sampler batches are prefetched: ``prefetch``, or (None) whether the
        training threads leave one of this process's cores free."""
        if self.prefetch is not None:
            return self.prefetch
        return self.resolved_threads() < _usable_cores()

    def replace(self, **changes) -> "TrainConfig":
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict (tuples as lists); ``TrainConfig(**d)`` rebuilds it."""
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        d["regularisers"] = [[n, float(w)] for n, w in self.regularisers]
        return d

    def lr_at(self, step: int, total: int) -> float:
        """Learning rate used for (0-based) optimiser step ``step`` of ``total``."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.lr_schedule == "constant" or total <= self.warmup_steps + 1:
            return self.lr
        t = (step - self.warmup_steps) / (total - self.warmup_steps - 1)
        lo = self.lr * self.min_lr_ratio
        if self.lr_schedule == "cosine":
            return lo + (self.lr - lo) * 0.5 * (1 + math.cos(math.pi * t))
        return self.lr + (lo - self.lr) * t
