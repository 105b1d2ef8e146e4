"""The scaled families of ``validation.scaled_shapes`` and their measures.

A :class:`Family` renders a shape (``geoshape.unit_shape``, blurred) or MNIST digits
(``geoshape.scaled``, area-exact, about the image centre) at any scale; the training,
held-out and sweep sets draw from a family; :func:`evaluate_family` holds a trained bias-free
net and a net with biases against the discrete optimum (``theory.disk_profile``) and the
gauge-Airy image (``theory.gauge_airy_image``, docs/general_scaling.md), and
:func:`evaluate_band` measures the missing-band protocol on scale. ``cfg`` arguments are the
experiment's config (``size``, ``sigma``, ``n_test``, ``n_sweep``, ``n_fold_digits``,
``fold_rtol``, ``band``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

import geoshape
import theory
from geoshape.scaled import unit_shape
from validation import metrics as vm
from validation.core import Streams
from validation.runs.disk import code_fold_scale, codes_and_outputs, max_reversal

__all__ = ["SHAPES", "SHAPE_PARAMS", "MNIST_SIDE", "MIN_DIGIT_SCALE", "family_names", "Family", "make_family",
           "allowed_scales", "training_set", "held_out_set", "sweep_set", "curve_stats", "evaluate_family",
           "evaluate_band"]

#: The shape families and their fixed parameters (``geoshape.unit_shape``).
SHAPES = ("disk", "square", "ellipse", "polygon", "star", "annulus")
SHAPE_PARAMS = {"disk": {}, "square": {}, "ellipse": {"aspect": 0.5}, "polygon": {"n_sides": 5},
                "star": {"lobes": 5, "amplitude": 0.3}, "annulus": {"ratio": 0.5}}
#: MNIST's frame: a digit at scale s is its 28 x 28 image drawn s * size pixels wide.
MNIST_SIDE = geoshape.digits.SIDE
#: Smallest scale handed to ``geoshape.scaled`` (it refuses 0; the image is then ~1e-12 of ink).
MIN_DIGIT_SCALE = 1e-6



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


def make_family(name: str, cfg, streams: Streams, split=None) -> Family:
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


def evaluate_family(fam: Family, bank: np.ndarray, free, bias, cfg, streams: Streams) -> tuple[dict, dict]:
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


def evaluate_band(fam: Family, models: dict, cfg, streams: Streams) -> tuple[dict, dict]:
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
