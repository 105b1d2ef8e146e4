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
import time
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from . import checkpoint as ckpt
from ._batches import make_batches, to_device_format
from ._objective import evaluate, make_loss_terms
from ._objective import total as total_loss
from ._torch_settings import torch_settings
# Re-exported: these lived in this module before it was split, and callers import them from here.
from .checkpoint import CHECKPOINT_NAME, load_checkpoint
from .history import History
from .train_config import LR_SCHEDULES, TrainConfig

__all__ = ["TrainConfig", "History", "train", "LR_SCHEDULES", "CHECKPOINT_NAME", "load_checkpoint"]


def _seed_of(ss: np.random.SeedSequence) -> int:
    """A non-negative 63-bit torch seed drawn from ``ss``."""
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for attr in ("encode", "decode"):
        if not callable(getattr(model, attr, None)):
            raise TypeError(f"model must define {attr}(); {type(model).__name__} does not")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no trainable parameters (requires_grad=True)")


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
    batches, val, train_images, total = make_batches(data, val_data, config, np.random.default_rng(split_ss),
                                                     np.random.default_rng(data_ss))
    checkpoint = ckpt.read_for_resume(config, model, train_images, val)

    with torch_settings(config, _seed_of(torch_ss)):
        history = _run(model, batches, val, config, total, noise_ss, checkpoint, callback, train_images)
    history.train_config = config.to_dict()
    history.model = model_record(model)
    return history


def model_record(model: nn.Module) -> dict:
    """``{"class": name, "config": {...}}`` of a model: what :class:`History` keeps of it."""
    cfg = getattr(model, "config", None)
    as_dict = dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else None
    return {"class": type(model).__name__, "config": as_dict}


def _run(model: nn.Module, batches: Any, val: torch.Tensor | None, config: TrainConfig, total: int,
         noise_ss: np.random.SeedSequence, checkpoint: dict | None, callback: Callable | None,
         train_images: torch.Tensor | None) -> History:
    """The loop: Adam steps ``start .. total - 1``, records every ``eval_every`` steps,
    checkpoints every ``checkpoint_every`` steps and at the end."""
    model.to(config.device)
    if config.channels_last and any(p.ndim == 4 for p in model.parameters()):
        model.to(memory_format=torch.channels_last)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=config.lr, betas=config.betas, eps=config.eps, weight_decay=config.weight_decay)
    noise_gen = torch.Generator().manual_seed(_seed_of(noise_ss))
    loss_terms = make_loss_terms(model, config, noise_gen)
    step_fn = torch.compile(loss_terms) if config.compile else loss_terms

    history = History()
    # The keep-best snapshot: the weights after the update of the step with the lowest
    # checked batch loss (that loss is the one of the weights before the update, as Keras'
    # train_on_batch reports it).
    best: dict[str, Any] = {"loss": math.inf, "step": None, "state": None}
    start, elapsed0 = 0, 0.0
    acc: dict[str, float] = {}
    acc_n = 0
    if checkpoint is not None:
        history, start, elapsed0, acc, acc_n = ckpt.restore(checkpoint, model=model, opt=opt, batches=batches,
                                                            noise_gen=noise_gen)
        best.update(checkpoint.get("best") or {})
    ckpt_path = ckpt.checkpoint_path(config)

    def save(step_done: int, elapsed: float) -> None:
        ckpt.save_checkpoint(ckpt_path, model=model, opt=opt, config=config, total=total, noise_gen=noise_gen,
                             batches=batches, train_images=train_images, val=val, history=history, acc=acc,
                             acc_n=acc_n, step_done=step_done, elapsed=elapsed,
                             best=best if best["state"] is not None else None)

    def record(step_done: int, lr: float) -> None:
        nonlocal acc, acc_n
        v = evaluate(model, val, config)
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
            x = to_device_format(batches.next().to(config.device, non_blocking=True), config.channels_last)
            terms = step_fn(x)
            loss = total_loss(terms)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            opt.step()

            vals = {k: float(v.detach()) for k, v in terms.items()}
            if not math.isfinite(sum(vals.values())):
                raise FloatingPointError(f"loss became non-finite at step {step + 1}: {vals}")
            if config.keep_best_every and step % config.keep_best_every == 0:
                batch_loss = float(loss.detach())
                if best["state"] is None or batch_loss < best["loss"]:
                    best.update(loss=batch_loss, step=step + 1, state=_state_copy(model))
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
    if best["state"] is not None:
        model.load_state_dict(best["state"])
        history.best_step, history.best_loss = best["step"], best["loss"]
    history.seconds = time.perf_counter() - t0
    return history


def _state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
