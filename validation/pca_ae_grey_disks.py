"""The talk's failure case of the PCA-AE: centred disks whose radius *and* grey level vary
(slide 51: "the second axis of the PCA autoencoder is not well-learned"), and two fixes.

    python -m validation.pca_ae_grey_disks [--quick] [--seed S] [--out DIR] [--key value ...]

Disks centred in a 64x64 image, radius uniform in [4, 20] pixels, grey level uniform in
[0.2, 1], blur sigma = 1. Five models with a 2-D latent and the same architecture, all trained
by ``nets.train``:

* ``pca_ae``: the talk's PCA-AE, one component per stage, covariance weight lam = 1;
* ``pca_ae_lam0``: the same without the covariance term (ordering alone);
* ``pca_ae_lamX``: the same with a strong covariance weight (``lam_strong``, default 10);
* ``packet2``: both components learned together as one packet (the talk's future work);
* ``ae``: a standard autoencoder (reference).

For each it reports the |Pearson| table factor x component with the best one-to-one matching,
the off-target leak, the monotonicity of each matched component, MIG / DCI / SAP against
(radius, grey), the latent correlation, and for PCA-AE variants the reconstruction error after
each stage beside linear PCA's. Figures: navigation grids, z1-z2 scatter coloured by each
factor. Outputs in ``results/pca_ae_grey_disks``.

Run time (2 shared cores, 1 torch thread): ``--quick`` about 40 s of CPU, the full run (1500
steps per stage) 5.6 minutes; in a sweep, one run per core of two, about 17 minutes. Last full
run (seed 0): the talk's failure reproduces -- the PCA-AE's z1 follows radius (|r| 0.60) but z2
carries no grey level (|r| 0.08; lam = 0: 0.01, lam = 10: 0.13) although the code holds the
information (DCI informativeness 0.90); learning both components as one packet brings grey to
|r| 0.63 (radius 0.83), the plain AE 0.04. Over 5 seeds (``docs/sweeps/pca_ae_grey_disks``),
median [min, max]: PCA-AE grey 0.194 [0.074, 0.350], packet 0.419 [0.390, 0.625] (higher on
5 of 5 paired seeds).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nets import PCAAEConfig
from validation._experiment import Result, format_table, run_cli
from validation._pca_runs import matched_columns, run_variants, stage_table

NAME = "pca_ae_grey_disks"
FACTORS = ("radius", "grey")



#: What a sweep over seeds reports (validation.sweep): the models of a default run, their
#: headline metrics, and the comparisons made seed by seed.
SWEEP_VARIANTS = ("pca_ae", "pca_ae_lam0", "pca_ae_lam10", "packet2", "ae")
SWEEP_HEADLINES = ("{v}.on_target.radius", "{v}.on_target.grey", "{v}.off_target_max", "{v}.latent_abs_corr_max",
                   "{v}.mig", "{v}.dci_disentanglement", "{v}.dci_informativeness", "{v}.recon_mse")
SWEEP_PAIRS = (("pca_ae", "packet2"), ("ae", "packet2"), ("ae", "pca_ae"), ("pca_ae", "pca_ae_lam10"))

@dataclass(frozen=True)
class Config:
    """pca_ae_grey_disks settings (``--key value`` on the command line)."""

    seed: int = 0
    out: str = f"results/{NAME}"
    size: int = 64
    sigma: float = 1.0
    radius_min: float = 4.0
    radius_max: float = 20.0
    grey_min: float = 0.2
    grey_max: float = 1.0
    n_train: int = 8000
    n_test: int = 1000
    steps: int = 1500
    batch_size: int = 64
    lr: float = 1e-3
    lam_cov: float = 1.0
    lam_strong: float = 10.0
    threads: int = 1

    @classmethod
    def quick(cls) -> "Config":
        return cls(n_train=1500, n_test=500, steps=60)

    def __post_init__(self) -> None:
        if not (0 < self.radius_min < self.radius_max <= self.size / 2):
            raise ValueError(f"need 0 < radius_min < radius_max <= size/2, got {self.radius_min}, {self.radius_max}")
        if not (0 < self.grey_min < self.grey_max <= 1):
            raise ValueError(f"need 0 < grey_min < grey_max <= 1, got {self.grey_min}, {self.grey_max}")
        for name in ("n_train", "n_test", "steps", "batch_size", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lam_cov < 0 or self.lam_strong < 0:
            raise ValueError("lam_cov and lam_strong must be >= 0")


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
