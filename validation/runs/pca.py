"""Training and measuring the PCA-AE and its baselines, for the PCA-AE experiments
(pca_ae_ellipses, pca_ae_grey_disks, pca_ae_position, pca_ae_digits).

- :class:`TrainSpec`, :func:`fit`, :func:`fit_variants`: one training recipe for every model
  of an experiment, all trained by ``nets.train`` (PCA-AE variants share their first stage),
  each model seeded by the seed it is given (a named stream of the run, ``train/<model>``);
- :func:`encode_all`, :func:`recon_mse`, :func:`navigation_grid`: codes, errors and latent
  navigation of a trained model;
- :func:`correlation_metrics`, :func:`covariance_metrics`, :func:`disentanglement`,
  :func:`ordering_metrics`, :func:`evaluate`: the metrics of one model, as flat
  ``{"prefix.name": number}`` dicts;
- :func:`run_variants`, :func:`stage_table`: the whole body of an experiment that trains
  variants on one data set and scores them against known factors;
- :func:`decoded_mse`, :func:`stage_errors`, :func:`ablation_shares`: errors from codes already
  computed, per stage and per component; :func:`correlation_ratio`,
  :func:`one_vs_rest_spearman`: a component against class labels (pca_ae_digits).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from nets import (PCAAE, BetaTCVAE, BetaVAE, PCAAEConfig, PlainAE, TCVAEConfig, TrainConfig, VAEConfig, train,
                  train_pca_ae)
from nets.conv_ae import crop_images
from validation import metrics as M
from validation._plots import plot_navigation, plot_scatter
from validation.core import ExperimentConfig, Result, Streams, format_table, ints, param, reals, write_outputs

__all__ = ["PCAExperimentConfig", "check_betas", "TrainSpec", "fit", "fit_variants", "SHARED_FIRST_STAGE", "encode_all", "recon_mse", "navigation_grid",
           "disentanglement", "correlation_metrics", "covariance_metrics", "ordering_metrics",
           "evaluate", "run_variants", "matched_columns", "stage_table", "correlation_ratio",
           "one_vs_rest_spearman", "decoded_mse", "stage_errors", "ablation_shares"]

#: The name, for ``seed_of`` of :func:`fit_variants`, of the first stage PCA-AE variants share.
SHARED_FIRST_STAGE = "pca_ae_first_stage"



def check_betas(value, name: str) -> tuple[float, ...]:
    """A config check: a tuple of 1 to 6 distinct finite reals >= 0 (the beta-VAE weights of a
    run), kept as floats."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or not 1 <= len(value) <= 6:
        raise ValueError(f"{name} must be a tuple of 1 to 6 distinct finite values >= 0, got {value!r}")
    out = tuple(reals(0.0)(b, name) for b in value)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must be a tuple of 1 to 6 distinct finite values >= 0, got {value!r}")
    return out

@dataclass(frozen=True)
class PCAExperimentConfig(ExperimentConfig):
    """The fields every PCA-AE experiment shares (its own fields follow): the test set, the
    batches, the learning rate and the covariance weight of eq. 17."""

    n_test: int = param(1000, "test images, int >= 1", ints(1))
    batch_size: int = param(64, "images a batch, int >= 1", ints(1))
    lr: float = param(1e-3, "Adam's peak learning rate (cosine decay to 0.05 lr), > 0", reals(0.0, lo_open=True))
    lam_cov: float = param(1.0, "covariance weight lam of the PCA-AEs (eq. 17), >= 0", reals(0.0))


@dataclass(frozen=True)
class TrainSpec:
    """The training recipe shared by every model of an experiment (one nets.TrainConfig each,
    :meth:`config`). ``threads``: torch threads of each training, passed as is (give the
    experiment's ``cfg.torch_threads``; None would leave torch's own default, not one thread).
    Adam's ``betas``, the cosine schedule's floor ``min_lr_ratio`` and the held-out
    ``val_fraction`` are the PCA-AE experiments' fixed values; ``nets.train`` records each
    resolved ``TrainConfig`` in its ``History``."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    threads: int | None = 1
    eval_every: int = 250
    device: str = "cpu"
    betas: tuple[float, float] = (0.5, 0.999)
    min_lr_ratio: float = 0.05
    val_fraction: float = 0.05

    def config(self, seed: int) -> TrainConfig:
        """The ``nets.TrainConfig`` of one training seeded with ``seed`` (its batches and noise)."""
        return TrainConfig(
            steps=self.steps, batch_size=self.batch_size, lr=self.lr, betas=self.betas,
            lr_schedule=self.lr_schedule, min_lr_ratio=self.min_lr_ratio, threads=self.threads,
            eval_every=self.eval_every, val_fraction=self.val_fraction, seed=seed, progress=False,
            device=self.device,
        )


def fit(kind: str, arch: PCAAEConfig, data: np.ndarray, spec: TrainSpec, seed: int, *, beta: float = 4.0):
    """Train one model: ``kind`` in {"pca_ae", "ae", "vae", "tcvae"} (``beta``: the KL weight of
    the beta-VAE, the total-correlation weight of the beta-TCVAE, whose N is ``len(data)``).
    ``seed`` seeds the model's initial weights and its
    training (``spec.config(seed)``): give each model its own named stream.
    Returns (model in eval mode, [History, ...] one per stage or a single one, seconds)."""
    t0 = time.perf_counter()
    if kind == "pca_ae":
        model, hist = train_pca_ae(arch, data, spec.config(seed), seed=seed)
    elif kind == "ae":
        model = PlainAE(arch, seed=seed)
        hist = [train(model, data, spec.config(seed))]
    elif kind == "vae":
        model = BetaVAE(VAEConfig.of(arch, beta=beta), seed=seed)
        hist = [train(model, data, spec.config(seed))]
    elif kind == "tcvae":
        model = BetaTCVAE(TCVAEConfig.of(arch, beta=beta, dataset_size=len(data)), seed=seed)
        hist = [train(model, data, spec.config(seed))]
    else:
        raise ValueError(f"kind must be 'pca_ae', 'ae', 'vae' or 'tcvae', got {kind!r}")
    model.cpu().eval()  # trained on spec.device; measured on the CPU
    return model, hist, time.perf_counter() - t0


def fit_variants(variants: dict[str, tuple[str, PCAAEConfig]], data: np.ndarray, spec: TrainSpec,
                 seed_of: Callable[[str], int]):
    """Train every ``{name: (kind, arch)}``; yields ``(name, model, histories, seconds)``.

    ``seed_of(name)`` is the seed of model ``name`` (:func:`fit`), e.g. ``lambda v:
    streams(f"train/{v}")``; it is called once per model, when that model is trained.

    PCA-AE variants whose first stage is a single component share one trained first stage
    (it has no covariance term, so lam_cov cannot change it): it is trained once, seeded by
    ``seed_of(SHARED_FIRST_STAGE)``, and each such variant branches from a copy
    (``train_pca_ae(start=...)``), which both saves time and makes the variants' first stages
    identical. A branch trains its later stages on batches drawn from ``seed_of(name)``; their
    initial weights follow the copied model's seed (the shared stage's). Each branch's
    histories start with the shared stage's (the same ``History``), so that every variant
    lists all the trainings behind its model; the shared stage's time counts in the seconds
    of the first variant only.
    """
    first_stage, hist0 = None, []
    for name, (kind, arch) in variants.items():
        if kind == "pca_ae" and arch.packets[0] == 1 and arch.n_stages > 1:
            t0 = time.perf_counter()
            if first_stage is None:
                first = arch.replace(n_stages=1, packet=1)
                s0 = seed_of(SHARED_FIRST_STAGE)
                first_stage, hist0 = train_pca_ae(first, data, spec.config(s0), seed=s0)
            model, hist = train_pca_ae(arch, data, spec.config(seed_of(name)), start=first_stage)
            model.cpu().eval()
            yield name, model, list(hist0) + hist, time.perf_counter() - t0
        else:
            model, hist, secs = fit(kind, arch, data, spec, seed_of(name))
            yield name, model, hist, secs


@torch.no_grad()
def encode_all(model, images: np.ndarray, batch: int = 500) -> np.ndarray:
    """Codes (n, d) float64 of images (n, s, s), model in eval mode."""
    model.eval()
    out = [
        model.encode(torch.from_numpy(np.ascontiguousarray(images[i : i + batch], np.float32)))
        for i in range(0, len(images), batch)
    ]
    return torch.cat(out).double().numpy()


@torch.no_grad()
def recon_mse(model, images: np.ndarray, *, stage: int | None = None, batch: int = 500) -> float:
    """Per-pixel MSE of the reconstructions (PCA-AE: after ``stage``, default the last)."""
    model.eval()
    total = 0.0
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch], np.float32))
        y = model(x) if stage is None else model.reconstruct(x, stage)
        total += float(torch.sum((y[:, 0] - x) ** 2, dtype=torch.float64))
    return total / images.size


@torch.no_grad()
def navigation_grid(model, codes: np.ndarray, n_steps: int = 7, quantiles=(0.05, 0.95)) -> np.ndarray:
    """(d, n_steps, s, s): row i sweeps component i from its low to its high quantile over the
    test codes, the other components held at their median."""
    med = np.median(codes, axis=0)
    rows = []
    for i in range(codes.shape[1]):
        lo, hi = np.quantile(codes[:, i], quantiles)
        z = np.tile(med, (n_steps, 1))
        z[:, i] = np.linspace(lo, hi, n_steps)
        rows.append(model.decode(torch.from_numpy(z.astype(np.float32)))[:, 0].numpy())
    return np.stack(rows)


def disentanglement(codes: np.ndarray, factors: np.ndarray, prefix: str, seed: int) -> dict[str, float]:
    """MIG, DCI (train/test split drawn from ``seed``: the run's ``metrics/dci`` stream, the same
    for every model of a run) and SAP of ``codes`` against ``factors``.

    The factors here are continuous or finely gridded (radius, grey level, position, semi-axes
    and angle, image measures): MIG discretises each one with more than ``M.N_BINS`` distinct
    values into ``M.N_BINS`` histogram bins (``factor_bins``), as the codes; as raw labels a
    continuous factor has one value per sample, an entropy no 20-bin code could reach."""
    d = M.dci(codes, factors, rng=seed)
    return {
        f"{prefix}.mig": M.mig(codes, factors, factor_bins=M.N_BINS),
        f"{prefix}.dci_disentanglement": d.disentanglement,
        f"{prefix}.dci_completeness": d.completeness,
        f"{prefix}.dci_informativeness": d.informativeness,
        f"{prefix}.sap": M.sap(codes, factors),
    }


def correlation_metrics(
    codes: np.ndarray, measures: dict, prefix: str, *, ordered: bool
) -> tuple[dict, np.ndarray, np.ndarray]:
    """|Pearson| table (measures x components) and its summary. ``ordered``: measure i is
    matched with component i (a PCA-AE's claim); otherwise the best one-to-one assignment.
    Returns (metrics, table, matched columns)."""
    names, table = M.abs_correlation_table(codes, measures)
    if ordered:
        cols = np.arange(len(names))
    else:
        cols = M.best_assignment(table)[0]
    out = {}
    for i, n in enumerate(names):
        for j in range(table.shape[1]):
            out[f"{prefix}.corr.{n}.z{j + 1}"] = table[i, j]
        out[f"{prefix}.on_target.{n}"] = table[i, cols[i]]
        out[f"{prefix}.matched_component.{n}"] = int(cols[i]) + 1
    mask = np.ones(table.shape, bool)
    mask[np.arange(len(names)), cols] = False
    out[f"{prefix}.off_target_max"] = float(table[mask].max()) if mask.any() else 0.0
    # rank correlation of the same pairs: blind to monotone distortions (heavy-tailed ratios)
    _, rank = M.abs_correlation_table(codes, measures, method="spearman")
    for i, n in enumerate(names):
        out[f"{prefix}.spearman_on_target.{n}"] = rank[i, cols[i]]
    out[f"{prefix}.spearman_off_target_max"] = float(rank[mask].max()) if mask.any() else 0.0
    return out, table, cols


def covariance_metrics(codes: np.ndarray, prefix: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """The latent covariance (upper triangle) and the largest off-diagonal |correlation|.
    Returns (metrics, covariance, correlation)."""
    cov, corr = M.latent_covariance(codes), M.latent_correlation(codes)
    out = {}
    d = codes.shape[1]
    for i in range(d):
        for j in range(i, d):
            out[f"{prefix}.cov.z{i + 1}z{j + 1}"] = cov[i, j]
    off = np.abs(corr[~np.eye(d, dtype=bool)])
    out[f"{prefix}.latent_abs_corr_max"] = float(off.max()) if off.size else 0.0
    return out, cov, corr


def ordering_metrics(model: PCAAE, test: np.ndarray, prefix: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """Reconstruction error after each stage, linear PCA's with as many components, and the
    share of the total variance each stage explains."""
    errs = np.array([recon_mse(model, test, stage=k) for k in range(1, model.stage + 1)])
    dims = np.cumsum(model.config.packets)
    pca = M.pca_errors(test, int(dims[-1]))
    shares = M.explained_variance_shares(errs, float(pca[0]))
    out = {f"{prefix}.total_variance": float(pca[0])}
    for k, (e, s, dk) in enumerate(zip(errs, shares, dims), start=1):
        out[f"{prefix}.stage{k}.recon_mse"] = e
        out[f"{prefix}.stage{k}.variance_share"] = s
        out[f"pca.k{dk}.recon_mse"] = float(pca[dk])
    out[f"{prefix}.stages_decreasing"] = int(bool(np.all(np.diff(errs) < 0)))
    out[f"{prefix}.shares_decreasing"] = int(bool(np.all(np.diff(shares) < 0)))
    return out, errs, pca


def evaluate(model, test_x: np.ndarray, factors: np.ndarray, factor_names: Sequence[str], prefix: str, seed: int,
             *, ordered: bool = False) -> tuple[dict, np.ndarray, np.ndarray]:
    """Everything measured on one trained model against known factors: test MSE, |Pearson|
    table factor x component (best assignment unless ``ordered``), monotonicity of each
    matched component in its factor, latent covariance, MIG / DCI / SAP (DCI's split drawn from
    ``seed``); PCA-AE models also get the per-stage ordering measures. Returns (metrics, codes,
    |corr| table)."""
    codes = encode_all(model, test_x)
    out = {f"{prefix}.recon_mse": recon_mse(model, test_x)}
    fdict = {n: factors[:, i] for i, n in enumerate(factor_names)}
    m, table, cols = correlation_metrics(codes, fdict, prefix, ordered=ordered)
    out.update(m)
    for i, n in enumerate(factor_names):
        out[f"{prefix}.monotonic_fraction.{n}"] = M.monotonic_fraction(codes[:, cols[i]], factors[:, i])
        out[f"{prefix}.r2_linear_all.{n}"] = M.r_squared(codes, factors[:, i])
    out.update(covariance_metrics(codes, prefix)[0])
    out.update(disentanglement(codes, factors, prefix, seed))
    if isinstance(model, PCAAE):
        out.update(ordering_metrics(model, test_x, prefix)[0])
    return out, codes, table


def run_variants(config, variant_map: dict, make_data: Callable, factors: Sequence[str],
                 title: str, table: Callable) -> Result:
    """The body of an experiment that scores variants against known factors: train each
    ``{name: (kind, arch)}`` of ``variant_map`` on the same data (drawn by ``make_data(n,
    config, rng)``), :func:`evaluate` it against ``factors``, draw the navigation grids and the
    code scatter, write the outputs and return the :class:`Result` with ``table(metrics,
    names)``. ``config``: an :class:`~validation.core.ExperimentConfig` with ``n_train, n_test,
    steps, batch_size, lr``. Random streams of ``config.seed``: ``data`` (training images),
    ``test`` (test images), ``train/<variant>`` (each model, :func:`fit_variants`, with
    ``train/pca_ae_first_stage`` for the shared first stage), ``metrics/dci`` (DCI's split)."""
    t0 = time.perf_counter()
    out = config.output_dir
    streams = Streams(config.seed)
    train_x, _ = make_data(config.n_train, config, np.random.default_rng(streams("data")))
    test_x, test_f = make_data(config.n_test, config, np.random.default_rng(streams("test")))
    spec = TrainSpec(steps=config.steps, batch_size=config.batch_size, lr=config.lr, threads=config.torch_threads,
                     device=config.device)
    dci_seed = streams("metrics/dci")
    metrics, grids, codes, models, hists = {}, {}, {}, {}, {}
    for name, model, hist, secs in fit_variants(variant_map, train_x, spec, lambda v: streams(f"train/{v}")):
        models[name], hists[name] = model, hist
        m, codes[name], _ = evaluate(model, test_x, test_f, factors, name, dci_seed)
        metrics.update(m)
        metrics[f"seconds.train.{name}"] = secs
        grids[name] = navigation_grid(model, codes[name])
    metrics["seconds.total"] = time.perf_counter() - t0
    plot_navigation(grids, out / "navigation.png", f"Latent navigation, {title}")
    plot_scatter(codes, test_f, factors, out / "latent_scatter.png", "Test codes coloured by the true factors")
    write_outputs(out, config, metrics, models, histories=hists, streams=streams.used)
    return Result(config, metrics, table(metrics, list(variant_map)), out, hists)


def matched_columns(metrics: dict, name: str, factors: Sequence[str]) -> list:
    """Table cells of one model: for each factor, its matched component and that |Pearson|."""
    cells = []
    for f in factors:
        cells += [f"z{metrics[f'{name}.matched_component.{f}']}", metrics[f"{name}.on_target.{f}"]]
    return cells


def stage_table(metrics: dict, names: Sequence[str]) -> str:
    """The reconstruction error after each stage and the share of variance it explains, for
    every variant of ``names`` that has stages (the PCA-AEs)."""
    rows = []
    for n in names:
        k = 1
        while f"{n}.stage{k}.recon_mse" in metrics:
            rows.append([n, k, metrics[f"{n}.stage{k}.recon_mse"], metrics[f"{n}.stage{k}.variance_share"]])
            k += 1
    return format_table(rows, ["variant", "stage", "mse after stage", "variance share"])


# ----------------------------------------------------------------------------- against class labels; errors from codes
# (pca_ae_digits)


def correlation_ratio(values, labels) -> float:
    """The correlation ratio eta of ``values`` (n,) on the classes ``labels`` (n,): the square
    root of the share of the variance of ``values`` between the class means,
    ``sqrt(sum_c n_c (mean_c - mean)^2 / sum_i (v_i - mean)^2)``, in [0, 1]: 1 when each class
    has one value, 0 when all class means are equal (and for constant values).

    >>> correlation_ratio([1.0, 2.0, 5.0, 6.0], [0, 0, 1, 1])   # between 16, total 17
    0.9701425001453319
    """
    v = np.asarray(values, np.float64)
    lab = np.asarray(labels)
    if v.ndim != 1 or lab.shape != v.shape or v.size < 2:
        raise ValueError(f"values and labels must be (n,) with n >= 2, got {v.shape} and {lab.shape}")
    total = float(np.sum((v - v.mean()) ** 2))
    if total == 0.0:
        return 0.0
    _, inverse, counts = np.unique(lab, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=v) / counts
    between = float(np.sum(counts * (means - v.mean()) ** 2))
    return float(np.sqrt(min(1.0, between / total)))


def one_vs_rest_spearman(values, labels) -> tuple[int, float]:
    """The class whose indicator ``labels == c`` has the largest |Spearman| with ``values``,
    and that |Spearman|: ``(c, |rho|)``."""
    lab = np.asarray(labels)
    best = (int(lab[0]), -1.0)
    for c in np.unique(lab):
        r = abs(M.spearman(values, (lab == c).astype(np.float64)))
        if r > best[1]:
            best = (int(c), r)
    return best


@torch.no_grad()
def decoded_mse(decode: Callable, codes: np.ndarray, images: np.ndarray, *, batch: int = 500) -> float:
    """Per-pixel MSE of ``decode(codes)`` ((n, 1, s, s) from float32 codes (n, d)) against
    ``images`` (n, s, s): the reconstruction error from codes already computed (a model's
    ``decode``, or a PCA-AE's earlier stage, :func:`stage_errors`)."""
    total = 0.0
    for i in range(0, len(images), batch):
        y = decode(torch.from_numpy(np.ascontiguousarray(codes[i : i + batch], np.float32)))
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch], np.float32))
        total += float(torch.sum((y[:, 0] - x) ** 2, dtype=torch.float64))
    return total / np.asarray(images).size


def stage_errors(model: PCAAE, images: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-pixel MSE after each stage of a trained PCA-AE, from its codes of ``images``
    (:func:`encode_all`, all components): stage k decodes the first ``sum(packets[:k])`` with its
    own decoder, as ``PCAAE.reconstruct`` does, without encoding the images again. (K,)."""
    model.eval()
    dims = np.cumsum(model.config.packets[: model.stage])
    errs = []
    for k, dk in enumerate(dims, start=1):
        dec = model.decoders[k - 1]
        errs.append(decoded_mse(lambda z, dec=dec, dk=int(dk): crop_images(dec(z[:, :dk]), model.config.size),
                                codes, images))
    return np.array(errs)


def ablation_shares(model, images: np.ndarray, codes: np.ndarray, total_variance: float) -> np.ndarray:
    """The share of the data's variance each latent component explains, read off the trained
    model: for component i, the per-pixel MSE gained when ``z_i`` is held at its mean over
    ``codes`` (the others kept), over ``total_variance`` (the data's per-pixel variance). For
    linear PCA's decoder this is the component's variance share ``lam_i / sum lam``; for any
    model it is defined without stages, so baselines and PCA-AEs are read the same way.
    ``codes``: the model's codes of ``images`` (:func:`encode_all`). Returns (d,)."""
    model.eval()
    base = decoded_mse(model.decode, codes, images)
    out = []
    for i in range(codes.shape[1]):
        z = codes.copy()
        z[:, i] = codes[:, i].mean()
        out.append((decoded_mse(model.decode, z, images) - base) / float(total_variance))
    return np.array(out)
