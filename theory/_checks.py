"""Theory's domain checks, built on :mod:`geoshape.checks` (the checks every package shares).

Only what geoshape.checks cannot say by itself lives here:

- :func:`radii` -- radii ``rho`` of any shape, finite and ``>= 0`` (a radius);
- :func:`centre` -- one image centre ``(x, y)`` in pixels, default the centre of a
  ``size x size`` image.

Examples
--------
>>> radii([0, 1.5]).tolist()
[0.0, 1.5]
>>> centre(None, 4)
(1.5, 1.5)
>>> try:
...     radii([-1.0], "r")
... except ValueError as e:
...     print(e)
r must be >= 0, got min -1
"""

from __future__ import annotations

import numpy as np

from geoshape import checks

__all__ = ["radii", "centre", "radius", "R_RANGE"]

# The radius range R (pixels) of the disk problem. k = (x0 / R)^3 overflows float64 below
# R ~ 1e-103 and the energy's scale R^4 underflows above ~1e77; the ODE shooter and the
# discrete eigen-solver lose their conditioning long before. Twelve decades around the
# image sizes the project renders (1 .. 2^15 pixels) keep every theory function finite.
R_RANGE = (1e-6, 1e6)


def radii(value, name: str = "rho") -> np.ndarray:
    """``value`` as a float64 array of any shape, finite and ``>= 0`` (bools count as 0/1)."""
    arr = checks.real_array(value, name, ndim_max=None, allow_bool=True)
    checks.check_range(arr, name, lo=0)
    return arr


def radius(value, name: str = "R") -> float:
    """A disk-problem radius in pixels: a finite real in :data:`R_RANGE` (``[1e-6, 1e6]``)."""
    return checks.real(value, name, lo=R_RANGE[0], hi=R_RANGE[1])


def centre(value, size: int) -> tuple[float, float]:
    """One centre ``(x, y)`` in pixels as two floats; ``None`` gives ``((size-1)/2, (size-1)/2)``.

    Unlike :func:`geoshape.checks.centres` (one centre per image, ``(m, 2)``), theory's
    renderers take exactly one centre, so only shape ``(2,)`` is accepted.
    """
    if value is None:
        return (size - 1) / 2.0, (size - 1) / 2.0
    c = checks.real_array(value, "centre", ndim=1, allow_bool=True)
    if c.shape != (2,):
        raise ValueError(f"centre must be (x, y), got shape {c.shape}")
    return float(c[0]), float(c[1])
