"""Checkpoints of the training engine: what ``checkpoint_dir/last.pt`` holds, how it is
written (atomically, :func:`nets.io.atomic_torch_save`), read back, and checked before a
run resumes from it.

A checkpoint is a dict (format :data:`CHECKPOINT_FORMAT`) with the model and optimiser
states, the config (``TrainConfig.to_dict()``), the step reached and the total, every random
state (noise generator, global torch RNG, batch source), fingerprints of the training and
validation data, the history so far, the loss accumulated since the last record, and the
elapsed seconds. Resuming from it gives the numbers of an uninterrupted run; it is refused
when the config (apart from :data:`RESUME_FREE` fields), the model class or the data differ.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .history import History
from .io import atomic_torch_save
from .train_config import TrainConfig

__all__ = ["CHECKPOINT_NAME", "CHECKPOINT_FORMAT", "RESUME_FREE", "load_checkpoint", "checkpoint_path",
           "read_for_resume", "save_checkpoint", "restore"]

#: File name of the checkpoint inside ``TrainConfig.checkpoint_dir``.
CHECKPOINT_NAME = "last.pt"
#: Version of the checkpoint dict; a checkpoint of another format is refused.
CHECKPOINT_FORMAT = 1
#: Config fields that may differ between a run and its resumption (they do not change numbers).
RESUME_FREE = ("resume", "progress", "checkpoint_dir", "checkpoint_every", "prefetch")


def load_checkpoint(checkpoint_dir: str | os.PathLike) -> dict:
    """The dict stored in ``checkpoint_dir/last.pt`` (model_state, optimizer_state, config,
    seed, step, rng, data, history, ...).

    ``checkpoint_dir`` is the run's ``TrainConfig.checkpoint_dir``, or the checkpoint file
    itself (``.../last.pt``, or a copy under another name). FileNotFoundError naming it when
    there is no checkpoint; ValueError when the file is not a checkpoint of the engine.
    """
    if not isinstance(checkpoint_dir, (str, os.PathLike)):
        raise TypeError(f"checkpoint_dir must be a path (str or os.PathLike), got {type(checkpoint_dir).__name__}")
    given = Path(checkpoint_dir)
    path = given if given.is_file() else given / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint_dir: no checkpoint at {path} (give the checkpoint folder or the "
                                f"{CHECKPOINT_NAME} file itself)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling errors of every kind mean "not a checkpoint"
        raise ValueError(f"checkpoint_dir: {path} is not a checkpoint of nets.train "
                         f"({type(exc).__name__}: {str(exc)[:200]})") from exc
    if not isinstance(ckpt, dict) or "format" not in ckpt:
        raise ValueError(f"checkpoint_dir: {path} is not a checkpoint of nets.train (no checkpoint dict)")
    return ckpt


def checkpoint_path(config: TrainConfig) -> Path | None:
    """``checkpoint_dir/last.pt``, or None when the run writes no checkpoints."""
    return Path(config.checkpoint_dir) / CHECKPOINT_NAME if config.checkpoint_dir else None


def fingerprint(t: torch.Tensor | None) -> list | None:
    """``[shape, adler32 of the bytes]`` of a CPU tensor (None for None)."""
    if t is None:
        return None
    return [list(t.shape), zlib.adler32(t.numpy().tobytes())]


def read_for_resume(config: TrainConfig, model: nn.Module, train_images: torch.Tensor | None,
                    val: torch.Tensor | None) -> dict | None:
    """The checkpoint to resume from: None unless ``config.resume`` and the file exists;
    ValueError when it does not belong to this run (format, config, model class, data)."""
    path = checkpoint_path(config)
    if not config.resume or not path.is_file():
        return None
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint format {ckpt.get('format')!r} is not {CHECKPOINT_FORMAT}")
    mine = {k: v for k, v in config.to_dict().items() if k not in RESUME_FREE}
    theirs = {k: v for k, v in ckpt["config"].items() if k not in RESUME_FREE}
    diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    if diff:
        raise ValueError(f"cannot resume: config differs from the checkpoint's in {diff}")
    if ckpt["model_class"] != type(model).__name__:
        raise ValueError(f"cannot resume: checkpoint holds a {ckpt['model_class']}, model is a {type(model).__name__}")
    if ckpt["data_fingerprint"] != [fingerprint(train_images), fingerprint(val)]:
        raise ValueError("cannot resume: the training or validation data differ from the checkpoint's")
    return ckpt


def save_checkpoint(path: Path, *, model: nn.Module, opt: torch.optim.Optimizer, config: TrainConfig,
                    total: int, noise_gen: torch.Generator, batches: Any, train_images: torch.Tensor | None,
                    val: torch.Tensor | None, history: History, acc: dict[str, float], acc_n: int,
                    step_done: int, elapsed: float, best: dict | None = None) -> None:
    """Write the checkpoint of a run after ``step_done`` steps (atomically); ``best`` is the
    keep-best snapshot ``{"loss", "step", "state"}`` or None."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "model_class": type(model).__name__,
        "model_state": {k: v.contiguous() for k, v in model.state_dict().items()},
        "optimizer_state": opt.state_dict(),
        "config": config.to_dict(),
        "seed": config.seed,
        "step": step_done,
        "total_steps": total,
        "rng": {"noise": noise_gen.get_state(), "torch": torch.get_rng_state()},
        "data": batches.state(),
        "data_fingerprint": [fingerprint(train_images), fingerprint(val)],
        "history": history.to_dict(),
        "acc": dict(acc),
        "acc_n": acc_n,
        "elapsed": elapsed,
    }
    if best is not None:
        state["best"] = {"loss": float(best["loss"]), "step": int(best["step"]),
                         "state": {k: v.contiguous() for k, v in best["state"].items()}}
    atomic_torch_save(state, path)


def restore(ckpt: dict, *, model: nn.Module, opt: torch.optim.Optimizer, batches: Any,
            noise_gen: torch.Generator) -> tuple[History, int, float, dict[str, float], int]:
    """Load a checkpoint's states into the run (model, optimiser, batch source, noise
    generator, global torch RNG); returns ``(history, start_step, elapsed_s, acc, acc_n)``."""
    model.load_state_dict(ckpt["model_state"])
    opt.load_state_dict(ckpt["optimizer_state"])
    batches.load(ckpt["data"])
    noise_gen.set_state(ckpt["rng"]["noise"])
    torch.set_rng_state(ckpt["rng"]["torch"])
    return (History.from_dict(ckpt["history"]), int(ckpt["step"]), float(ckpt["elapsed"]),
            dict(ckpt["acc"]), int(ckpt["acc_n"]))
