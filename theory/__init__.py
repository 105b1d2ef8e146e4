"""theory: the mathematics the nets are held against (scipy/sympy; may import geoshape).

- :mod:`theory.disk` -- the disk variational problem of the talk (eqs. 3-8): Airy closed form,
  ODE shooting, direct energy minimisation with its convergence table, the optimal scale
  (eq. 5), and the pixel-grid optimum of blurred disks with its distance to Airy.
- :mod:`theory.position` -- the position encoder (eqs. 9-13, Table 1) and its sympy proof.
"""

from theory.disk import (
    ConvergenceTable,
    DiscreteAiryReport,
    TwoRayFit,
    airy_image,
    airy_k,
    airy_k_shooting,
    airy_profile,
    airy_profile_derivative,
    airy_profile_shooting,
    airy_scale,
    airy_zero,
    discrete_vs_airy,
    disk_profile,
    energy,
    energy_convergence_table,
    energy_minimiser,
    image_scales,
    max_energy,
    optimal_scale,
    pixel_grid_profile,
    radial_blur,
    radial_profile,
    rank1_floor,
    two_ray_fit,
    two_ray_floor,
)
from theory.position import (
    PositionProof,
    PositionTable,
    ProofStep,
    position_encode,
    position_encode2d,
    position_filter_conditions,
    position_layer,
    position_layer_table,
    prove_position_encoder,
)

__all__ = [
    "ConvergenceTable", "DiscreteAiryReport", "TwoRayFit", "airy_image", "airy_k",
    "airy_k_shooting", "airy_profile", "airy_profile_derivative", "airy_profile_shooting",
    "airy_scale", "airy_zero", "discrete_vs_airy", "disk_profile", "energy",
    "energy_convergence_table", "energy_minimiser", "image_scales", "max_energy",
    "optimal_scale", "pixel_grid_profile", "radial_blur", "radial_profile", "rank1_floor",
    "two_ray_fit", "two_ray_floor",
    "PositionProof", "PositionTable", "ProofStep", "position_encode", "position_encode2d",
    "position_filter_conditions", "position_layer", "position_layer_table",
    "prove_position_encoder",
]
