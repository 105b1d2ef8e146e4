"""How far the pixel-grid optimum of blurred disks is from the Airy profile, and why.

:func:`discrete_vs_airy` renders centred disks with geoshape, takes their discrete optimum
(:func:`theory.discrete.disk_profile`) and splits its distance to the Airy profile of eq. (8)
(:func:`theory.radial.airy_image`) into blur, grid, radius sampling and corners; the numbers
come back as a :class:`DiscreteAiryReport`. It is the one theory module that renders images
(with ``geoshape.disks`` / ``geoshape.centred_disks``), so it sits on top of the others.

Examples
--------
>>> rep = discrete_vs_airy(16, n_radii=64, grid_sizes=())   # |P_1 - A_0|, |P_1 - A_1|
>>> print(f"{rep.l2_discrete_vs_airy:.2e} {rep.l2_discrete_vs_blurred_airy:.2e}")
6.00e-02 1.83e-03
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import geoshape
from geoshape import checks
from theory._checks import centre as _centre
from theory._checks import radius
from theory.airy import airy_profile
from theory.discrete import disk_profile, pixel_grid_profile
from theory.radial import _pixel_distances, airy_image

__all__ = ["discrete_vs_airy", "DiscreteAiryReport"]


@dataclass(frozen=True)
class DiscreteAiryReport:
    """How far the pixel-grid optimum (:func:`disk_profile`) is from the Airy profile, and why.

    All distances are Euclidean between unit-norm images (``sqrt(2 - 2 cos)``, at most 2).
    ``P_s`` is the discrete optimum of disks blurred by ``s``; ``A_s`` the Airy profile rendered
    with blur ``s``; ``G`` the exact unblurred pixel-grid optimum (:func:`pixel_grid_profile`).
    """

    size: int
    R: float
    sigma: float
    n_radii: int
    radii: str
    l2_discrete_vs_airy: float          # |P_sigma - A_0|   (the headline)
    l2_discrete_vs_blurred_airy: float  # |P_sigma - A_sigma|  (after modelling the blur)
    l2_sigma_vs_sigma0: float           # |P_sigma - P_0|   (blur, in the discrete problem)
    l2_sigma0_vs_airy: float            # |P_0 - A_0|       (grid + radius sampling)
    l2_pixel_grid_vs_airy: float        # |G - A_0|         (grid alone)
    l2_sigma0_vs_pixel_grid: float      # |P_0 - G|         (radius sampling alone)
    outside_fraction: float             # |P_sigma|^2 on pixels with d > R (corners, border)
    l2_inside_vs_airy: float            # |P_sigma restricted to d <= R, renormalised - A_0|
    radial_max_diff: float              # max over pixels |P_sigma / a - f_airy|, a the least-
    #                                     squares scale of f_airy in P_sigma (f(0) = 1 units)
    grid_refinement: tuple              # ((size, |G - A_0|), ...) at R = size / 2

    def __str__(self) -> str:
        lines = [
            f"discrete optimum of {self.size}x{self.size} disks, radii in [0, {self.R:g}) "
            f"({self.n_radii} radii, {self.radii}), sigma = {self.sigma:g}, vs Airy (unit-norm images):",
            f"  |P_sigma - A_0|          = {self.l2_discrete_vs_airy:.2e}   headline distance",
            f"  |P_sigma - A_sigma|      = {self.l2_discrete_vs_blurred_airy:.2e}   Airy blurred like the disks",
            f"  |P_sigma - P_0|          = {self.l2_sigma_vs_sigma0:.2e}   blur (discrete problem)",
            f"  |P_0 - A_0|              = {self.l2_sigma0_vs_airy:.2e}   no blur: grid + radius sampling",
            f"  |G - A_0|                = {self.l2_pixel_grid_vs_airy:.2e}   grid alone (exact pixel optimum)",
            f"  |P_0 - G|                = {self.l2_sigma0_vs_pixel_grid:.2e}   radius sampling alone",
            f"  |P_sigma|^2 beyond R     = {self.outside_fraction:.2e}   corners / border (Airy is 0 there)",
            f"  |P_sigma|_(d<=R) - A_0|  = {self.l2_inside_vs_airy:.2e}   corners removed",
            f"  max radial diff          = {self.radial_max_diff:.2e}   (f(0) = 1 units)",
            "  grid refinement |G - A_0|: " + ", ".join(f"{s}: {v:.1e}" for s, v in self.grid_refinement),
        ]
        return "\n".join(lines)


def _unit_dist(a, b) -> float:
    return float(np.linalg.norm(a / np.linalg.norm(a) - b / np.linalg.norm(b)))


def discrete_vs_airy(size: int = 64, r_max=None, *, n_radii: int = 1024, sigma: float = 1.0,
                     radii: str = "grid", rng=None, grid_sizes=(16, 32, 64)) -> DiscreteAiryReport:
    """Distance between the discrete optimum of blurred centred disks and the Airy profile.

    Renders ``n_radii`` centred disks with ``geoshape.disks`` (radii the midpoints of
    ``n_radii`` equal cells of ``[0, r_max)`` for ``radii="grid"`` -- a quadrature of the
    uniform law -- or ``geoshape.centred_disks`` draws for ``radii="random"``), once with blur
    ``sigma`` and once without, and splits the gap to the Airy profile (rendered with
    ``R = r_max``) into blur, grid, radius sampling and corners; see :class:`DiscreteAiryReport`.

    Parameters
    ----------
    size : power of two in [4, 1024], image side. r_max : float > 0 (pixels), default
        ``size / 2``. n_radii : int >= 2. sigma : float > 0, the blur (pixels).
    radii : "grid" or "random". rng : seed or Generator for ``radii="random"`` (passed to
        ``geoshape.centred_disks``). grid_sizes : ints in [4, 256], the image sides of the
        grid-refinement column (``R = size / 2`` there).

    Returns
    -------
    :class:`DiscreteAiryReport` (frozen; ``str()`` prints it as a table).

    Measured (64x64, r_max = 32, sigma = 1, 1024 midpoint radii; ~0.5 s): the headline
    distance is 8.6e-3 (max radial difference 0.026 in f(0) = 1 units, at the edge R). The
    blur is the cause: ``|P_1 - P_0|`` = 8.5e-3, and Airy blurred like the disks is 4.0e-4
    away. The grid alone is negligible (exact pixel optimum 2.5e-5 from Airy, falling like
    size^-2.5: 7.8e-4, 1.3e-4, 2.5e-5, 4.4e-6 at 16, 32, 64, 128); the corners and the
    border hold 2.8e-5 of the squared norm (5.3e-3 of the distance in quadrature). The
    quadrature of unblurred indicators in r is only first order (6.7e-4 at 1024 radii). With
    1024 *random* radii the sampling of r dominates: 1.3e-2.
    """
    size = checks.size_pow2(checks.integer(size, "size", lo=4, hi=1024))
    R = size / 2.0 if r_max is None else radius(r_max, "r_max")
    n_radii = checks.integer(n_radii, "n_radii", lo=2)
    sigma = checks.positive(sigma, "sigma")
    radii = checks.choice(radii, "radii", ("grid", "random"))
    if isinstance(grid_sizes, (str, bytes)) or not hasattr(grid_sizes, "__iter__"):
        raise TypeError(f"grid_sizes must be a sequence of image sides, got {type(grid_sizes).__name__}")
    gsizes = tuple(checks.integer(s, "grid_sizes", lo=4, hi=256) for s in grid_sizes)
    # Two stacks of n_radii disks (blurred and not) and the data matrix of their SVD.
    checks.budget(3 * 8 * n_radii * size * size, "n_radii, size", f"{n_radii} disks of {size} x {size}")
    if radii == "grid":
        r = (np.arange(n_radii) + 0.5) * (R / n_radii)
        Ps = disk_profile(geoshape.disks(r, size=size, sigma=sigma))
    else:
        data = geoshape.centred_disks(n_radii, size=size, r_min=0.0, r_max=R, sigma=sigma, rng=rng)
        r = np.asarray(data.factors["radius"], dtype=np.float64)
        Ps = disk_profile(data.images)
    P0 = disk_profile(geoshape.disks(r, size=size, sigma=0.0))
    A0 = airy_image(size, R, 0.0)
    As = airy_image(size, R, sigma)
    G = pixel_grid_profile(size, R)
    d = _pixel_distances((size, size), _centre(None, size))
    inside = d <= R
    raw = airy_profile(d, R)
    alpha = float(np.sum(Ps * raw) / np.sum(raw * raw))
    refine = tuple((s, _unit_dist(pixel_grid_profile(s, s / 2.0), airy_image(s, s / 2.0))) for s in gsizes)
    return DiscreteAiryReport(
        size=size, R=R, sigma=sigma, n_radii=n_radii, radii=radii,
        l2_discrete_vs_airy=_unit_dist(Ps, A0),
        l2_discrete_vs_blurred_airy=_unit_dist(Ps, As),
        l2_sigma_vs_sigma0=_unit_dist(Ps, P0),
        l2_sigma0_vs_airy=_unit_dist(P0, A0),
        l2_pixel_grid_vs_airy=_unit_dist(G, A0),
        l2_sigma0_vs_pixel_grid=_unit_dist(P0, G),
        outside_fraction=float(np.sum(Ps[~inside] ** 2)),
        l2_inside_vs_airy=_unit_dist(np.where(inside, Ps, 0.0), A0),
        radial_max_diff=float(np.max(np.abs(Ps / alpha - raw))),
        grid_refinement=refine,
    )
