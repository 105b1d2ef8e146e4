"""Missing radii 11-18 under the authors' protocol: failure, the talk's fix, extrapolation (slides 21-26).

    python -m validation.interpolation_official [--quick] [--seed S] [--out DIR] [--FIELD value ...]

Trains ``nets.OfficialAE`` the authors' way (1000 disks of 63x63 drawn once, sigma 0.5, 8-bit,
Adam 0.01; ``validation.runs.official``) without the gap radii: no penalty; the talk's three
(``latent_l2``, ``denoise``, ``encoder_l2``) and the code's ``all_l2``, ``contractive``, each over
``lambdas`` on ``sweep_seeds``, its best on ``best_seeds``; extrapolation (r <= ``extrapolate_max``).

Outputs in ``--out`` (default ``results/interpolation_official``, ``_quick`` added with ``--quick``):
``config.json``, ``metrics.json`` (``runs.<variant>.s<seed>.<measure>``, ``best.<family>.*``),
``interpolation_official.npz``, ``official_{latent,recon,manifold}.png``, ``runs/`` (every net,
reused by the next call: ``--resume``).

Per run: ``gap_radius_err_mean/max``, ``seen_radius_err_mean/max`` (px), ``gap_off_1px``, ``mse_gap``
/ ``mse_seen``, ``monotone_share``, ``squeeze``, ``dead``; fails: over half the gap > 1 px off.

Run time (2 idle cores): the default sweep (54 nets) 1 h 35 min (measured), without penalties
about 17 min (10 nets of about 170 s, two at a time); ``--quick`` 34 s.
Measured results: docs/results/interpolation_official.md
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from geoshape import checks
from validation.runs import official as R
from validation.runs.disk import pool_map
from validation.core import (ExperimentConfig, tuple_of, Result, SweepSpec, flag, format_table, ints, param, reals, run_cli,
                             stream_seed, write_outputs)
from validation._io import save_npz
from validation._plots import finish, pyplot, save_image_rows

__all__ = ["Config", "main", "cli", "run_metrics", "verdict", "FAMILIES", "FAIL_OFF_SHARE"]


#: Penalty families in the table's order; "extrapolate" is the no-penalty net trained on small radii.
FAMILIES = ("none", "latent_l2", "denoise", "encoder_l2", "all_l2", "contractive")
#: A seed fails on the gap when more than this share of gap radii decode more than 1 px off.
FAIL_OFF_SHARE = 0.5


#: What a sweep over seeds summarises first (figure and table).
SWEEP = SweepSpec(variants=FAMILIES + ("extrapolate",),
                  headlines=("best.{v}.fails", "best.{v}.gap_radius_err_mean", "best.{v}.seen_radius_err_mean"),
                  pairs=tuple((f, "none") for f in FAMILIES[1:]))


_families = tuple_of(lambda p, name: checks.choice(p, name, FAMILIES[1:]), nonempty=False,
                     what=f"names from {FAMILIES[1:]}")
_weights = tuple_of(lambda x, name: checks.positive(x, name), what="values > 0")


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Replicate k of a run (of the sweep or of the best settings) draws its training set and
    its net from the named streams ``replicate/k/data`` and ``replicate/k/train`` of the seed:
    every penalty is trained on the same sets and initial weights, replicate for replicate."""

    NAME = "interpolation_official"
    QUICK = {"steps": 200, "n_train": 256, "penalties": ("denoise", "encoder_l2", "contractive"), "lambdas": (1e-2,),
             "noise_stds": (0.1,), "best_seeds": 2, "keep_best_every": 50, "n_test": 60, "progress": False}

    steps: int = param(10_000, "Adam steps of each net, >= 1", ints(1))
    n_train: int = param(1000, "disks drawn once for each net's training set, >= 1", ints(1))
    max_radius: float = param(31.5, "radii are max_radius * U[0, 1) (pixels), in [1, 64]", reals(1.0, 64.0))
    sigma: float = param(0.5, "blur (pixels), in [0, 8]", reals(0.0, 8.0))
    quantize: bool = param(True, "8-bit rounding of the training images", flag)
    gap_lo: float = param(11.0, "lowest missing radius (pixels), in [0, max_radius]", reals(0.0))
    gap_hi: float = param(18.0, "highest missing radius (pixels), in (gap_lo, max_radius]", reals(0.0))
    extrapolate_max: float = param(16.0, "largest radius the extrapolation nets see (pixels), in (0, max_radius]",
                                   reals(0.0, lo_open=True))
    penalties: tuple[str, ...] = param(("latent_l2", "denoise", "encoder_l2", "all_l2", "contractive"),
                                       f"penalty families swept, names from {FAMILIES[1:]}", _families)
    lambdas: tuple[float, ...] = param((1e-4, 1e-3, 1e-2, 1e-1, 1.0), "penalty weights swept, each > 0", _weights)
    noise_stds: tuple[float, ...] = param((0.05, 0.1, 0.2, 0.5), "denoising noise stds swept, each > 0", _weights)
    sweep_seeds: int = param(1, "replicates of every setting in the sweep, >= 1", ints(1))
    best_seeds: int = param(5, "replicates of each family's best setting, >= 1", ints(1))
    keep_best_every: int = param(500, "steps between keep-best checks (0 = keep the last weights)", ints(0))
    bias: bool = param(True, "nets with biases (the authors' Keras default)", flag)
    n_test: int = param(300, "exact test radii, >= 10", ints(10))
    parallel: bool = param(True, "train on two processes, one core each", flag)
    progress: bool = param(True, "show a progress bar over the trainings", flag)
    resume: bool = param(True, "keep each trained net in OUT/runs and reuse those there (same settings)", flag)

    def validate(self) -> None:
        checks.real(self.gap_lo, "gap_lo", lo=0.0, hi=self.max_radius)
        checks.real(self.gap_hi, "gap_hi", lo=self.gap_lo, lo_open=True, hi=self.max_radius)
        checks.real(self.extrapolate_max, "extrapolate_max", lo=0.0, lo_open=True, hi=self.max_radius)


# ----------------------------------------------------------------------------- measures
def run_metrics(model, radii: np.ndarray, gap: tuple[float, float], *, sigma: float) -> tuple[dict, dict]:
    """The per-run measures of the module docstring, ``(metrics, arrays)``; ``gap`` is the
    closed interval of radii never trained on (``(r_max_trained, inf)`` for extrapolation)."""
    a = R.measure(model, radii, sigma=sigma)
    r, z = a["radius"], a["z"]
    in_gap = (r >= gap[0]) & (r <= gap[1])
    err = np.abs(a["radius_hat"] - r)
    dz = np.diff(z)
    trend = np.sign(z[-1] - z[0]) or 1.0
    z_range = float(z.max() - z.min())
    hi = min(gap[1], r[-1])
    m = {
        "gap_radius_err_mean": float(err[in_gap].mean()),
        "gap_radius_err_max": float(err[in_gap].max()),
        "seen_radius_err_mean": float(err[~in_gap].mean()),
        "seen_radius_err_max": float(err[~in_gap].max()),
        "gap_off_1px": float(np.mean(err[in_gap] > 1.0)),
        "mse_gap": float(a["mse"][in_gap].mean()),
        "mse_seen": float(a["mse"][~in_gap].mean()),
        "monotone_share": float(np.mean(dz * trend > 0)),
        "max_reversal": float(max(np.max(-dz * trend), 0.0) / z_range) if z_range > 0 else 1.0,
        "squeeze": float(trend * (np.interp(hi, r, z) - np.interp(gap[0], r, z)) / z_range) if z_range > 0 else 0.0,
        "area_share": float((hi**2 - gap[0] ** 2) / r[-1] ** 2),
        "dead": float(z_range < 1e-6),
    }
    return m, a


# ----------------------------------------------------------------------------- runs
def _spec(cfg: Config, name: str, penalty: str, lam: float, seed: int, *, extrapolate: bool = False) -> dict:
    """The training of replicate ``seed`` (0, 1, ...) of a setting, with its named streams."""
    return {"name": name, "seed": seed, "data_seed": stream_seed(cfg.seed, f"replicate/{seed}/data"),
            "train_seed": stream_seed(cfg.seed, f"replicate/{seed}/train"), "steps": cfg.steps, "n_train": cfg.n_train, "penalty": penalty,
            "lam": lam, "bias": cfg.bias, "max_radius": cfg.max_radius, "sigma": cfg.sigma,
            "quantize": cfg.quantize, "keep_best_every": cfg.keep_best_every,
            "gap": None if extrapolate else (cfg.gap_lo, cfg.gap_hi),
            "r_keep_max": cfg.extrapolate_max if extrapolate else None, "threads": cfg.torch_threads,
            "device": cfg.device}


def _settings(cfg: Config) -> dict[str, list[tuple[str, float]]]:
    """family -> [(variant name, lam), ...] of the sweep."""
    out = {"none": [("none", 0.0)]}
    for p in cfg.penalties:
        values = cfg.noise_stds if p == "denoise" else cfg.lambdas
        out[p] = [(f"{p}_{v:g}", v) for v in values]
    return out


def _train(cfg: Config, specs: list[dict]) -> dict[tuple[str, int], dict]:
    if cfg.resume:
        specs = [s | {"cache_dir": str(cfg.output_dir / "runs")} for s in specs]
    runs = pool_map(R.run_cached if cfg.resume else R.run_one, specs, steps=[s["steps"] for s in specs], parallel=cfg.parallel,
                    progress=cfg.progress, desc=f"{len(specs)} nets of the authors' layout")
    return {(r["name"], r["seed"]): r for r in runs}


def _summary(values: list[float]) -> str:
    v = np.asarray(values)
    return f"{np.median(v):.3g} [{v.min():.3g}, {v.max():.3g}]" if len(v) > 1 else f"{v[0]:.3g}"


def main(config: Config) -> Result:
    """Sweep, pick each family's best setting, rerun it over seeds, measure; write outputs."""
    t0 = time.perf_counter()
    out = config.output_dir
    settings = _settings(config)
    sweep_seeds, best_seeds = list(range(config.sweep_seeds)), list(range(config.best_seeds))
    specs = [_spec(config, name, fam, lam, s) for fam, rows in settings.items() for name, lam in rows
             for s in sweep_seeds]
    runs = _train(config, specs)

    radii = np.linspace(0.0, config.max_radius, config.n_test)
    gap = (config.gap_lo, config.gap_hi)
    measured: dict[tuple[str, int], tuple[dict, dict]] = {}

    def measure_run(key, g):
        if key not in measured:
            measured[key] = run_metrics(R.model_of(runs[key]), radii, g, sigma=config.sigma)
        return measured[key][0]

    best: dict[str, tuple[str, float]] = {}
    for fam, rows in settings.items():
        scores = {name: np.mean([measure_run((name, s), gap)["gap_radius_err_mean"] for s in sweep_seeds])
                  for name, _ in rows}
        name = min(scores, key=scores.get)
        best[fam] = (name, dict(rows)[name])
    more = [_spec(config, name, fam, lam, s) for fam, (name, lam) in best.items() for s in best_seeds
            if (name, s) not in runs]
    more += [_spec(config, "extrapolate", "none", 0.0, s, extrapolate=True) for s in best_seeds]
    runs.update(_train(config, more))
    for s in best_seeds:
        measure_run(("extrapolate", s), (config.extrapolate_max, math.inf))
    for fam, (name, _) in best.items():
        for s in best_seeds:
            measure_run((name, s), gap)

    metrics: dict = {"runs": {}, "best": {}, "area_share_gap": (gap[1] ** 2 - gap[0] ** 2) / config.max_radius ** 2}
    for (name, s), (m, _) in sorted(measured.items()):
        metrics["runs"].setdefault(name, {})[f"s{s}"] = m
        metrics["runs"][name][f"s{s}"]["train_seconds"] = runs[(name, s)]["seconds"]
    rows = []
    families = list(best.items()) + [("extrapolate", ("extrapolate", 0.0))]
    for fam, (name, lam) in families:
        ms = [measured[(name, s)][0] for s in best_seeds]
        fails = sum(_fails(m) for m in ms)
        metrics["best"][fam] = {"lam": lam, "seeds": len(ms), "fails": fails,
                                **{k: float(np.median([m[k] for m in ms])) for k in ms[0]}}
        rows.append((fam if fam in ("none", "extrapolate") else f"{fam} @ {lam:g}",
                     f"{fails}/{len(ms)}", _summary([m["gap_radius_err_mean"] for m in ms]),
                     _summary([m["gap_off_1px"] for m in ms]),
                     _summary([m["mse_gap"] / max(m["mse_seen"], 1e-12) for m in ms]),
                     _summary([m["monotone_share"] for m in ms]), _summary([m["squeeze"] for m in ms])))
    metrics["total_seconds"] = time.perf_counter() - t0
    table = (f"authors' protocol, {config.steps} steps, gap [{gap[0]:g}, {gap[1]:g}] (area share "
             f"{metrics['area_share_gap']:.3f}); median [min, max] over {len(best_seeds)} seeds\n"
             + format_table(rows, ("variant @ best lam", "fails", "gap |r_hat - r|", "gap > 1 px",
                                   "MSE gap/seen", "z monotone", "squeeze"))
             + "\n" + verdict(metrics["best"]))

    _figures(config, best, best_seeds, measured, out)
    save_npz(out / "interpolation_official.npz",
             {f"{name}_s{s}_{k}": v for (name, s), (_, a) in measured.items() for k, v in a.items()
              if k in ("z", "radius_hat", "mse")} | {"radius": radii})
    flat = _flatten(metrics)
    write_outputs(out, config, flat, histories={f"{n}_rep{s}": r["history"] for (n, s), r in runs.items()},
                  streams={f"replicate/{s}/{k}": stream_seed(config.seed, f"replicate/{s}/{k}")
                           for s in range(max(config.sweep_seeds, config.best_seeds)) for k in ("data", "train")})
    return Result(config=config, metrics=flat, table=table, out=out)


def _fails(m: dict) -> bool:
    """A run fails on the gap when more than :data:`FAIL_OFF_SHARE` of its gap radii decode more than 1 px off."""
    return m["gap_off_1px"] > FAIL_OFF_SHARE


def verdict(best: dict) -> str:
    """The answer to the talk's claims in one sentence, from ``metrics["best"]``:
    ``{family: {"lam": float, "seeds": int, "fails": int, ...}}`` with ``"none"`` required and
    ``"extrapolate"`` optional; ``fails`` counts seeds, ``0 <= fails <= seeds``."""
    if not isinstance(best, dict):
        raise TypeError(f"best must be a dict of family -> summary, got {type(best).__name__}")
    if "none" not in best:
        raise ValueError(f"best must hold the 'none' family (the unregularised net), got {sorted(best)}")
    for fam, b in best.items():
        if not isinstance(b, dict) or not {"lam", "seeds", "fails"} <= set(b):
            raise ValueError(f"best[{fam!r}] must be a dict with 'lam', 'seeds' and 'fails', got {b!r}")
        if not 0 <= b["fails"] <= b["seeds"]:
            raise ValueError(f"best[{fam!r}]: fails must lie in [0, seeds={b['seeds']}], got {b['fails']}")
    n0, f0 = best["none"]["seeds"], best["none"]["fails"]
    regs = [(fam, b) for fam, b in best.items() if fam not in ("none", "extrapolate")]
    fixes = [f"{fam} @ {b['lam']:g}" for fam, b in regs if b["fails"] < f0]
    listed = ", ".join(f"{fam} @ {b['lam']:g} {b['fails']}/{b['seeds']}" for fam, b in regs)
    text = f"verdict: without a penalty the gap fails on {f0}/{n0} seeds"
    if regs:
        text += (f"; regularisers at their best weight that fail on fewer seeds: "
                 f"{', '.join(fixes) if fixes else 'none'} ({listed})")
    if "extrapolate" in best:
        e = best["extrapolate"]
        text += f"; extrapolation beyond the trained radii fails on {e['fails']}/{e['seeds']} seeds"
    return text + "."


def _flatten(d: dict, prefix: str = "") -> dict[str, float]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (the keys of ``metrics.json``)."""
    out: dict[str, float] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# ----------------------------------------------------------------------------- figures
def _figures(cfg: Config, best: dict, seeds: list[int], measured: dict, out: Path) -> None:
    plt = pyplot()
    panels = list(best.items()) + [("extrapolate", ("extrapolate", 0.0))]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.8), squeeze=False)
    for ax, (fam, (name, lam)) in zip(axes[0], panels):
        lo, hi = (cfg.extrapolate_max, cfg.max_radius) if fam == "extrapolate" else (cfg.gap_lo, cfg.gap_hi)
        ax.axvspan(lo, hi, color="0.9")
        fails = 0
        for s in seeds:
            m, a = measured[(name, s)]
            failed = _fails(m)
            fails += failed
            ax.plot(a["radius"], a["z"], lw=1, ls="--" if failed else "-", label=f"seed {s}")
        title = fam if fam in ("none", "extrapolate") else f"{fam} {lam:g}"
        ax.set_title(f"{title}: fails {fails}/{len(seeds)}", fontsize=8)
        ax.set_xlabel("radius r", fontsize=7)
    axes[0, 0].set_ylabel("code z", fontsize=7)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle("latent against radius, authors' protocol (untrained radii shaded; dashed: the seed "
                 "fails, more than half of those radii decoded > 1 px off)", fontsize=9)
    finish(fig, out / "official_latent.png", dpi=100)

    radii = measured[(best["none"][0], seeds[0])][1]["radius"]
    idx = [int(np.argmin(np.abs(radii - r))) for r in np.linspace(cfg.gap_lo - 3, cfg.gap_hi + 3, 8)]
    rows = [("disk", measured[(best["none"][0], seeds[0])][1]["images"][idx])]
    for fam, (name, lam) in best.items():
        rows.append((name, np.clip(measured[(name, seeds[0])][1]["recon"][idx], 0, 1)))
    save_image_rows(rows, [f"r={radii[i]:.1f}" for i in idx], out / "official_recon.png",
                    f"reconstructions across the gap, seed {seeds[0]}")

    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    for fam, (name, _) in best.items():
        a = measured[(name, seeds[0])][1]
        ax.plot(a["z"], a["recon"].sum(axis=(1, 2)), lw=1, label=name)
    ax.plot([], [], " ", label=f"seed {seeds[0]}")
    ax.set_xlabel("code z")
    ax.set_ylabel("area of D(E(x_r)) (pixels^2)")
    ax.legend(fontsize=6)
    finish(fig, out / "official_manifold.png", dpi=110)


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json,metrics.json,official_*.png,interpolation_official.npz")


if __name__ == "__main__":
    cli(sys.argv[1:])
