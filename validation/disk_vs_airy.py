"""Decoding a disk: the bias-free autoencoder's profile against Airy's function (talk, eqs. 1-8).

    python -m validation.disk_vs_airy [--quick] [--seed S] [--out DIR] [--FIELD value ...]

The project's main job. Trains the talk's 1-D-latent disk autoencoder without and with biases
(at once, one core each) on blurred centred disks (the project's protocol: 64x64, sigma 1),
and sets the bias-free profile ``f = D(1)`` beside ``theory``'s discrete optimum (top
eigenvector of the disks), numerical minimisation of the energy (eq. 3) and Airy's function (eq. 8).

Outputs in ``--out`` (default ``results/disk_vs_airy``, ``results/disk_vs_airy_quick`` with
``--quick``): ``config.json``, ``metrics.json``, ``weights.pt``, ``profiles.npz``,
``profile_vs_airy.png`` (the talk's figure), ``profile_images.png``, ``reconstructions.png``.

Metrics (unit-norm profiles, distance <= 2): ``l2_ae_vs_discrete``, ``l2_ae_vs_airy``,
``l2_discrete_vs_airy``; ``mse_bias_free_over_floor`` (rank-1 floor), ``mse_with_bias``.

Run time (2 idle cores, one torch thread a training): full run 3 min, ``--quick`` 36 s.
Measured results: docs/results/disk_vs_airy.md
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

import geoshape
import theory
from geoshape.io import atomic_write_json
from validation.runs.disk import codes_and_outputs, disk_spec, train_models
from validation.core import (ExperimentConfig, optional, Result, SweepSpec, Streams, flag, format_table, ints, one_of, param,
                             pow2, reals, run_cli, write_outputs)
from validation._io import save_npz
from validation._plots import finish, pyplot

__all__ = ["Config", "main", "cli"]

#: What a sweep over seeds summarises first (figure and table).
SWEEP = SweepSpec(headlines=("l2_ae_vs_discrete", "l2_ae_vs_airy", "mse_bias_free_over_floor", "mse_with_bias",
                             "l2_discrete_vs_airy", "z_positive_fraction"))


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """The two nets are ``nets.PRESETS["bias_free"]`` and ``nets.PRESETS["bias"]`` (Adam,
    cosine schedule, batch 64) with the steps, learning rates and upsampling below.

    The bias-free schedule was sized on the 2-core machine: with nearest upsampling its
    profile stalls 0.03 from the discrete optimum (the nearest-neighbour blocks leave stripes
    in D(1)); bilinear upsampling and 1600 steps at lr 2e-3 reached 0.009 (MSE 1.0017x the
    rank-1 floor); 2000 steps leave a margin. The net with biases keeps the preset's recipe
    (lr 4e-3, cosine) on 4000 steps.
    """

    NAME = "disk_vs_airy"
    QUICK = {"bias_free_steps": 300, "bias_steps": 300, "n_test": 512, "n_radii": 256, "energy_points": 400}

    size: int = param(64, "image side (pixels), a power of two >= 8", pow2(8))
    sigma: float = param(1.0, "blur of the disks: Gaussian std (pixels), in (0, 8]", reals(0.0, 8.0, lo_open=True))
    bias_free_steps: int | None = param(2000, "optimiser steps of the bias-free net, >= 1; none = the preset's (600)",
                                        optional(ints(1)))
    bias_steps: int | None = param(4000, "optimiser steps of the net with biases, >= 1; none = the preset's (5000)",
                                   optional(ints(1)))
    bias_free_lr: float | None = param(2e-3, "peak learning rate of the bias-free net, > 0; none = the preset's (2e-3)",
                                       optional(reals(0.0, lo_open=True)))
    bias_lr: float | None = param(None, "peak learning rate of the net with biases, > 0; none = the preset's (4e-3)",
                                  optional(reals(0.0, lo_open=True)))
    bias_free_upsampling: str = param("bilinear", "decoder upsampling of the bias-free net: nearest, bilinear or "
                                      "transpose", one_of("nearest", "bilinear", "transpose"))
    stratified: bool = param(True, "one training radius per cell of [0, R) in every batch (same law, less noise)",
                             flag)
    n_test: int = param(2048, "held-out random disks for the MSEs and codes, >= 16", ints(16))
    n_radii: int = param(1024, "midpoint radii of the discrete optimum (quadrature of U[0, R)), >= 16", ints(16))
    energy_points: int = param(2000, "grid points of the energy minimisation, >= 3", ints(3))
    parallel: bool = param(True, "train the two nets at once, one process (one core) each", flag)
    progress: bool = param(True, "show a progress bar over the trainings", flag)

    @property
    def r_max(self) -> float:
        return self.size / 2.0


def _specs(cfg: Config, streams: Streams) -> list[dict]:
    """The two trainings, named by preset: bias-free (with its own upsampling) and with biases."""
    common = dict(size=cfg.size, sigma=cfg.sigma, stratified=cfg.stratified, progress=cfg.progress,
                  threads=cfg.torch_threads, device=cfg.device)
    return [disk_spec("bias_free", "bias_free", seed=streams("train/bias_free"), steps=cfg.bias_free_steps,
                      lr=cfg.bias_free_lr, model_changes={"upsampling": cfg.bias_free_upsampling}, **common),
            disk_spec("bias", "bias", seed=streams("train/bias"), steps=cfg.bias_steps, lr=cfg.bias_lr, **common)]


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    v = v / np.linalg.norm(v)
    return v if v.sum() >= 0 else -v


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(_unit(a) - _unit(b)))


def _at_zero(rho: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Normalise a radial profile to f(0) = 1: divide by its mean over rho <= 2 pixels, where
    the profiles are flat to 1e-3 (Airy: f(2)/f(0) = 0.9995 for R = 32)."""
    return values / np.mean(values[rho <= 2.0])


def main(config: Config) -> Result:
    """Run the experiment; see the module docstring. Returns the metrics and the table."""
    cfg = config
    t_start = time.perf_counter()
    out = cfg.output_dir
    streams = Streams(cfg.seed)
    size, R = cfg.size, cfg.r_max

    # ---- theory: the three solutions of the variational problem
    radii = (np.arange(cfg.n_radii) + 0.5) * (R / cfg.n_radii)   # quadrature of U[0, R)
    discrete = theory.disk_profile(geoshape.disks(radii, size=size, sigma=cfg.sigma))
    airy_img = theory.airy_image(size, R, 0.0)
    report = theory.discrete_vs_airy(size, R, n_radii=cfg.n_radii, sigma=cfg.sigma)
    rho_e, f_e = theory.energy_minimiser(R, cfg.energy_points)
    f_airy_e = theory.airy_profile(rho_e, R)

    # ---- the two trainings
    trained, models = train_models(_specs(cfg, streams), cfg.parallel)

    # ---- held-out disks
    test = geoshape.centred_disks(cfg.n_test, size=size, sigma=cfg.sigma, rng=streams("test"))
    z_free, y_free = codes_and_outputs(models["bias_free"], test.images)
    z_bias, y_bias = codes_and_outputs(models["bias"], test.images)
    mse_free = float(np.mean((y_free - test.images) ** 2))
    mse_bias = float(np.mean((y_bias - test.images) ** 2))
    floor = theory.rank1_floor(test.images)

    # ---- the autoencoder's profile: D(+1) if most codes are positive, else D(-1)
    z_pos = float(np.mean(z_free > 0))
    sign = 1.0 if z_pos >= 0.5 else -1.0
    f_plus = models["bias_free"].profile(1.0).numpy().astype(np.float64)
    f_minus = models["bias_free"].profile(-1.0).numpy().astype(np.float64)
    f_ae = f_plus if sign > 0 else f_minus
    f_other = f_minus if sign > 0 else f_plus
    # The common direction of the outputs (top singular vector): equals D(sign) when the
    # codes share one sign.
    out_dir = theory.disk_profile(y_free)

    m = {
        "l2_ae_vs_discrete": _dist(f_ae, discrete),
        "l2_ae_vs_airy": _dist(f_ae, airy_img),
        "l2_discrete_vs_airy": _dist(discrete, airy_img),
        "l2_energy_vs_airy": float(np.sqrt(np.trapezoid((f_e / np.sqrt(np.trapezoid(f_e ** 2 * rho_e, rho_e))
                                                    - f_airy_e / np.sqrt(np.trapezoid(f_airy_e ** 2 * rho_e, rho_e))) ** 2
                                                   * rho_e, rho_e))),
        "max_abs_energy_vs_airy": float(np.max(np.abs(f_e - f_airy_e))),
        "l2_outputs_vs_discrete": _dist(out_dir, discrete),
        "l2_discrete_vs_blurred_airy": report.l2_discrete_vs_blurred_airy,
        "l2_discrete_blur_effect": report.l2_sigma_vs_sigma0,
        "l2_discrete_grid_effect": report.l2_pixel_grid_vs_airy,
        "l2_discrete_radius_sampling_effect": report.l2_sigma0_vs_pixel_grid,
        "discrete_outside_R_fraction": report.outside_fraction,
        "mse_bias_free": mse_free,
        "mse_rank1_floor": floor,
        "mse_bias_free_over_floor": mse_free / floor,
        "mse_with_bias": mse_bias,
        "z_positive_fraction": z_pos,
        # The ray the codes do not use (D(-sign)), relative to the profile they use.
        "negative_profile_norm_ratio": float(np.linalg.norm(f_other) / np.linalg.norm(f_ae)),
        "negative_profile_cosine": float(np.sum(f_other * f_ae) / (np.linalg.norm(f_other) * np.linalg.norm(f_ae) + 1e-30)),
        "encoder_corr_z_area_bias": float(np.corrcoef(z_bias, test.factors["radius"] ** 2)[0, 1]),
        "train_seconds_bias_free": trained["bias_free"]["seconds"],
        "train_seconds_bias": trained["bias"]["seconds"],
        "train_seconds": max(r["seconds"] for r in trained.values()) if cfg.parallel
        else sum(r["seconds"] for r in trained.values()),
        "steps_bias_free": trained["bias_free"]["history"]["steps"][-1],
        "steps_bias": trained["bias"]["history"]["steps"][-1],
    }

    for target in (1e-3, 1e-4):   # when the net with biases got there (absent if never)
        t_hit = _time_to(trained["bias"]["history"], target)
        m[f"bias_reached_mse_{target:.0e}"] = float(np.isfinite(t_hit))
        if np.isfinite(t_hit):
            m[f"bias_seconds_to_mse_{target:.0e}"] = t_hit

    # ---- figures, from saved data
    rho_a, v_ae = theory.radial_profile(_unit(f_ae))
    _, v_disc = theory.radial_profile(discrete)
    t_fine = np.linspace(0.0, R, 400)
    data = {"rho": rho_a, "ae": _at_zero(rho_a, v_ae), "discrete": _at_zero(rho_a, v_disc),
            "energy_rho": rho_e, "energy_f": f_e, "airy_t": t_fine,
            "airy_f": theory.airy_profile(t_fine, R), "f_ae_image": _unit(f_ae),
            "f_other_image": f_other, "discrete_image": discrete, "airy_image": airy_img,
            "test_radius": test.factors["radius"], "z_bias_free": z_free, "z_bias": z_bias}
    save_npz(out / "profiles.npz", data)
    _plot_profiles(data, out / "profile_vs_airy.png", m)
    _plot_images(data, out / "profile_images.png", m)
    _plot_reconstructions(test, y_free, y_bias, out / "reconstructions.png")
    m["total_seconds"] = time.perf_counter() - t_start

    write_outputs(out, cfg, m, dict(models), histories={k: r["history"] for k, r in trained.items()},
                  streams=streams.used)
    atomic_write_json({k: r["history"] for k, r in trained.items()}, out / "histories.json")
    table = _table(m, report)
    return Result(cfg, m, table, out, {k: r["history"] for k, r in trained.items()})


def _time_to(history: dict, target: float) -> float:
    """Seconds of training until the validation MSE first reached ``target`` (NaN if never)."""
    for t, v in zip(history["time"], history["val_mse"]):
        if v <= target:
            return float(t)
    return float("nan")


def _plot_profiles(d, path, m):
    fig, ax = pyplot().subplots(figsize=(6.4, 4.2))
    ax.plot(d["airy_t"], d["airy_f"], "k-", lw=2, label="Airy's function (closed form)")
    ax.plot(d["energy_rho"], d["energy_f"], "C1--", lw=1.5, label="numerical minimisation of energy")
    ax.plot(d["rho"], d["discrete"], "C2.", ms=3, label="discrete optimum (top eigenvector)")
    ax.plot(d["rho"], d["ae"], "C0x", ms=3, label="bias-free autoencoder, D(sign z) for its codes' sign")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_xlabel("t (pixels from the centre)")
    ax.set_ylabel("f(t), f(0) = 1")
    ax.set_title(f"Decoding a disk: |AE - discrete| = {m['l2_ae_vs_discrete']:.3f}, "
                 f"|discrete - Airy| = {m['l2_discrete_vs_airy']:.3f}", fontsize=9)
    ax.legend(fontsize=8)
    finish(fig, path, dpi=120)


def _plot_images(d, path, m):
    panels = [("autoencoder D(sign z)", d["f_ae_image"]), ("discrete optimum", d["discrete_image"]),
              ("Airy on the grid", d["airy_image"]),
              ("AE - discrete", d["f_ae_image"] - d["discrete_image"])]
    fig, axes = pyplot().subplots(1, 4, figsize=(11, 3))
    for ax, (title, img) in zip(axes, panels):
        lim = np.abs(img).max()
        im = ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
        fig.colorbar(im, ax=ax, fraction=0.046)
    finish(fig, path, dpi=100)


def _plot_reconstructions(test, y_free, y_bias, path, n=8):
    order = np.argsort(test.factors["radius"])
    pick = order[np.linspace(0, len(order) - 1, n).astype(int)]
    fig, axes = pyplot().subplots(3, n, figsize=(1.4 * n, 4.4))
    for c, k in enumerate(pick):
        for r, (img, label) in enumerate([(test.images[k], "input"), (y_bias[k], "with bias"),
                                          (y_free[k], "bias-free")]):
            axes[r, c].imshow(img, cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if c == 0:
                axes[r, c].set_ylabel(label, fontsize=8)
        axes[0, c].set_title(f"r = {test.factors['radius'][k]:.1f}", fontsize=8)
    finish(fig, path, dpi=90)


def _table(m: dict, report) -> str:
    rows = [
        ("|AE profile - discrete optimum|", m["l2_ae_vs_discrete"], "<= 0.01"),
        ("|AE profile - Airy|", m["l2_ae_vs_airy"], ""),
        ("|discrete optimum - Airy|", m["l2_discrete_vs_airy"], "blur dominates"),
        ("  of which blur |P_sigma - P_0|", m["l2_discrete_blur_effect"], ""),
        ("  grid alone |G - A|", m["l2_discrete_grid_effect"], ""),
        ("  radius quadrature |P_0 - G|", m["l2_discrete_radius_sampling_effect"], ""),
        ("|discrete - Airy blurred like the disks|", m["l2_discrete_vs_blurred_airy"], ""),
        ("|energy minimiser - Airy| (radial L2)", m["l2_energy_vs_airy"], ""),
        ("MSE bias-free", m["mse_bias_free"], ""),
        ("MSE rank-1 floor (best h(r) f)", m["mse_rank1_floor"], ""),
        ("MSE bias-free / floor", m["mse_bias_free_over_floor"], "<= 1.002"),
        ("MSE with bias", m["mse_with_bias"], "<= 1e-4"),
        ("fraction of codes z > 0", m["z_positive_fraction"], ""),
        ("|unused ray D(-s)| / |profile D(s)|", m["negative_profile_norm_ratio"], ""),
        ("train seconds (wall)", m["train_seconds"], ""),
    ]
    return format_table(rows, ("quantity", "value", "target"))


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, profiles.npz, *.png")


if __name__ == "__main__":
    cli(sys.argv[1:])
