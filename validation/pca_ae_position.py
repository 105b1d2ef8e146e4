"""PCA-AE on moving disks: translation needs its two coordinates learned as one packet (talk, future work).

    python -m validation.pca_ae_position [--quick] [--seed S] [--out DIR] [--FIELD value ...]

The talk's future work: "translation ... where the autoencoder might need two coordinates to be
trained together; possible solution: increase the latent space size in code packets". White
disks (radius in [3, 10], centre uniform inside a margin, 64x64, sigma 1); four models with a
3-D latent: ``pca_ae_1_1_1``, ``pca_ae_2_1``, ``pca_ae_1_2`` (packets) and a plain ``ae``.

Outputs in ``--out`` (default ``results/pca_ae_position``; ``results/pca_ae_position_quick`` with ``--quick``):
``config.json``, ``metrics.json``, ``weights.pt``, figures (navigation grids, z1-z2 scatter
coloured by each factor).

Metrics, per model: |Pearson| (radius, x, y) x component with the best matching, off-target
leak, monotonicity, R^2 of the position from the whole code, MIG / DCI / SAP, the latent
correlation, and per PCA-AE stage the reconstruction error beside linear PCA's.

Run time (2 idle cores, one torch thread a training): full run 6.3 min (19 min in a sweep, one
core of two), ``--quick`` 25 s.
Measured results: docs/results/pca_ae_position.md
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nets import PCAAEConfig
from validation.runs.pca import PCAExperimentConfig, matched_columns, run_variants, stage_table
from validation.core import Result, SweepSpec, format_table, ints, param, pow2, reals, run_cli

NAME = "pca_ae_position"
FACTORS = ("radius", "x", "y")

#: What a sweep over seeds reports (validation.runners.sweep): the models of a run, their headline
#: metrics, and the comparisons made seed by seed.
SWEEP = SweepSpec(
    variants=("pca_ae_1_1_1", "pca_ae_2_1", "pca_ae_1_2", "ae"),
    headlines=("{v}.on_target.radius", "{v}.on_target.x", "{v}.on_target.y", "{v}.off_target_max",
               "{v}.r2_linear_all.x", "{v}.r2_linear_all.y", "{v}.mig", "{v}.dci_disentanglement",
               "{v}.recon_mse"),
    pairs=(("pca_ae_1_1_1", "pca_ae_2_1"), ("ae", "pca_ae_2_1"), ("ae", "pca_ae_1_1_1")),
)


@dataclass(frozen=True)
class Config(PCAExperimentConfig):
    """pca_ae_position settings (``--key value`` on the command line)."""

    NAME = NAME
    QUICK = {"n_train": 1500, "n_test": 500, "steps": 60}

    size: int = param(64, "image side (pixels), a power of two >= 8", pow2(8))
    sigma: float = param(1.0, "blur of the disks: Gaussian std (pixels), in [0, 8]", reals(0.0, 8.0))
    radius_min: float = param(3.0, "smallest radius (pixels, uniform law), in (0, radius_max)",
                              reals(0.0, lo_open=True))
    radius_max: float = param(10.0, "largest radius (pixels), in (radius_min, size / 4); also the margin of the "
                                    "centres from the border", reals(0.0, lo_open=True))
    n_train: int = param(8000, "training images (one fixed set), int >= 1", ints(1))
    steps: int = param(1500, "optimiser steps of each training (each PCA-AE stage), int >= 1", ints(1))

    def validate(self) -> None:
        if not (self.radius_min < self.radius_max < self.size / 4):
            raise ValueError(f"need 0 < radius_min < radius_max < size/4, got {self.radius_min}, {self.radius_max}")


def make_disks(n: int, config: Config, rng: np.random.Generator):
    import geoshape

    lab = geoshape.random_disks(
        n, size=config.size, radius=(config.radius_min, config.radius_max), position=True, grey=None,
        margin=config.radius_max, sigma=config.sigma, rng=rng,
    )
    return np.asarray(lab.images, np.float32), np.column_stack([lab.factors[k] for k in FACTORS])


def variants(config: Config) -> dict[str, tuple[str, PCAAEConfig]]:
    base = PCAAEConfig(size=config.size, n_stages=3, packet=1, lam_cov=config.lam_cov)
    return {
        "pca_ae_1_1_1": ("pca_ae", base),
        "pca_ae_2_1": ("pca_ae", base.replace(n_stages=2, packet=(2, 1))),
        "pca_ae_1_2": ("pca_ae", base.replace(n_stages=2, packet=(1, 2))),
        "ae": ("ae", base),
    }


def main(config: Config) -> Result:
    return run_variants(config, variants(config), make_disks, FACTORS, "disks with radius and position", _table)


def _table(metrics: dict, names: Sequence[str]) -> str:
    rows = []
    for n in names:
        row = [n, metrics[f"{n}.recon_mse"]] + matched_columns(metrics, n, FACTORS)
        row += [metrics[f"{n}.r2_linear_all.x"], metrics[f"{n}.r2_linear_all.y"], metrics[f"{n}.off_target_max"],
                metrics[f"{n}.mig"], metrics[f"{n}.dci_disentanglement"], metrics[f"{n}.dci_completeness"],
                metrics[f"{n}.dci_informativeness"], metrics[f"{n}.sap"]]
        rows.append(row)
    t1 = format_table(rows, ["variant", "test mse", "radius", "|r|", "x", "|r|", "y", "|r|", "R2(x|z)", "R2(y|z)",
                             "off-target", "MIG", "DCI-D", "DCI-C", "DCI-I", "SAP"])
    t2 = stage_table(metrics, names)
    pca = ", ".join(
        f"k={k} {metrics[f'pca.k{k}.recon_mse']:.3g}" for k in (1, 2, 3) if f"pca.k{k}.recon_mse" in metrics
    )
    return "\n\n".join([t1, t2, f"linear PCA mse: {pca}", f"total {metrics['seconds.total']:.0f} s"])


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, *.png")


if __name__ == "__main__":
    cli(sys.argv[1:])
