"""General scaling: the bias-free disk AE on scaled shapes and scaled MNIST digits (talk, "further work").

    python -m validation.scaled_shapes [--quick] [--seed S] [--out DIR] [--FIELD value ...]

The talk ends its disk section with "further work: apply to general scaling (scaled MNIST)";
``docs/general_scaling.md`` proves what an ideal bias-free decoder learns from a scaled family
(Theorem 1: the disk's Airy profile composed with the shape's gauge, for a star-shaped shape;
Theorem 2: a nested family's code never folds). This experiment trains the talk's 1-D-latent
disk AE (``nets.DiskAE``, the recipe of ``validation.disk_vs_airy``) without and with biases
on each family and holds the nets against that theory:

- shapes (``geoshape.scaled_shapes``' unit shapes, blurred by ``sigma``), the scale ``r``
  uniform on ``[0, R]``, ``R = size / (2 half_width)`` pixels (the largest ``R S`` fills the
  image): ``disk`` (control; ``r`` the radius), ``square`` (the half side), ``ellipse`` (aspect
  0.5; the semi-major axis), ``polygon`` (regular pentagon; the circumradius), ``star`` (5
  lobes, amplitude 0.3, not convex; the mean radius), ``annulus`` (ratio 0.5, not
  star-shaped; the outer radius);
- ``digit_<c>``: one train digit of class c (drawn from the stream ``digit/<c>``), scaled by
  ``geoshape.scaled`` about the image centre; ``digits_<c>``: every train digit of class c
  (``geoshape.digits_split``), each at its own scale. A digit's scale ``s`` is uniform on
  ``[0, 1]``: its 28 x 28 MNIST frame drawn ``s * size`` pixels wide (``s = 1``: the digit fills
  the image as in MNIST).

Each family trains on ``n_train`` images drawn once (scales stratified over the range; a
fixed bank, because the 720-gon star renders at ~3 ms an image at 32 px), in batches of 64
stratified by scale.

Measured per family (metrics ``<family>.<metric>``): the bias-free decoder's profile
``f = D(sign z)`` against the discrete optimum ``P`` (top eigenvector of the training images,
``theory.disk_profile``) and, for the shapes, against the gauge-Airy image ``A``
(``theory.gauge_airy_image``: at pixel centres, and ``_blurred`` by sigma like the data):
``cos_*`` and ``l2_*`` (unit-norm images, ``|a - b| = sqrt(2 - 2 cos)``); ``mse_bias_free_over_floor``
(``theory.rank1_floor``); whether ``h(s) = <P, x_s>`` folds and where (``fold_scale_predicted``,
``theory.fold_scale``; ``h_monotone``) against the trained code ``z(s)`` over ``n_sweep`` scales
(``fold_scale_observed``, NaN when monotone; ``z_monotone``; ``z_max_reversal``);
``r2_z_mass`` / ``r2_z_scale`` (does z follow the ink?) for both nets (``_bias``), beside theory's
answer for the bias-free code, ``r2_h_mass`` / ``r2_h_scale`` with ``h = <P, x>``, and
``r2_z_h`` (does the encoder compute h?); ``mse_with_bias``. For a
digit class, the code curves are those of ``n_fold_digits`` held-out digits: ``h_monotone`` and
``z_monotone`` are the fractions of monotone curves and the fold scales medians over the
folding ones. The missing-band protocol of ``validation.interpolation`` on scale
(``band_<family>.<variant>.*``): the net with biases trained without scales in
``band * scale_max``, without (``none``) and with the latent-l2 regulariser (``latent_l2``).

Outputs in ``--out`` (default ``results/scaled_shapes``, ``results/scaled_shapes_quick`` with
``--quick``): ``config.json``, ``metrics.json``, ``weights.pt``, ``scaled_shapes.npz``,
``level_sets.png``, ``codes_vs_scale.png``, ``digit_reconstructions.png``, ``band.png``.

Run time (size 32, 1200 + 600 steps a family, 12 families, 600 + 600 for the band): full run
8.6 min wall on one core of the shared 2-core machine (load average 3-6; 297 s of training
CPU), ``--quick`` about 40 s. Seed 0: on every star-shaped shape the bias-free profile is
within cos 0.9976 (star) to 0.9999 (disk) of the discrete optimum, itself within cos 0.99999
of the gauge-Airy image blurred like the data; the annulus breaks Theorem 1 (cos 0.857) and
its code folds where theory says (0.936 R, net and theory alike).
Measured results: docs/results/scaled_shapes.md
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

import geoshape
import theory
from geoshape.scaled import unit_shape
from validation import metrics as vm
from validation.core import (ExperimentConfig, Result, Streams, SweepSpec, flag, format_table, ints, one_of, param,
                             reals, run_cli, write_outputs)
from validation._io import save_npz
from validation._plots import finish, pyplot
from validation.runs.disk import bank_spec, code_fold_scale, codes_and_outputs, max_reversal, train_bank_models

__all__ = ["Config", "main", "cli", "SHAPES", "SHAPE_PARAMS", "GROUPS", "family_names", "Family", "make_family",
           "allowed_scales", "training_set", "held_out_set", "sweep_set", "curve_stats", "evaluate_family",
           "evaluate_band", "limited_threads"]

#: The shape families and their fixed parameters (``geoshape.unit_shape``).
SHAPES = ("disk", "square", "ellipse", "polygon", "star", "annulus")
SHAPE_PARAMS = {"disk": {}, "square": {}, "ellipse": {"aspect": 0.5}, "polygon": {"n_sides": 5},
                "star": {"lobes": 5, "amplitude": 0.3}, "annulus": {"ratio": 0.5}}
#: What ``families`` may name: a shape, ``digit`` (one digit per class in ``digits``) or
#: ``digits`` (every train digit of each class in ``digits``).
GROUPS = SHAPES + ("digit", "digits")
#: MNIST's frame: a digit at scale s is its 28 x 28 image drawn s * size pixels wide.
MNIST_SIDE = geoshape.digits.SIDE
#: Test digits per class of the split (``geoshape.digits_split``).
TEST_PER_CLASS = 100
#: Smallest scale handed to ``geoshape.scaled`` (it refuses 0; the image is then ~1e-12 of ink).
MIN_DIGIT_SCALE = 1e-6

#: What a sweep over seeds summarises first.
SWEEP = SweepSpec(headlines=(
    "square.cos_net_vs_gauge_airy", "polygon.cos_net_vs_gauge_airy", "star.cos_net_vs_gauge_airy",
    "annulus.cos_discrete_vs_gauge_airy", "annulus.fold_scale_predicted", "annulus.fold_scale_observed",
    "digit_1.z_monotone", "digit_3.z_monotone", "digit_8.z_monotone", "digits_3.z_monotone",
    "band_square.none.gap_over_seen", "band_square.latent_l2.gap_over_seen", "square.mse_bias_free_over_floor",
    "digit_3.fold_scale_predicted", "digits_3.cos_net_vs_discrete", "digits_3.r2_z_mass", "digits_3.r2_z_scale",
    "band_square.none.z_monotone", "band_square.latent_l2.z_monotone"))


def _groups(v, name: str) -> tuple[str, ...]:
    if isinstance(v, str) or not isinstance(v, (tuple, list)) or any(x not in GROUPS for x in v) \
            or len(set(v)) != len(v):
        raise ValueError(f"{name} must be distinct names from {GROUPS}, got {v!r}")
    return tuple(v)


def _classes(v, name: str) -> tuple[int, ...]:
    if isinstance(v, (str, int)) or not isinstance(v, (tuple, list)) or not v or len(set(v)) != len(v) \
            or any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c <= 9 for c in v):
        raise ValueError(f"{name} must be distinct digit classes in [0, 9] (at least one), got {v!r}")
    return tuple(int(c) for c in v)


def _band(v, name: str) -> tuple[float, float]:
    b = geoshape.checks.real_array(v, name)
    if b.shape != (2,) or not 0.0 < b[0] < b[1] < 1.0:
        raise ValueError(f"{name} must be (lo, hi) with 0 < lo < hi < 1 (fractions of the scale range), got {v!r}")
    return (float(b[0]), float(b[1]))


def _band_families(v, name: str) -> tuple[str, ...]:
    if isinstance(v, str) or not isinstance(v, (tuple, list)) or len(set(v)) != len(v):
        raise ValueError(f"{name} must be distinct family names, got {v!r}")
    for b in v:
        ok = b in SHAPES or (isinstance(b, str) and b.split("_")[0] in ("digit", "digits")
                             and b.count("_") == 1 and b.split("_")[1] in tuple("0123456789"))
        if not ok:
            raise ValueError(f"{name} must name shapes from {SHAPES} or digit_<c> / digits_<c>, got {b!r}")
    return tuple(v)


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Both nets use ``nets.PRESETS`` recipes (Adam, cosine schedule, batch 64) at ``size``:
    the bias-free one with bilinear upsampling at lr 2e-3 (``validation.disk_vs_airy``), the one
    with biases the preset's lr 4e-3. The budget, sized on the 2-core machine so that the full
    run takes about 10 minutes on one core: size 32 (a quarter of the pixels of the main job),
    1200 bias-free steps and 600 steps with biases a family, 600 a net of the band (the main
    job: 2000 and 4000 at size 64). Measured at size 32 (seed 0): on the square 600 bias-free
    steps reach |f - P| = 0.038 and 1200 steps 0.022 (MSE 1.007x and 1.003x the rank-1 floor);
    on the star (the slowest) 800 steps reach 0.124 (1.094x) and 1600 steps cos 0.999
    (1.022x)."""

    NAME = "scaled_shapes"
    QUICK = {"size": 16, "families": ("square", "annulus", "digit", "digits"), "digits": (3,), "n_train": 512,
             "bias_free_steps": 150, "bias_steps": 150, "band_steps": 120, "n_test": 256, "n_sweep": 64,
             "n_fold_digits": 4}

    size: int = param(32, "image side (pixels), int in [8, 128]", ints(8, 128))
    sigma: float = param(1.0, "blur of the shapes: Gaussian std (pixels), 0 (indicator) or in [0.1, 4]; the "
                              "digits are not blurred", reals(0.0, 4.0))
    families: tuple[str, ...] = param(GROUPS, f"families to run, distinct names from {GROUPS} (digit and digits "
                                              "expand to one family per class in digits)", _groups)
    digits: tuple[int, ...] = param((1, 3, 8), "digit classes of the digit and digits families, distinct ints "
                                               "in [0, 9]", _classes)
    n_train: int = param(2048, "training images of each family, drawn once (scales stratified), in [64, 65536]",
                         ints(64, 65536))
    bias_free_steps: int = param(1200, "optimiser steps of each bias-free net, >= 1", ints(1))
    bias_steps: int = param(600, "optimiser steps of each net with biases, >= 1", ints(1))
    bias_free_lr: float = param(2e-3, "peak learning rate of the bias-free nets, > 0", reals(0.0, lo_open=True))
    bias_lr: float = param(0.0, "peak learning rate of the nets with biases; 0 = the preset's (4e-3)", reals(0.0))
    bias_free_upsampling: str = param("bilinear", "decoder upsampling of the bias-free nets: nearest, bilinear or "
                                      "transpose", one_of("nearest", "bilinear", "transpose"))
    n_test: int = param(1024, "held-out images of each family at random scales (MSEs, R^2), >= 16", ints(16))
    n_sweep: int = param(256, "midpoint scales of the code curves h(s) and z(s) over the range, in [16, 4096]",
                         ints(16, 4096))
    n_fold_digits: int = param(16, "held-out digits whose code curves stand for a digit class, in [1, 100]",
                               ints(1, TEST_PER_CLASS))
    fold_rtol: float = param(1e-3, "a trained code z(s) folds if it comes back from its running maximum by more "
                                   "than this fraction of its range, in [0, 0.5]", reals(0.0, 0.5))
    band_families: tuple[str, ...] = param(("square",), "families of the missing-band protocol (names as in "
                                                        "families, digit classes as digits_<c>); empty: none",
                                           _band_families)
    band: tuple[float, float] = param((0.35, 0.55), "missing scales [lo, hi) as fractions of the scale range "
                                                    "(the main job's radii 11-18 of 32)", _band)
    band_steps: int = param(600, "optimiser steps of each net of the missing-band protocol, >= 1", ints(1))
    latent_l2_weight: float = param(1.6e-7, "weight of the latent-l2 regulariser (type 1); the interpolation "
                                            "job's 1e-8 at 64 px times (64/32)^4, the term being quartic in "
                                            "the images' norms, > 0", reals(0.0, lo_open=True))
    parallel: bool = param(False, "train on two processes, one core each (off: the budget is one core)", flag)
    progress: bool = param(False, "show a progress bar over the trainings", flag)

    def validate(self) -> None:
        if 0.0 < self.sigma < 0.1:
            raise ValueError(f"sigma must be 0 (no blur) or in [0.1, 4] pixels, got {self.sigma!r}")
        for b in self.band_families:
            group = b.split("_")[0] if "_" in b else b
            if group == "digit" or group == "digits":
                if int(b.split("_")[1]) not in self.digits:
                    raise ValueError(f"band_families names {b!r}, whose class is not in digits {self.digits}")

    @property
    def family_list(self) -> tuple[str, ...]:
        return family_names(self.families, self.digits)


def family_names(groups: Sequence[str], digits: Sequence[int]) -> tuple[str, ...]:
    """The families of ``groups`` (``Config.families``): shapes as named, then ``digit_<c>`` and
    ``digits_<c>`` for each class c.

    >>> family_names(("square", "digit", "digits"), (3, 8))
    ('square', 'digit_3', 'digit_8', 'digits_3', 'digits_8')
    """
    out = [g for g in groups if g in SHAPES]
    for g in ("digit", "digits"):
        if g in groups:
            out += [f"{g}_{c}" for c in digits]
    return tuple(out)


# ----------------------------------------------------------------------------- the families
@dataclass
class Family:
    """One scaled family at ``size``: scales uniform on ``[0, scale_max]``; a shape (``shape``,
    blurred by ``sigma``) or digits (``train_digits`` and ``test_digits``, (n, 28, 28); for a
    one-digit family both hold that digit)."""

    name: str
    group: str                          # a shape kind, "digit" or "digits"
    size: int
    scale_max: float
    unit: str                           # "px" (shapes) or "x size" (digits)
    sigma: float = 0.0
    shape: object = None                # geoshape.scaled.UnitShape
    train_digits: np.ndarray | None = None
    test_digits: np.ndarray | None = None
    digit_index: int = -1               # one-digit family: its row in geoshape.mnist_digits()

    @property
    def is_shape(self) -> bool:
        return self.shape is not None

    @property
    def is_class(self) -> bool:
        return self.group == "digits"

    def render(self, scales, rows=None, *, held_out: bool = False) -> np.ndarray:
        """float32 (n, size, size): the shape at ``scales``, or digit ``rows[k]`` (of the train
        or ``held_out`` digits; default the first) at ``scales[k]``."""
        scales = np.asarray(scales, dtype=np.float64)
        if self.is_shape:
            return self.shape.render(scales, size=self.size, sigma=self.sigma)
        src = self.test_digits if held_out else self.train_digits
        rows = np.zeros(len(scales), np.int64) if rows is None else np.asarray(rows)
        return _scaled_digits(src, rows, scales, self.size)


def _scaled_digits(images: np.ndarray, rows: np.ndarray, scales: np.ndarray, size: int) -> np.ndarray:
    """Digit ``images[rows[k]]`` (28 x 28 frame) drawn ``scales[k] * size`` pixels wide about
    the image centre (``geoshape.scaled``, area-exact): float32 (n, size, size)."""
    out = np.empty((len(rows), size, size), dtype=np.float32)
    factor = np.maximum(scales, MIN_DIGIT_SCALE) * (size / MNIST_SIDE)
    for r in np.unique(rows):
        k = np.flatnonzero(rows == r)
        out[k] = geoshape.scaled(images[r], factor[k], size=size)
    return out


def make_family(name: str, cfg: Config, streams: Streams, split=None) -> Family:
    """The family ``name`` (a shape kind, ``digit_<c>`` or ``digits_<c>``) at ``cfg.size``;
    ``split``: ``geoshape.digits_split``'s (train, test) for the digit families. A one-digit
    family's digit is a train digit of its class drawn from the stream ``digit/<c>``."""
    if name in SHAPES:
        shape = unit_shape(name, **SHAPE_PARAMS[name])
        return Family(name, name, cfg.size, cfg.size / (2.0 * shape.half_width), "px", sigma=cfg.sigma,
                      shape=shape)
    group, c = name.split("_")
    train, test = split
    keep = train.labels == int(c)
    pool, rows = train.images[keep], train.index[keep]
    if group == "digit":
        pick = int(np.random.default_rng(streams(f"digit/{c}")).integers(len(pool)))
        one = pool[pick : pick + 1]
        return Family(name, group, cfg.size, 1.0, "x size", train_digits=one, test_digits=one,
                      digit_index=int(rows[pick]))
    return Family(name, group, cfg.size, 1.0, "x size", train_digits=pool,
                  test_digits=test.images[test.labels == int(c)])


def allowed_scales(u, smax: float, band: tuple[float, float] | None = None) -> np.ndarray:
    """``u`` in [0, 1) mapped uniformly onto [0, smax), or onto [0, smax) minus
    ``[band[0] smax, band[1] smax)`` (order kept, so stratified ``u`` stay stratified).

    >>> allowed_scales([0.0, 0.25, 0.5, 0.75], 8.0, (0.25, 0.75)).tolist()
    [0.0, 1.0, 6.0, 7.0]
    """
    u = np.asarray(u, dtype=np.float64)
    if band is None:
        return u * smax
    lo, hi = band[0] * smax, band[1] * smax
    t = u * (smax - (hi - lo))
    return np.where(t < lo, t, t + (hi - lo))


def training_set(fam: Family, n: int, rng: np.random.Generator, band=None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training images of ``fam`` and their scales: one uniform scale in each of n equal
    cells of the range (minus ``band``); a digit class draws its digits uniformly."""
    scales = allowed_scales((np.arange(n) + rng.random(n)) / n, fam.scale_max, band)
    rows = rng.integers(0, len(fam.train_digits), n) if fam.is_class else None
    return fam.render(scales, rows), scales


def held_out_set(fam: Family, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` held-out images of ``fam`` at uniform random scales (a class: held-out digits)."""
    scales = rng.random(n) * fam.scale_max
    rows = rng.integers(0, len(fam.test_digits), n) if fam.is_class else None
    return fam.render(scales, rows, held_out=True), scales


def sweep_set(fam: Family, n_sweep: int, n_curves: int, rng: np.random.Generator):
    """The code curves' scales (n_sweep,) (midpoints of the range) and images
    (curves, n_sweep, size, size): one curve, or ``n_curves`` held-out digits of a class."""
    s = (np.arange(n_sweep) + 0.5) * (fam.scale_max / n_sweep)
    if not fam.is_class:
        return s, fam.render(s)[None]
    pick = np.sort(rng.choice(len(fam.test_digits), size=min(n_curves, len(fam.test_digits)), replace=False))
    return s, np.stack([fam.render(s, np.full(n_sweep, k), held_out=True) for k in pick])


# ----------------------------------------------------------------------------- measures
def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    v = v / np.linalg.norm(v)
    return v if v.sum() >= 0 else -v


def _compare(a, b) -> tuple[float, float]:
    """(cosine, distance) of two images as unit-norm, sign-fixed vectors."""
    a, b = _unit(a), _unit(b)
    return float(np.clip(np.sum(a * b), -1.0, 1.0)), float(np.linalg.norm(a - b))


def curve_stats(z, scales, rtol: float) -> tuple[float, bool, float]:
    """``(fold scale or NaN, monotone, max reversal)`` of one code curve; a constant (dead)
    code is not monotone and reverses fully (as in ``validation.interpolation``)."""
    z = np.asarray(z, dtype=np.float64)
    if np.ptp(z) == 0.0:
        return float("nan"), False, 1.0
    fold = code_fold_scale(z, scales, rtol=rtol)
    return (float("nan") if fold is None else fold), fold is None, max_reversal(z, scales)


def _median_or_nan(v) -> float:
    v = np.asarray(v, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


def _codes(model, curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes (c, n) and reconstructions (c, n, s, s) of every curve, one curve a batch."""
    zs, ys = zip(*(codes_and_outputs(model, x) for x in curves))
    return np.stack(zs), np.stack(ys)


def evaluate_family(fam: Family, bank: np.ndarray, free, bias, cfg: Config, streams: Streams) -> tuple[dict, dict]:
    """The family's metrics (keys without the family prefix) and its figure data."""
    m: dict[str, float] = {"scale_max": fam.scale_max}
    P = theory.disk_profile(bank)                                            # (size, size), unit, >= 0
    x_test, s_test = held_out_set(fam, cfg.n_test, np.random.default_rng(streams(f"test/{fam.name}")))
    z_free, y_free = codes_and_outputs(free, x_test)
    z_bias, y_bias = codes_and_outputs(bias, x_test)
    floor = theory.rank1_floor(x_test)
    m["mse_bias_free"] = float(np.mean((y_free - x_test) ** 2))
    m["mse_rank1_floor"] = floor
    m["mse_bias_free_over_floor"] = m["mse_bias_free"] / floor
    m["mse_with_bias"] = float(np.mean((y_bias - x_test) ** 2))
    m["z_positive_fraction"] = float(np.mean(z_free > 0))
    sign = 1.0 if m["z_positive_fraction"] >= 0.5 else -1.0
    f = _unit(free.profile(sign).numpy())
    m["cos_net_vs_discrete"], m["l2_net_vs_discrete"] = _compare(f, P)
    data = {"net_profile": f, "discrete": P}
    if fam.is_shape:
        params = SHAPE_PARAMS[fam.name]
        A = theory.gauge_airy_image(fam.name, fam.size, fam.scale_max, **params)
        A_blur = theory.gauge_airy_image(fam.name, fam.size, fam.scale_max, sigma=fam.sigma, **params) \
            if fam.sigma > 0 else A
        m["cos_discrete_vs_gauge_airy"], m["l2_discrete_vs_gauge_airy"] = _compare(P, A)
        m["cos_net_vs_gauge_airy"], m["l2_net_vs_gauge_airy"] = _compare(f, A)
        m["cos_discrete_vs_gauge_airy_blurred"], m["l2_discrete_vs_gauge_airy_blurred"] = _compare(P, A_blur)
        m["cos_net_vs_gauge_airy_blurred"], m["l2_net_vs_gauge_airy_blurred"] = _compare(f, A_blur)
        data.update(gauge_airy=A, gauge_airy_blurred=A_blur,
                    gauge=theory.gauge_image(fam.name, fam.size, **params))
    # does z follow the ink (the talk's averaging filter), the scale, or theory's code h?
    mass = x_test.reshape(len(x_test), -1).sum(axis=1)
    h_test = theory.code_curve(x_test, P)
    for tag, z in (("", z_free), ("_bias", z_bias)):
        m[f"r2_z_mass{tag}"] = vm.r_squared(z, mass)
        m[f"r2_z_scale{tag}"] = vm.r_squared(z, s_test)
    m["r2_z_h"] = vm.r_squared(z_free, h_test)
    m["r2_h_mass"] = vm.r_squared(h_test, mass)
    m["r2_h_scale"] = vm.r_squared(h_test, s_test)

    # the code curves: h(s) = <P, x_s> (theory) against the trained codes z(s)
    s, curves = sweep_set(fam, cfg.n_sweep, cfg.n_fold_digits, np.random.default_rng(streams(f"sweep/{fam.name}")))
    h = np.stack([theory.code_curve(x, P) for x in curves])
    pred = [theory.fold_scale(s, x, P) for x in curves]
    pred = np.array([np.nan if p is None else p for p in pred])
    zc, yc = _codes(free, curves)
    zb, yb = _codes(bias, curves)
    obs = np.array([curve_stats(z, s, cfg.fold_rtol) for z in zc])
    obs_b = np.array([curve_stats(z, s, cfg.fold_rtol) for z in zb])
    m["h_monotone"] = float(np.mean(~np.isfinite(pred)))
    m["fold_scale_predicted"] = _median_or_nan(pred)
    m["fold_scale_observed"] = _median_or_nan(obs[:, 0])
    m["z_monotone"] = float(np.mean(obs[:, 1]))
    m["z_max_reversal"] = float(np.max(obs[:, 2]))
    m["fold_scale_observed_bias"] = _median_or_nan(obs_b[:, 0])
    m["z_monotone_bias"] = float(np.mean(obs_b[:, 1]))
    if fam.is_class:
        m["n_curves"] = len(curves)
    if fam.group == "digit":
        m["digit_index"] = fam.digit_index
    data.update(scales=s, h=h, z=zc, z_bias=zb, fold_predicted=pred, fold_observed=obs[:, 0],
                curve_inputs=curves[0], curve_free=yc[0], curve_bias=yb[0])
    return m, data


def evaluate_band(fam: Family, models: dict, cfg: Config, streams: Streams) -> tuple[dict, dict]:
    """The missing-band protocol on ``fam``: per variant, the reconstruction MSE over the sweep
    scales inside the band and outside it, and the code's monotonicity along the scale."""
    s, curves = sweep_set(fam, cfg.n_sweep, cfg.n_fold_digits, np.random.default_rng(streams(f"sweep/{fam.name}")))
    lo, hi = cfg.band[0] * fam.scale_max, cfg.band[1] * fam.scale_max
    inside = (s >= lo) & (s < hi)
    m, data = {}, {"scales": s, "band": np.array([lo, hi])}
    for v, model in models.items():
        z, y = _codes(model, curves)
        err = np.mean((y - curves) ** 2, axis=(2, 3))                  # (curves, n_sweep)
        stats = np.array([curve_stats(zc, s, cfg.fold_rtol) for zc in z])
        m[f"{v}.mse_gap"] = float(err[:, inside].mean())
        m[f"{v}.mse_seen"] = float(err[:, ~inside].mean())
        m[f"{v}.gap_over_seen"] = m[f"{v}.mse_gap"] / m[f"{v}.mse_seen"]
        m[f"{v}.monotonic_fraction"] = float(np.mean([vm.monotonic_fraction(zc, s) for zc in z]))
        m[f"{v}.z_monotone"] = float(np.mean(stats[:, 1]))
        m[f"{v}.max_reversal"] = float(np.max(stats[:, 2]))
        data[f"z_{v}"] = z
    return m, data


# ----------------------------------------------------------------------------- the run
BAND_VARIANTS = ("none", "latent_l2")


def _specs(cfg: Config, names, banks, band_banks, streams: Streams) -> list[dict]:
    common = dict(progress=cfg.progress and not cfg.parallel, threads=cfg.torch_threads, device=cfg.device)
    specs = []
    for n in names:
        x, s = banks[n]
        specs.append(bank_spec(f"{n}.bias_free", "bias_free", images=x, scales=s,
                               seed=streams(f"train/{n}/bias_free"), steps=cfg.bias_free_steps, lr=cfg.bias_free_lr,
                               model_changes={"upsampling": cfg.bias_free_upsampling}, **common))
        specs.append(bank_spec(f"{n}.bias", "bias", images=x, scales=s, seed=streams(f"train/{n}/bias"),
                               steps=cfg.bias_steps, lr=cfg.bias_lr, **common))
    for b, (x, s) in band_banks.items():
        seed = streams(f"band/{b}/net")          # the same start for both variants: compared net for net
        for v in BAND_VARIANTS:
            changes = {"regularisers": (("latent_l2", cfg.latent_l2_weight),)} if v == "latent_l2" else {}
            specs.append(bank_spec(f"band_{b}.{v}", "bias", images=x, scales=s, seed=seed, steps=cfg.band_steps,
                                   lr=cfg.bias_lr, train_changes=changes, **common))
    return specs


@contextlib.contextmanager
def limited_threads(n: int):
    """Run the block with ``n`` torch threads and ``n`` BLAS threads (threadpoolctl, when
    installed); the previous settings come back after. On the shared 2-core machine a
    2-thread OpenBLAS SVD of 2048 x 1024 took 16.6 s against 1.3 s for one thread."""
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            limits = contextlib.nullcontext()
        else:
            limits = threadpool_limits(n)
        with limits:
            yield
    finally:
        torch.set_num_threads(prev)


def main(config: Config) -> Result:
    """Run the experiment; see the module docstring."""
    with limited_threads(config.torch_threads):
        return _main(config)


def _main(config: Config) -> Result:
    cfg = config
    t_start = time.perf_counter()
    out = cfg.output_dir
    streams = Streams(cfg.seed)
    names = cfg.family_list
    every = tuple(dict.fromkeys(names + cfg.band_families))
    split = None
    if any(n not in SHAPES for n in every):
        split = geoshape.digits_split(streams("digits/split"), n_test=TEST_PER_CLASS * len(cfg.digits),
                                      digits=cfg.digits)
    fams = {n: make_family(n, cfg, streams, split) for n in every}
    t_data = time.perf_counter()
    banks = {n: training_set(fams[n], cfg.n_train, np.random.default_rng(streams(f"train/{n}/data")))
             for n in names}
    band_banks = {b: training_set(fams[b], cfg.n_train, np.random.default_rng(streams(f"band/{b}/data")), cfg.band)
                  for b in cfg.band_families}
    m: dict[str, float] = {"data_seconds": time.perf_counter() - t_data}
    trained, models = train_bank_models(_specs(cfg, names, banks, band_banks, streams), cfg.parallel,
                                        cfg.progress)

    data: dict[str, np.ndarray] = {"families": np.array(names), "band_families": np.array(cfg.band_families)}
    for n in names:
        fm, fd = evaluate_family(fams[n], banks[n][0], models[f"{n}.bias_free"], models[f"{n}.bias"], cfg, streams)
        fm["train_seconds"] = trained[f"{n}.bias_free"]["seconds"] + trained[f"{n}.bias"]["seconds"]
        m.update({f"{n}.{k}": v for k, v in fm.items()})
        data.update({f"{n}.{k}": v for k, v in fd.items()})
    for b in cfg.band_families:
        bm, bd = evaluate_band(fams[b], {v: models[f"band_{b}.{v}"] for v in BAND_VARIANTS}, cfg, streams)
        m.update({f"band_{b}.{k}": v for k, v in bm.items()})
        data.update({f"band_{b}.{k}": v for k, v in bd.items()})
    m["train_seconds"] = float(sum(r["seconds"] for r in trained.values()))
    m["train_cpu_seconds"] = float(sum(r["cpu_seconds"] for r in trained.values()))

    save_npz(out / "scaled_shapes.npz", data)
    units = {n: fams[n].unit for n in every}
    _plot_level_sets(data, names, out / "level_sets.png", m)
    _plot_codes(data, names, units, out / "codes_vs_scale.png", m)
    _plot_digits(data, names, out / "digit_reconstructions.png")
    _plot_band(data, cfg.band_families, units, out / "band.png", m)
    m["total_seconds"] = time.perf_counter() - t_start
    histories = {k: r["history"] for k, r in trained.items()}
    write_outputs(out, cfg, m, dict(models), histories=histories, streams=streams.used,
                  extra={"shape_params": SHAPE_PARAMS, "band_variants": list(BAND_VARIANTS),
                         "digit_index": {n: fams[n].digit_index for n in every if fams[n].group == "digit"}})
    return Result(cfg, m, _table(m, names, cfg.band_families), out, histories)


# ----------------------------------------------------------------------------- figures
_LEVELS = (0.2, 0.4, 0.6, 0.8)


def _plot_level_sets(d, names, path, m):
    """The bias-free decoder's profile and the discrete optimum against the gauge's level sets."""
    kinds = [n for n in ("square", "polygon", "star", "ellipse") if n in names][:2]
    if not kinds:
        return
    plt = pyplot()
    fig, axes = plt.subplots(len(kinds), 3, figsize=(11.5, 3.6 * len(kinds)), squeeze=False)
    for row, n in zip(axes, kinds):
        A = d[f"{n}.gauge_airy"]
        for ax, key, title in ((row[0], "net_profile", "bias-free decoder D(sign z)"),
                               (row[1], "discrete", "discrete optimum P")):
            img = d[f"{n}.{key}"]
            im = ax.imshow(img / img.max(), cmap="viridis", vmin=0, vmax=1)
            ax.contour(img / img.max(), levels=_LEVELS, colors="w", linewidths=1.0)
            ax.contour(A / A.max(), levels=_LEVELS, colors="r", linewidths=1.0, linestyles="--")
            ax.set_title(f"{n}: {title}\nwhite: its level sets, red dashed: g(|x|_S)'s", fontsize=8)
            ax.set_xlabel("x (pixels)")
            ax.set_ylabel("y (pixels)")
            fig.colorbar(im, ax=ax, fraction=0.046, label="value / max")
        diff = d[f"{n}.net_profile"] - d[f"{n}.gauge_airy_blurred"]
        lim = float(np.abs(diff).max()) or 1.0
        im = row[2].imshow(diff, cmap="RdBu_r", vmin=-lim, vmax=lim)
        row[2].set_title(f"{n}: decoder - gauge-Airy blurred (unit norms)\n"
                         f"cos {m[f'{n}.cos_net_vs_gauge_airy_blurred']:.4f}, "
                         f"vs unblurred {m[f'{n}.cos_net_vs_gauge_airy']:.4f}", fontsize=8)
        row[2].set_xlabel("x (pixels)")
        fig.colorbar(im, ax=row[2], fraction=0.046, label="difference")
    finish(fig, path, dpi=100)


def _plot_codes(d, names, units, path, m, max_curves: int = 4):
    """h(s) (theory) and z(s) (bias-free net) per family, each scaled to max 1, folds marked."""
    plt = pyplot()
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.9 * rows), squeeze=False)
    for ax, n in zip(axes.ravel(), names):
        s = d[f"{n}.scales"]
        for k in range(min(max_curves, len(d[f"{n}.h"]))):
            h, z = d[f"{n}.h"][k], d[f"{n}.z"][k]
            z = z * np.sign(z[np.argmax(np.abs(z))]) if np.any(z) else z
            ax.plot(s, h / np.abs(h).max(), "k-", lw=1.2, label="h(s) = <P, x_s>" if k == 0 else None)
            ax.plot(s, z / (np.abs(z).max() or 1.0), "C0--", lw=1.2, label="z(s), bias-free net" if k == 0 else None)
        fp, fo = m[f"{n}.fold_scale_predicted"], m[f"{n}.fold_scale_observed"]
        which = "median fold (folding digits)" if len(d[f"{n}.h"]) > 1 else "fold"
        if np.isfinite(fp):
            ax.axvline(fp, color="k", lw=0.8, ls=":", label=f"{which} of h: {fp:.3g}")
        if np.isfinite(fo):
            ax.axvline(fo, color="C0", lw=0.8, ls=":", label=f"{which} of z: {fo:.3g}")
        shown = f", {min(max_curves, len(d[f'{n}.h']))} of {len(d[f'{n}.h'])} digits" if len(d[f"{n}.h"]) > 1 else ""
        ax.set_title(f"{n}: h monotone {m[f'{n}.h_monotone']:.2g}, z monotone {m[f'{n}.z_monotone']:.2g}{shown}",
                     fontsize=8)
        ax.set_xlabel(f"scale ({units[n]})")
        ax.set_ylabel("code / max")
        ax.legend(fontsize=6)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    finish(fig, path, dpi=100)


def _plot_digits(d, names, path, n_cols: int = 8):
    """Inputs and reconstructions (with biases, bias-free) across scales: one block of three
    rows per digit family (a class: its first held-out digit)."""
    digit = [n for n in names if n.startswith("digit")]
    if not digit:
        return
    s = d[f"{digit[0]}.scales"]
    pick = np.linspace(len(s) // 16, len(s) - 1, n_cols).round().astype(int)
    rows = []
    for n in digit:
        rows += [(f"{n}\ninput", d[f"{n}.curve_inputs"]), (f"{n}\nwith bias", d[f"{n}.curve_bias"]),
                 (f"{n}\nbias-free", d[f"{n}.curve_free"])]
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(1.05 * n_cols + 0.9, 1.0 * len(rows) + 0.6),
                             squeeze=False, layout="constrained")
    for r, (label, imgs) in enumerate(rows):
        for c, k in enumerate(pick):
            ax = axes[r, c]
            im = ax.imshow(imgs[k], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
            if r == 0:
                ax.set_title(f"s = {s[k]:.2f}", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.3, label="grey level")
    fig.suptitle("Scaled digits and their reconstructions (s: the 28 x 28 frame drawn s x size pixels wide)",
                 fontsize=9)
    finish(fig, path, dpi=90)


def _plot_band(d, bands, units, path, m):
    if not bands:
        return
    plt = pyplot()
    fig, axes = plt.subplots(1, len(bands), figsize=(4.4 * len(bands), 3.3), squeeze=False)
    for ax, b in zip(axes[0], bands):
        s, (lo, hi) = d[f"band_{b}.scales"], d[f"band_{b}.band"]
        for i, v in enumerate(BAND_VARIANTS):
            for k, z in enumerate(d[f"band_{b}.z_{v}"][:4]):
                ax.plot(s, z, f"C{i}-", lw=1.0,
                        label=f"{v}: gap/seen MSE {m[f'band_{b}.{v}.gap_over_seen']:.2f}" if k == 0 else None)
        ax.axvspan(lo, hi, color="0.85", zorder=0, label="missing scales")
        ax.set_xlabel(f"scale ({units[b]})")
        ax.set_ylabel("z (net with biases)")
        ax.set_title(f"{b}: trained without the band", fontsize=9)
        ax.legend(fontsize=7)
    finish(fig, path, dpi=100)


def _table(m: dict, names, bands) -> str:
    def g(n, k):
        return m.get(f"{n}.{k}", float("nan"))

    rows = [(n, f"[0, {g(n, 'scale_max'):.3g}]", g(n, "cos_net_vs_discrete"), g(n, "cos_discrete_vs_gauge_airy"),
             g(n, "cos_net_vs_gauge_airy"), g(n, "mse_bias_free_over_floor"), g(n, "fold_scale_predicted"),
             g(n, "fold_scale_observed"), g(n, "z_monotone"), g(n, "r2_z_mass"), g(n, "r2_z_scale"),
             g(n, "mse_with_bias")) for n in names]
    text = format_table(rows, ("family", "scales", "cos(f,P)", "cos(P,A)", "cos(f,A)", "MSE/floor", "fold h",
                               "fold z", "z mono", "R2 mass", "R2 scale", "MSE bias"))
    if bands:
        brows = [(b, v, m[f"band_{b}.{v}.mse_seen"], m[f"band_{b}.{v}.mse_gap"], m[f"band_{b}.{v}.gap_over_seen"],
                  m[f"band_{b}.{v}.monotonic_fraction"], m[f"band_{b}.{v}.z_monotone"],
                  m[f"band_{b}.{v}.max_reversal"]) for b in bands for v in BAND_VARIANTS]
        text += "\n\nmissing band\n" + format_table(brows, ("family", "variant", "MSE seen", "MSE gap", "gap/seen",
                                                           "monotone steps", "z monotone", "max reversal"))
    return text


def _footer(result: Result) -> str:
    return (f"\ntrain {result.metrics['train_seconds']:.0f} s wall ({result.metrics['train_cpu_seconds']:.0f} s CPU); "
            f"total {result.metrics['total_seconds']:.0f} s")


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, scaled_shapes.npz, *.png",
                   _footer)


if __name__ == "__main__":
    cli(sys.argv[1:])
