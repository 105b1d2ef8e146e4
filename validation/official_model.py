"""The authors' disk autoencoder analysed with this toolkit: their layout, data and training.

    python -m validation.official_model [--weights PATH] [--quick] [--seed S] [--out DIR] [--FIELD value ...]

``nets.OfficialAE`` (the authors' Keras layout, 63x63, 1,116 parameters). ``--weights`` reads
a Keras 2.x HDF5 file of that layout (e.g. their ``disk_example_model_weights.h5``); without
it a net is trained under the authors' protocol (1000 disks of 63x63 drawn once, sigma 0.5,
8-bit; Adam 0.01 for 10,000 steps). The talk: the code follows the area.

Outputs in ``--out`` (default ``results/official_model``, ``results/official_model_quick`` with
``--quick``): ``config.json``, ``metrics.json``, ``weights.pt`` (trained nets only),
``official_model.npz``, ``official_model_latent.png``, ``official_model_manifold.png``,
``official_model_recon.png``.

Metrics: ``r2_z_area`` / ``r2_z_radius``, ``monotone_share``, ``max_reversal``, ``mse`` and
``mse_band_<lo>_<hi>``, ``radius_err_mean`` / ``radius_err_max`` (decoded radius, px).

Run time (2 idle cores, one torch thread): full run 2.5 min, ``--quick`` 15 s.
Measured results: docs/results/official_model.md
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

import nets
from geoshape import checks
from nets.official import OfficialAE, OfficialAEConfig, load_keras_weights
from validation.runs import official as R
from validation.core import (ExperimentConfig, Result, SweepSpec, Streams, flag, format_table, ints, param, reals,
                             run_cli, write_outputs)
from validation._io import save_npz
from validation._plots import finish, pyplot, save_image_rows

__all__ = ["Config", "main", "cli", "analyse", "train_official", "BANDS"]

#: What a sweep over seeds summarises first (figure and table).
SWEEP = SweepSpec(headlines=("r2_z_area", "r2_z_radius", "mse", "radius_err_mean", "monotone_share"))

#: Radius bands (pixels) of the per-band MSE; the last one is closed at ``max_radius``.
BANDS = (0.0, 8.0, 16.0, 24.0, 31.5)


def _weights_file(v, name: str) -> str:
    if not isinstance(v, str):
        raise TypeError(f"{name} must be a path (str), '' to train, got {type(v).__name__}")
    if v and not Path(v).is_file():
        raise ValueError(f"{name}: no such file {v}")
    return v


@dataclass(frozen=True)
class Config(ExperimentConfig):
    NAME = "official_model"
    QUICK = {"n_train": 256, "steps": 600, "keep_best_every": 100, "n_test": 60, "n_manifold": 61, "progress": False}

    weights: str = param("", "a Keras HDF5 weights file of the authors' layout to analyse, or '' to train one here",
                         _weights_file)
    bias: bool = param(True, "train the net with biases (the authors' Keras default)", flag)
    n_train: int = param(1000, "training disks drawn once, in [2, 100000]", ints(2, 100_000))
    max_radius: float = param(31.5, "radii are max_radius * U[0, 1) (pixels), in (0, 64]",
                              reals(0.0, 64.0, lo_open=True))
    sigma: float = param(0.5, "blur (pixels), in [0, 8]", reals(0.0, 8.0))
    quantize: bool = param(True, "8-bit rounding of the training images", flag)
    steps: int = param(10_000, "Adam steps, >= 1", ints(1))
    lr: float = param(0.01, "Adam learning rate (constant), > 0", reals(0.0, lo_open=True))
    batch_size: int = param(64, "images a batch, in [1, n_train]", ints(1))
    keep_best_every: int = param(500, "steps between keep-best checks (0 = keep the last weights)", ints(0))
    n_test: int = param(300, "exact test radii, in [3, 100000]", ints(3, 100_000))
    n_manifold: int = param(201, "points of the code line of the manifold figure, in [3, 100000]", ints(3, 100_000))
    progress: bool = param(True, "show a progress bar", flag)

    def validate(self) -> None:
        checks.integer(self.batch_size, "batch_size", lo=1, hi=self.n_train)


# ----------------------------------------------------------------------------- training
def train_official(config: Config, streams: Streams | None = None) -> tuple[OfficialAE, nets.History]:
    """A net of the authors' layout trained under their protocol (see the module docstring);
    its training set and its net come from the streams ``train/data`` and ``train/official_ae``
    of ``config.seed`` (recorded in ``streams`` if given)."""
    streams = streams if streams is not None else Streams(config.seed)
    images, _ = R.authors_data(config.n_train, seed=streams("train/data"), max_radius=config.max_radius,
                               sigma=config.sigma, quantize=config.quantize)
    net_seed = streams("train/official_ae")
    model = OfficialAE(OfficialAEConfig(bias=config.bias), seed=net_seed)
    tc = R.authors_train_config(steps=config.steps, seed=net_seed, lr=config.lr, batch_size=config.batch_size,
                                keep_best_every=config.keep_best_every, progress=config.progress,
                                threads=config.torch_threads, device=config.device)
    history = nets.train(model, images, tc)
    return model.cpu().eval(), history


# ----------------------------------------------------------------------------- analysis
def analyse(model: torch.nn.Module, *, max_radius: float = 31.5, sigma: float = 0.5, n_test: int = 300,
            n_manifold: int = 201) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The measures of the module docstring on exact disks; ``(metrics, arrays)``.

    ``model`` has ``encode`` (images ``(n, 1, s, s)`` -> codes ``(n, 1)``) and ``decode``, and
    a ``config.size``. ``arrays`` holds the test radii, codes, reconstructions and the
    manifold line, for the figures.
    """
    if model.config.latent_dim != 1:
        raise ValueError(f"model must have a 1-D code, got {model.config.latent_dim}")
    r = np.linspace(0.0, max_radius, n_test)
    a = R.measure(model, r, sigma=sigma)
    z, err = a["z"], a["mse"]
    dz = np.diff(z)
    trend = np.sign(z[-1] - z[0]) or 1.0
    z_range = float(z.max() - z.min())
    m = {
        "r2_z_area": R.r2_line(math.pi * r ** 2, z),
        "r2_z_radius": R.r2_line(r, z),
        "monotone_share": float(np.mean(dz * trend > 0)),
        "max_reversal": float(max(np.max(-dz * trend), 0.0) / z_range) if z_range > 0 else 1.0,
        "z_min": float(z.min()),
        "z_max": float(z.max()),
        "mse": float(err.mean()),
        "radius_err_mean": float(np.mean(np.abs(a["radius_hat"] - r))),
        "radius_err_max": float(np.max(np.abs(a["radius_hat"] - r))),
    }
    for lo, hi in zip(BANDS[:-1], BANDS[1:]):
        inside = (r >= lo) & ((r < hi) if hi < BANDS[-1] else (r <= hi))
        m[f"mse_band_{lo:g}_{hi:g}"] = float(err[inside].mean()) if inside.any() else float("nan")
    pad = 0.1 * max(z_range, 1e-6)
    zl = np.linspace(z.min() - pad, z.max() + pad, n_manifold)
    with torch.no_grad():
        yl = model.decode(torch.from_numpy(zl[:, None]).float())[:, 0].double().numpy()
    arrays = {k: a[k] for k in ("radius", "z", "images", "recon", "radius_hat")}
    arrays.update(manifold_z=zl, manifold_area=yl.sum(axis=(1, 2)))
    return m, arrays


# ----------------------------------------------------------------------------- figures
def _figures(arrays: dict, out: Path, title: str) -> None:
    plt = pyplot()
    r, z = arrays["radius"], arrays["z"]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    axes[0].plot(r, z, ".", ms=3)
    axes[0].set_xlabel("radius r (pixels)")
    axes[0].set_ylabel("code z = E(disk_r)")
    axes[0].set_title("latent vs radius", fontsize=9)
    axes[1].plot(np.pi * r ** 2, z, ".", ms=3)
    axes[1].set_xlabel("area pi r^2 (pixels^2)")
    axes[1].set_title("latent vs area", fontsize=9)
    fig.suptitle(title, fontsize=9)
    finish(fig, out / "official_model_latent.png", dpi=110)

    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    ax.plot(arrays["manifold_z"], arrays["manifold_area"], "-", lw=1.2, label="sum of D(z) along the code line")
    ax.plot(z, np.pi * r ** 2, ".", ms=3, label="test disks: (E(x_r), pi r^2)")
    ax.set_xlabel("code z")
    ax.set_ylabel("area (pixels^2)")
    ax.legend(fontsize=7)
    ax.set_title("area vs z (the decoder's manifold)", fontsize=9)
    finish(fig, out / "official_model_manifold.png", dpi=110)

    idx = np.linspace(0, len(r) - 1, 8).round().astype(int)
    save_image_rows([("disk", arrays["images"][idx]), ("D(E(disk))", np.clip(arrays["recon"][idx], 0, 1))],
                    [f"r={r[i]:.1f}" for i in idx], out / "official_model_recon.png", title)


# ----------------------------------------------------------------------------- main
def main(config: Config) -> Result:
    """Load or train the net, analyse it, write the outputs; returns the :class:`Result`."""
    out = config.output_dir
    streams = Streams(config.seed)
    t0 = time.perf_counter()
    histories = {}
    if config.weights:
        model = load_keras_weights(config.weights)
        source = f"Keras file {config.weights}"
        train_s = 0.0
    else:
        model, hist = train_official(config, streams)
        histories["official_ae"] = hist
        source = f"trained here ({config.steps} steps, seed {config.seed})"
        train_s = hist.seconds
    m, arrays = analyse(model, max_radius=config.max_radius, sigma=config.sigma, n_test=config.n_test,
                        n_manifold=config.n_manifold)
    m["parameters"] = float(sum(p.numel() for p in model.parameters()))
    m["train_seconds"] = float(train_s)
    if histories:
        h = histories["official_ae"]
        m["best_step"] = float(h.best_step) if h.best_step is not None else float("nan")
        m["best_batch_loss"] = float(h.best_loss) if h.best_loss is not None else float("nan")
        m["final_train_loss"] = float(h.train_loss[-1])
    m["total_seconds"] = time.perf_counter() - t0

    rows = [("R^2 of z on area / on radius", m["r2_z_area"], m["r2_z_radius"]),
            ("monotone share / max reversal", m["monotone_share"], m["max_reversal"]),
            ("MSE (per pixel)", m["mse"], ""),
            ("decoded radius error mean / max (px)", m["radius_err_mean"], m["radius_err_max"])]
    rows += [(f"MSE, r in [{lo:g}, {hi:g}{']' if hi == BANDS[-1] else ')'}", m[f"mse_band_{lo:g}_{hi:g}"], "")
             for lo, hi in zip(BANDS[:-1], BANDS[1:])]
    table = f"authors' layout, {int(m['parameters'])} parameters, {source}\n" + format_table(
        rows, ("measure", "value", ""))

    save_npz(out / "official_model.npz", arrays)
    _figures(arrays, out, f"authors' disk AE ({source})")
    write_outputs(out, config, m, weights={"official_ae": model} if not config.weights else None,
                  histories=histories, streams=streams.used)
    return Result(config=config, metrics=m, table=table, out=out, histories=histories)


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json,metrics.json,official_model*.png,official_model.npz")


if __name__ == "__main__":
    cli(sys.argv[1:])
