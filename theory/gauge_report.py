"""How close the discrete optimum of a scaled family is to the gauge-Airy image of
:mod:`theory.gauge`, grid size by grid size, with the convergence order
(:func:`gauge_vs_discrete`): the numerical check of Theorem 1, as :mod:`theory.report` is the
disk's."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geoshape import checks
from theory._checks import centre as _centre
from theory.discrete import disk_profile

from .gauge import (MAX_SUPERSAMPLE, _default_R, _exact, _pixel_offsets, _shape, fold_scale, gauge_airy_image,
                    gauge_airy_profile)

# --------------------------------------------------------------------------- the comparison
@dataclass(frozen=True)
class GaugeRow:
    """One grid size of :func:`gauge_vs_discrete`. Distances between unit-norm images
    (``|P - A| = sqrt(2 - 2 cos)``); ``P`` the discrete optimum of the family, ``A`` the
    gauge-Airy image of Theorem 1 at pixel centres, ``A_data`` the same profile sampled like
    the data (averaged over the same sub-pixel points when unblurred; blurred by the same
    Gaussian when blurred); ``fold`` where the code folds (:func:`fold_scale`), over R."""

    size: int
    R: float
    cosine: float             # <P, A>
    rel_l2: float             # |P - A|
    cosine_data: float        # <P, A_data>
    rel_l2_data: float        # |P - A_data|
    fold: float               # argmax of the code / R if the code ever decreases, else NaN
    min_profile: float        # min P / max P (>= 0 up to rounding: Perron)


@dataclass(frozen=True)
class GaugeReport:
    """:func:`gauge_vs_discrete`'s result: one :class:`GaugeRow` per grid size and the
    convergence orders of ``rel_l2`` and ``rel_l2_data`` (least-squares slope of
    ``-log error`` on ``log size``; NaN with one size)."""

    kind: str
    params: dict = field(repr=False)
    sigma: float
    supersample: int
    n_scales: int
    star_shaped: bool
    rows: tuple
    order: float
    order_data: float

    def __str__(self) -> str:
        if self.sigma == 0:
            data = (f"unblurred {self.supersample}x{self.supersample} sub-pixel averages, r integrated "
                    "exactly")
        else:
            data = f"blurred images (sigma = {self.sigma:g}) at {self.n_scales} midpoint scales"
        kind = f"{self.kind} {self.params}" if self.params else self.kind
        lines = [f"{kind}, {'star-shaped' if self.star_shaped else 'NOT star-shaped'}: discrete "
                 f"optimum P of {data}, vs the gauge-Airy image A (A_data: sampled like the data)",
                 "  size        R   cos(P, A)    |P - A|   cos(P, A_data)  |P - A_data|  fold/R  minP/maxP"]
        for r in self.rows:
            lines.append(f"  {r.size:4d} {r.R:8.3f}  {r.cosine:.7f}  {r.rel_l2:.3e}    {r.cosine_data:.7f}"
                         f"     {r.rel_l2_data:.3e}   {r.fold:6.3f}  {r.min_profile:8.1e}")
        lines.append(f"  order: |P - A| ~ size^{-self.order:.2f}, |P - A_data| ~ size^{-self.order_data:.2f}")
        return "\n".join(lines)


def _order(sizes, errs) -> float:
    if len(sizes) < 2 or not np.all(np.asarray(errs) > 0):
        return float("nan")
    return float(-np.polyfit(np.log(sizes), np.log(errs), 1)[0])


def _unit(a):
    return a / np.linalg.norm(a)


def gauge_vs_discrete(kind, sizes=(16, 32, 64), *, sigma=0.0, supersample=4, n_scales=256,
                      **params) -> GaugeReport:
    """How close the discrete optimum of a scaled family is to Theorem 1's ``g(|x|_S)``.

    For each size: ``R = size / (2 half_width)`` (the largest ``R S`` fills the image) and the
    discrete optimum ``P`` of the family with r uniform on ``[0, R]`` -- unblurred
    (``sigma = 0``): :func:`scaled_family_profile` (sub-pixel averages, exact in r); blurred:
    the top singular vector (:func:`theory.disk_profile`) of ``n_scales`` images rendered at
    the midpoint scales ``(k + 1/2) R / n_scales`` by ``geoshape.UnitShape.render`` -- against
    the gauge-Airy image ``A`` (:func:`gauge_airy_image`) and ``A_data`` (the same profile
    averaged over the data's sub-pixel points, or blurred by ``sigma``). The code
    ``<P, x_r>`` is evaluated at the ``n_scales`` midpoint scales (exactly when unblurred)
    for the fold (Theorem 2).

    Parameters
    ----------
    kind : one of ``geoshape.SCALED_KINDS``; ``**params`` its parameters (``geoshape.unit_shape``).
    sizes : int or sequence of ints in [4, 256] (image sides).
    sigma : float, 0 or in [0.1, 8] pixels. supersample : int in [1, 16] (``sigma = 0`` only).
    n_scales : int in [8, 4096].

    Returns
    -------
    :class:`GaugeReport` (``str()`` prints it as a table).

    Measured: see ``docs/general_scaling.md`` (sizes 16 to 128, every kind, with and without
    blur; 1 s per kind unblurred, ~10 s blurred, on 2 shared cores).

    Examples
    --------
    >>> r = gauge_vs_discrete("annulus", 32, supersample=1).rows[0]
    >>> print(r.cosine < 0.9, 0.5 < r.fold < 1.0)       # Theorem 1 fails, the code folds
    True True
    """
    shape = _shape(kind, params)
    if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, (bool, np.bool_)):
        sizes = (sizes,)
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be an int or a sequence of image sides, got {type(sizes).__name__}")
    sizes = tuple(checks.integer(s, "sizes", lo=4, hi=256) for s in sizes)
    if not sizes:
        raise ValueError("sizes must name at least one image side")
    sigma = checks.real(sigma, "sigma", lo=0.0, hi=8.0)
    if 0.0 < sigma < 0.1:
        raise ValueError(f"sigma must be 0 or in [0.1, 8] pixels, got {sigma!r}")
    supersample = checks.integer(supersample, "supersample", lo=1, hi=MAX_SUPERSAMPLE)
    n_scales = checks.integer(n_scales, "n_scales", lo=8, hi=4096)
    checks.budget(3 * 8 * n_scales * max(sizes) ** 2, "n_scales, sizes",
                  f"{n_scales} images of {max(sizes)} x {max(sizes)}")
    nan = float("nan")
    rows = []
    for size in sizes:
        R = _default_R(shape, size)
        r = (np.arange(n_scales) + 0.5) * (R / n_scales)
        A = gauge_airy_image(kind, size, R, **params)
        if sigma == 0.0:
            fam, *_ = _exact(kind, size, R, supersample, None, params)
            P = fam.top()
            h = fam.codes(P, r)
            fold = nan if not np.any(np.diff(h) < -1e-9 * np.max(np.abs(h))) else float(r[np.argmax(h)] / R)
            x, y = _pixel_offsets(size, _centre(None, size), supersample)
            sub = gauge_airy_profile(shape.gauge(x, y), R)
            A_data = _unit(sub.reshape(size, supersample, size, supersample).mean(axis=(1, 3)))
        else:
            x = shape.render(r, size=size, sigma=sigma)
            P = disk_profile(x)
            f = fold_scale(r, x, P)
            fold = nan if f is None else f / R
            A_data = gauge_airy_image(kind, size, R, sigma=sigma, **params)
        rows.append(GaugeRow(size=size, R=R, cosine=float(np.sum(P * A)), rel_l2=float(np.linalg.norm(P - A)),
                             cosine_data=float(np.sum(P * A_data)),
                             rel_l2_data=float(np.linalg.norm(P - A_data)), fold=fold,
                             min_profile=float(P.min() / P.max())))
    return GaugeReport(kind=shape.kind, params=dict(shape.params), sigma=sigma, supersample=supersample,
                       n_scales=n_scales, star_shaped=shape.star_shaped, rows=tuple(rows),
                       order=_order(sizes, [r.rel_l2 for r in rows]),
                       order_data=_order(sizes, [r.rel_l2_data for r in rows]))
