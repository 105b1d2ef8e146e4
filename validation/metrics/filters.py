"""Comparing a learned filter with a template up to scale: the measures of the position
encoder experiment (``validation.position_encoder``, talk eqs. 9-12).

A linear net's factorisation is defined only up to per-layer scales, so a learned 3-tap
filter ``w`` is compared with the talk's ``PHI = [1, 2, 1]`` (and a 2-D channel's 3x3 kernel
with :func:`kernel_template`) on its identifiable taps only (:func:`identifiable_taps`):
the least-squares scale :func:`filter_scale` and the sign-free :func:`filter_cosine`.

Examples
--------
>>> filter_cosine([-0.5, -1.0, -0.5])
1.0
>>> filter_scale([3.0, 6.0, -40.0], PHI, identifiable_taps(2))
3.0
"""

from __future__ import annotations

import numbers

import numpy as np

from validation.metrics._arrays import real

__all__ = ["PHI", "PSI", "identifiable_taps", "filter_scale", "filter_cosine", "kernel_template", "match_channels"]

PHI = np.array([1.0, 2.0, 1.0])
PSI = np.array([1.0, 1.0, 0.0])  # the 2-D row filter of channel x: sums rows 2k and 2k+1


def _is_pow2(n) -> bool:
    return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 2 and int(n) & (int(n) - 1) == 0


def identifiable_taps(n_in: int, ndim: int = 1) -> np.ndarray:
    """Boolean mask of the taps of a layer whose input has ``n_in`` samples per axis that can
    affect its output: shape (3,) in 1-D, (3, 3) in 2-D. With ``n_in = 2`` (the last layer) the
    third tap only meets the zero padding."""
    if not _is_pow2(n_in):
        raise ValueError(f"n_in must be a power of two >= 2, got {n_in!r}")
    if ndim not in (1, 2) or isinstance(ndim, bool):
        raise ValueError(f"ndim must be 1 or 2, got {ndim!r}")
    m = np.array([True, True, n_in >= 4])
    return m if ndim == 1 else np.outer(m, m)


def _pair(w, template, mask):
    w = real(w, "w", min_ndim=1, ndim_max=2)
    t = real(template, "template", min_ndim=1, ndim_max=2)
    if w.shape != t.shape:
        raise ValueError(f"w and template must have the same 1-D or 2-D shape, got {w.shape} and {t.shape}")
    m = np.ones(w.shape, bool) if mask is None else real(mask, "mask", ndim_max=2).astype(bool)
    if m.shape != w.shape:
        raise ValueError(f"mask must have the shape of w {w.shape}, got {m.shape}")
    wm, tm = w[m], t[m]
    if not np.any(tm) or not np.any(wm):
        raise ValueError("w and template must be non-zero on the mask")
    return wm, tm


def filter_scale(w, template=PHI, mask=None) -> float:
    """Least-squares ``c`` with ``w ≈ c * template`` on the masked taps (sign included)."""
    wm, tm = _pair(w, template, mask)
    return float(wm @ tm / (tm @ tm))


def filter_cosine(w, template=PHI, mask=None) -> float:
    """``|cos(w, template)|`` on the masked taps: 1 iff ``w = c * template`` for some c != 0."""
    wm, tm = _pair(w, template, mask)
    return float(min(1.0, abs(wm @ tm) / (np.linalg.norm(wm) * np.linalg.norm(tm))))


def kernel_template(axis: str) -> np.ndarray:
    """The exact 3x3 kernel (up to scale) of the 2-D channel that encodes ``axis`` ('x' or 'y')."""
    if axis == "x":
        return np.outer(PSI, PHI)
    if axis == "y":
        return np.outer(PHI, PSI)
    raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")


def match_channels(kernels) -> tuple[int, int]:
    """(channel of x, channel of y) from the two first-layer kernels ``(2, 3, 3)``, by the larger
    total cosine with the templates."""
    k = real(kernels, "kernels", ndim_max=3)
    if k.shape != (2, 3, 3):
        raise ValueError(f"kernels must have shape (2, 3, 3), got {k.shape}")
    tx, ty = kernel_template("x"), kernel_template("y")
    straight = filter_cosine(k[0], tx) + filter_cosine(k[1], ty)
    swapped = filter_cosine(k[1], tx) + filter_cosine(k[0], ty)
    return (0, 1) if straight >= swapped else (1, 0)
