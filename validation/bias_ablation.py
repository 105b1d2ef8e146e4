"""A bias-free disk decoder does no better than the rank-1 fit h(r) f (talk, "Decoding a disk", eqs. 2-7).

    python -m validation.bias_ablation [--quick] [--seed S] [--out DIR] [--FIELD value ...]

Trains the talk's 1-D-latent disk autoencoder with biases (``nets.PRESETS["bias"]``) and the
bias-free nets of ``bias_free_runs`` (``"init:replicate:lr:steps[:schedule]"``) on blurred centred
disks (the project's protocol: 64x64, sigma 1), and sets their held-out MSE beside the floors
of a bias-free decoder on the same disks.

Outputs in ``--out`` (default ``results/bias_ablation``, ``results/bias_ablation_quick`` with
``--quick``): ``config.json``, ``metrics.json``, ``weights.pt``, ``ablation.npz``, ``grid.png``,
``mse_by_radius.png``.

Metrics: ``mse_rank1_floor``, ``mse_two_ray_floor`` (one profile per sign of z), per net
``over_rank1_<run>``, ``floor_given_signs_<run>``; ``min_over_floor_given_signs`` (>= 1: a theorem).

Run time (2 idle cores, one torch thread a training): full run 3 min, ``--quick`` 22 s.
Measured results: docs/results/bias_ablation.md
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

import geoshape
import theory
from validation.runs.disk import codes_and_outputs, cpu_seconds, disk_spec, train_models
from validation.core import (ExperimentConfig, tuple_of, optional, Result, SweepSpec, Streams, flag, format_table, ints, param, pow2,
                             reals, run_cli, write_outputs)
from validation._io import save_npz
from validation._plots import finish, pyplot, save_image_rows

__all__ = ["Config", "main", "cli", "parse_run", "floor_given_signs"]

#: What a sweep over seeds summarises first (figure and table).
SWEEP = SweepSpec(headlines=("mse_bias_free_median", "best_over_rank1", "min_over_floor_given_signs", "n_two_signed",
                             "mse_with_bias", "mse_rank1_floor"))

_INITS = ("default", "kaiming")
_SCHEDULES = ("constant", "cosine", "linear")
# Relative slack for float32 network outputs against float64 floors (outputs are rounded to
# ~1e-7 relative; the floors are exact minima): a bias-free net sits at or above its floor.
FLOOR_RTOL = 1e-3


def parse_run(text: str) -> dict:
    """``"init:replicate:lr:steps[:schedule]"`` -> dict; ValueError naming the bad field.
    ``replicate`` k trains from the named stream ``bias_free/<init>/k`` of the run's seed."""
    parts = str(text).split(":")
    if len(parts) not in (4, 5):
        raise ValueError(f"bias_free_runs entries must be 'init:replicate:lr:steps[:schedule]', got {text!r}")
    init, seed, lr, steps = parts[:4]
    if init not in _INITS:
        raise ValueError(f"bias_free_runs init must be one of {_INITS}, got {init!r} in {text!r}")
    try:
        seed_i, lr_f, steps_i = int(seed), float(lr), int(steps)
    except ValueError:
        raise ValueError(f"bias_free_runs entry {text!r}: replicate and steps must be ints, lr a float") from None
    if seed_i < 0 or steps_i < 0 or not np.isfinite(lr_f) or lr_f < 0:
        raise ValueError(f"bias_free_runs entry {text!r}: replicate, steps and lr must be >= 0 (0 = preset)")
    sched = parts[4] if len(parts) == 5 else ""
    if sched and sched not in _SCHEDULES:
        raise ValueError(f"bias_free_runs schedule must be one of {_SCHEDULES}, got {sched!r}")
    return {"init": init, "replicate": seed_i, "lr": lr_f, "steps": steps_i, "schedule": sched}


def _tag(run: dict) -> str:
    t = f"{run['init']}_rep{run['replicate']}_lr{run['lr']:g}_n{run['steps']}"
    return t + (f"_{run['schedule']}" if run["schedule"] else "")


def _runs(v, name: str) -> tuple[str, ...]:
    v = tuple_of(lambda r, _: r, what="'init:replicate:lr:steps' strings")(v, name)
    tags = [_tag(parse_run(r)) for r in v]
    if len(set(tags)) != len(tags):
        raise ValueError(f"{name} must be distinct, got {v!r}")
    return tuple(v)


@dataclass(frozen=True)
class Config(ExperimentConfig):
    NAME = "bias_ablation"
    # two workers: with biases (300 steps) | both bias-free runs (150 + 150)
    QUICK = {"bias_steps": 300, "bias_free_runs": ("default:0:0:150", "kaiming:0:0:150"), "n_test": 256}

    size: int = param(64, "image side (pixels), a power of two >= 8", pow2(8))
    sigma: float = param(1.0, "blur of the disks: Gaussian std (pixels), in (0, 8]", reals(0.0, 8.0, lo_open=True))
    bias_steps: int | None = param(2000, "optimiser steps of the net with biases, >= 1; none = the preset's (5000)",
                                   optional(ints(1)))
    bias_lr: float | None = param(None, "peak learning rate of the net with biases, > 0; none = the preset's (4e-3)",
                                  optional(reals(0.0, lo_open=True)))
    bias_free_runs: tuple[str, ...] = param(
        ("default:0:0:0", "kaiming:0:0:0", "default:1:0:0", "kaiming:1:0:0", "kaiming:2:0:0",
         "default:0:0.01:0", "default:0:0.0005:1500:constant"),
        "bias-free nets 'init:replicate:lr:steps[:schedule]' (init default|kaiming; lr, steps 0 = the preset's)",
        _runs)
    n_test: int = param(1024, "held-out disks for every MSE and floor, >= 16", ints(16))
    parallel: bool = param(True, "train on two processes, one core each", flag)
    progress: bool = param(False, "show a progress bar over the trainings", flag)

    @property
    def runs(self) -> list[dict]:
        return [parse_run(r) for r in self.bias_free_runs]


def _group_floors(gram: np.ndarray, groups, n_pixels: int) -> float:
    """Pooled rank-1 residual ``sum_g (tr G_g - lambda_max(G_g))`` over groups, per pixel,
    from the Gram matrix ``G = X X^T`` of all images (one n x n product instead of an SVD of
    the n x pixels data matrix per group)."""
    total = 0.0
    for grp in groups:
        idx = np.flatnonzero(grp)
        if idx.size:
            g = gram[np.ix_(idx, idx)]
            total += max(float(np.trace(g)) - float(np.linalg.eigvalsh(g)[-1]), 0.0)
    return total / (gram.shape[0] * n_pixels)


def floor_given_signs(images: np.ndarray, z: np.ndarray, *, gram: np.ndarray | None = None) -> float:
    """Best mean-per-pixel MSE of outputs ``h_n f_{sign z_n}`` (one free profile per sign
    group, free scales): the rank-1 floor of each group, pooled. Images (n, s, s), z (n,);
    ``gram``: ``X X^T`` of the flattened images if already computed (float64, n x n)."""
    images = np.asarray(images, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64).ravel()
    if images.ndim < 2 or z.shape != (len(images),):
        raise ValueError(f"z must have shape (n,) for n = len(images) = {len(images)}, got {z.shape}")
    X = images.reshape(len(images), -1)
    if gram is None:
        gram = X @ X.T
    elif gram.shape != (len(X), len(X)):
        raise ValueError(f"gram must have shape ({len(X)}, {len(X)}), got {gram.shape}")
    return _group_floors(gram, (z >= 0, z < 0), X.shape[1])


def main(config: Config) -> Result:
    cfg = config
    t_start = time.perf_counter()
    out = cfg.output_dir
    streams = Streams(cfg.seed)
    runs = cfg.runs
    tags = [_tag(r) for r in runs]
    common = dict(size=cfg.size, sigma=cfg.sigma, progress=cfg.progress, threads=cfg.torch_threads, device=cfg.device)
    specs = [disk_spec("bias", "bias", seed=streams("train/bias"), steps=cfg.bias_steps, lr=cfg.bias_lr, **common)]
    for r, tag in zip(runs, tags):
        changes = {"lr_schedule": r["schedule"]} if r["schedule"] else {}
        specs.append(disk_spec(tag, "bias_free", seed=streams(f"bias_free/{r['init']}/{r['replicate']}"),
                               steps=r["steps"] or None, lr=r["lr"] or None,   # 0 in the spec: the preset's
                               model_changes={"init": r["init"]},
                               train_changes=changes, **common))
    trained, models = train_models(specs, cfg.parallel)    # the long with-bias run first: one worker

    test = geoshape.centred_disks(cfg.n_test, size=cfg.size, sigma=cfg.sigma, rng=streams("test"))
    imgs = test.images
    outputs, codes = {}, {}
    for name, mod in models.items():
        codes[name], outputs[name] = codes_and_outputs(mod, imgs)
    rank1 = theory.rank1_floor(imgs)
    two = theory.two_ray_fit(imgs, rng=streams("two_ray_fit"))
    per_img = {name: np.mean((y - imgs) ** 2, axis=(1, 2)) for name, y in outputs.items()}
    X = imgs.reshape(len(imgs), -1).astype(np.float64)
    gram = X @ X.T

    m: dict[str, float] = {"mse_with_bias": float(per_img["bias"].mean()), "mse_rank1_floor": rank1,
                           "mse_two_ray_floor": two.mse,
                           "two_ray_positive_fraction": float(two.labels.mean())}
    for tag in tags:
        mse = float(per_img[tag].mean())
        fgs = floor_given_signs(imgs, codes[tag], gram=gram)
        m[f"mse_bias_free_{tag}"] = mse
        m[f"over_rank1_{tag}"] = mse / rank1
        m[f"floor_given_signs_{tag}"] = fgs
        m[f"over_floor_given_signs_{tag}"] = mse / fgs
        m[f"z_positive_fraction_{tag}"] = float(np.mean(codes[tag] > 0))
        m[f"train_seconds_{tag}"] = trained[tag]["history"]["seconds"]
    mses = np.array([m[f"mse_bias_free_{t}"] for t in tags])
    best = tags[int(np.argmin(mses))]
    m["mse_bias_free_best"] = float(mses.min())
    m["mse_bias_free_median"] = float(np.median(mses))
    m["mse_bias_free_worst"] = float(mses.max())
    m["best_over_rank1"] = float(mses.min() / rank1)
    m["min_over_floor_given_signs"] = float(min(m[f"over_floor_given_signs_{t}"] for t in tags))
    m["n_bias_free_runs"] = len(tags)
    m["n_below_rank1"] = int(np.sum(mses < rank1 * (1 - FLOOR_RTOL)))
    m["n_two_signed"] = int(sum(0 < m[f"z_positive_fraction_{t}"] < 1 for t in tags))
    # 0 at the rank-1 floor, 1 at the two-ray floor
    m["best_progress_to_two_ray"] = float((rank1 - mses.min()) / (rank1 - two.mse)) if rank1 > two.mse else 0.0
    m["train_seconds_bias"] = trained["bias"]["history"]["seconds"]
    m["train_cpu_seconds"] = cpu_seconds(trained.values())

    # figures, from saved data
    order = np.argsort(test.factors["radius"])
    pick = order[np.linspace(0, len(order) - 1, 8).round().astype(int)]
    # top right singular vector from the Gram matrix's top eigenvector (theory.disk_profile's
    # SVD gives the same vector; this avoids a second SVD)
    _, u = np.linalg.eigh(gram)
    f1 = X.T @ u[:, -1]
    f1 /= np.linalg.norm(f1)
    rank1_out = (X @ f1)[:, None] * f1
    fp, fn = two.f_pos.ravel(), two.f_neg.ravel()
    two_out = np.where(two.labels[:, None], np.maximum(X @ fp, 0)[:, None] * fp,
                       np.maximum(X @ fn, 0)[:, None] * fn)
    shape = imgs.shape[1:]
    data = {"radius": test.factors["radius"], "pick": pick, "inputs": imgs[pick],
            "with_bias": outputs["bias"][pick], "bias_free": outputs[best][pick],
            "rank1_opt": rank1_out[pick].reshape(-1, *shape), "two_ray_opt": two_out[pick].reshape(-1, *shape),
            "per_img_with_bias": per_img["bias"], "per_img_bias_free": per_img[best],
            "per_img_rank1": np.mean((rank1_out - X) ** 2, axis=1),
            "per_img_two_ray": np.mean((two_out - X) ** 2, axis=1),
            "z_bias_free": codes[best], "z_with_bias": codes["bias"]}
    save_npz(out / "ablation.npz", data)
    _plot_grid(data, out / "grid.png", best)
    _plot_by_radius(data, out / "mse_by_radius.png", best)
    m["total_seconds"] = time.perf_counter() - t_start
    write_outputs(out, cfg, m, models, histories={name: t["history"] for name, t in trained.items()},
                  streams=streams.used)
    return Result(cfg, m, _table(m, tags, best), out, {name: t["history"] for name, t in trained.items()})


def _plot_grid(d, path, best):
    rows = [("input", d["inputs"]), ("with biases", d["with_bias"]), ("bias-free AE", d["bias_free"]),
            ("best h(r) f", d["rank1_opt"]), ("best two-ray", d["two_ray_opt"])]
    titles = [f"r = {d['radius'][k]:.1f}" for k in d["pick"]]
    save_image_rows(rows, titles, path, f"Ablation: biases removed (bias-free net shown: {best})")


def _plot_by_radius(d, path, best, n_bins=32):
    r = d["radius"]
    edges = np.linspace(0, r.max() + 1e-9, n_bins + 1)
    idx = np.clip(np.digitize(r, edges) - 1, 0, n_bins - 1)
    mid = 0.5 * (edges[1:] + edges[:-1])
    fig, ax = pyplot().subplots(figsize=(6.0, 4.0))
    for key, label, style in [("per_img_with_bias", "with biases", "C0-"),
                              ("per_img_bias_free", f"bias-free ({best})", "C3-"),
                              ("per_img_rank1", "rank-1 optimum h(r) f", "k--"),
                              ("per_img_two_ray", "two-ray optimum", "k:")]:
        v = np.array([d[key][idx == b].mean() if np.any(idx == b) else np.nan for b in range(n_bins)])
        ax.plot(mid, v, style, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("r (pixels)")
    ax.set_ylabel("MSE per pixel")
    ax.legend(fontsize=7)
    finish(fig, path, dpi=110)


def _table(m: dict, tags, best) -> str:
    rows = [("with biases", m["mse_with_bias"], "", ""),
            ("rank-1 floor (best h(r) f)", m["mse_rank1_floor"], 1.0, ""),
            ("two-ray floor (f+ / f-)", m["mse_two_ray_floor"], m["mse_two_ray_floor"] / m["mse_rank1_floor"],
             m["two_ray_positive_fraction"])]
    for t in tags:
        rows.append((f"bias-free {t}" + (" *" if t == best else ""), m[f"mse_bias_free_{t}"],
                     m[f"over_rank1_{t}"], m[f"z_positive_fraction_{t}"]))
    return format_table(rows, ("net / floor", "MSE", "/ rank-1", "z>0 share"))


def _footer(result: Result) -> str:
    m = result.metrics
    return (f"\nruns below the rank-1 floor: {m['n_below_rank1']:.0f} of {m['n_bias_free_runs']:.0f}; "
            f"train CPU {m['train_cpu_seconds']:.0f} s; total {m['total_seconds']:.0f} s")


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, ablation.npz, *.png", _footer)


if __name__ == "__main__":
    cli(sys.argv[1:])
