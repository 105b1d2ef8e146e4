"""The training engine every experiment uses.

    history = train(model, data, TrainConfig(steps=2000), val_data=None)

Adam on the model's trainable parameters, the talk's loss (eq. 1, per-pixel mean squared
error) or the model's own ``training_loss`` hook, plus weighted regularisers from
:mod:`nets.losses`. Same seed -> bit-identical history and weights on CPU; ``resume=True``
continues from the last checkpoint to the same numbers as an uninterrupted run.

Model protocol: ``encode(x) -> (n, d)``, ``decode(z)``, ``forward = decode . encode``.
Optional hooks:

* ``training_loss(x_in, x_target) -> dict[str, Tensor]`` replaces the default
  ``{"mse": mean((model(x_in) - x_target)^2)}``; entries are summed (already weighted).
* ``validation_mse(x) -> Tensor`` replaces the validation metric (default: per-pixel MSE of
  ``model(x)`` against ``x``), for models whose target is not the input (position encoder).

Randomness: ``np.random.SeedSequence(seed)`` spawns independent streams for (a) the train /
validation split or the validation draw, (b) batch order or the sampler, (c) the denoising
noise, (d) the global torch RNG, which is forked for the duration of the call and seeded, so
a model that calls ``torch.randn`` (a VAE) is reproducible and the caller's RNG is untouched.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from . import losses as L
from ._io import atomic_torch_save

__all__ = ["TrainConfig", "History", "train", "LR_SCHEDULES", "CHECKPOINT_NAME", "load_checkpoint"]

LR_SCHEDULES = ("constant", "cosine", "linear")
CHECKPOINT_NAME = "last.pt"
_CHECKPOINT_FORMAT = 1
# Config fields that may differ between a run and its resumption (they do not change numbers).
_RESUME_FREE = ("resume", "progress", "checkpoint_dir", "checkpoint_every", "prefetch")


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


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
    eval_every: record train loss and validation every this many steps (and at the end);
        0 = only at the end.
    val_batch_size: chunk size of the validation forward passes.
    seed: the one seed of the run (see module docstring).
    threads: ``torch.set_num_threads`` during training (restored after); None (default)
        keeps torch's setting (one thread per physical core, or ``OMP_NUM_THREADS``). Give
        ``threads=1`` when several trainings or other busy processes share the cores: on
        the 2-core machine a 2-thread training ran 3x slower than a 1-thread one while a
        busy loop held the other core (OpenMP threads spin-wait on each other), and 1.6x
        faster when it had both cores to itself (validation.bench_nets).
    channels_last: run 4-D image models in channels-last memory format (same numbers up to
        float rounding; 5-10 % more steps/s for the disk AE on the 2-core machine).
    flush_denormal: flush denormal floats to zero while training (no-op where unsupported).
    compile: wrap the loss computation in ``torch.compile`` (disk AE, 1 thread: 32.0 vs 31.4
        steps/s after 2.6 s of compilation; see validation.bench_nets).
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

    def __post_init__(self) -> None:
        # Normalise lists to tuples so configs compare, hash and round-trip through JSON.
        object.__setattr__(self, "betas", tuple(self.betas))
        object.__setattr__(self, "regularisers", tuple((str(n), w) for n, w in self.regularisers))
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, str):
            object.__setattr__(self, "checkpoint_dir", os.fspath(self.checkpoint_dir))
        self.validate()

    def validate(self) -> None:
        """Raise ValueError (TypeError for wrong types) naming the field and allowed range."""
        if (self.steps is None) == (self.epochs is None):
            raise ValueError(f"give exactly one of steps and epochs, got steps={self.steps!r}, epochs={self.epochs!r}")
        for name in ("steps", "epochs"):
            v = getattr(self, name)
            if v is not None and (not _is_int(v) or v < 1):
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        for name, lo in (("batch_size", 1), ("val_size", 1), ("val_batch_size", 1)):
            v = getattr(self, name)
            if not _is_int(v) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
        for name in ("warmup_steps", "eval_every", "checkpoint_every", "seed"):
            v = getattr(self, name)
            if not _is_int(v) or v < 0:
                raise ValueError(f"{name} must be an int >= 0, got {v!r}")
        if not _is_real(self.lr) or self.lr <= 0:
            raise ValueError(f"lr must be a finite float > 0, got {self.lr!r}")
        if len(self.betas) != 2 or not all(_is_real(b) and 0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two floats in [0, 1), got {self.betas!r}")
        if not _is_real(self.eps) or self.eps <= 0:
            raise ValueError(f"eps must be a float > 0, got {self.eps!r}")
        if not _is_real(self.weight_decay) or self.weight_decay < 0:
            raise ValueError(f"weight_decay must be a float >= 0, got {self.weight_decay!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not _is_real(self.min_lr_ratio) or not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio!r}")
        if self.grad_clip is not None and (not _is_real(self.grad_clip) or self.grad_clip <= 0):
            raise ValueError(f"grad_clip must be None or a float > 0, got {self.grad_clip!r}")
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
            if not _is_real(w) or w < 0:
                raise ValueError(f"regulariser weight for {name!r} must be a finite float >= 0, got {w!r}")
        if not _is_real(self.noise_std) or self.noise_std < 0:
            raise ValueError(f"noise_std must be a float >= 0, got {self.noise_std!r}")
        if "denoise" in seen and self.noise_std <= 0:
            raise ValueError("noise_std must be > 0 when the 'denoise' regulariser is used")
        if not self.clean_loss and "denoise" not in seen:
            raise ValueError("clean_loss=False needs the 'denoise' regulariser (else there is no loss)")
        if not _is_real(self.val_fraction) or not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if self.threads is not None and (not _is_int(self.threads) or self.threads < 1):
            raise ValueError(f"threads must be None or an int >= 1, got {self.threads!r}")
        if self.resume and self.checkpoint_dir is None:
            raise ValueError("resume=True needs a checkpoint_dir")
        if self.prefetch is not None and not isinstance(self.prefetch, bool):
            raise TypeError(f"prefetch must be None (auto) or a bool, got {self.prefetch!r}")
        if not isinstance(self.device, str):
            raise TypeError(f"device must be a str ('cpu', 'cuda' or 'cuda:N'), got {self.device!r}")
        if not re.fullmatch(r"cpu|cuda(:\d+)?", self.device):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if self.device != "cpu":
            idx = int(self.device.split(":")[1]) if ":" in self.device else 0
            n = torch.cuda.device_count() if torch.cuda.is_available() else 0
            if idx >= n:
                raise ValueError(f"device={self.device!r} but this machine has {n} CUDA device(s)")
        for name in ("clean_loss", "channels_last", "flush_denormal", "compile", "resume", "progress", "deterministic"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")

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
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
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


@dataclass
class History:
    """What a run recorded, one entry per evaluation (every ``eval_every`` steps and the end).

    steps: optimiser steps done at each record. train_loss: mean total loss over the steps
    since the previous record. val_mse: validation metric (per-pixel MSE) or NaN. terms:
    name -> mean of that (weighted) loss term over the same steps. lr: learning rate of the
    last step. time: wall-clock seconds since the start of training (all work included,
    resumed runs continue the clock). seconds: total wall time.
    """

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_mse: list[float] = field(default_factory=list)
    terms: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "steps": list(self.steps),
            "train_loss": list(self.train_loss),
            "val_mse": list(self.val_mse),
            "terms": {k: list(v) for k, v in self.terms.items()},
            "lr": list(self.lr),
            "time": list(self.time),
            "seconds": float(self.seconds),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(
            steps=list(d["steps"]), train_loss=list(d["train_loss"]), val_mse=list(d["val_mse"]),
            terms={k: list(v) for k, v in d["terms"].items()}, lr=list(d["lr"]), time=list(d["time"]),
            seconds=float(d["seconds"]),
        )

    @property
    def final_val_mse(self) -> float:
        return self.val_mse[-1] if self.val_mse else float("nan")

    def time_to(self, target: float) -> float | None:
        """Seconds until val_mse first reached ``<= target`` (None if never)."""
        for t, v in zip(self.time, self.val_mse):
            if v <= target:
                return t
        return None

    def steps_to(self, target: float) -> int | None:
        for s, v in zip(self.steps, self.val_mse):
            if v <= target:
                return s
        return None


# ----------------------------------------------------------------------------- data
def _as_images(a: Any, name: str) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (or a sampler callable for data), got {type(a).__name__}")
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must have a floating dtype (float32), got {a.dtype}")
    if a.ndim not in (2, 3, 4) or (a.ndim == 4 and a.shape[1] != 1):
        raise ValueError(f"{name} must have shape (n, s, s), (n, 1, s, s) or (n, L), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return t.unsqueeze(1) if t.ndim == 3 else t


class _ArrayBatches:
    """Epoch-wise shuffled batches (the last incomplete batch of an epoch is dropped)."""

    def __init__(self, images: torch.Tensor, batch_size: int, rng: np.random.Generator):
        self.images, self.batch_size, self.rng = images, batch_size, rng
        self.perm = torch.empty(0, dtype=torch.long)
        self.pos = 0

    def next(self) -> torch.Tensor:
        if self.pos + self.batch_size > len(self.perm):
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


class _SamplerBatches:
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
        t = _as_images(self.sample(self.batch_size, self.rng), "sample(n, rng)")
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


def _fingerprint(t: torch.Tensor | None) -> list | None:
    if t is None:
        return None
    return [list(t.shape), zlib.adler32(t.numpy().tobytes())]


# ----------------------------------------------------------------------------- engine
def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for attr in ("encode", "decode"):
        if not callable(getattr(model, attr, None)):
            raise TypeError(f"model must define {attr}(); {type(model).__name__} does not")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no trainable parameters (requires_grad=True)")


def _make_loss(model: nn.Module, config: TrainConfig, noise_gen: torch.Generator) -> Callable:
    hook = getattr(model, "training_loss", None)

    def base(x_in: torch.Tensor, x_target: torch.Tensor) -> dict[str, torch.Tensor]:
        if callable(hook):
            out = hook(x_in, x_target)
            if not isinstance(out, dict) or not out:
                raise TypeError("model.training_loss must return a non-empty dict[str, Tensor]")
            return out
        return {"mse": L.reconstruction_mse(model, x_in, x_target)}

    regs = dict(config.regularisers)

    def loss_terms(x: torch.Tensor) -> dict[str, torch.Tensor]:
        terms = base(x, x) if config.clean_loss else {}
        if "denoise" in regs:
            eta = torch.randn(x.shape, generator=noise_gen, dtype=x.dtype).to(x.device)
            noisy = base(_to_device_format(x + config.noise_std * eta, config.channels_last), x)
            terms["denoise"] = regs["denoise"] * torch.stack([v for v in noisy.values()]).sum()
        if "latent_l2" in regs:
            terms["latent_l2"] = regs["latent_l2"] * L.latent_l2(x, model.encode(x))
        if "encoder_l2" in regs:
            terms["encoder_l2"] = regs["encoder_l2"] * L.encoder_l2(model)
        if "all_l2" in regs:
            terms["all_l2"] = regs["all_l2"] * L.all_l2(model)
        if "contractive" in regs:
            terms["contractive"] = regs["contractive"] * L.contractive(model, x)
        return terms

    return loss_terms


def _to_device_format(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    if channels_last and x.ndim == 4:
        # A (n, 1, s, s) tensor is already channels-last compatible in memory; this only
        # fixes its strides so the first conv picks the channels-last kernel.
        return x.contiguous(memory_format=torch.channels_last)
    return x


@torch.no_grad()
def _evaluate(model: nn.Module, val: torch.Tensor | None, config: TrainConfig) -> float:
    if val is None:
        return float("nan")
    hook = getattr(model, "validation_mse", None)
    model.eval()
    try:
        total, count = 0.0, 0
        for i in range(0, len(val), config.val_batch_size):
            x = _to_device_format(val[i : i + config.val_batch_size].to(config.device), config.channels_last)
            if callable(hook):
                total += float(hook(x)) * len(x)
                count += len(x)
            else:
                y = model(x)
                total += float(torch.sum((y - x.reshape(y.shape)) ** 2, dtype=torch.float64))
                count += x.numel()
        return total / count
    finally:
        model.train()


def load_checkpoint(checkpoint_dir: str | os.PathLike) -> dict:
    """The dict stored in ``checkpoint_dir/last.pt`` (model_state, optimizer_state, config,
    seed, step, rng, data, history, ...)."""
    path = Path(checkpoint_dir) / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


def train(
    model: nn.Module,
    data: np.ndarray | Callable[[int, np.random.Generator], np.ndarray],
    config: TrainConfig,
    *,
    val_data: np.ndarray | None = None,
    callback: Callable[[int, nn.Module, dict], Any] | None = None,
) -> History:
    """Train ``model`` in place with Adam; return the :class:`History`.

    data: float array ``(n, s, s)``, ``(n, 1, s, s)`` or ``(n, L)``, or a sampler
        ``sample(n, rng) -> array`` called with a ``numpy.random.Generator`` for each batch.
    val_data: array for validation; None -> a ``val_fraction`` split of an array dataset,
        or ``val_size`` images drawn once from the sampler with their own seed.
    callback: called after every step as ``callback(step_done, model, terms)``; returning
        True stops training after that step (a last record is made; no checkpoint).

    All arguments are validated before any step (ValueError/TypeError naming the argument).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    _check_model(model)
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable or None")
    ss = np.random.SeedSequence(config.seed)
    split_ss, data_ss, noise_ss, torch_ss = ss.spawn(4)
    split_rng = np.random.default_rng(split_ss)
    val = _as_images(val_data, "val_data") if val_data is not None else None

    if callable(data) and not isinstance(data, np.ndarray):
        if val is None:
            val = _as_images(data(config.val_size, split_rng), "sample(val_size, rng)")
        batches: Any = _SamplerBatches(data, config.batch_size, np.random.default_rng(data_ss), tuple(val.shape[1:]),
                                       prefetch=config.resolved_prefetch())
        n_train = None
        if config.epochs is not None:
            raise ValueError("epochs needs an array dataset; give steps for a sampler")
        train_images = None
    else:
        images = _as_images(data, "data")
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
        batches = _ArrayBatches(train_images, config.batch_size, np.random.default_rng(data_ss))
    total = config.steps if config.steps is not None else config.epochs * (n_train // config.batch_size)

    ckpt_path = Path(config.checkpoint_dir) / CHECKPOINT_NAME if config.checkpoint_dir else None
    checkpoint = None
    if config.resume and ckpt_path.is_file():
        checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        _check_resumable(checkpoint, config, model, train_images, val)

    # ---- set the process-wide knobs for the duration of the run, restore them after
    prev_threads = torch.get_num_threads()
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
            torch.manual_seed(int(torch_ss.generate_state(1, np.uint64)[0] >> np.uint64(1)))
            return _run(model, batches, val, config, total, noise_ss, checkpoint, ckpt_path, callback, train_images)
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        if config.flush_denormal:
            torch.set_flush_denormal(False)


def _check_resumable(ckpt: dict, config: TrainConfig, model: nn.Module, train_images, val) -> None:
    if ckpt.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint format {ckpt.get('format')!r} is not {_CHECKPOINT_FORMAT}")
    mine = {k: v for k, v in config.to_dict().items() if k not in _RESUME_FREE}
    theirs = {k: v for k, v in ckpt["config"].items() if k not in _RESUME_FREE}
    diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    if diff:
        raise ValueError(f"cannot resume: config differs from the checkpoint's in {diff}")
    if ckpt["model_class"] != type(model).__name__:
        raise ValueError(f"cannot resume: checkpoint holds a {ckpt['model_class']}, model is a {type(model).__name__}")
    if ckpt["data_fingerprint"] != [_fingerprint(train_images), _fingerprint(val)]:
        raise ValueError("cannot resume: the training or validation data differ from the checkpoint's")


def _run(model, batches, val, config, total, noise_ss, checkpoint, ckpt_path, callback, train_images) -> History:
    model.to(config.device)
    if config.channels_last and any(p.ndim == 4 for p in model.parameters()):
        model.to(memory_format=torch.channels_last)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=config.lr, betas=config.betas, eps=config.eps, weight_decay=config.weight_decay)
    noise_gen = torch.Generator().manual_seed(int(noise_ss.generate_state(1, np.uint64)[0] >> np.uint64(1)))
    loss_terms = _make_loss(model, config, noise_gen)
    step_fn = torch.compile(loss_terms) if config.compile else loss_terms

    history = History()
    start, elapsed0 = 0, 0.0
    acc: dict[str, float] = {}
    acc_n = 0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model_state"])
        opt.load_state_dict(checkpoint["optimizer_state"])
        batches.load(checkpoint["data"])
        noise_gen.set_state(checkpoint["rng"]["noise"])
        torch.set_rng_state(checkpoint["rng"]["torch"])
        history = History.from_dict(checkpoint["history"])
        start, elapsed0 = int(checkpoint["step"]), float(checkpoint["elapsed"])
        acc, acc_n = dict(checkpoint["acc"]), int(checkpoint["acc_n"])

    def save(step_done: int, elapsed: float) -> None:
        state = {
            "format": _CHECKPOINT_FORMAT,
            "model_class": type(model).__name__,
            "model_state": {k: v.contiguous() for k, v in model.state_dict().items()},
            "optimizer_state": opt.state_dict(),
            "config": config.to_dict(),
            "seed": config.seed,
            "step": step_done,
            "total_steps": total,
            "rng": {"noise": noise_gen.get_state(), "torch": torch.get_rng_state()},
            "data": batches.state(),
            "data_fingerprint": [_fingerprint(train_images), _fingerprint(val)],
            "history": history.to_dict(),
            "acc": dict(acc),
            "acc_n": acc_n,
            "elapsed": elapsed,
        }
        atomic_torch_save(state, ckpt_path)

    def record(step_done: int, lr: float) -> None:
        nonlocal acc, acc_n
        v = _evaluate(model, val, config)
        history.steps.append(step_done)
        history.train_loss.append(sum(acc.values()) / acc_n)
        for k in acc:
            history.terms.setdefault(k, []).append(acc[k] / acc_n)
        history.val_mse.append(v)
        history.lr.append(lr)
        history.time.append(time.perf_counter() - t0)
        acc, acc_n = {}, 0
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3g}", val=f"{v:.3g}", refresh=False)

    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=start, disable=not config.progress, desc=type(model).__name__,
               mininterval=1.0, leave=False)
    t0 = time.perf_counter() - elapsed0
    lr = config.lr
    try:
        for step in range(start, total):
            lr = config.lr_at(step, total)
            for g in opt.param_groups:
                g["lr"] = lr
            x = _to_device_format(batches.next().to(config.device, non_blocking=True), config.channels_last)
            terms = step_fn(x)
            loss = torch.stack(list(terms.values())).sum() if len(terms) > 1 else next(iter(terms.values()))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            opt.step()

            vals = {k: float(v.detach()) for k, v in terms.items()}
            if not math.isfinite(sum(vals.values())):
                raise FloatingPointError(f"loss became non-finite at step {step + 1}: {vals}")
            for k, v in vals.items():
                acc[k] = acc.get(k, 0.0) + v
            acc_n += 1
            step_done = step + 1
            bar.update(1)
            if (config.eval_every and step_done % config.eval_every == 0) or step_done == total:
                record(step_done, lr)
            if ckpt_path is not None and (
                (config.checkpoint_every and step_done % config.checkpoint_every == 0) or step_done == total
            ):
                save(step_done, time.perf_counter() - t0)
            if callback is not None and callback(step_done, model, vals):
                if acc_n:  # stopped between records: record where it stopped
                    record(step_done, lr)
                break
    finally:
        bar.close()
        batches.close()
    history.seconds = time.perf_counter() - t0
    return history
