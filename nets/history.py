"""What a training run recorded: :class:`History` (one entry per evaluation).

Examples
--------
>>> h = History(steps=[100, 200], train_loss=[0.5, 0.2], val_mse=[0.4, 0.1], time=[1.0, 2.0])
>>> h.final_val_mse, h.steps_to(0.2), h.time_to(0.2)
(0.1, 200, 2.0)
>>> History.from_dict(h.to_dict()) == h
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["History"]


@dataclass
class History:
    """What a run recorded, one entry per evaluation (every ``eval_every`` steps and the end).

    steps: optimiser steps done at each record. train_loss: mean total loss over the steps
    since the previous record. val_mse: validation metric (per-pixel MSE of the reconstruction,
    or the model's own ``validation_mse``) or NaN without validation data. terms:
    name -> mean of that (weighted) loss term over the same steps. lr: learning rate of the
    last step. time: wall-clock seconds since the start of training (all work included,
    resumed runs continue the clock). seconds: total wall time. best_step / best_loss: with
    ``TrainConfig.keep_best_every``, the steps done when the kept weights were taken and their
    batch loss (else None). train_config: the run's ``TrainConfig.to_dict()``; model: the trained
    model's class and config (``{"class": name, "config": {...}}``), so a history says what
    trained (both set by :func:`nets.train`; None for a history built by hand).
    """

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_mse: list[float] = field(default_factory=list)
    terms: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    seconds: float = 0.0
    best_step: int | None = None
    best_loss: float | None = None
    train_config: dict | None = None
    model: dict | None = None

    def to_dict(self) -> dict:
        """Plain lists and floats (JSON-ready; stored in checkpoints)."""
        return {
            "steps": list(self.steps),
            "train_loss": list(self.train_loss),
            "val_mse": list(self.val_mse),
            "terms": {k: list(v) for k, v in self.terms.items()},
            "lr": list(self.lr),
            "time": list(self.time),
            "seconds": float(self.seconds),
            "best_step": self.best_step,
            "best_loss": None if self.best_loss is None else float(self.best_loss),
            "train_config": self.train_config,
            "model": self.model,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(
            steps=list(d["steps"]), train_loss=list(d["train_loss"]), val_mse=list(d["val_mse"]),
            terms={k: list(v) for k, v in d["terms"].items()}, lr=list(d["lr"]), time=list(d["time"]),
            seconds=float(d["seconds"]), best_step=d.get("best_step"),
            best_loss=d.get("best_loss"), train_config=d.get("train_config"), model=d.get("model"),
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
        """Optimiser steps until val_mse first reached ``<= target`` (None if never)."""
        for s, v in zip(self.steps, self.val_mse):
            if v <= target:
                return s
        return None
