"""Missing radii 11-18 break interpolation unless the latent space is regularised (slides 21-26).

    python -m validation.interpolation [--quick] [--seed S] [--out DIR] [--FIELD value ...]

Under the project's protocol (centred disks, 64x64, sigma 1, fresh per batch), trains the
talk's 1-D-latent disk AE with biases on radii in [0, 32) minus the gap [11, 18), without
regulariser (``none``) and with the talk's three (``latent_l2``, ``denoise``, ``encoder_l2``),
``replicates`` nets each (streams ``replicate/k``). The authors' protocol: ``validation.interpolation_official``.

Outputs in ``--out`` (default ``results/interpolation``, ``results/interpolation_quick`` with
``--quick``): ``config.json``, ``metrics.json``, ``weights.pt``, ``interpolation.npz``,
``latent_vs_radius.png``, ``gap_reconstructions.png``, ``latent_navigation.png``.

Metrics per variant (mean over seeds): ``mse_gap`` / ``mse_seen``, ``monotonic_fraction``,
``max_reversal`` (worst seed), ``n_monotone``, ``navigation_monotone`` (slide 21).

Run time (2 idle cores, one torch thread a training): full run 4.2 min, ``--quick`` 28 s.
Measured results: docs/results/interpolation.md
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

import geoshape
from validation import metrics as vm
from validation.runs.disk import codes_and_outputs, cpu_seconds, grid_specs, max_reversal, train_models
from validation.core import (ExperimentConfig, Result, SweepSpec, Streams, flag, format_table, ints, param, pow2,
                             reals, run_cli, write_outputs)
from validation._io import save_npz
from validation._plots import finish, pyplot, save_image_rows

__all__ = ["Config", "main", "cli", "VARIANTS"]


VARIANTS = ("none", "latent_l2", "denoise", "encoder_l2")
_LABELS = {"none": "no regulariser", "latent_l2": "type 1: latent l2", "denoise": "type 2: denoising",
           "encoder_l2": "type 3: encoder weights"}
# Rough relative cost per step (measured): type 1 adds an encoder pass; the others cost ~1.
_COST = {"latent_l2": 1.4, "none": 1.0, "denoise": 1.0, "encoder_l2": 1.05}


#: What a sweep over seeds summarises first (figure and table).
SWEEP = SweepSpec(variants=VARIANTS, headlines=("gap_over_seen_{v}", "mse_gap_{v}", "monotonic_fraction_{v}",
                                                 "max_reversal_{v}"),
                  pairs=tuple((v, "none") for v in VARIANTS if v != "none"))


def _gap(v, name: str) -> tuple[float, float]:
    g = geoshape.checks.real_array(v, name)
    if g.shape != (2,):
        raise ValueError(f"{name} must be (lo, hi), got {v!r}")
    return (float(g[0]), float(g[1]))


def _variants(v, name: str) -> tuple[str, ...]:
    if isinstance(v, str) or not v or any(x not in VARIANTS for x in v) or len(set(v)) != len(v):
        raise ValueError(f"{name} must be distinct names from {VARIANTS}, got {v!r}")
    return tuple(v)


@dataclass(frozen=True)
class Config(ExperimentConfig):
    NAME = "interpolation"
    QUICK = {"replicates": 1, "steps": 200, "sweep_step": 0.25, "n_navigation": 32}

    size: int = param(64, "image side (pixels), a power of two >= 8", pow2(8))
    sigma: float = param(1.0, "blur of the disks: Gaussian std (pixels), in (0, 8]", reals(0.0, 8.0, lo_open=True))
    gap: tuple[float, float] = param((11.0, 18.0), "missing radii [lo, hi) (pixels), 0 < lo < hi < size/2", _gap)
    variants: tuple[str, ...] = param(VARIANTS, f"regularisers compared, distinct names from {VARIANTS}", _variants)
    replicates: int = param(3, "trainings of each variant, in [1, 8]; replicate k is the named stream "
                               "replicate/k of the seed, the same for every variant", ints(1, 8))
    steps: int = param(1000, "optimiser steps of each training, >= 1", ints(1))
    latent_l2_weight: float = param(1e-8, "type 1 weight (the term is ~1e6 at init), > 0", reals(0.0, lo_open=True))
    denoise_std: float = param(0.1, "type 2 per-pixel noise std on [0, 1] images, > 0", reals(0.0, lo_open=True))
    encoder_l2_weight: float = param(1e-5, "type 3 weight (sum |W|^2 ~ 40 at init), > 0", reals(0.0, lo_open=True))
    sweep_step: float = param(0.1, "radius step (pixels) of the sweep (k + 1/2) * step over [0, size/2), in (0, 1]",
                              reals(0.0, 1.0, lo_open=True))
    n_navigation: int = param(64, "decoded codes in the linear z sweep, >= 4", ints(4))
    parallel: bool = param(True, "train on two processes, one core each", flag)
    progress: bool = param(False, "show a progress bar over the trainings", flag)

    def validate(self) -> None:
        if not 0.0 < self.gap[0] < self.gap[1] < self.size / 2:
            raise ValueError(f"gap must be (lo, hi) with 0 < lo < hi < size/2, got {self.gap}")

    def train_changes(self, variant: str) -> dict:
        if variant == "latent_l2":
            return {"regularisers": (("latent_l2", self.latent_l2_weight),)}
        if variant == "denoise":
            return {"regularisers": (("denoise", 1.0),), "noise_std": self.denoise_std, "clean_loss": False}
        if variant == "encoder_l2":
            return {"regularisers": (("encoder_l2", self.encoder_l2_weight),)}
        return {}


def _navigation(model, z_lo: float, z_hi: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``n`` codes linearly spaced on [z_lo, z_hi]; returns (codes, images (n, s, s))."""
    import torch

    z = np.linspace(z_lo, z_hi, n)
    with torch.no_grad():
        y = model.decode(torch.tensor(z, dtype=torch.float32)[:, None])[:, 0].numpy()
    return z, y


def main(config: Config) -> Result:
    cfg = config
    t_start = time.perf_counter()
    out = cfg.output_dir
    streams = Streams(cfg.seed)
    lo, hi = cfg.gap
    reps = {f"rep{k}": streams(f"replicate/{k}") for k in range(cfg.replicates)}
    seeds = list(reps)
    specs = grid_specs({v: {"train_changes": cfg.train_changes(v)} for v in cfg.variants}, reps, cost=_COST,
                       size=cfg.size, sigma=cfg.sigma, steps=cfg.steps, exclude=cfg.gap, progress=cfg.progress,
                       threads=cfg.torch_threads, device=cfg.device)
    trained, models = train_models(specs, cfg.parallel)

    n_sweep = int(round(cfg.size / 2 / cfg.sweep_step))
    radii = (np.arange(n_sweep) + 0.5) * cfg.sweep_step
    images = geoshape.disks(radii, size=cfg.size, sigma=cfg.sigma)
    in_gap = (radii >= lo) & (radii < hi)
    cols = np.linspace(lo - 3.0, hi + 3.0, 8)
    col_imgs = geoshape.disks(cols, size=cfg.size, sigma=cfg.sigma)

    m: dict[str, float] = {}
    z_all, rec_cols, nav_imgs, nav_z = {}, {}, {}, {}
    for v in cfg.variants:
        for s in seeds:
            name = f"{v}_{s}"
            mod = models[name]
            z, y = codes_and_outputs(mod, images)
            rc = codes_and_outputs(mod, col_imgs)[1]
            err = np.mean((y - images) ** 2, axis=(1, 2))
            zn, yn = _navigation(mod, z[0], z[-1], cfg.n_navigation)
            area = yn.reshape(len(yn), -1).sum(1)
            z_all[name], rec_cols[name], nav_imgs[name], nav_z[name] = z, rc, yn, zn
            m[f"mse_gap_{name}"] = float(err[in_gap].mean())
            m[f"mse_seen_{name}"] = float(err[~in_gap].mean())
            m[f"monotonic_fraction_{name}"] = vm.monotonic_fraction(z, radii)
            dead = bool(np.ptp(z) == 0.0)  # a constant code carries no radius at all
            m[f"dead_{name}"] = float(dead)
            m[f"max_reversal_{name}"] = 1.0 if dead else max_reversal(z, radii)
            m[f"monotone_{name}"] = False if dead else vm.is_monotonic(z, radii)
            # a dead code decodes one image wherever z goes: no step of the navigation moves it
            m[f"navigation_monotone_{name}"] = 0.0 if dead else vm.monotonic_fraction(area, zn)
            m[f"train_seconds_{name}"] = trained[name]["history"]["seconds"]
        per = lambda key: [m[f"{key}_{v}_{s}"] for s in seeds]  # noqa: E731
        m[f"mse_gap_{v}"] = float(np.mean(per("mse_gap")))
        m[f"mse_seen_{v}"] = float(np.mean(per("mse_seen")))
        m[f"gap_over_seen_{v}"] = m[f"mse_gap_{v}"] / m[f"mse_seen_{v}"]
        m[f"monotonic_fraction_{v}"] = float(np.mean(per("monotonic_fraction")))
        m[f"max_reversal_{v}"] = float(np.max(per("max_reversal")))
        m[f"n_monotone_{v}"] = int(np.sum(per("monotone")))
        m[f"n_dead_{v}"] = int(np.sum(per("dead")))
        m[f"navigation_monotone_{v}"] = float(np.mean(per("navigation_monotone")))
    m["replicates"] = len(seeds)
    m["steps"] = cfg.steps
    m["train_cpu_seconds"] = cpu_seconds(trained.values())

    s0 = seeds[0]
    data = {"radius": radii, "gap": np.array(cfg.gap), "replicates": np.array(seeds),
            "variants": np.array(cfg.variants), "columns_radius": cols, "columns_input": col_imgs}
    for name in z_all:
        data[f"z_{name}"] = z_all[name]
    for v in cfg.variants:
        data[f"columns_{v}"] = rec_cols[f"{v}_{s0}"]
        data[f"navigation_z_{v}"] = nav_z[f"{v}_{s0}"]
        data[f"navigation_{v}"] = nav_imgs[f"{v}_{s0}"]
    save_npz(out / "interpolation.npz", data)
    _plot_latent(data, out / "latent_vs_radius.png", m)
    _plot_columns(data, out / "gap_reconstructions.png")
    _plot_navigation(data, out / "latent_navigation.png")
    m["total_seconds"] = time.perf_counter() - t_start
    write_outputs(out, cfg, m, models, histories={n: t["history"] for n, t in trained.items()},
                  streams=streams.used)
    return Result(cfg, m, _table(m, cfg.variants), out, {n: t["history"] for n, t in trained.items()})


def _plot_latent(d, path, m):
    variants = list(d["variants"])
    fig, axes = pyplot().subplots(1, len(variants), figsize=(3.4 * len(variants), 3.2), squeeze=False)
    lo, hi = d["gap"]
    for ax, v in zip(axes[0], variants):
        for i, k in enumerate(d["replicates"]):
            ax.plot(d["radius"], d[f"z_{v}_{k}"], f"C{i}-", lw=1.2, label=f"replicate {k[3:]}")
        ax.axvspan(lo, hi, color="0.85", zorder=0, label="missing radii")
        ax.set_title(f"{_LABELS[v]}\nmonotone steps {m[f'monotonic_fraction_{v}']:.3f}, "
                     f"reversal {m[f'max_reversal_{v}']:.3f}", fontsize=8)
        ax.set_xlabel("r (pixels)")
    axes[0, 0].set_ylabel("z")
    axes[0, 0].legend(fontsize=7)
    finish(fig, path, dpi=110)


def _plot_columns(d, path):
    rows = [("input", d["columns_input"])] + [(_LABELS[v], d[f"columns_{v}"]) for v in d["variants"]]
    lo, hi = d["gap"]
    titles = [f"r = {r:.1f}" + (" *" if lo <= r < hi else "") for r in d["columns_radius"]]
    save_image_rows(rows, titles, path, f"Reconstructions across the missing radii [{lo:g}, {hi:g}) (*), "
                                       f"replicate {d['replicates'][0][3:]}")


def _plot_navigation(d, path, n_cols=10):
    rows, titles = [], None
    for v in d["variants"]:
        imgs = d[f"navigation_{v}"]
        pick = np.linspace(0, len(imgs) - 1, n_cols).round().astype(int)
        rows.append((_LABELS[v], imgs[pick]))
        titles = [f"t = {t:.2f}" for t in np.linspace(0, 1, n_cols)]
    save_image_rows(rows, titles, path, "Effect of linearly increasing z: D(z_min + t (z_max - z_min)), "
                                       f"replicate {d['replicates'][0][3:]}")


def _table(m: dict, variants) -> str:
    rows = [(_LABELS[v], m[f"mse_seen_{v}"], m[f"mse_gap_{v}"], m[f"gap_over_seen_{v}"],
             m[f"monotonic_fraction_{v}"], m[f"max_reversal_{v}"],
             f"{m[f'n_monotone_{v}']:.0f}/{m['replicates']:.0f}", f"{m[f'n_dead_{v}']:.0f}",
             m[f"navigation_monotone_{v}"]) for v in variants]
    return format_table(rows, ("variant", "MSE seen", "MSE gap", "gap/seen", "monotone steps",
                               "max reversal", "monotone nets", "dead codes", "navigation"))


def _footer(result: Result) -> str:
    return f"\ntrain CPU {result.metrics['train_cpu_seconds']:.0f} s; total {result.metrics['total_seconds']:.0f} s"


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, interpolation.npz, *.png",
                   _footer)


if __name__ == "__main__":
    cli(sys.argv[1:])
