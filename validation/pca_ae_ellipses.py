"""PCA-AE against a standard AE and a beta-VAE on blurred ellipses (talk, slides 48-50).

    python -m validation.pca_ae_ellipses [--quick] [--seed S] [--out DIR] [--key value ...]

Ellipses centred in a 64x64 image, semi-axes a, b uniform in [2, 30] pixels and rotation theta
uniform in [0, pi/2) (the public PCAAE notebook's ranges, continuous here), Gaussian blur
sigma = 1. Four models with the same encoder/decoder capacity and a 3-D latent, all trained
with the one engine ``nets.train``: the PCA-AE one component a stage (``nets.pca_ae.PCAAE``),
its packet variant (packets (1, 2): the area, then the two ratios' pair learned together -- the
talk's future work; it branches from the same trained first stage), ``nets.plain_ae.PlainAE``
and ``nets.vae.BetaVAE``. On 1000 test ellipses it measures

* the PCAAE notebook's protocol: |Pearson| between each latent component and the area (pixel
  sum), the horizontal/vertical ratio (middle row over middle column) and the diagonal ratio
  (trace over anti-trace). The notebook prints, for its PCA-AE (one seed), area~z1 0.977,
  H/V~z2 0.788, diagonal~z3 0.745; its largest off-target entry is H/V~z1 0.132 (not <= 0.03:
  the area and the ratios correlate in the data, 0.12 here). Its plain AE: area~z1 0.935;
* read the way the data allows (:func:`protocol`): z1 against the area (ordering), the two
  ratios matched with z2 / z3 by best assignment -- a 45-degree rotation of the image maps the
  data's law onto itself and swaps the two ratios, so which one stage 2 takes is not
  identifiable -- off-target entries as the excess over the data's own correlations, and the
  same pairs against log-ratios and as Spearman's rho (the ratios run from 0.12 to 9.4 on
  the test set, and Pearson rewards a code linear in that heavy tail: a code equal to the
  log-ratio would score only 0.877 for H/V). ``extra_seeds`` more PCA-AEs (seeds
  seed+1, ...) on the same data show the spread;
* MIG, DCI and SAP (``validation.metrics``) against the generating factors (a, b, theta) and
  against the three protocol measures;
* the latent covariance matrix, the reconstruction error after each PCA-AE stage beside
  linear PCA's, and the share of variance each stage explains.

Figures: latent navigation grids (each component swept from its 5 % to its 95 % quantile, the
others at their median; the talk's two navigation figures plus the beta-VAE), the correlation
tables, the covariance matrices, the ordering curve. Outputs go to ``results/pca_ae_ellipses``.

Loss: the public code's per-pixel binary cross-entropy (``recon_loss="bce"``) for the PCA-AEs and
the standard AE, as in the notebook the figures come from (the beta-VAE keeps its Gaussian
likelihood); ``--recon_loss mse`` gives the talk's eq. 17. The decoders end in a sigmoid (the
public code's choice; a linear output gave a folded first component, area |r| 0.67).

Run time (2 idle cores, torch's 2 threads): ``--quick`` 18 s; the full run (2000 steps per
stage and per baseline, batch 64, two seeds of each PCA-AE) about 8 minutes;
``--extra_seeds 2`` (three seeds) 10.6 minutes. Three-seed run (seed 0), seeds 0 / 1 / 2,
ratios matched to z2 / z3 by best assignment:

* packets (1, 2): area~z1 |r| 0.984 / 0.991 / 0.989 (notebook 0.977); H/V 0.736 / 0.678 /
  0.736 (notebook 0.788), diag 0.718 / 0.705 / 0.740 (notebook 0.745); Spearman 0.90-0.96,
  against log-ratios 0.84-0.88; off-target excess over the data 0.135 / 0.148 / 0.017 (goal
  0.05); latent |corr| <= 0.045 (seed 0); test MSE 0.002. The closest to the notebook, still below it
  on H/V by 0.05-0.11;
* one component a stage: area 0.984 / 0.991 / 0.989; H/V 0.555 / 0.689 / 0.646, diag 0.642 /
  0.637 / 0.486 (Spearman 0.29-0.92); H/V took z2, z3, z2; excess 0.190 / 0.009 / 0.102;
  latent |corr| <= 0.038 (seed 0). Stage shares of variance 0.64 / 0.15 / 0.19: z2 and z3 split the
  symmetric pair about evenly, and a 1-D stage need not project it (the ratios' multiple
  correlation with (z2, z3) is no higher, 0.51-0.69) -- hence the packet;
* the standard AE's best area component 0.903 with the ratios spread over components; the
  beta-VAE's 0.925 (notebook AE: 0.935).

With ``--recon_loss mse`` (11.7 minutes, three seeds): packets H/V 0.723 / 0.639 / 0.645,
diag 0.656 / 0.617 / 0.681, excess 0.068 / 0.134 / 0.047; one a stage H/V 0.516 / 0.676 /
0.566, diag 0.582 / 0.565 / 0.553, excess 0.168 / 0.027 / 0.068; area 0.989-0.990; test MSE
0.003 (packets) and 0.006. Also tried (MSE, one seed, one a stage), no better: blur sigma 0.5
as in the notebook (H/V 0.50, diag 0.57) and 3x longer stages (0.48, 0.43).

How far the notebook's own figures are from its recipe's typical result (measured on an H200
GPU with a throw-away re-implementation of the notebook -- its skimage data: integer semi-axes
2-31, whole degrees 0-89, blur 0.5; its all-conv nets, now ``PCAAEConfig(arch="allconv")``;
bce; Adam 1e-3, betas (0.5, 0.999); batch 512 x 2500 steps a stage -- scored by this module's
metrics, ratios by best assignment; not a committed command): over seeds 0-5, area 0.971-0.989,
H/V 0.791 / 0.641 / 0.671 / 0.674 / 0.522 / 0.710 (mean 0.668), diag 0.762 / 0.745 / 0.443 /
0.478 / 0.349 / 0.443 (mean 0.537), off-target excess over the data 0.031 / 0.070 / 0.200 / 0.185 / 0.416 /
0.066. Seed 0 reproduces the notebook's printed table (0.976 / 0.791 / 0.762 against 0.977 /
0.788 / 0.745); the recipe meets the issue's whole goal (every printed figure, excess <= 0.05)
on 1 seed of 6. The packet PCA-AE here (CPU, 8 minutes) is above
that recipe's mean on both ratios (H/V 0.68-0.74, diag 0.71-0.74). The same all-conv nets and
budget on this module's data, packets (1, 2): H/V 0.594 / 0.820 / 0.619 / 0.823, diag 0.631 /
0.814 / 0.589 / 0.851 (seeds 0-3; the two good seeds beat every notebook figure, seed 3 with
excess 0.018 -- the whole goal -- seed 1 with 0.18); on seeds 0 and 2 the pair carries the
ratios as well (multiple R 0.85-0.87) but rotated inside the packet: the covariance loss
leaves a unit-variance decorrelated pair free to rotate. One a stage: H/V 0.764 / 0.516 /
0.748, diag 0.571 / 0.785 / 0.608. The all-conv nets at this module's CPU budget (batch 64 x
2000 steps, packets, seed 0): H/V 0.598, diag 0.607, below the default nets. At that budget the all-conv PCA-AE costs about 2.5 hours on
2 CPU cores (1.2 s a step at stage 3); the committed equivalent is ``--arch allconv --device
cuda --batch_size 512 --steps 2500 --n_train 12800 --lr_schedule constant`` (plus
``--integer_params true --axis_max 31 --sigma 0.5`` for the notebook's grid), whose one GPU
attempt, four runs at once, did not finish inside its 300 s: unverified on a GPU.

The sibling experiments ``pca_ae_grey_disks`` and ``pca_ae_position`` reuse the helpers below
(model training, encoding, metrics of a trained model, navigation grids, plots); the command
line and the output files come from ``validation._experiment``.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from nets.pca_ae import PCAAE, PCAAEConfig, train_pca_ae
from nets.plain_ae import PlainAE
from nets.train import History, TrainConfig, train
from nets.vae import BetaVAE, VAEConfig
from validation import metrics as M
from validation._experiment import Result, format_table, parse_cli, write_outputs
from validation._io import atomic_savefig

NAME = "pca_ae_ellipses"
MEASURES = ("area", "hv_ratio", "diag_ratio")
# The public PCAAE notebook's figures for its PCA-AE (measure i <-> component i) and plain AE.
NOTEBOOK_PCA_AE = {"area": 0.977, "hv_ratio": 0.788, "diag_ratio": 0.745}
NOTEBOOK_AE_AREA = 0.935
# The notebook's full printed |Pearson| tables (rows area, H/V, diag; columns z1, z2, z3). Its
# own largest off-target entry is H/V~z1 0.132, the data's area~H/V correlation, not <= 0.03.
NOTEBOOK_TABLE_PCA_AE = ((0.9768, 0.0154, 0.0284), (0.1321, 0.7882, 0.0343), (0.1146, 0.0190, 0.7445))
NOTEBOOK_TABLE_AE = ((0.9349, 0.4635, 0.5575), (0.0650, 0.8026, 0.0328), (0.3591, 0.0187, 0.5427))
GOAL_OFF_TARGET = 0.05  # the goal, applied to the excess over the data's own correlations
KINDS = ("pca_ae", "pca_ae_packet", "ae", "vae")


# ============================================================================================
# shared helpers (also used by pca_ae_grey_disks and pca_ae_position)


@dataclass(frozen=True)
class TrainSpec:
    """The training recipe shared by every model of an experiment (one nets.TrainConfig each)."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    threads: int = 1  # 0 = the engine's default (torch's thread count)
    eval_every: int = 250
    device: str = "cpu"

    def config(self, seed: int) -> TrainConfig:
        return TrainConfig(
            steps=self.steps, batch_size=self.batch_size, lr=self.lr, betas=(0.5, 0.999),
            lr_schedule=self.lr_schedule, min_lr_ratio=0.05, threads=self.threads or None,
            eval_every=self.eval_every, val_fraction=0.05, seed=seed, progress=False, device=self.device,
        )


def fit(kind: str, arch: PCAAEConfig, data: np.ndarray, spec: TrainSpec, seed: int, *, beta: float = 4.0):
    """Train one model: ``kind`` in {"pca_ae", "ae", "vae"}. Returns (model in eval mode,
    [History, ...] one per stage or a single one, seconds)."""
    t0 = time.perf_counter()
    if kind == "pca_ae":
        model, hist = train_pca_ae(arch, data, spec.config(seed), seed=seed)
    elif kind == "ae":
        model = PlainAE(arch, seed=seed)
        hist = [train(model, data, spec.config(seed))]
    elif kind == "vae":
        model = BetaVAE(VAEConfig(arch=arch, beta=beta), seed=seed)
        hist = [train(model, data, spec.config(seed))]
    else:
        raise ValueError(f"kind must be 'pca_ae', 'ae' or 'vae', got {kind!r}")
    model.cpu().eval()  # trained on spec.device; measured on the CPU
    return model, hist, time.perf_counter() - t0


def fit_variants(variants: dict[str, tuple[str, PCAAEConfig]], data: np.ndarray, spec: TrainSpec, seed: int):
    """Train every ``{name: (kind, arch)}``; yields ``(name, model, histories, seconds)``.

    PCA-AE variants whose first stage is a single component share one trained first stage
    (it has no covariance term, so lam_cov cannot change it): it is trained once, and each
    such variant branches from a copy (``train_pca_ae(start=...)``), which both saves time and
    makes the variants differ only where their configs do.
    """
    first_stage = None
    for name, (kind, arch) in variants.items():
        if kind == "pca_ae" and arch.packets[0] == 1 and arch.n_stages > 1:
            t0 = time.perf_counter()
            hist0 = []
            if first_stage is None:
                first = arch.replace(n_stages=1, packet=1)
                first_stage, hist0 = train_pca_ae(first, data, spec.config(seed), seed=seed)
            model, hist = train_pca_ae(arch, data, spec.config(seed), seed=seed, start=first_stage)
            model.cpu().eval()
            yield name, model, hist0 + hist, time.perf_counter() - t0
        else:
            model, hist, secs = fit(kind, arch, data, spec, seed)
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
    d = M.dci(codes, factors, rng=seed)
    return {
        f"{prefix}.mig": M.mig(codes, factors),
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
    matched component in its factor, latent covariance, MIG / DCI / SAP; PCA-AE models also
    get the per-stage ordering measures. Returns (metrics, codes, |corr| table)."""
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


def plot_scatter(codes: dict[str, np.ndarray], factors: np.ndarray, factor_names: Sequence[str], path: Path,
                 title: str, max_points: int = 1000) -> None:
    """One column per model, one row per factor: z1 vs z2 coloured by the factor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nf = len(factor_names)
    fig, axes = plt.subplots(nf, len(codes), figsize=(3.2 * len(codes), 3.0 * nf), squeeze=False)
    for j, (name, z) in enumerate(codes.items()):
        n = min(max_points, len(z))
        for i, fname in enumerate(factor_names):
            ax = axes[i, j]
            y = z[:n, 1] if z.shape[1] > 1 else np.zeros(n)
            sc = ax.scatter(z[:n, 0], y, c=factors[:n, i], s=4, cmap="viridis")
            ax.set_xlabel("z1")
            ax.set_ylabel("z2")
            if i == 0:
                ax.set_title(name)
            fig.colorbar(sc, ax=ax, label=fname)
    fig.suptitle(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------------- figures


def _mosaic(grid: np.ndarray, pad: int = 1) -> np.ndarray:
    d, n, s, _ = grid.shape
    out = np.ones((d * (s + pad) - pad, n * (s + pad) - pad))
    for i in range(d):
        for j in range(n):
            out[i * (s + pad) : i * (s + pad) + s, j * (s + pad) : j * (s + pad) + s] = grid[i, j]
    return out


def plot_navigation(grids: dict[str, np.ndarray], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max(g.shape[0] for g in grids.values())
    cols = max(g.shape[1] for g in grids.values())
    fig, axes = plt.subplots(1, len(grids), figsize=(4.2 * len(grids), 4.2 * rows / cols + 1.0), squeeze=False)
    for ax, (name, g) in zip(axes[0], grids.items()):
        ax.imshow(_mosaic(g), cmap="gray", vmin=0.0, vmax=max(1.0, float(g.max())))
        ax.set_title(name)
        ax.set_xticks([])
        s = g.shape[2]
        ax.set_yticks([(i + 0.5) * (s + 1) for i in range(g.shape[0])])
        ax.set_yticklabels([f"z{i + 1}" for i in range(g.shape[0])])
        ax.set_xlabel("component value: 5 % -> 95 % quantile")
    fig.suptitle(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)


def plot_matrices(mats: dict[str, np.ndarray], path: Path, title: str, *, row_labels: Sequence[str] | None = None,
                  vmin: float | None = 0.0, vmax: float | None = 1.0, cmap: str = "viridis") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(mats), figsize=(3.6 * len(mats), 3.4), squeeze=False)
    for ax, (name, m) in zip(axes[0], mats.items()):
        lim = float(np.abs(m).max()) or 1.0
        ax.imshow(m, cmap=cmap, vmin=-lim if vmin is None else vmin, vmax=lim if vmax is None else vmax)
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="w" if abs(v) < 0.6 * lim else "k", fontsize=8)
        ax.set_xticks(range(m.shape[1]))
        ax.set_xticklabels([f"z{j + 1}" for j in range(m.shape[1])])
        ax.set_yticks(range(m.shape[0]))
        ax.set_yticklabels(row_labels if row_labels is not None else [f"z{i + 1}" for i in range(m.shape[0])])
        ax.set_title(name)
    fig.suptitle(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)


def plot_ordering(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for name, (dims, errs) in curves.items():
        ax.plot(dims, errs, "o-", label=name)
    ax.set_xlabel("latent components")
    ax.set_ylabel("per-pixel MSE (test)")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)


# ============================================================================================
# this experiment


@dataclass(frozen=True)
class Config:
    """pca_ae_ellipses settings (``--key value`` on the command line)."""

    seed: int = 0
    out: str = f"results/{NAME}"
    size: int = 64
    sigma: float = 1.0
    axis_min: float = 2.0
    axis_max: float = 30.0
    theta_max: float = math.pi / 2
    n_train: int = 10000
    n_test: int = 1000
    n_components: int = 3
    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    lam_cov: float = 1.0
    beta: float = 4.0
    output: str = "sigmoid"
    recon_loss: str = "bce"
    extra_seeds: int = 1
    threads: int = 0
    lr_schedule: str = "cosine"
    arch: str = "subpixel"
    integer_params: bool = False
    device: str = "cpu"

    @classmethod
    def quick(cls) -> "Config":
        return cls(n_train=2000, n_test=500, steps=60, extra_seeds=1)

    def validate(self) -> None:
        if not (0 < self.axis_min < self.axis_max <= self.size / 2):
            raise ValueError(f"need 0 < axis_min < axis_max <= size/2, got {self.axis_min}, {self.axis_max}")
        if not (0 < self.theta_max <= math.pi):
            raise ValueError(f"theta_max must be in (0, pi], got {self.theta_max}")
        for name in ("n_train", "n_test", "n_components", "steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("extra_seeds", "threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (threads 0 = torch's default), got {getattr(self, name)}")
        if self.n_components != 3:
            raise ValueError(f"n_components must be 3 (one per protocol measure), got {self.n_components}")
        if self.n_train < self.batch_size * 2:
            raise ValueError(f"n_train must be >= 2 * batch_size, got {self.n_train}")
        if self.integer_params and math.floor(self.axis_max) < math.ceil(self.axis_min):
            raise ValueError(f"integer_params needs an integer in [axis_min, axis_max], got {self.axis_min}, {self.axis_max}")
        # the remaining fields are checked where they are used, before any work:
        # PCAAEConfig (arch), TrainConfig (lr_schedule, device)
        PCAAEConfig(arch=self.arch)
        TrainSpec(lr_schedule=self.lr_schedule, device=self.device).config(0)

    def __post_init__(self) -> None:
        self.validate()


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


def protocol(codes: np.ndarray, measures: dict, measure_corr: np.ndarray, prefix: str) -> tuple[dict, np.ndarray]:
    """The notebook's protocol for one PCA-AE, read the way the data allows.

    z1 is matched with the area (the ordering claim). The H/V and diagonal ratios are matched
    with z2 and z3 by the best assignment, not in the notebook's order: rotating an image by
    45 degrees maps the data's law onto itself (up to the pixel grid) and swaps the two
    ratios, so which of them the second stage takes is not identifiable (seeds differ).
    Off-target entries are reported as the excess over the data's own measure correlations
    (:func:`validation.metrics.off_target_excess`). The ratios are heavy-tailed (0.12 to 9.4),
    so Pearson against them rewards a code that is linear in the ratio: the same pairs are
    also given for log-ratios and as Spearman's rho.
    Returns (metrics, |Pearson| table)."""
    names, table = M.abs_correlation_table(codes, measures)
    sub = table[1:3, 1:3]
    cols = np.array([0] + [1 + c for c in M.best_assignment(sub)[0]])
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
        if i > 0:  # how much of the ratio the pair (z2, z3) carries linearly, whatever its rotation
            out[f"{prefix}.pair.multiple_r.{n}"] = math.sqrt(max(0.0, M.r_squared(codes[:, 1:3], measures[n])))
    out[f"{prefix}.pair.off_target_max"] = float(np.nanmax(np.where(np.isnan(excess), np.nan, table)))
    out[f"{prefix}.pair.off_target_excess_max"] = float(np.nanmax(excess))
    return out, table


def main(config: Config) -> Result:
    t_start = time.perf_counter()
    out = Path(config.out)
    rng = np.random.default_rng(config.seed)
    train_x, _ = make_ellipses(config.n_train, config, rng)
    test_x, test_f = make_ellipses(config.n_test, config, rng)
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
    spec = TrainSpec(steps=config.steps, batch_size=config.batch_size, lr=config.lr, threads=config.threads,
                     lr_schedule=config.lr_schedule, device=config.device)

    # the talk's PCA-AE (one component a stage) and its packet variant (area, then the two
    # ratios' pair as one packet of 2) branch from one shared first stage
    variants = {"pca_ae": ("pca_ae", arch), "pca_ae_packet": ("pca_ae", arch.replace(n_stages=2, packet=(1, 2)))}
    trained = {name: (model, hist, secs) for name, model, hist, secs in
               fit_variants(variants, train_x, spec, config.seed)}
    for kind in ("ae", "vae"):
        trained[kind] = fit(kind, arch, train_x, spec, config.seed, beta=config.beta)

    grids, tables, covs, models, hists = {}, {}, {}, {}, {}
    measure_corr = M.latent_correlation(measure_mat)
    for kind in KINDS:
        model, hist, secs = trained[kind]
        models[kind], hists[kind] = model, hist
        codes = encode_all(model, test_x)
        metrics[f"{kind}.recon_mse"] = recon_mse(model, test_x)
        metrics[f"seconds.train.{kind}"] = secs
        m, tables[kind], _ = correlation_metrics(codes, measures, kind, ordered=kind.startswith("pca_ae"))
        metrics.update(m)
        m, covs[kind], _ = covariance_metrics(codes, kind)
        metrics.update(m)
        metrics.update(disentanglement(codes, test_f, f"{kind}.factors", config.seed))
        metrics.update(disentanglement(codes, measure_mat, f"{kind}.measures", config.seed))
        grids[kind] = navigation_grid(model, codes)
        if kind.startswith("pca_ae"):
            metrics.update(protocol(codes, measures, measure_corr, kind)[0])
    m, errs, pca = ordering_metrics(models["pca_ae"], test_x, "pca_ae")
    metrics.update(m)
    metrics.update(ordering_metrics(models["pca_ae_packet"], test_x, "pca_ae_packet")[0])
    # the same PCA-AEs from other initialisations and batch orders, on the same data
    runs = {"pca_ae": ["pca_ae"], "pca_ae_packet": ["pca_ae_packet"]}
    for k in range(1, config.extra_seeds + 1):
        s = config.seed + k
        for name, model_k, _, secs in fit_variants(variants, train_x, spec, s):
            p = f"{name}_seed{s}"
            runs[name].append(p)
            metrics[f"seconds.train.{p}"] = secs
            metrics[f"{p}.recon_mse"] = recon_mse(model_k, test_x)
            metrics.update(protocol(encode_all(model_k, test_x), measures, measure_corr, p)[0])
    for fam, prefixes in runs.items():
        for n in MEASURES:
            vals = [metrics[f"{p}.pair.on_target.{n}"] for p in prefixes]
            metrics[f"seeds.{fam}.on_target_min.{n}"] = min(vals)
            metrics[f"seeds.{fam}.on_target_mean.{n}"] = float(np.mean(vals))
        metrics[f"seeds.{fam}.n"] = len(prefixes)
        metrics[f"seeds.{fam}.hv_ratio_on_z2"] = sum(metrics[f"{p}.pair.component.hv_ratio"] == 2 for p in prefixes)
        metrics[f"seeds.{fam}.off_target_excess_max"] = max(metrics[f"{p}.pair.off_target_excess_max"]
                                                            for p in prefixes)
        goal = all(metrics[f"{fam}.pair.on_target.{k}"] >= v for k, v in NOTEBOOK_PCA_AE.items()) and (
            metrics[f"{fam}.pair.off_target_excess_max"] <= GOAL_OFF_TARGET
        )
        metrics[f"goal.{fam}_meets_notebook"] = int(goal)
    metrics["goal.ae_area_vs_notebook"] = metrics["ae.on_target.area"] - NOTEBOOK_AE_AREA
    metrics["seconds.total"] = time.perf_counter() - t_start

    labels = {"pca_ae": "PCA-AE", "pca_ae_packet": "PCA-AE, packets (1, 2)", "ae": "standard AE",
              "vae": f"beta-VAE (beta={config.beta:g})"}
    plot_navigation({labels[k]: g for k, g in grids.items()}, out / "navigation.png", "Latent navigation, ellipses")
    plot_matrices({labels[k]: t for k, t in tables.items()}, out / "correlations.png",
                  "|Pearson|: image measure vs latent component", row_labels=["area", "H/V", "diag"])
    plot_matrices({labels[k]: c for k, c in covs.items()}, out / "covariance.png", "Latent covariance (test)",
                  vmin=None, vmax=None, cmap="RdBu_r")
    plot_ordering({"PCA-AE (stage k)": (np.arange(1, len(errs) + 1), errs), "linear PCA": (np.arange(len(pca)), pca)},
                  out / "ordering.png", "Reconstruction error by latent size")
    write_outputs(out, config, metrics, models)

    table = _table(metrics)
    return Result(config, metrics, table, out, hists)


def _table(metrics: dict) -> str:
    rows = []
    for kind in KINDS:
        for n in MEASURES:
            rows.append([kind, n] + [metrics[f"{kind}.corr.{n}.z{j}"] for j in (1, 2, 3)]
                        + [metrics[f"{kind}.matched_component.{n}"], metrics[f"{kind}.spearman_on_target.{n}"],
                           NOTEBOOK_PCA_AE[n] if kind.startswith("pca_ae") else ""])
    t1 = format_table(rows, ["model", "measure", "|r| z1", "|r| z2", "|r| z3", "matched z", "|rho| matched",
                             "notebook |r|"])
    rows = []
    for kind in KINDS:
        rows.append([kind, metrics[f"{kind}.recon_mse"], metrics[f"{kind}.off_target_max"],
                     metrics[f"{kind}.latent_abs_corr_max"]]
                    + [metrics[f"{kind}.factors.{k}"] for k in ("mig", "dci_disentanglement", "dci_completeness",
                                                                 "dci_informativeness", "sap")]
                    + [metrics[f"{kind}.measures.mig"], metrics[f"{kind}.measures.sap"]])
    t2 = format_table(rows, ["model", "test mse", "off-target", "max|corr z|", "MIG", "DCI-D", "DCI-C", "DCI-I", "SAP",
                             "MIG(meas)", "SAP(meas)"])
    k = 1
    rows = []
    while f"pca_ae.stage{k}.recon_mse" in metrics:
        rows.append([k, metrics[f"pca_ae.stage{k}.recon_mse"], metrics[f"pca.k{k}.recon_mse"],
                     metrics[f"pca_ae.stage{k}.variance_share"]])
        k += 1
    t3 = format_table(rows, ["stage", "PCA-AE mse", "linear PCA mse", "variance share"])
    rows = []
    runs = sorted(k[: -len(".pair.off_target_max")] for k in metrics if k.endswith(".pair.off_target_max"))
    for p in sorted(runs, key=lambda r: ("packet" in r, r)):
        rows.append([p] + [f"z{metrics[f'{p}.pair.component.{n}']}: {metrics[f'{p}.pair.on_target.{n}']:.3f}"
                           for n in MEASURES]
                    + [metrics[f"{p}.pair.multiple_r.{n}"] for n in MEASURES[1:]]
                    + [metrics[f"{p}.pair.log_on_target.{n}"] for n in MEASURES[1:]]
                    + [metrics[f"{p}.pair.spearman_on_target.{n}"] for n in MEASURES[1:]]
                    + [metrics[f"{p}.pair.off_target_max"], metrics[f"{p}.pair.off_target_excess_max"]])
    rows.append(["notebook", "z1: 0.977", "z2: 0.788", "z3: 0.745", "", "", "", "", "", "", 0.132, ""])
    t4 = format_table(rows, ["PCA-AE run", "area", "H/V", "diag", "R H/V", "R diag", "log H/V", "log diag",
                             "rho H/V", "rho diag", "off-target", "excess"])
    floor = (f"measures correlate in the data: |r|(area, H/V) = {metrics['data.abs_corr.area.hv_ratio']:.3f}, "
             f"|r|(area, diag) = {metrics['data.abs_corr.area.diag_ratio']:.3f}, "
             f"|r|(H/V, diag) = {metrics['data.abs_corr.hv_ratio.diag_ratio']:.3f}")
    return "\n\n".join([t1, t2, t3, "PCA-AE seeds, ratios matched to z2/z3 by best assignment "
                        "(|Pearson|; R: multiple correlation of the ratio with (z2, z3); log: against "
                        "log-ratios; rho: Spearman; excess: off-target above the data's own measure "
                        "correlations):\n" + t4, floor,
                        f"goal met (PCA-AE >= notebook, off-target excess <= {GOAL_OFF_TARGET}): one "
                        f"component a stage {bool(metrics['goal.pca_ae_meets_notebook'])}, packets (1, 2) "
                        f"{bool(metrics['goal.pca_ae_packet_meets_notebook'])}; "
                        f"total {metrics['seconds.total']:.0f} s"])


def run_variants(config, variant_map: dict, make_data: Callable, factors: Sequence[str],
                 title: str, table: Callable) -> Result:
    """Shared body of the disk experiments: train each variant on the same data (drawn by
    ``make_data(n, config, rng)``), evaluate it against ``factors``, draw the navigation grid
    and the code scatter, write the outputs and return the :class:`Result`."""
    t0 = time.perf_counter()
    out = Path(config.out)
    rng = np.random.default_rng(config.seed)
    train_x, _ = make_data(config.n_train, config, rng)
    test_x, test_f = make_data(config.n_test, config, rng)
    spec = TrainSpec(steps=config.steps, batch_size=config.batch_size, lr=config.lr, threads=config.threads)
    metrics, grids, codes, models, hists = {}, {}, {}, {}, {}
    for name, model, hist, secs in fit_variants(variant_map, train_x, spec, config.seed):
        models[name], hists[name] = model, hist
        m, codes[name], _ = evaluate(model, test_x, test_f, factors, name, config.seed)
        metrics.update(m)
        metrics[f"seconds.train.{name}"] = secs
        grids[name] = navigation_grid(model, codes[name])
    metrics["seconds.total"] = time.perf_counter() - t0
    plot_navigation(grids, out / "navigation.png", f"Latent navigation, {title}")
    plot_scatter(codes, test_f, factors, out / "latent_scatter.png", "Test codes coloured by the true factors")
    write_outputs(out, config, metrics, models)
    return Result(config, metrics, table(metrics, list(variant_map)), out, hists)


def cli(argv: Sequence[str] | None = None) -> Result:
    config = parse_cli(Config, argv, __doc__.splitlines()[0])
    result = main(config)
    print(result.table)
    print(f"\nwrote {result.out}/{{config.json, metrics.json, weights.pt, *.png}}")
    return result


if __name__ == "__main__":
    cli(sys.argv[1:])
