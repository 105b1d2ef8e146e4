"""Decoding position: an MLP decoder of continuous Diracs (talk, eq. 13), at and between integers.

    python -m validation.position_decoder [--quick] [--seed S] [--out DIR] [--FIELD value ...]

The talk: a decoder trained on integer Diracs "does not produce reliable results"; eq. 13,
with a continuous a, partly fixes it. Two ``nets.PositionDecoder`` MLPs (a -> ``length``
pixels), same architecture and schedule, each its own named streams: ``continuous`` (eq. 13 Diracs, a uniform on
[0, length - 1]) and ``integer`` (integer Diracs only), evaluated at integer, half-integer
(``between``) and ``n_test`` random real positions.

Outputs in ``--out`` (default ``results/position_decoder``, ``results/position_decoder_quick``
with ``--quick``): ``config.json``, ``metrics.json``, ``weights.pt``, ``decoder.npz``,
``position_decoder_sweep.png``, ``position_decoder_errors.png``.

Metrics (``int_`` prefix: the integer-trained one): ``mse_*`` against the eq. 13 Dirac,
``com_err_*`` (whole output's centre of mass), ``peak_com_err_*`` (3 pixels around the peak).

Run time (2 idle cores, one torch thread a training): full run 24 s, ``--quick`` 15 s.
Measured results: docs/results/position_decoder.md
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

import geoshape
from validation.core import (ExperimentConfig, tuple_of, Result, SweepSpec, Streams, flag, format_table, ints, param, reals,
                             run_cli, write_outputs)
from validation._io import save_npz
from validation._plots import finish, pyplot

__all__ = ["Config", "main", "cli", "centre_of_mass", "peak_centre_of_mass"]

#: What a sweep over seeds summarises first (figure and table).
SWEEP = SweepSpec(headlines=("mse_between", "int_mse_between", "int_over_continuous_mse_between",
                             "com_err_mean_random", "int_com_err_mean_random", "mse_random"))

KINDS = ("continuous", "integer")


def _length(v, name: str) -> int:
    v = ints(4, 1024)(v, name)
    if v & (v - 1):
        raise ValueError(f"{name} must be a power of two in [4, 1024], got {v!r}")
    return v


_hidden = tuple_of(ints(1), what="positive ints")


@dataclass(frozen=True)
class Config(ExperimentConfig):
    NAME = "position_decoder"
    QUICK = {"steps": 3000, "n_test": 1024, "n_sweep": 311}

    length: int = param(32, "Dirac length, a power of two in [4, 1024]", _length)
    hidden: tuple[int, ...] = param((128, 128, 128, 128), "MLP widths, positive ints", _hidden)
    steps: int = param(5000, "Adam steps, >= 2", ints(2))
    batch_size: int = param(128, "positions a batch, >= 2", ints(2))
    lr: float = param(2e-3, "Adam learning rate (cosine decay to 0), > 0", reals(0.0, lo_open=True))
    n_test: int = param(2048, "random real test positions, >= 2", ints(2))
    n_sweep: int = param(1241, "points of the fine sweep of a over [0, length - 1] in the error figure, >= 2", ints(2))
    sweep_start: int = param(-1, "the integer k where the figure's sweep a in [k, k + 1] starts (-1: the middle), "
                                 "in [-1, length - 2]", ints(-1))
    progress: bool = param(False, "show a progress bar per training", flag)

    def validate(self) -> None:
        if self.sweep_start > self.length - 2:
            raise ValueError(f"sweep_start must be an int in [-1, length - 2 = {self.length - 2}], "
                             f"got {self.sweep_start!r}")


# ----------------------------------------------------------------------------- metrics
def _outputs(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] < 2:
        raise ValueError(f"y must have shape (n, length) with length >= 2, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite")
    return y


def centre_of_mass(y) -> np.ndarray:
    """``sum_t t y_t / sum_t y_t`` per row of ``y`` ``(n, length)`` (0-based pixel units);
    NaN where the mass is 0."""
    y = _outputs(y)
    mass = y.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass != 0, (y * np.arange(y.shape[1])).sum(1) / np.where(mass != 0, mass, 1), np.nan)


def peak_centre_of_mass(y) -> np.ndarray:
    """Centre of mass of each row restricted to its maximum and the two neighbours (clipped at
    the ends; negative values count as 0). Exact for eq. 13 Diracs."""
    y = _outputs(y)
    n, length = y.shape
    k = np.clip(np.argmax(y, axis=1), 1, length - 2)
    idx = k[:, None] + np.array([-1, 0, 1])[None, :]
    w = np.clip(np.take_along_axis(y, idx, axis=1), 0, None)
    mass = w.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass > 0, (w * idx).sum(1) / np.where(mass > 0, mass, 1), np.nan)


# ----------------------------------------------------------------------------- training
class _Diracs:
    """Sampler for ``nets.train``: eq. 13 Diracs at uniform real positions, or integer ones."""

    def __init__(self, length: int, continuous: bool):
        self.length, self.continuous = length, continuous

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return geoshape.random_diracs(n, self.length, continuous=self.continuous, rng=rng).images


def _train(kind: str, cfg: Config, val: np.ndarray, seed: int):
    import nets

    model = nets.PositionDecoder(nets.PositionDecoderConfig(length=cfg.length, hidden=cfg.hidden), seed=seed)
    tc = nets.TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, lr_schedule="cosine",
                          eval_every=max(1, cfg.steps // 20), threads=cfg.torch_threads, device=cfg.device,
                          progress=cfg.progress, seed=seed)
    hist = nets.train(model, _Diracs(cfg.length, kind == "continuous"), tc, val_data=val)
    model.cpu()
    model.eval()
    return model, hist


def _decode(model, a: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model.decode(torch.tensor(a, dtype=torch.float32)[:, None]).numpy().astype(np.float64)


def _scores(model, a: np.ndarray, length: int) -> dict:
    y = _decode(model, a)
    target = geoshape.dirac(a, length).astype(np.float64)
    com = np.abs(centre_of_mass(y) - a)
    peak = np.abs(peak_centre_of_mass(y) - a)
    return {"mse": float(np.mean((y - target) ** 2)), "com_err_mean": float(np.nanmean(com)),
            "com_err_max": float(np.nanmax(com)), "peak_com_err_mean": float(np.nanmean(peak)),
            "peak_com_err_max": float(np.nanmax(peak)), "y": y, "target": target,
            "mse_each": np.mean((y - target) ** 2, axis=1), "com_each": com, "peak_each": peak}


# ----------------------------------------------------------------------------- main
def main(config: Config) -> Result:
    """Train both decoders, evaluate, write the outputs; see the module docstring."""
    cfg = config
    t_start = time.perf_counter()
    out = cfg.output_dir
    streams = Streams(cfg.seed)
    n = cfg.length
    test = geoshape.random_diracs(cfg.n_test, n, continuous=True, rng=streams("test"))
    a_rand = test.factors["position"]
    val = geoshape.random_diracs(512, n, continuous=True, rng=streams("validation")).images
    sets = {"integer": np.arange(n, dtype=np.float64), "between": np.arange(n - 1) + 0.5, "random": a_rand}

    models, hists, m = {}, {}, {}
    k0 = n // 2 - 1 if cfg.sweep_start < 0 else cfg.sweep_start
    a_cell = k0 + np.linspace(0.0, 1.0, 5)
    a_fine = np.linspace(0.0, n - 1, cfg.n_sweep)
    data = {"a_cell": a_cell, "target_cell": geoshape.dirac(a_cell, n), "a_fine": a_fine, "test_position": a_rand}
    for kind in KINDS:
        model, hist = _train(kind, cfg, val, streams(f"train/{kind}"))
        models[kind], hists[kind] = model, hist
        pre = "" if kind == "continuous" else "int_"
        for name, a in sets.items():
            s = _scores(model, a, n)
            for key in ("mse", "com_err_mean", "com_err_max", "peak_com_err_mean", "peak_com_err_max"):
                m[f"{pre}{key}_{name}"] = s[key]
        m[f"{pre}train_seconds"] = hist.seconds
        fine = _scores(model, a_fine, n)
        data.update({f"{kind}_cell": _decode(model, a_cell), f"{kind}_mse_fine": fine["mse_each"],
                     f"{kind}_com_fine": fine["com_each"], f"{kind}_peak_fine": fine["peak_each"],
                     f"{kind}_val_steps": np.array(hist.steps), f"{kind}_val_mse": np.array(hist.val_mse)})
    m["mse_constant_baseline"] = float(np.mean((test.images - test.images.mean(0)) ** 2))
    m["int_over_continuous_mse_between"] = m["int_mse_between"] / max(m["mse_between"], 1e-30)

    save_npz(out / "decoder.npz", data)
    _plot_sweep(data, out / "position_decoder_sweep.png")
    _plot_errors(data, out / "position_decoder_errors.png")
    m["total_seconds"] = time.perf_counter() - t_start
    write_outputs(out, cfg, m, {f"decoder_{k}": v for k, v in models.items()}, histories=hists,
                  streams=streams.used)
    return Result(cfg, m, _table(m, cfg), out, {k: h.to_dict() for k, h in hists.items()})


def _plot_sweep(d: dict, path: Path) -> None:
    a = d["a_cell"]
    fig, axes = pyplot().subplots(1, len(a), figsize=(2.6 * len(a), 2.8), sharey=True)
    t = np.arange(d["target_cell"].shape[1])
    lo, hi = int(np.floor(a[0])) - 3, int(np.ceil(a[-1])) + 4
    for c, ax in enumerate(axes):
        ax.plot(t, d["target_cell"][c], "k-", lw=2.5, alpha=0.35, label="eq. 13 target")
        ax.plot(t, d["continuous_cell"][c], "C0o-", ms=3, lw=1, label="trained on real a")
        ax.plot(t, d["integer_cell"][c], "C1s--", ms=3, lw=1, label="trained on integer a")
        ax.axvline(a[c], color="0.6", lw=0.8)
        ax.set_xlim(lo, hi)
        ax.set_title(f"a = {a[c]:.2f}", fontsize=9)
        ax.set_xlabel("pixel t")
    axes[0].set_ylabel("D(a)[t]")
    axes[0].legend(fontsize=6, loc="upper left")
    finish(fig, path, dpi=110)


def _plot_errors(d: dict, path: Path) -> None:
    a = d["a_fine"]
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 3.6))
    for kind, style in (("continuous", "C0-"), ("integer", "C1-")):
        axes[0].semilogy(a, np.maximum(d[f"{kind}_mse_fine"], 1e-14), style, lw=0.8, label=f"trained on {kind} a")
        axes[1].semilogy(a, np.maximum(d[f"{kind}_peak_fine"], 1e-9), style, lw=0.8, label=f"trained on {kind} a")
    axes[0].set_ylabel("per-pixel MSE of D(a)")
    axes[1].set_ylabel("|peak centre of mass - a| (pixels)")
    for ax in axes:
        ax.set_xlabel("position a")
        ax.legend(fontsize=7)
    finish(fig, path, dpi=110)


def _table(m: dict, cfg: Config) -> str:
    rows = []
    for name, label in (("integer", "integer a"), ("between", "a = k + 1/2"), ("random", "random real a")):
        rows.append((f"MSE, {label}", m[f"mse_{name}"], m[f"int_mse_{name}"]))
    for name, label in (("integer", "integer a"), ("between", "a = k + 1/2")):
        rows.append((f"max |CoM - a|, {label}", m[f"com_err_max_{name}"], m[f"int_com_err_max_{name}"]))
        rows.append((f"max |peak CoM - a|, {label}", m[f"peak_com_err_max_{name}"], m[f"int_peak_com_err_max_{name}"]))
    rows.append(("best constant image MSE (random a)", m["mse_constant_baseline"], ""))
    rows.append(("train seconds", m["train_seconds"], m["int_train_seconds"]))
    return format_table(rows, ("quantity (length %d)" % cfg.length, "trained on real a", "trained on integer a"))


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, decoder.npz, *.png")


if __name__ == "__main__":
    cli(sys.argv[1:])
