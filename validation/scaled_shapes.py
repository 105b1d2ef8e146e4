"""General scaling: the bias-free disk AE on scaled shapes and scaled MNIST digits (talk, "further work").

    python -m validation.scaled_shapes [--quick] [--seed S] [--out DIR] [--FIELD value ...]
    python -m validation.runners.sweep scaled_shapes --seeds 0:5      # the same over seeds

Claim (docs/general_scaling.md): for a star-shaped shape the optimal bias-free decoder is the
disk's Airy profile composed with the shape's gauge (Theorem 1), and a nested family's code
never folds (Theorem 2); the annulus, not star-shaped, breaks both. The talk's 1-D-latent disk
AE (``nets.DiskAE``, the recipe of ``validation.disk_vs_airy``) is trained without and with
biases on each family of ``validation.runs.scaled`` (shapes, one digit, a digit class) and held
against the discrete optimum and the gauge-Airy image; then the missing-band protocol on scale.

Outputs in ``--out`` (default ``results/scaled_shapes``, ``results/scaled_shapes_quick`` with
``--quick``): ``config.json``, ``metrics.json`` (keys ``<family>.<metric>``), ``weights.pt``,
``scaled_shapes.npz``, ``level_sets.png``, ``codes_vs_scale.png``, ``digit_reconstructions.png``,
``band.png``.

Run time (2 idle cores, one torch thread a training): full run 6.2 min, ``--quick`` 22 s.
Protocol, metrics and measured results: docs/results/scaled_shapes.md
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

import geoshape
from validation.core import (ExperimentConfig, optional, Result, Streams, SweepSpec, flag, format_table, ints, limited_threads,
                             one_of, param, reals, run_cli, write_outputs)
from validation._io import save_npz
from validation._plots import finish, pyplot
from validation.runs.disk import bank_spec, train_bank_models
from validation.runs.scaled import (SHAPE_PARAMS, SHAPES, evaluate_band, evaluate_family, family_names,
                                    make_family, training_set)

__all__ = ["Config", "main", "cli", "GROUPS", "SWEEP"]

#: What ``families`` may name: a shape, ``digit`` (one digit per class in ``digits``) or
#: ``digits`` (every train digit of each class in ``digits``).
GROUPS = SHAPES + ("digit", "digits")
#: Test digits per class of the split (``geoshape.digits_split``).
TEST_PER_CLASS = 100
#: What a sweep over seeds summarises first.
SWEEP = SweepSpec(headlines=(
    "square.cos_net_vs_gauge_airy", "polygon.cos_net_vs_gauge_airy", "star.cos_net_vs_gauge_airy",
    "annulus.cos_discrete_vs_gauge_airy", "annulus.fold_scale_predicted", "annulus.fold_scale_observed",
    "digit_1.z_monotone", "digit_3.z_monotone", "digit_8.z_monotone", "digits_3.z_monotone",
    "band_square.none.gap_over_seen", "band_square.latent_l2.gap_over_seen", "square.mse_bias_free_over_floor",
    "digit_3.fold_scale_predicted", "digits_3.cos_net_vs_discrete", "digits_3.r2_z_mass", "digits_3.r2_z_scale",
    "band_square.none.z_monotone", "band_square.latent_l2.z_monotone"))


def _groups(v, name: str) -> tuple[str, ...]:
    if isinstance(v, str) or not isinstance(v, (tuple, list)) or any(x not in GROUPS for x in v) \
            or len(set(v)) != len(v):
        raise ValueError(f"{name} must be distinct names from {GROUPS}, got {v!r}")
    return tuple(v)


def _classes(v, name: str) -> tuple[int, ...]:
    if isinstance(v, (str, int)) or not isinstance(v, (tuple, list)) or not v or len(set(v)) != len(v) \
            or any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c <= 9 for c in v):
        raise ValueError(f"{name} must be distinct digit classes in [0, 9] (at least one), got {v!r}")
    return tuple(int(c) for c in v)


def _band(v, name: str) -> tuple[float, float]:
    b = geoshape.checks.real_array(v, name)
    if b.shape != (2,) or not 0.0 < b[0] < b[1] < 1.0:
        raise ValueError(f"{name} must be (lo, hi) with 0 < lo < hi < 1 (fractions of the scale range), got {v!r}")
    return (float(b[0]), float(b[1]))


def _band_families(v, name: str) -> tuple[str, ...]:
    if isinstance(v, str) or not isinstance(v, (tuple, list)) or len(set(v)) != len(v):
        raise ValueError(f"{name} must be distinct family names, got {v!r}")
    for b in v:
        ok = b in SHAPES or (isinstance(b, str) and b.split("_")[0] in ("digit", "digits")
                             and b.count("_") == 1 and b.split("_")[1] in tuple("0123456789"))
        if not ok:
            raise ValueError(f"{name} must name shapes from {SHAPES} or digit_<c> / digits_<c>, got {b!r}")
    return tuple(v)


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Both nets use ``nets.PRESETS`` recipes (Adam, cosine schedule, batch 64) at ``size``:
    the bias-free one with bilinear upsampling at lr 2e-3 (``validation.disk_vs_airy``), the one
    with biases the preset's lr 4e-3. The budget, sized on the 2-core machine so that the full
    run takes about 10 minutes on one core: size 32 (a quarter of the pixels of the main job),
    1200 bias-free steps and 600 steps with biases a family, 600 a net of the band (the main
    job: 2000 and 4000 at size 64). Measured at size 32 (seed 0): on the square 600 bias-free
    steps reach |f - P| = 0.038 and 1200 steps 0.022 (MSE 1.007x and 1.003x the rank-1 floor);
    on the star (the slowest) 800 steps reach 0.124 (1.094x) and 1600 steps cos 0.999
    (1.022x)."""

    NAME = "scaled_shapes"
    QUICK = {"size": 16, "families": ("square", "annulus", "digit", "digits"), "digits": (3,), "n_train": 512,
             "bias_free_steps": 150, "bias_steps": 150, "band_steps": 120, "n_test": 256, "n_sweep": 64,
             "n_fold_digits": 4}

    size: int = param(32, "image side (pixels), int in [8, 128]", ints(8, 128))
    sigma: float = param(1.0, "blur of the shapes: Gaussian std (pixels), 0 (indicator) or in [0.1, 4]; the "
                              "digits are not blurred", reals(0.0, 4.0))
    families: tuple[str, ...] = param(GROUPS, f"families to run, distinct names from {GROUPS} (digit and digits "
                                              "expand to one family per class in digits)", _groups)
    digits: tuple[int, ...] = param((1, 3, 8), "digit classes of the digit and digits families, distinct ints "
                                               "in [0, 9]", _classes)
    n_train: int = param(2048, "training images of each family, drawn once (scales stratified), in [64, 65536]",
                         ints(64, 65536))
    bias_free_steps: int = param(1200, "optimiser steps of each bias-free net, >= 1", ints(1))
    bias_steps: int = param(600, "optimiser steps of each net with biases, >= 1", ints(1))
    bias_free_lr: float = param(2e-3, "peak learning rate of the bias-free nets, > 0", reals(0.0, lo_open=True))
    bias_lr: float | None = param(None, "peak learning rate of the nets with biases, > 0; none = the preset's (4e-3)",
                                  optional(reals(0.0, lo_open=True)))
    bias_free_upsampling: str = param("bilinear", "decoder upsampling of the bias-free nets: nearest, bilinear or "
                                      "transpose", one_of("nearest", "bilinear", "transpose"))
    n_test: int = param(1024, "held-out images of each family at random scales (MSEs, R^2), >= 16", ints(16))
    n_sweep: int = param(256, "midpoint scales of the code curves h(s) and z(s) over the range, in [16, 4096]",
                         ints(16, 4096))
    n_fold_digits: int = param(16, "held-out digits whose code curves stand for a digit class, in [1, 100]",
                               ints(1, TEST_PER_CLASS))
    fold_rtol: float = param(1e-3, "a trained code z(s) folds if it comes back from its running maximum by more "
                                   "than this fraction of its range, in [0, 0.5]", reals(0.0, 0.5))
    band_families: tuple[str, ...] = param(("square",), "families of the missing-band protocol (names as in "
                                                        "families, digit classes as digits_<c>); empty: none",
                                           _band_families)
    band: tuple[float, float] = param((0.35, 0.55), "missing scales [lo, hi) as fractions of the scale range "
                                                    "(the main job's radii 11-18 of 32)", _band)
    band_steps: int = param(600, "optimiser steps of each net of the missing-band protocol, >= 1", ints(1))
    latent_l2_weight: float = param(1.6e-7, "weight of the latent-l2 regulariser (type 1); the interpolation "
                                            "job's 1e-8 at 64 px times (64/32)^4, the term being quartic in "
                                            "the images' norms, > 0", reals(0.0, lo_open=True))
    parallel: bool = param(False, "train on two processes, one core each (off: the budget is one core)", flag)
    progress: bool = param(False, "show a progress bar over the trainings", flag)

    def validate(self) -> None:
        if 0.0 < self.sigma < 0.1:
            raise ValueError(f"sigma must be 0 (no blur) or in [0.1, 4] pixels, got {self.sigma!r}")
        for b in self.band_families:
            group = b.split("_")[0] if "_" in b else b
            if group == "digit" or group == "digits":
                if int(b.split("_")[1]) not in self.digits:
                    raise ValueError(f"band_families names {b!r}, whose class is not in digits {self.digits}")

    @property
    def family_list(self) -> tuple[str, ...]:
        return family_names(self.families, self.digits)


# ----------------------------------------------------------------------------- the run
BAND_VARIANTS = ("none", "latent_l2")


def _specs(cfg: Config, names, banks, band_banks, streams: Streams) -> list[dict]:
    common = dict(progress=cfg.progress and not cfg.parallel, threads=cfg.torch_threads, device=cfg.device)
    specs = []
    for n in names:
        x, s = banks[n]
        specs.append(bank_spec(f"{n}.bias_free", "bias_free", images=x, scales=s,
                               seed=streams(f"train/{n}/bias_free"), steps=cfg.bias_free_steps, lr=cfg.bias_free_lr,
                               model_changes={"upsampling": cfg.bias_free_upsampling}, **common))
        specs.append(bank_spec(f"{n}.bias", "bias", images=x, scales=s, seed=streams(f"train/{n}/bias"),
                               steps=cfg.bias_steps, lr=cfg.bias_lr, **common))
    for b, (x, s) in band_banks.items():
        seed = streams(f"band/{b}/net")          # the same start for both variants: compared net for net
        for v in BAND_VARIANTS:
            changes = {"regularisers": (("latent_l2", cfg.latent_l2_weight),)} if v == "latent_l2" else {}
            specs.append(bank_spec(f"band_{b}.{v}", "bias", images=x, scales=s, seed=seed, steps=cfg.band_steps,
                                   lr=cfg.bias_lr, train_changes=changes, **common))
    return specs


def main(config: Config) -> Result:
    """Run the experiment; see the module docstring."""
    with limited_threads(config.torch_threads):
        return _main(config)


def _main(config: Config) -> Result:
    cfg = config
    t_start = time.perf_counter()
    out = cfg.output_dir
    streams = Streams(cfg.seed)
    names = cfg.family_list
    every = tuple(dict.fromkeys(names + cfg.band_families))
    split = None
    if any(n not in SHAPES for n in every):
        split = geoshape.digits_split(streams("digits/split"), n_test=TEST_PER_CLASS * len(cfg.digits),
                                      digits=cfg.digits)
    fams = {n: make_family(n, cfg, streams, split) for n in every}
    t_data = time.perf_counter()
    banks = {n: training_set(fams[n], cfg.n_train, np.random.default_rng(streams(f"train/{n}/data")))
             for n in names}
    band_banks = {b: training_set(fams[b], cfg.n_train, np.random.default_rng(streams(f"band/{b}/data")), cfg.band)
                  for b in cfg.band_families}
    m: dict[str, float] = {"data_seconds": time.perf_counter() - t_data}
    trained, models = train_bank_models(_specs(cfg, names, banks, band_banks, streams), cfg.parallel,
                                        cfg.progress)

    data: dict[str, np.ndarray] = {"families": np.array(names), "band_families": np.array(cfg.band_families)}
    for n in names:
        fm, fd = evaluate_family(fams[n], banks[n][0], models[f"{n}.bias_free"], models[f"{n}.bias"], cfg, streams)
        fm["train_seconds"] = trained[f"{n}.bias_free"]["seconds"] + trained[f"{n}.bias"]["seconds"]
        m.update({f"{n}.{k}": v for k, v in fm.items()})
        data.update({f"{n}.{k}": v for k, v in fd.items()})
    for b in cfg.band_families:
        bm, bd = evaluate_band(fams[b], {v: models[f"band_{b}.{v}"] for v in BAND_VARIANTS}, cfg, streams)
        m.update({f"band_{b}.{k}": v for k, v in bm.items()})
        data.update({f"band_{b}.{k}": v for k, v in bd.items()})
    m["train_seconds"] = float(sum(r["seconds"] for r in trained.values()))
    m["train_cpu_seconds"] = float(sum(r["cpu_seconds"] for r in trained.values()))

    save_npz(out / "scaled_shapes.npz", data)
    units = {n: fams[n].unit for n in every}
    _plot_level_sets(data, names, out / "level_sets.png", m)
    _plot_codes(data, names, units, out / "codes_vs_scale.png", m)
    _plot_digits(data, names, out / "digit_reconstructions.png")
    _plot_band(data, cfg.band_families, units, out / "band.png", m)
    m["total_seconds"] = time.perf_counter() - t_start
    histories = {k: r["history"] for k, r in trained.items()}
    write_outputs(out, cfg, m, dict(models), histories=histories, streams=streams.used,
                  extra={"shape_params": SHAPE_PARAMS, "band_variants": list(BAND_VARIANTS),
                         "digit_index": {n: fams[n].digit_index for n in every if fams[n].group == "digit"}})
    return Result(cfg, m, _table(m, names, cfg.band_families), out, histories)


# ----------------------------------------------------------------------------- figures
_LEVELS = (0.2, 0.4, 0.6, 0.8)


def _plot_level_sets(d, names, path, m):
    """The bias-free decoder's profile and the discrete optimum against the gauge's level sets."""
    kinds = [n for n in ("square", "polygon", "star", "ellipse") if n in names][:2]
    if not kinds:
        return
    plt = pyplot()
    fig, axes = plt.subplots(len(kinds), 3, figsize=(11.5, 3.6 * len(kinds)), squeeze=False)
    for row, n in zip(axes, kinds):
        A = d[f"{n}.gauge_airy"]
        for ax, key, title in ((row[0], "net_profile", "bias-free decoder D(sign z)"),
                               (row[1], "discrete", "discrete optimum P")):
            img = d[f"{n}.{key}"]
            im = ax.imshow(img / img.max(), cmap="viridis", vmin=0, vmax=1)
            ax.contour(img / img.max(), levels=_LEVELS, colors="w", linewidths=1.0)
            ax.contour(A / A.max(), levels=_LEVELS, colors="r", linewidths=1.0, linestyles="--")
            ax.set_title(f"{n}: {title}\nwhite: its level sets, red dashed: g(|x|_S)'s", fontsize=8)
            ax.set_xlabel("x (pixels)")
            ax.set_ylabel("y (pixels)")
            fig.colorbar(im, ax=ax, fraction=0.046, label="value / max")
        diff = d[f"{n}.net_profile"] - d[f"{n}.gauge_airy_blurred"]
        lim = float(np.abs(diff).max()) or 1.0
        im = row[2].imshow(diff, cmap="RdBu_r", vmin=-lim, vmax=lim)
        row[2].set_title(f"{n}: decoder - gauge-Airy blurred (unit norms)\n"
                         f"cos {m[f'{n}.cos_net_vs_gauge_airy_blurred']:.4f}, "
                         f"vs unblurred {m[f'{n}.cos_net_vs_gauge_airy']:.4f}", fontsize=8)
        row[2].set_xlabel("x (pixels)")
        fig.colorbar(im, ax=row[2], fraction=0.046, label="difference")
    finish(fig, path, dpi=100)


def _plot_codes(d, names, units, path, m, max_curves: int = 4):
    """h(s) (theory) and z(s) (bias-free net) per family, each scaled to max 1, folds marked."""
    plt = pyplot()
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.9 * rows), squeeze=False)
    for ax, n in zip(axes.ravel(), names):
        s = d[f"{n}.scales"]
        for k in range(min(max_curves, len(d[f"{n}.h"]))):
            h, z = d[f"{n}.h"][k], d[f"{n}.z"][k]
            z = z * np.sign(z[np.argmax(np.abs(z))]) if np.any(z) else z
            ax.plot(s, h / np.abs(h).max(), "k-", lw=1.2, label="h(s) = <P, x_s>" if k == 0 else None)
            ax.plot(s, z / (np.abs(z).max() or 1.0), "C0--", lw=1.2, label="z(s), bias-free net" if k == 0 else None)
        fp, fo = m[f"{n}.fold_scale_predicted"], m[f"{n}.fold_scale_observed"]
        which = "median fold (folding digits)" if len(d[f"{n}.h"]) > 1 else "fold"
        if np.isfinite(fp):
            ax.axvline(fp, color="k", lw=0.8, ls=":", label=f"{which} of h: {fp:.3g}")
        if np.isfinite(fo):
            ax.axvline(fo, color="C0", lw=0.8, ls=":", label=f"{which} of z: {fo:.3g}")
        shown = f", {min(max_curves, len(d[f'{n}.h']))} of {len(d[f'{n}.h'])} digits" if len(d[f"{n}.h"]) > 1 else ""
        ax.set_title(f"{n}: h monotone {m[f'{n}.h_monotone']:.2g}, z monotone {m[f'{n}.z_monotone']:.2g}{shown}",
                     fontsize=8)
        ax.set_xlabel(f"scale ({units[n]})")
        ax.set_ylabel("code / max")
        ax.legend(fontsize=6)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    finish(fig, path, dpi=100)


def _plot_digits(d, names, path, n_cols: int = 8):
    """Inputs and reconstructions (with biases, bias-free) across scales: one block of three
    rows per digit family (a class: its first held-out digit)."""
    digit = [n for n in names if n.startswith("digit")]
    if not digit:
        return
    s = d[f"{digit[0]}.scales"]
    pick = np.linspace(len(s) // 16, len(s) - 1, n_cols).round().astype(int)
    rows = []
    for n in digit:
        rows += [(f"{n}\ninput", d[f"{n}.curve_inputs"]), (f"{n}\nwith bias", d[f"{n}.curve_bias"]),
                 (f"{n}\nbias-free", d[f"{n}.curve_free"])]
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(1.05 * n_cols + 0.9, 1.0 * len(rows) + 0.6),
                             squeeze=False, layout="constrained")
    for r, (label, imgs) in enumerate(rows):
        for c, k in enumerate(pick):
            ax = axes[r, c]
            im = ax.imshow(imgs[k], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
            if r == 0:
                ax.set_title(f"s = {s[k]:.2f}", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.3, label="grey level")
    fig.suptitle("Scaled digits and their reconstructions (s: the 28 x 28 frame drawn s x size pixels wide)",
                 fontsize=9)
    finish(fig, path, dpi=90)


def _plot_band(d, bands, units, path, m):
    if not bands:
        return
    plt = pyplot()
    fig, axes = plt.subplots(1, len(bands), figsize=(4.4 * len(bands), 3.3), squeeze=False)
    for ax, b in zip(axes[0], bands):
        s, (lo, hi) = d[f"band_{b}.scales"], d[f"band_{b}.band"]
        for i, v in enumerate(BAND_VARIANTS):
            for k, z in enumerate(d[f"band_{b}.z_{v}"][:4]):
                ax.plot(s, z, f"C{i}-", lw=1.0,
                        label=f"{v}: gap/seen MSE {m[f'band_{b}.{v}.gap_over_seen']:.2f}" if k == 0 else None)
        ax.axvspan(lo, hi, color="0.85", zorder=0, label="missing scales")
        ax.set_xlabel(f"scale ({units[b]})")
        ax.set_ylabel("z (net with biases)")
        ax.set_title(f"{b}: trained without the band", fontsize=9)
        ax.legend(fontsize=7)
    finish(fig, path, dpi=100)


def _table(m: dict, names, bands) -> str:
    def g(n, k):
        return m.get(f"{n}.{k}", float("nan"))

    rows = [(n, f"[0, {g(n, 'scale_max'):.3g}]", g(n, "cos_net_vs_discrete"), g(n, "cos_discrete_vs_gauge_airy"),
             g(n, "cos_net_vs_gauge_airy"), g(n, "mse_bias_free_over_floor"), g(n, "fold_scale_predicted"),
             g(n, "fold_scale_observed"), g(n, "z_monotone"), g(n, "r2_z_mass"), g(n, "r2_z_scale"),
             g(n, "mse_with_bias")) for n in names]
    text = format_table(rows, ("family", "scales", "cos(f,P)", "cos(P,A)", "cos(f,A)", "MSE/floor", "fold h",
                               "fold z", "z mono", "R2 mass", "R2 scale", "MSE bias"))
    if bands:
        brows = [(b, v, m[f"band_{b}.{v}.mse_seen"], m[f"band_{b}.{v}.mse_gap"], m[f"band_{b}.{v}.gap_over_seen"],
                  m[f"band_{b}.{v}.monotonic_fraction"], m[f"band_{b}.{v}.z_monotone"],
                  m[f"band_{b}.{v}.max_reversal"]) for b in bands for v in BAND_VARIANTS]
        text += "\n\nmissing band\n" + format_table(brows, ("family", "variant", "MSE seen", "MSE gap", "gap/seen",
                                                           "monotone steps", "z monotone", "max reversal"))
    return text


def _footer(result: Result) -> str:
    return (f"\ntrain {result.metrics['train_seconds']:.0f} s wall ({result.metrics['train_cpu_seconds']:.0f} s CPU); "
            f"total {result.metrics['total_seconds']:.0f} s")


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, scaled_shapes.npz, *.png",
                   _footer)


if __name__ == "__main__":
    cli(sys.argv[1:])
