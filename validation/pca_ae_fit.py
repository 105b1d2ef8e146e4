"""The PCA-AE and its baselines fitted to your own images (the ellipse study's measures, on any data).

    python -m validation.pca_ae_fit --data my_images.npz [--factors factors.csv] [--quick] [--seed S]
                                    [--out DIR] [--FIELD value ...]
    python -m validation.runners.sweep pca_ae_fit --seeds 0:10 --set data=my_images.npz   # over seeds

Reads the images with ``geoshape.load_images`` (``.npy``, ``.npz``, PNG/TIFF files or a folder;
square, side 8 to 1024), holds out ``test_fraction`` as a test set and trains, with one latent
size and budget, the PCA-AE one component a stage (eqs. 14-17), a plain AE and a beta-VAE; without
``--data``, a built-in demo set of 2000 blurred ellipses. ``--factors file.csv`` (a header, then
one row per image in the images' order) adds the on-target / off-target table and MIG / DCI / SAP.

Outputs in ``--out`` (default ``results/pca_ae_fit``; ``results/pca_ae_fit_quick`` with
``--quick``): ``config.json`` (with the data's path and SHA-256), ``metrics.json``, ``weights.pt``
(``nets.load_results`` rebuilds the models), ``ordering.png``, ``covariance.png``,
``traversals_<model>.png``, ``reconstructions_<model>.png``, with factors ``correlations.png``.

Run time (2 idle cores, one torch thread a training): full run 3.5 min on the demo set (it
grows with the image side and ``latent``), ``--quick`` 16 s.
Metrics and measured results: docs/results/pca_ae_fit.md
"""

from __future__ import annotations

import csv
import functools
import hashlib
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from geoshape.images import COLOUR_MODES, load_images
from nets import PCAAEConfig
from nets.conv_ae import MAX_SIZE, MIN_SIZE, OUTPUTS, RECON_LOSSES
from nets.plotting import plot_reconstructions, plot_traversals
from validation import metrics as M
from validation._plots import plot_matrices, plot_ordering
from validation.core import (ExperimentConfig, Result, Streams, SweepSpec, format_table, ints, one_of, param, reals,
                             run_cli, write_outputs)
from validation.runs.pca import (TrainSpec, covariance_metrics, disentanglement, encode_all, fit, fit_variants,
                                 ordering_metrics, recon_mse)

NAME = "pca_ae_fit"
#: The models of a run, in table order (``vae``: the beta-VAE with KL weight ``beta``).
MODELS = ("pca_ae", "ae", "vae")
#: The built-in demo set used without ``--data``: centred blurred ellipses (geoshape), semi-axes
#: uniform in ``axes`` pixels, rotation uniform in ``[0, pi/2)`` (the ellipse study's law, which
#: keeps (a, b, theta) identifiable), drawn from the run's stream ``demo``.
DEMO = {"n": 2000, "size": 32, "axes": (2.0, 15.0), "theta_max": math.pi / 2, "sigma": 1.0}
DEMO_FACTORS = ("a", "b", "theta")


# ----------------------------------------------------------------------------- reading the data
def _existing(kind: str):
    """The check of a path field: None, or an existing, readable ``kind`` ("file" or "path")."""

    def check(v, name: str):
        if v is None:
            return None
        if not isinstance(v, (str, os.PathLike)) or not str(v):
            raise TypeError(f"{name} must be a path (str) or None, got {v!r}")
        p = Path(v)
        if not (p.is_file() or (kind == "path" and p.is_dir())):
            raise ValueError(f"{name}: no such {'file' if kind == 'file' else 'file or folder'}: {p}")
        if not os.access(p, os.R_OK | (os.X_OK if p.is_dir() else 0)):
            raise ValueError(f"{name}: {p} is not readable")
        return os.fspath(v)

    return check


def read_factors(path: str | os.PathLike) -> tuple[tuple[str, ...], np.ndarray]:
    """A factors CSV: a header of distinct non-empty names, then rows of finite numbers, one per
    image (blank lines skipped). Returns ``(names, (n, k) float64)``; ValueError naming
    ``factors``, the line and the column of the first bad cell; a constant column is refused
    (no correlation, MIG or DCI is defined for it)."""
    p = Path(path)
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            rows = [(i, r) for i, r in enumerate(csv.reader(fh), start=1) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"factors: {p} cannot be read as a CSV text file: {type(e).__name__}: {e}") from None
    if len(rows) < 2:
        raise ValueError(f"factors: {p} needs a header row of factor names and at least one row of numbers")
    names = tuple(c.strip() for c in rows[0][1])
    if any(not n for n in names) or len(set(names)) != len(names):
        raise ValueError(f"factors: the header of {p} must name every column once, got {list(names)}")
    if all(_is_number(n) for n in names):
        raise ValueError(f"factors: the first row of {p} must name the columns, got numbers {list(names)}")
    values = np.empty((len(rows) - 1, len(names)))
    for r, (line, row) in enumerate(rows[1:]):
        if len(row) != len(names):
            raise ValueError(f"factors: line {line} of {p} has {len(row)} cells, the header {len(names)}")
        for j, cell in enumerate(row):
            try:
                values[r, j] = float(cell)
            except ValueError:
                raise ValueError(f"factors: line {line} of {p}, column {names[j]!r}: {cell!r} is not a "
                                 f"number") from None
            if not math.isfinite(values[r, j]):
                raise ValueError(f"factors: line {line} of {p}, column {names[j]!r}: {cell!r} is not finite")
    for j, n in enumerate(names):
        if np.ptp(values[:, j]) == 0:
            raise ValueError(f"factors: column {n!r} of {p} is constant: nothing to correlate the codes with")
    return names, values


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _stamp(path: str | None) -> tuple | None:
    if path is None:
        return None
    st = os.stat(path)
    return os.path.abspath(path), st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=1)
def _read(data: str, factors: str | None, colour: str, _stamps: tuple):
    """Images and factors, read once per (paths, modification times): the config's check and
    the run share them. Read-only arrays."""
    try:
        images = load_images(data, colour=colour)
    except (ValueError, TypeError) as e:
        msg = str(e).removeprefix("path: ")
        raise type(e)(f"data: {msg}") from None
    images.setflags(write=False)
    names, f = (), None
    if factors is not None:
        names, f = read_factors(factors)
        f.setflags(write=False)
    return images, names, f


def _sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def demo_data(rng: np.random.Generator) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """The built-in demo set (:data:`DEMO`): (images (n, s, s) float32, factor names, (n, 3))."""
    import geoshape

    lab = geoshape.random_ellipses(DEMO["n"], size=DEMO["size"], a=DEMO["axes"], b=DEMO["axes"],
                                   theta=(0.0, DEMO["theta_max"]), sigma=DEMO["sigma"], rng=rng)
    return (np.asarray(lab.images, np.float32), DEMO_FACTORS,
            np.column_stack([lab.factors[k] for k in DEMO_FACTORS]))


def split_sizes(n: int, test_fraction: float) -> tuple[int, int]:
    """(training images, test images) of ``n``: the test set is ``round(test_fraction * n)``."""
    n_test = int(round(test_fraction * n))
    return n - n_test, n_test


# ----------------------------------------------------------------------------- the config
@dataclass(frozen=True)
class Config(ExperimentConfig):
    """pca_ae_fit settings (``--key value`` on the command line)."""

    NAME = NAME
    QUICK = {"steps": 60}

    data: str | None = param(None, "the images: a .npy, a .npz (its array 'images' or its only array), a PNG/TIFF "
                                   "file or a folder of them (geoshape.load_images), square, side 8 to 1024; none: "
                                   "the built-in demo set (2000 ellipses 32x32, factors a, b, theta)",
                             _existing("path"))
    factors: str | None = param(None, "CSV file: a header of factor names, then one row of numbers per image in the "
                                      "images' order; adds |Spearman| on/off-target and MIG / DCI (needs data)",
                                _existing("file"))
    colour: str = param("refuse", f"colour images: refuse them or take their luminance, one of {COLOUR_MODES}",
                        one_of(*COLOUR_MODES))
    test_fraction: float = param(0.2, "share of the images held out for testing (stream 'split'), in (0, 1)",
                                 reals(0.0, 1.0, lo_open=True, hi_open=True))
    latent: int = param(4, "latent components of every model (the PCA-AE adds one a stage), int in [1, 64]",
                        ints(1, 64))
    steps: int = param(2000, "optimiser steps of each training (each PCA-AE stage), int >= 1", ints(1))
    batch_size: int = param(64, "images a batch, int >= 1 (at most the training images less the 5 per cent "
                                "held out for validation)", ints(1))
    lr: float = param(1e-3, "Adam's peak learning rate (cosine decay to 0.05 lr), > 0", reals(0.0, lo_open=True))
    lam_cov: float = param(1.0, "covariance weight lam of the PCA-AE (eq. 17), >= 0", reals(0.0))
    beta: float = param(4.0, "KL weight of the beta-VAE, >= 0", reals(0.0))
    output: str = param("linear", f"decoders' output layer, one of {OUTPUTS}", one_of(*OUTPUTS))
    recon_loss: str = param("mse", f"reconstruction loss of the PCA-AE and the AE, one of {RECON_LOSSES} (bce needs "
                                   f"output sigmoid)", one_of(*RECON_LOSSES))

    def validate(self) -> None:
        if self.recon_loss == "bce" and self.output != "sigmoid":
            raise ValueError(f"recon_loss='bce' needs output='sigmoid', got output={self.output!r}")
        if self.data is None:
            if self.factors is not None:
                raise ValueError("factors needs data: the factors describe your images (the demo set has its own)")
            n, side = DEMO["n"], DEMO["size"]
        else:
            images, _, f = self.read()
            n, side = len(images), images.shape[1]
            if images.shape[1] != images.shape[2] or not MIN_SIZE <= side <= MAX_SIZE:
                raise ValueError(f"data: images must be square with a side in [{MIN_SIZE}, {MAX_SIZE}] (the nets' "
                                 f"range), got {images.shape[1]} x {images.shape[2]} in {self.data}")
            if f is not None and len(f) != n:
                raise ValueError(f"factors: {self.factors} has {len(f)} rows of numbers, but data holds {n} images "
                                 f"(one row per image, in the images' order)")
        n_train, n_test = split_sizes(n, self.test_fraction)
        n_fit = n_train - max(1, int(round(TrainSpec.val_fraction * n_train)))
        need_test = max(8, self.latent + 1)  # DCI's own split; linear PCA with `latent` components
        if n_test < need_test or n_fit < self.batch_size:
            raise ValueError(f"data: {n} images leave {n_test} test and {n_fit} training images (5 % of the training "
                             f"set validates), but the run needs >= {need_test} test images (test_fraction) and >= "
                             f"batch_size = {self.batch_size} training images")
        if self.latent >= side * side:  # linear PCA with `latent` components needs more pixels
            raise ValueError(f"latent must be < the {side * side} pixels of an image, got {self.latent}")

    def read(self):
        """``(images (n, s, s) float32, factor names, factors (n, k) or None)`` of ``data`` and
        ``factors`` (read-only arrays, read once); ValueError naming the field otherwise."""
        if self.data is None:
            raise ValueError("data is none: the run uses the demo set (demo_data)")
        return _read(self.data, self.factors, self.colour, (_stamp(self.data), _stamp(self.factors)))


# ----------------------------------------------------------------------------- measures
def factor_table(codes: np.ndarray, factors: np.ndarray, names: Sequence[str], prefix: str) -> tuple[dict, np.ndarray]:
    """|Spearman| of every factor (rows) with every component (columns); each factor's matched
    component (the one-to-one assignment maximising the summed |rho|; with more factors than
    components, the factors left over get none: on_target NaN, matched_component 0), its
    on-target |rho| and the largest |rho| off the matched cells. Returns (metrics, table)."""
    _, table = M.abs_correlation_table(codes, {n: factors[:, i] for i, n in enumerate(names)}, method="spearman")
    rows, cols = linear_sum_assignment(-table)
    out: dict[str, float] = {}
    for i, n in enumerate(names):
        for j in range(table.shape[1]):
            out[f"{prefix}.spearman.{n}.z{j + 1}"] = table[i, j]
        hit = np.flatnonzero(rows == i)
        out[f"{prefix}.matched_component.{n}"] = int(cols[hit[0]]) + 1 if hit.size else 0
        out[f"{prefix}.on_target.{n}"] = table[i, cols[hit[0]]] if hit.size else math.nan
    mask = np.ones(table.shape, bool)
    mask[rows, cols] = False
    out[f"{prefix}.on_target_mean"] = float(table[rows, cols].mean())
    out[f"{prefix}.off_target_max"] = float(table[mask].max()) if mask.any() else 0.0
    return out, table


def main(config: Config) -> Result:
    """Read (or draw) the data, split it, train the three models, measure them, write the
    outputs; see the module docstring. Random streams of ``config.seed``: ``demo`` (the demo set,
    without data), ``split`` (the train/test split), ``train/<model>`` (each model's initial
    weights and batch order; ``train/pca_ae_first_stage`` for the PCA-AE's first stage when it
    has more than one), ``metrics/dci`` (DCI's split)."""
    t_start = time.perf_counter()
    out = config.output_dir
    streams = Streams(config.seed)
    if config.data is None:
        images, names, factors = demo_data(np.random.default_rng(streams("demo")))
        source = {"data": "demo", **{f"demo.{k}": v for k, v in DEMO.items()}}
    else:
        images, names, factors = config.read()
        source = {"data": os.path.abspath(config.data), "factors": config.factors and os.path.abspath(config.factors)}
    source.update({"data_sha256": _sha256(images), "factor_names": list(names),
                   "factors_sha256": None if factors is None else _sha256(factors)})
    n_train, n_test = split_sizes(len(images), config.test_fraction)
    order = np.random.default_rng(streams("split")).permutation(len(images))
    train_x, test_x = images[order[:n_train]], images[order[n_train:]]
    test_f = None if factors is None else factors[order[n_train:]]
    side = images.shape[1]
    metrics: dict[str, float] = {"data.n_images": len(images), "data.n_train": n_train, "data.n_test": n_test,
                                 "data.size": side, "data.n_factors": len(names)}

    arch = PCAAEConfig(size=side, n_stages=config.latent, packet=1, lam_cov=config.lam_cov, output=config.output,
                       recon_loss=config.recon_loss)
    spec = TrainSpec(steps=config.steps, batch_size=config.batch_size, lr=config.lr, threads=config.torch_threads,
                     device=config.device)

    def seed_of(name: str) -> int:
        return streams(f"train/{name}")

    trained = {name: (model, hist, secs) for name, model, hist, secs in fit_variants(
        {"pca_ae": ("pca_ae", arch), "ae": ("ae", arch)}, train_x, spec, seed_of)}
    trained["vae"] = fit("vae", arch, train_x, spec, seed_of("vae"), beta=config.beta)
    dci_seed = streams("metrics/dci") if factors is not None else None

    labels = {"pca_ae": "PCA-AE", "ae": "standard AE", "vae": f"beta-VAE (beta={config.beta:g})"}
    models, hists, covs, tables = {}, {}, {}, {}
    for name in MODELS:
        model, hist, secs = trained[name]
        models[name], hists[name] = model, hist
        codes = encode_all(model, test_x)
        metrics[f"{name}.recon_mse"] = recon_mse(model, test_x)
        metrics[f"seconds.train.{name}"] = secs
        m, covs[name], _ = covariance_metrics(codes, name)
        metrics.update(m)
        if test_f is not None:
            m, tables[name] = factor_table(codes, test_f, names, name)
            metrics.update(m)
            metrics.update(disentanglement(codes, test_f, name, dci_seed))
        plot_traversals(model, test_x, path=out / f"traversals_{name}.png")
        plot_reconstructions(model, test_x, path=out / f"reconstructions_{name}.png")
    m, errs, pca = ordering_metrics(models["pca_ae"], test_x, "pca_ae")
    metrics.update(m)
    for k, share in enumerate(M.explained_variance_shares(pca[1:], float(pca[0])), start=1):
        metrics[f"pca.k{k}.variance_share"] = share
    metrics["seconds.total"] = time.perf_counter() - t_start

    plot_ordering({"PCA-AE (after stage k)": (np.arange(1, len(errs) + 1), errs),
                   "linear PCA (k components)": (np.arange(len(pca)), pca)},
                  out / "ordering.png", "Test error by latent size")
    plot_matrices({labels[k]: c for k, c in covs.items()}, out / "covariance.png", "Latent covariance (test)",
                  vmin=None, vmax=None, cmap="RdBu_r", cbar_label="covariance")
    if tables:
        plot_matrices({labels[k]: t for k, t in tables.items()}, out / "correlations.png",
                      "|Spearman|: factor vs latent component (test)", row_labels=list(names),
                      cbar_label="|Spearman rho|")
    write_outputs(out, config, metrics, models, histories=hists, streams=streams.used, extra=source)
    return Result(config, metrics, _table(metrics, names, source), out, hists)


def _table(metrics: dict, names: Sequence[str], source: dict) -> str:
    rows = []
    for n in MODELS:
        row = [n, metrics[f"{n}.recon_mse"], metrics[f"{n}.latent_abs_corr_max"]]
        if names:
            row += [f"z{metrics[f'{n}.matched_component.{f}']}: {metrics[f'{n}.on_target.{f}']:.3f}"
                    if metrics[f"{n}.matched_component.{f}"] else "-" for f in names]
            row += [metrics[f"{n}.off_target_max"], metrics[f"{n}.mig"], metrics[f"{n}.dci_disentanglement"],
                    metrics[f"{n}.dci_completeness"], metrics[f"{n}.dci_informativeness"]]
        rows.append(row)
    head = ["model", "test mse", "max|corr z|"]
    if names:
        head += [f"{f} |rho|" for f in names] + ["off-target", "MIG", "DCI-D", "DCI-C", "DCI-I"]
    t1 = format_table(rows, head)
    rows = []
    k = 1
    while f"pca_ae.stage{k}.recon_mse" in metrics:
        rows.append([k, metrics[f"pca_ae.stage{k}.recon_mse"], metrics[f"pca.k{k}.recon_mse"],
                     metrics[f"pca_ae.stage{k}.variance_share"], metrics[f"pca.k{k}.variance_share"]])
        k += 1
    t2 = format_table(rows, ["stage", "PCA-AE mse", "linear PCA mse", "PCA-AE variance share", "PCA share"])
    what = "the demo set (ellipses)" if source["data"] == "demo" else source["data"]
    return "\n\n".join([
        "Test set; |rho|: |Spearman| of each factor with its matched component (best one-to-one assignment):\n" + t1,
        "PCA-AE by stage against linear PCA with as many components (per-pixel test MSE, share of the variance):\n"
        + t2,
        f"data: {what}, {int(metrics['data.n_images'])} images of {int(metrics['data.size'])} x "
        f"{int(metrics['data.size'])} ({int(metrics['data.n_train'])} train, {int(metrics['data.n_test'])} test); "
        f"total {metrics['seconds.total']:.0f} s"])


# ----------------------------------------------------------------------------- over seeds
#: The models of a run, the metrics a sweep reports for each (the factor ones exist only with
#: factors), and the PCA-AE against each baseline, seed by seed.
SWEEP = SweepSpec(
    variants=MODELS,
    headlines=("{v}.recon_mse", "{v}.latent_abs_corr_max", "{v}.on_target_mean", "{v}.off_target_max", "{v}.mig",
               "{v}.dci_disentanglement"),
    pairs=(("ae", "pca_ae"), ("vae", "pca_ae")),
)


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, *.png")


if __name__ == "__main__":
    cli(sys.argv[1:])
