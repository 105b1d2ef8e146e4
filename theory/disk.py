"""The disk problem of the talk (eqs. 2-8) in one namespace: a façade over its modules.

A bias-free decoder with a 1-D latent outputs ``h(r) f`` (talk, eq. 2). Training on centred
disks of radius ``r in [0, R]`` solves, for a radial profile ``f`` on ``[0, R]``,

    maximise  J(f) = int_0^R (int_0^r f(s) s ds)^2 dr   subject to   int_0^R f(s)^2 s ds = 1

(eqs. 3-7), with the optimal scale ``h(r) = <f, 1_{B_r}> / |f|^2`` (eq. 5); the optimum is
Airy's equation (8), ``f'' = -k rho f``, ``f'(0) = 0``, ``f(R) = 0``, ``k = (x0 / R)^3``.

This module holds no code: it re-exports the disk-problem names from the modules that do
the work, so ``from theory.disk import airy_profile`` keeps working. Each name's home:

- :mod:`theory.airy` -- closed form and ODE shooting: ``airy_zero``, ``airy_k``,
  ``airy_profile``, ``airy_profile_derivative``, ``airy_scale``, ``airy_k_shooting``,
  ``airy_profile_shooting``;
- :mod:`theory.functional` -- the functional and its discrete maximiser: ``energy``,
  ``max_energy``, ``optimal_scale``, ``energy_minimiser``, ``energy_convergence_table``,
  ``ConvergenceTable``;
- :mod:`theory.radial` -- radial functions on the pixel grid: ``radial_profile``,
  ``radial_blur``, ``airy_image``;
- :mod:`theory.discrete` -- the pixel-grid optimum and floors: ``disk_profile``,
  ``image_scales``, ``rank1_floor``, ``two_ray_fit``, ``two_ray_floor``, ``TwoRayFit``,
  ``pixel_grid_profile``;
- :mod:`theory.report` -- the discrete-vs-Airy comparison: ``discrete_vs_airy``,
  ``DiscreteAiryReport``.
"""

from theory.airy import (
    airy_k,
    airy_k_shooting,
    airy_profile,
    airy_profile_derivative,
    airy_profile_shooting,
    airy_scale,
    airy_zero,
)
from theory.discrete import (
    TwoRayFit,
    disk_profile,
    image_scales,
    pixel_grid_profile,
    rank1_floor,
    two_ray_fit,
    two_ray_floor,
)
from theory.functional import (
    ConvergenceTable,
    energy,
    energy_convergence_table,
    energy_minimiser,
    max_energy,
    optimal_scale,
)
from theory.radial import airy_image, radial_blur, radial_profile
from theory.report import DiscreteAiryReport, discrete_vs_airy

__all__ = [
    "airy_zero",
    "airy_k",
    "airy_profile",
    "airy_profile_derivative",
    "airy_k_shooting",
    "airy_profile_shooting",
    "energy",
    "energy_minimiser",
    "max_energy",
    "energy_convergence_table",
    "ConvergenceTable",
    "optimal_scale",
    "airy_scale",
    "image_scales",
    "disk_profile",
    "radial_profile",
    "airy_image",
    "radial_blur",
    "pixel_grid_profile",
    "rank1_floor",
    "two_ray_floor",
    "TwoRayFit",
    "two_ray_fit",
    "discrete_vs_airy",
    "DiscreteAiryReport",
]
