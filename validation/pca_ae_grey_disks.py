"""The PCA-AE's failure case: disks varying in radius and grey level (talk, slide 51), and two fixes.

    python -m validation.pca_ae_grey_disks [--quick] [--seed S] [--out DIR] [--FIELD value ...]

The talk: "the second axis of the PCA autoencoder is not well-learned". Centred disks (64x64,
radius in [4, 20], grey in [0.2, 1], sigma 1); five models with a 2-D latent: ``pca_ae``
(lam 1), ``pca_ae_lam0``, ``pca_ae_lam<lam_strong>``, ``packet2`` (both components as one
packet) and a plain ``ae``.

Outputs in ``--out`` (default ``results/pca_ae_grey_disks``; ``results/pca_ae_grey_disks_quick`` with ``--quick``):
``config.json``, ``metrics.json``, ``weights.pt``, figures (navigation grids, z1-z2 scatter
coloured by each factor).

Metrics, per model: |Pearson| factor x component with the best matching (``on_target``),
``off_target_max``, monotonicity, MIG / DCI / SAP against (radius, grey), the latent
correlation, and per PCA-AE stage the reconstruction error beside linear PCA's.

Run time (2 idle cores, one torch thread a training): full run 5.5 min (17 min in a sweep, one
core of two), ``--quick`` 23 s.
Measured results: docs/results/pca_ae_grey_disks.md
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nets import PCAAEConfig
from validation.runs.pca import PCAExperimentConfig, matched_columns, run_variants, stage_table
from validation.core import Result, SweepSpec, format_table, ints, param, pow2, reals, run_cli

NAME = "pca_ae_grey_disks"
FACTORS = ("radius", "grey")

#: What a sweep over seeds reports (validation.runners.sweep): the models of a default run, their
#: headline metrics, and the comparisons made seed by seed.
SWEEP = SweepSpec(
    variants=("pca_ae", "pca_ae_lam0", "pca_ae_lam10", "packet2", "ae"),
    headlines=("{v}.on_target.radius", "{v}.on_target.grey", "{v}.off_target_max", "{v}.latent_abs_corr_max",
               "{v}.mig", "{v}.dci_disentanglement", "{v}.dci_informativeness", "{v}.recon_mse"),
    pairs=(("pca_ae", "packet2"), ("ae", "packet2"), ("ae", "pca_ae"), ("pca_ae", "pca_ae_lam10")),
)


@dataclass(frozen=True)
class Config(PCAExperimentConfig):
    """pca_ae_grey_disks settings (``--key value`` on the command line)."""

    NAME = NAME
    QUICK = {"n_train": 1500, "n_test": 500, "steps": 60}

    size: int = param(64, "image side (pixels), a power of two >= 8", pow2(8))
    sigma: float = param(1.0, "blur of the disks: Gaussian std (pixels), in [0, 8]", reals(0.0, 8.0))
    radius_min: float = param(4.0, "smallest radius (pixels, uniform law), in (0, radius_max)",
                              reals(0.0, lo_open=True))
    radius_max: float = param(20.0, "largest radius (pixels), in (radius_min, size / 2]", reals(0.0, lo_open=True))
    grey_min: float = param(0.2, "lowest grey level (uniform law), in (0, grey_max)", reals(0.0, 1.0, lo_open=True))
    grey_max: float = param(1.0, "highest grey level, in (grey_min, 1]", reals(0.0, 1.0, lo_open=True))
    n_train: int = param(8000, "training images (one fixed set), int >= 1", ints(1))
    steps: int = param(1500, "optimiser steps of each training (each PCA-AE stage), int >= 1", ints(1))
    lam_strong: float = param(10.0, "covariance weight of the variant pca_ae_lam<value>, >= 0", reals(0.0))

    def validate(self) -> None:
        if not (self.radius_min < self.radius_max <= self.size / 2):
            raise ValueError(f"need 0 < radius_min < radius_max <= size/2, got {self.radius_min}, {self.radius_max}")
        if not self.grey_min < self.grey_max:
            raise ValueError(f"need 0 < grey_min < grey_max <= 1, got {self.grey_min}, {self.grey_max}")


def make_disks(n: int, config: Config, rng: np.random.Generator):
    import geoshape

    lab = geoshape.random_disks(
        n, size=config.size, radius=(config.radius_min, config.radius_max), position=False,
        grey=(config.grey_min, config.grey_max), sigma=config.sigma, rng=rng,
    )
    return np.asarray(lab.images, np.float32), np.column_stack([lab.factors[k] for k in FACTORS])


def variants(config: Config) -> dict[str, tuple[str, PCAAEConfig]]:
    base = PCAAEConfig(size=config.size, n_stages=2, packet=1, lam_cov=config.lam_cov)
    return {
        "pca_ae": ("pca_ae", base),
        "pca_ae_lam0": ("pca_ae", base.replace(lam_cov=0.0)),
        f"pca_ae_lam{config.lam_strong:g}": ("pca_ae", base.replace(lam_cov=config.lam_strong)),
        "packet2": ("pca_ae", base.replace(n_stages=1, packet=2)),
        "ae": ("ae", base),
    }


def main(config: Config) -> Result:
    return run_variants(config, variants(config), make_disks, FACTORS, "disks with radius and grey level", _table)


def _table(metrics: dict, names: Sequence[str]) -> str:
    rows = []
    for n in names:
        row = [n, metrics[f"{n}.recon_mse"]] + matched_columns(metrics, n, FACTORS)
        row += [metrics[f"{n}.off_target_max"], metrics[f"{n}.latent_abs_corr_max"], metrics[f"{n}.mig"],
                metrics[f"{n}.dci_disentanglement"], metrics[f"{n}.dci_completeness"],
                metrics[f"{n}.dci_informativeness"], metrics[f"{n}.sap"]]
        rows.append(row)
    t1 = format_table(rows, ["variant", "test mse", "radius", "|r|", "grey", "|r|", "off-target", "max|corr z|", "MIG",
                             "DCI-D", "DCI-C", "DCI-I", "SAP"])
    t2 = stage_table(metrics, names)
    pca = [f"linear PCA mse: k=1 {metrics.get('pca.k1.recon_mse', float('nan')):.3g}, "
           f"k=2 {metrics.get('pca.k2.recon_mse', float('nan')):.3g}"]
    return "\n\n".join([t1, t2, pca[0], f"total {metrics['seconds.total']:.0f} s"])


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, *.png")


if __name__ == "__main__":
    cli(sys.argv[1:])
