"""The one list of experiments: name, the claim of the talk it tests, and its run times.

Used by ``python -m validation`` (the listing), :mod:`validation.runners.report`,
:mod:`validation.runners.sweep` and the tests. Times are wall-clock on the 2-core development
machine, seed 0, one torch thread a training. Quick times were measured one by one
(``python -m validation.NAME --quick``, interpreter start included) on the idle machine on
2026-12-07; the full times of every experiment were measured on the idle machine the same day or
after with the named streams.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from types import ModuleType

__all__ = ["Experiment", "REGISTRY", "EXPERIMENTS", "experiment", "module", "minutes", "total_minutes"]


@dataclass(frozen=True)
class Experiment:
    """One experiment: ``python -m validation.<name>``."""

    name: str
    title: str
    claim: str
    quick_time: str
    full_time: str

    @property
    def command(self) -> str:
        return f"python -m validation.{self.name}"


_E = Experiment
#: The experiments, in the talk's order.
EXPERIMENTS: tuple[Experiment, ...] = (
    _E("disk_vs_airy", "Decoding a disk",
       "Without biases the decoder's output is h(r) f, and f maximises the energy of eq. 3: the "
       "autoencoder's profile is Airy's function (eq. 8).", "36 s", "3 min"),
    _E("disk_encoder", "Encoding a disk",
       "The encoder is an averaging filter: the latent code follows the disk's area.", "26 s", "1.7 min"),
    _E("bias_ablation", "Removing the biases",
       "A bias-free 1-D autoencoder reaches the best rank-1 reconstruction h(r) f and no better.",
       "22 s", "3 min"),
    _E("interpolation", "Interpolating unknown radii",
       "Trained without radii 11-18, an autoencoder interpolates badly unless its latent space is "
       "regularised (types 1-3).", "28 s", "4.2 min"),
    _E("official_model", "The authors' own network",
       "The authors' 1,116-parameter Keras layout, trained their way (finite 8-bit set, constant lr "
       "0.01, keep-best), encodes a disk by its area.", "15 s", "2.5 min"),
    _E("interpolation_official", "Interpolating unknown radii, the authors' way",
       "The same claim under the authors' protocol: their network, their finite 8-bit data set and "
       "their training, with the regularisers of the talk and of their code.", "34 s",
       "1 h 35 min (54 nets, idle machine)"),
    _E("position_encoder", "Encoding position",
       "Filtering by [1, 2, 1] and subsampling extracts the position of a Dirac (eqs. 9-12, Table 1); "
       "a trained encoder finds these weights.", "9 s", "30 s"),
    _E("position_decoder", "Decoding position",
       "Decoding a position into a continuous Dirac (eq. 13) is harder and less reliable.", "15 s", "24 s"),
    _E("position_placement", "Placing an object",
       "How a decoder places an object: zero insertion, short filters and ReLU build the eq.-13 Dirac "
       "exactly (theory.placement); trained decoders on CoordConv's uniform and quadrant splits are "
       "held against that construction.", "36 s", "7.5 min (20 min in a loaded 2-worker sweep)"),
    _E("pca_ae_ellipses", "PCA-like autoencoder on ellipses",
       "Growing the latent one component at a time with a covariance penalty orders and decorrelates "
       "the latent components (eqs. 14-17).", "47 s", "18 min"),
    _E("pca_ae_grey_disks", "PCA-like autoencoder on grey disks",
       "The talk's failure case: radius and grey level.", "23 s", "5.5 min"),
    _E("pca_ae_position", "PCA-like autoencoder and position",
       "Translation needs two coordinates learned together: packets of 2 components.", "25 s", "6.3 min"),
    _E("pca_ae_fit", "PCA-like autoencoder on your own images",
       "The PCA-AE's ordered, decorrelated latent on any images (--data; a demo set of ellipses "
       "without it) against a plain AE, a beta-VAE and linear PCA; with --factors, on/off-target "
       "|Spearman| and MIG / DCI.", "16 s", "3.5 min (the demo set)"),
    _E("scaled_shapes", "General scaling: scaled shapes and scaled MNIST",
       "Further work of the talk: on any scaled family the bias-free decoder learns the discrete optimum, "
       "Airy composed with the gauge for star-shaped shapes (theory.gauge); the code folds only where the "
       "family is not nested; on scaled digits, held against the same theory.", "22 s",
       "6.2 min"),
    _E("pca_ae_digits", "PCA-like autoencoder on handwritten digits",
       "The talk's conclusion, extended to real data: on 5,000 MNIST digits a linear PCA-AE recovers the "
       "principal subspaces in order, and the PCA-AE (one component or a packet a stage) is held against "
       "linear PCA, a plain AE, beta-VAEs and a beta-TCVAE on Morpho-MNIST morphometrics, class, MIG and DCI.",
       "44 s", "7 min (10 seeds on 2 workers: 51 min)"),
)

#: ``{name: Experiment}``.
REGISTRY: dict[str, Experiment] = {e.name: e for e in EXPERIMENTS}


def minutes(text: str) -> float:
    """The minutes of a registry time such as ``"30 s"``, ``"about 8 min (...)"`` or
    ``"1 h 35 min (54 nets)"``: its leading figure, before any parenthesis."""
    head = text.split("(")[0].replace("about", "").strip()
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?) h)?\s*(?:(\d+(?:\.\d+)?) (min|s))?", head)
    if not m or not (m.group(1) or m.group(2)):
        raise ValueError(f"text must be a time like '30 s', '3.5 min' or '1 h 35 min', got {text!r}")
    out = 60.0 * float(m.group(1) or 0)
    if m.group(2):
        out += float(m.group(2)) / (60.0 if m.group(3) == "s" else 1.0)
    return out


def total_minutes(which: str, exclude: tuple[str, ...] = ("interpolation_official",)) -> float:
    """Sum of the registry's ``which`` ("quick" or "full") times in minutes, without ``exclude``
    (by default the authors'-protocol sweep, which ``report`` quotes apart)."""
    if which not in ("quick", "full"):
        raise ValueError(f"which must be 'quick' or 'full', got {which!r}")
    return sum(minutes(getattr(e, f"{which}_time")) for e in EXPERIMENTS if e.name not in exclude)


def experiment(name: str) -> Experiment:
    """The registered experiment ``name``; ValueError listing the names otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"name must be an experiment name (str), got {type(name).__name__}")
    if name not in REGISTRY:
        raise ValueError(f"name must be one of {', '.join(REGISTRY)}, got {name!r}")
    return REGISTRY[name]


def module(name: str) -> ModuleType:
    """The module ``validation.<name>`` of a registered experiment."""
    return importlib.import_module(f"validation.{experiment(name).name}")
