"""theory: the mathematics the nets are held against (scipy/sympy; may import geoshape).

Modules, one job each (lower ones never import higher ones):

- :mod:`theory.airy` -- the optimum of the disk problem, Airy's equation (8): closed form
  (``x0``, ``k``, profile, derivative), the closed-form optimal scale (eq. 5) and ODE shooting;
- :mod:`theory.functional` -- the disk functional ``J / Q`` (eqs. 3-7), its maximum, the
  optimal scale of any profile (eq. 5), the discrete maximiser and its convergence table;
- :mod:`theory.radial` -- radial functions on the pixel grid: radial average, Gaussian blur
  of a radial profile, the Airy profile rendered as an image;
- :mod:`theory.discrete` -- the disk problem on the pixel grid: the discrete optimum of an
  image set, per-image scales, rank-1 and two-ray floors, the exact pixel-grid optimum;
- :mod:`theory.report` -- how far the pixel-grid optimum of blurred disks is from Airy, and why;
- :mod:`theory.disk` -- a façade re-exporting the disk-problem names of the five above;
- :mod:`theory.position` -- the position encoder (eqs. 9-13, Table 1) and its sympy proof;
- :mod:`theory.placement` -- the constructed ReLU decoder that places the eq. 13 Dirac, its
  sympy proof, its layer table, the 2-D pyramid and the blurred-template gap;
- :mod:`theory.gauge` -- general scaling: the disk's Airy profile composed with the gauge of
  any star-shaped shape, and when the code of a scaled family folds.

Private: ``theory._checks`` (theory's domain checks on :mod:`geoshape.checks`) and
``theory._p1`` (the exact P1 finite-element integrals behind :mod:`theory.functional`).
Every public name is importable from ``theory`` itself.

Examples
--------
>>> import theory
>>> print(f"{theory.airy_zero():.6f}", theory.position_encode([0, 0, 1, 0]))
1.986353 3.0
"""

from theory import disk
from theory.disk import *  # noqa: F401,F403  (the disk problem's names: theory.disk.__all__)
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
from theory.placement import (
    PlacementProof,
    PlacementTable,
    PyramidGap,
    TemplateGap,
    construct_dirac,
    construct_dirac2d,
    disk_template,
    placement_layer,
    placement_layer_table,
    prove_position_decoder,
    pyramid_product_gap,
    template_placement_gap,
)

__all__ = [
    *disk.__all__,
    "PositionProof", "PositionTable", "ProofStep", "position_encode", "position_encode2d",
    "position_filter_conditions", "position_layer", "position_layer_table",
    "prove_position_encoder",
    "PlacementProof", "PlacementTable", "PyramidGap", "TemplateGap", "construct_dirac",
    "construct_dirac2d", "disk_template", "placement_layer", "placement_layer_table",
    "prove_position_decoder", "pyramid_product_gap", "template_placement_gap",
]
from theory.gauge import (  # noqa: E402  (general scaling: the disk theory for any shape)
    GaugeReport,
    GaugeRow,
    code_curve,
    fold_scale,
    gauge_airy_image,
    gauge_airy_profile,
    gauge_image,
    gauge_vs_discrete,
    scaled_family_profile,
)

__all__ += ["GaugeReport", "GaugeRow", "code_curve", "fold_scale", "gauge_airy_image", "gauge_airy_profile",
            "gauge_image", "gauge_vs_discrete", "scaled_family_profile"]
