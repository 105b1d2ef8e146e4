"""PCA-AE against a standard AE, beta-VAEs and a beta-TCVAE on blurred ellipses (talk, slides 48-50).

    python -m validation.pca_ae_ellipses [--quick] [--seed S] [--out DIR] [--FIELD value ...]
    python -m validation.runners.sweep pca_ae_ellipses --seeds 0:10      # the same over ten seeds

The PCA-AE orders (area first) and decorrelates its latent. Centred ellipses (64x64, sigma 1);
seven models with a 3-D latent, same data, nets and budget: the PCA-AE one component a stage,
its packet variant (1, 2), a standard AE, beta-VAEs (``betas``) and a beta-TCVAE.

Outputs in ``--out`` (default ``results/pca_ae_ellipses``; ``results/pca_ae_ellipses_quick`` with
``--quick``): ``config.json``,
``metrics.json``, ``weights.pt``, figures (navigation grids, correlation tables, covariance
matrices, ordering curve).

Metrics, per model: the PCAAE notebook's protocol (:func:`protocol`: area on z1, H/V and
diagonal ratios on z2 / z3, off-target excess over the data's own correlations), MIG, DCI
(lasso and gradient-boosted trees), SAP, test MSE; over seeds, :data:`SEED_GOALS`.

Run time (2 idle cores, one torch thread a training): full run 18 min (7 models),
``--quick`` 47 s.
Measured results: docs/results/pca_ae_ellipses.md
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nets import PCAAEConfig
from nets.conv_ae import ARCHS, OUTPUTS, RECON_LOSSES
from nets.train_config import LR_SCHEDULES
from validation import metrics as M
from validation.runs.pca import (
    check_betas,
    PCAExperimentConfig,
    TrainSpec,
    correlation_metrics,
    covariance_metrics,
    disentanglement,
    encode_all,
    fit,
    fit_variants,
    navigation_grid,
    ordering_metrics,
    recon_mse,
)
from validation._plots import plot_matrices, plot_navigation, plot_ordering
from validation.core import (Result, Streams, SweepSpec, flag, format_table, ints, one_of, param,
                             pow2, reals, run_cli, write_outputs)

NAME = "pca_ae_ellipses"
MEASURES = ("area", "hv_ratio", "diag_ratio")
# The public PCAAE notebook's figures for its PCA-AE (measure i <-> component i) and plain AE.
NOTEBOOK_PCA_AE = {"area": 0.977, "hv_ratio": 0.788, "diag_ratio": 0.745}
NOTEBOOK_AE_AREA = 0.935
# The notebook's full printed |Pearson| tables (rows area, H/V, diag; columns z1, z2, z3). Its
# own largest off-target entry is H/V~z1 0.132, the data's area~H/V correlation, not <= 0.03.
NOTEBOOK_TABLE_PCA_AE = ((0.9768, 0.0154, 0.0284), (0.1321, 0.7882, 0.0343), (0.1146, 0.0190, 0.7445))
NOTEBOOK_TABLE_AE = ((0.9349, 0.4635, 0.5575), (0.0650, 0.8026, 0.0328), (0.3591, 0.0187, 0.5427))
# The goal: a PCA-AE reaches every on-target figure of NOTEBOOK_PCA_AE while no off-target
# entry exceeds the data's own measure correlation by more than this.
GOAL_OFF_TARGET = 0.05
LABELS = {"pca_ae": "PCA-AE", "pca_ae_packet": "PCA-AE, packets (1, 2)", "ae": "standard AE"}


def vae_name(beta: float) -> str:
    """The metric prefix of the beta-VAE with KL weight ``beta``: ``vae_b4`` for 4.0."""
    return f"vae_b{beta:g}"


def kinds_of(config: "Config") -> list[str]:
    """The models of a run, in table order: both PCA-AEs, the plain AE, one beta-VAE per
    ``config.betas``, the beta-TCVAE."""
    return ["pca_ae", "pca_ae_packet", "ae"] + [vae_name(b) for b in config.betas] + ["tcvae"]


_betas = check_betas  # the beta-VAE weights of a run: validation.runs.pca.check_betas


@dataclass(frozen=True)
class Config(PCAExperimentConfig):
    """pca_ae_ellipses settings (``--key value`` on the command line)."""

    NAME = NAME
    QUICK = {"n_train": 2000, "n_test": 500, "steps": 60, "betas": (4.0,)}

    size: int = param(64, "image side (pixels), a power of two >= 8", pow2(8))
    sigma: float = param(1.0, "blur of the ellipses: Gaussian std (pixels), in [0, 8]", reals(0.0, 8.0))
    axis_min: float = param(2.0, "smallest semi-axis (pixels, uniform law for a and b), in (0, axis_max)",
                            reals(0.0, lo_open=True))
    axis_max: float = param(30.0, "largest semi-axis (pixels), in (axis_min, size / 2]", reals(0.0, lo_open=True))
    theta_max: float = param(math.pi / 2, "rotations uniform in [0, theta_max) (radians), theta_max in (0, pi]",
                             reals(0.0, math.pi, lo_open=True))
    n_train: int = param(10000, "training images (one fixed set), int >= 2 * batch_size", ints(1))
    n_components: int = param(3, "latent size of every model: 3 (one component per protocol measure)", one_of(3))
    steps: int = param(2000, "optimiser steps of each training (each PCA-AE stage), int >= 1", ints(1))
    betas: tuple[float, ...] = param((1.0, 4.0, 8.0), "KL weights of the beta-VAEs, one model each: 1 to 6 "
                                                      "distinct reals >= 0", _betas)
    tc_beta: float = param(6.0, "total-correlation weight of the beta-TCVAE, >= 0", reals(0.0))
    output: str = param("sigmoid", f"decoders' output layer, one of {OUTPUTS}", one_of(*OUTPUTS))
    recon_loss: str = param("bce", f"reconstruction loss, one of {RECON_LOSSES} (bce needs output sigmoid)",
                            one_of(*RECON_LOSSES))
    lr_schedule: str = param("cosine", f"learning-rate schedule (cosine, linear: decay to 0.05 lr), one of "
                                       f"{LR_SCHEDULES}", one_of(*LR_SCHEDULES))
    arch: str = param("subpixel", f"encoder / decoder layout of every model, one of {ARCHS}", one_of(*ARCHS))
    integer_params: bool = param(False, "the notebook's grid: integer semi-axes in [axis_min, axis_max], whole "
                                        "degrees in [0, theta_max)", flag)

    def validate(self) -> None:
        if not self.axis_min < self.axis_max <= self.size / 2:
            raise ValueError(f"need 0 < axis_min < axis_max <= size/2, got {self.axis_min}, {self.axis_max}")
        if self.n_train < self.batch_size * 2:
            raise ValueError(f"n_train must be >= 2 * batch_size, got {self.n_train}")
        if self.integer_params and math.floor(self.axis_max) < math.ceil(self.axis_min):
            raise ValueError(f"integer_params needs an integer in [axis_min, axis_max], got {self.axis_min}, {self.axis_max}")
        if self.recon_loss == "bce" and self.output != "sigmoid":
            raise ValueError(f"recon_loss='bce' needs output='sigmoid', got output={self.output!r}")


def make_ellipses(n: int, config: Config, rng: np.random.Generator):
    """(images (n, s, s) float32, factors (n, 3) = a, b, theta). ``integer_params``: the public
    PCAAE notebook's grid, integer semi-axes in [axis_min, axis_max] and whole degrees in
    [0, theta_max) (its ``randint(2, 32)`` and ``randint(0, 90)`` with axis_max=31), rendered
    by geoshape (exact blurred indicator, not the notebook's binary raster + skimage blur)."""
    import geoshape

    if config.integer_params:
        lo, hi = math.ceil(config.axis_min), math.floor(config.axis_max)
        a = rng.integers(lo, hi + 1, n).astype(float)
        b = rng.integers(lo, hi + 1, n).astype(float)
        n_deg = max(1, math.ceil(math.degrees(config.theta_max) - 1e-9))
        theta = np.deg2rad(rng.integers(0, n_deg, n).astype(float))
        images = geoshape.ellipses(a, b, theta, size=config.size, sigma=config.sigma)
        return np.asarray(images, np.float32), np.column_stack([a, b, theta])
    lab = geoshape.random_ellipses(
        n, size=config.size, a=(config.axis_min, config.axis_max), b=(config.axis_min, config.axis_max),
        theta=(0.0, config.theta_max), sigma=config.sigma, rng=rng,
    )
    return np.asarray(lab.images, np.float32), np.column_stack([lab.factors[k] for k in ("a", "b", "theta")])


def protocol(codes: np.ndarray, measures: dict, measure_corr: np.ndarray, prefix: str, *,
             ordered: bool = True) -> tuple[dict, np.ndarray]:
    """The notebook's protocol for one PCA-AE, read the way the data allows.

    z1 is matched with the area (the ordering claim). The H/V and diagonal ratios are matched
    with z2 and z3 by the best assignment, not in the notebook's order: rotating an image by
    45 degrees maps the data's law onto itself (up to the pixel grid) and swaps the two
    ratios, so which of them the second stage takes is not identifiable (seeds differ).
    Off-target entries are reported as the excess over the data's own measure correlations
    (:func:`validation.metrics.off_target_excess`). The ratios are heavy-tailed (0.12 to 9.4),
    so Pearson against them rewards a code that is linear in the ratio: the same pairs are
    also given for log-ratios and as Spearman's rho.
    ``ordered=False`` (a baseline, which claims no order): all three measures are matched by
    the best assignment. Returns (metrics, |Pearson| table)."""
    names, table = M.abs_correlation_table(codes, measures)
    if ordered:
        cols = np.array([0] + [1 + c for c in M.best_assignment(table[1:3, 1:3])[0]])
    else:
        cols = np.asarray(M.best_assignment(table)[0])
    log_m = {k: (np.log(v) if k != "area" else v) for k, v in measures.items()}
    _, log_table = M.abs_correlation_table(codes, log_m)
    _, rank = M.abs_correlation_table(codes, measures, method="spearman")
    excess = M.off_target_excess(table, cols, measure_corr)
    out = {}
    for i, n in enumerate(names):
        out[f"{prefix}.pair.component.{n}"] = int(cols[i]) + 1
        out[f"{prefix}.pair.on_target.{n}"] = table[i, cols[i]]
        out[f"{prefix}.pair.log_on_target.{n}"] = log_table[i, cols[i]]
        out[f"{prefix}.pair.spearman_on_target.{n}"] = rank[i, cols[i]]
        if i > 0:  # how much of the ratio the ratios' pair of components carries linearly, whatever its rotation
            pair = codes[:, sorted(int(c) for c in cols[1:3])]
            out[f"{prefix}.pair.multiple_r.{n}"] = math.sqrt(max(0.0, M.r_squared(pair, measures[n])))
    out[f"{prefix}.pair.off_target_max"] = float(np.nanmax(np.where(np.isnan(excess), np.nan, table)))
    out[f"{prefix}.pair.off_target_excess_max"] = float(np.nanmax(excess))
    return out, table


def main(config: Config) -> Result:
    """Train the seven models, measure them, write the outputs; see the module docstring.
    Random streams of ``config.seed``: ``data``, ``test`` (the images), ``train/<model>`` (each
    model's weights and batches; ``train/pca_ae_first_stage`` for the PCA-AEs' shared first
    stage), ``metrics/dci`` and ``metrics/dci_gbt`` (the estimators' splits, one for all models)."""
    t_start = time.perf_counter()
    out = config.output_dir
    streams = Streams(config.seed)
    train_x, _ = make_ellipses(config.n_train, config, np.random.default_rng(streams("data")))
    test_x, test_f = make_ellipses(config.n_test, config, np.random.default_rng(streams("test")))
    measures = M.ellipse_measures(test_x)
    measure_mat = np.column_stack([measures[k] for k in MEASURES])
    # The measures correlate with each other in the data itself: a component that followed one
    # measure exactly would still show this much "off-target" correlation with the others.
    metrics: dict[str, float] = {}
    mcorr = np.abs(M.latent_correlation(measure_mat))
    for i in range(len(MEASURES)):
        for j in range(i + 1, len(MEASURES)):
            metrics[f"data.abs_corr.{MEASURES[i]}.{MEASURES[j]}"] = mcorr[i, j]
    metrics["data.off_target_floor"] = float(mcorr[~np.eye(len(MEASURES), dtype=bool)].max())
    arch = PCAAEConfig(size=config.size, n_stages=config.n_components, packet=1, lam_cov=config.lam_cov,
                       output=config.output, recon_loss=config.recon_loss, arch=config.arch)
    spec = TrainSpec(steps=config.steps, batch_size=config.batch_size, lr=config.lr, threads=config.torch_threads,
                     lr_schedule=config.lr_schedule, device=config.device)

    def seed_of(name: str) -> int:
        return streams(f"train/{name}")

    # the talk's PCA-AE (one component a stage) and its packet variant (area, then the two
    # ratios' pair as one packet of 2) branch from one shared first stage (train/pca_ae_first_stage)
    variants = {"pca_ae": ("pca_ae", arch), "pca_ae_packet": ("pca_ae", arch.replace(n_stages=2, packet=(1, 2)))}
    trained = {name: (model, hist, secs) for name, model, hist, secs in
               fit_variants(variants, train_x, spec, seed_of)}
    trained["ae"] = fit("ae", arch, train_x, spec, seed_of("ae"))
    for b in config.betas:
        trained[vae_name(b)] = fit("vae", arch, train_x, spec, seed_of(vae_name(b)), beta=b)
    trained["tcvae"] = fit("tcvae", arch, train_x, spec, seed_of("tcvae"), beta=config.tc_beta)
    kinds = kinds_of(config)
    dci_seed, gbt_seed = streams("metrics/dci"), streams("metrics/dci_gbt")

    grids, tables, covs, models, hists = {}, {}, {}, {}, {}
    measure_corr = M.latent_correlation(measure_mat)
    for kind in kinds:
        model, hist, secs = trained[kind]
        models[kind], hists[kind] = model, hist
        codes = encode_all(model, test_x)
        metrics[f"{kind}.recon_mse"] = recon_mse(model, test_x)
        metrics[f"seconds.train.{kind}"] = secs
        m, tables[kind], _ = correlation_metrics(codes, measures, kind, ordered=kind.startswith("pca_ae"))
        metrics.update(m)
        m, covs[kind], _ = covariance_metrics(codes, kind)
        metrics.update(m)
        metrics.update(disentanglement(codes, test_f, f"{kind}.factors", dci_seed))
        gbt = M.dci_gbt(codes, test_f, rng=gbt_seed, factor_bins=M.N_BINS)
        metrics[f"{kind}.factors.dci_gbt_disentanglement"] = gbt.disentanglement
        metrics[f"{kind}.factors.dci_gbt_completeness"] = gbt.completeness
        metrics[f"{kind}.factors.dci_gbt_informativeness"] = gbt.informativeness
        metrics.update(disentanglement(codes, measure_mat, f"{kind}.measures", dci_seed))
        grids[kind] = navigation_grid(model, codes)
        metrics.update(protocol(codes, measures, measure_corr, kind, ordered=kind.startswith("pca_ae"))[0])
    m, errs, pca = ordering_metrics(models["pca_ae"], test_x, "pca_ae")
    metrics.update(m)
    metrics.update(ordering_metrics(models["pca_ae_packet"], test_x, "pca_ae_packet")[0])
    for fam in ("pca_ae", "pca_ae_packet"):
        goal = all(metrics[f"{fam}.pair.on_target.{k}"] >= v for k, v in NOTEBOOK_PCA_AE.items()) and (
            metrics[f"{fam}.pair.off_target_excess_max"] <= GOAL_OFF_TARGET
        )
        metrics[f"goal.{fam}_meets_notebook"] = int(goal)
    metrics["goal.ae_area_vs_notebook"] = metrics["ae.on_target.area"] - NOTEBOOK_AE_AREA
    metrics["seconds.total"] = time.perf_counter() - t_start

    labels = {k: LABELS.get(k, k) for k in kinds}
    for b in config.betas:
        labels[vae_name(b)] = f"beta-VAE (beta={b:g})"
    labels["tcvae"] = f"beta-TCVAE (beta={config.tc_beta:g})"
    plot_navigation({labels[k]: g for k, g in grids.items()}, out / "navigation.png", "Latent navigation, ellipses")
    plot_matrices({labels[k]: t for k, t in tables.items()}, out / "correlations.png",
                  "|Pearson|: image measure vs latent component", row_labels=["area", "H/V", "diag"])
    plot_matrices({labels[k]: c for k, c in covs.items()}, out / "covariance.png", "Latent covariance (test)",
                  vmin=None, vmax=None, cmap="RdBu_r")
    plot_ordering({"PCA-AE (stage k)": (np.arange(1, len(errs) + 1), errs), "linear PCA": (np.arange(len(pca)), pca)},
                  out / "ordering.png", "Reconstruction error by latent size")
    write_outputs(out, config, metrics, models, histories=hists, streams=streams.used)

    table = _table(metrics, kinds)
    return Result(config, metrics, table, out, hists)


def _table(metrics: dict, kinds: Sequence[str]) -> str:
    rows = []
    for kind in kinds:
        rows.append([kind] + [f"z{metrics[f'{kind}.pair.component.{n}']}: {metrics[f'{kind}.pair.on_target.{n}']:.3f}"
                              for n in MEASURES]
                    + [metrics[f"{kind}.pair.multiple_r.{n}"] for n in MEASURES[1:]]
                    + [metrics[f"{kind}.pair.spearman_on_target.{n}"] for n in MEASURES[1:]]
                    + [metrics[f"{kind}.pair.off_target_excess_max"], metrics[f"{kind}.latent_abs_corr_max"],
                       metrics[f"{kind}.recon_mse"]])
    rows.append(["notebook PCA-AE", "z1: 0.977", "z2: 0.788", "z3: 0.745", "", "", "", "", "", "", ""])
    t1 = format_table(rows, ["model", "area", "H/V", "diag", "R H/V", "R diag", "rho H/V", "rho diag", "excess",
                             "max|corr z|", "test mse"])
    rows = []
    for kind in kinds:
        rows.append([kind] + [metrics[f"{kind}.factors.{k}"] for k in (
            "mig", "dci_disentanglement", "dci_gbt_disentanglement", "dci_completeness", "dci_informativeness", "sap")]
            + [metrics[f"{kind}.measures.mig"], metrics[f"{kind}.measures.sap"]])
    t2 = format_table(rows, ["model", "MIG", "DCI-D", "DCI-D gbt", "DCI-C", "DCI-I", "SAP", "MIG(meas)", "SAP(meas)"])
    k = 1
    rows = []
    while f"pca_ae.stage{k}.recon_mse" in metrics:
        rows.append([k, metrics[f"pca_ae.stage{k}.recon_mse"], metrics[f"pca.k{k}.recon_mse"],
                     metrics[f"pca_ae.stage{k}.variance_share"]])
        k += 1
    t3 = format_table(rows, ["stage", "PCA-AE mse", "linear PCA mse", "variance share"])
    floor = (f"measures correlate in the data: |r|(area, H/V) = {metrics['data.abs_corr.area.hv_ratio']:.3f}, "
             f"|r|(area, diag) = {metrics['data.abs_corr.area.diag_ratio']:.3f}, "
             f"|r|(H/V, diag) = {metrics['data.abs_corr.hv_ratio.diag_ratio']:.3f}")
    return "\n\n".join([
        "|Pearson| of each measure with its component (PCA-AEs: area on z1, the ratios on z2 / z3 by best "
        "assignment; baselines: best assignment over all three); R: multiple correlation of the ratio with "
        "the ratios' two components; rho: Spearman; excess: off-target above the data's own measure "
        "correlations; MIG / DCI against the factors (a, b, theta):\n" + t1, t2, t3, floor,
        f"goal met on this seed (PCA-AE >= notebook, off-target excess <= {GOAL_OFF_TARGET}): one "
        f"component a stage {bool(metrics['goal.pca_ae_meets_notebook'])}, packets (1, 2) "
        f"{bool(metrics['goal.pca_ae_packet_meets_notebook'])}; total {metrics['seconds.total']:.0f} s; "
        f"over seeds: python -m validation.runners.sweep {NAME} --seeds 0:10"])


# ----------------------------------------------------------------------------- over seeds
#: The models of a default run, the metrics a sweep reports for each, and the paired
#: comparisons of each PCA-AE with each baseline (validation.runners.sweep).
SWEEP = SweepSpec(
    variants=("pca_ae", "pca_ae_packet", "ae", "vae_b1", "vae_b4", "vae_b8", "tcvae"),
    headlines=("{v}.pair.on_target.area", "{v}.pair.on_target.hv_ratio", "{v}.pair.on_target.diag_ratio",
               "{v}.pair.multiple_r.hv_ratio", "{v}.pair.multiple_r.diag_ratio",
               "{v}.pair.off_target_excess_max", "{v}.factors.mig", "{v}.factors.dci_disentanglement",
               "{v}.factors.dci_gbt_disentanglement", "{v}.recon_mse"),
    pairs=tuple((base, pca) for pca in ("pca_ae", "pca_ae_packet")
                for base in ("ae", "vae_b1", "vae_b4", "vae_b8", "tcvae")),
)
#: The goals over seeds for the best PCA-AE variant (the notebook's printed figures as medians).
SEED_GOALS = {"area_mean": 0.98, "area_min": 0.97, "hv_ratio_median": 0.788, "diag_ratio_median": 0.745,
              "ratio_mean": 0.76, "ratio_min": 0.68, "multiple_r_min": 0.85, "excess_median": 0.05,
              "excess_max": 0.10, "wins_of_10": 8, "mse_ratio": 1.5}


def sweep_summary(per_seed: dict[int, dict]) -> tuple[dict, str]:
    """The goals over seeds (:data:`SEED_GOALS`) for the better PCA-AE variant (the higher mean
    of the two ratios' on-target |r|), every model's row beside it. ``per_seed``: ``{seed:
    metrics}`` of one grid point. Returns (numbers, markdown text)."""
    seeds = sorted(per_seed)
    models = [v for v in SWEEP.variants if all(f"{v}.recon_mse" in per_seed[s] for s in seeds)]

    def col(key):
        return np.array([np.nan if per_seed[s].get(key) is None else per_seed[s][key] for s in seeds], float)

    def ratio_mean(v):
        return float(np.nanmean([col(f"{v}.pair.on_target.{n}") for n in MEASURES[1:]]))

    best = max((v for v in ("pca_ae", "pca_ae_packet") if v in models), key=ratio_mean)
    area = col(f"{best}.pair.on_target.area")
    nums: dict[str, float] = {"n_seeds": len(seeds), "best_is_packet": int(best == "pca_ae_packet")}
    rows = []

    def goal(name, value, target, higher=True):
        ok = bool(value >= target) if higher else bool(value <= target)
        nums[f"{name}"] = float(value)
        nums[f"{name}.met"] = int(ok)
        short = 0.0 if ok else (target - value if higher else value - target)
        rows.append(f"| {name} | {'>=' if higher else '<='} {target:g} | {value:.3f} | "
                    f"{'yes' if ok else f'no, short by {short:.3f}'} |")

    goal("area_mean", np.nanmean(area), SEED_GOALS["area_mean"])
    goal("area_min", np.nanmin(area), SEED_GOALS["area_min"])
    for n in MEASURES[1:]:
        v = col(f"{best}.pair.on_target.{n}")
        goal(f"{n}_median", np.nanmedian(v), SEED_GOALS[f"{n}_median"])
        goal(f"{n}_mean", np.nanmean(v), SEED_GOALS["ratio_mean"])
        goal(f"{n}_min", np.nanmin(v), SEED_GOALS["ratio_min"])
        goal(f"multiple_r.{n}_min", np.nanmin(col(f"{best}.pair.multiple_r.{n}")), SEED_GOALS["multiple_r_min"])
    ex = col(f"{best}.pair.off_target_excess_max")
    goal("excess_median", np.nanmedian(ex), SEED_GOALS["excess_median"], higher=False)
    goal("excess_max", np.nanmax(ex), SEED_GOALS["excess_max"], higher=False)
    vaes = [v for v in models if v.startswith("vae_b")]
    need = math.ceil(SEED_GOALS["wins_of_10"] / 10 * len(seeds))
    for metric in ("mig", "dci_gbt_disentanglement", "dci_disentanglement"):
        mine = col(f"{best}.factors.{metric}")
        rivals = {"ae": "ae"}
        if vaes:
            rivals["best beta-VAE"] = max(vaes, key=lambda v: np.nanmean(col(f"{v}.factors.{metric}")))
        for label, rival in rivals.items():
            wins = int(np.sum(mine > col(f"{rival}.factors.{metric}")))
            nums[f"{metric}.wins_vs.{rival}"] = wins
            goal(f"{metric} wins vs {label} ({rival})", wins, need)
    mse = col(f"{best}.recon_mse") / col("ae.recon_mse")
    goal("test mse / ae, median", np.nanmedian(mse), SEED_GOALS["mse_ratio"], higher=False)
    nums["mse_ratio_max"] = float(np.nanmax(mse))
    table = ["| model | area | H/V | diag | R H/V | R diag | excess | MIG | DCI-D | DCI-D gbt | test mse |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for v in models:
        cells = []
        for t in SWEEP.headlines:
            c = col(t.format(v=v))
            cells.append(f"{np.nanmedian(c):.4f}" if t.endswith("recon_mse")
                         else f"{np.nanmedian(c):.3f} [{np.nanmin(c):.3f}, {np.nanmax(c):.3f}]")
        table.append(f"| {v}{' (best PCA-AE)' if v == best else ''} | " + " | ".join(cells) + " |")
    text = (f"Over {len(seeds)} seeds, median [min, max] (PCA-AEs: area on z1, ratios on z2 / z3 by best "
            f"assignment; baselines: best assignment over all three; MIG / DCI against (a, b, theta)):\n\n"
            + "\n".join(table) + f"\n\nGoals for the better PCA-AE variant, {best} (wins needed: {need} of "
            f"{len(seeds)} paired seeds):\n\n| goal | target | measured | met |\n|---|---|---|---|\n"
            + "\n".join(rows))
    return nums, text


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, *.png")


if __name__ == "__main__":
    cli(sys.argv[1:])
