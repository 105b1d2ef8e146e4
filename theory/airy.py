"""The optimum of the disk problem in closed form (talk, eq. 8) and by ODE shooting.

The first variation of the disk functional (:mod:`theory.functional`) is Airy's equation (8)

    f''(rho) = -k rho f(rho),   f'(0) = 0,   f(R) = 0,

on ``[0, R]`` (``R`` the largest disk radius, in pixels). Two independent routes:

1. closed form: ``f(rho) = pi [Bi'(0) Ai(-k^(1/3) rho) - Ai'(0) Bi(-k^(1/3) rho)]`` with
   ``k^(1/3) R = x0`` (:func:`airy_zero`, :func:`airy_k`, :func:`airy_profile`,
   :func:`airy_profile_derivative`); the factor pi is ``1 / W(Ai, Bi)`` and makes ``f(0) = 1``;
2. ODE shooting on ``k`` with ``scipy.integrate.solve_ivp`` (:func:`airy_k_shooting`,
   :func:`airy_profile_shooting`), which never uses x0.

The optimal scale of eq. (5) for this profile is closed form too (:func:`airy_scale`): from
``int_0^r s f(s) ds = -f'(r) / k`` (integrate Airy's equation) and
``int_0^R s f^2 ds = R f'(R)^2 / (3k)`` (from ``d/ds[k s^2 f^2 + s f'^2 - f f'] = 3k s f^2``),
``h(r) = -3 f'(min(r, R)) / (R f'(R)^2)``.

Examples
--------
>>> print(f"{airy_zero():.6f}")
1.986353
>>> print(f"{airy_k(31.5):.6e}")
2.507480e-04
>>> airy_profile([0.0, 31.5, 40.0], 31.5).round(12).tolist()
[1.0, 0.0, 0.0]
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.optimize
import scipy.special
from scipy.integrate import solve_ivp

from geoshape import checks
from theory._checks import radii, radius

__all__ = [
    "airy_zero",
    "airy_k",
    "airy_profile",
    "airy_profile_derivative",
    "airy_scale",
    "airy_k_shooting",
    "airy_profile_shooting",
]


# --------------------------------------------------------------------------- closed form
def _g(x):
    """``Bi'(0) Ai(-x) - Ai'(0) Bi(-x)`` and its derivative in x."""
    ai, aip, bi, bip = scipy.special.airy(-np.asarray(x, dtype=np.float64))
    ai0, aip0, bi0, bip0 = scipy.special.airy(0.0)
    return bip0 * ai - aip0 * bi, -bip0 * aip + aip0 * bip


@lru_cache(maxsize=1)
def airy_zero() -> float:
    """x0 ~ 1.98635: first positive zero of ``Bi'(0) Ai(-x) - Ai'(0) Bi(-x)`` (eq. 8).

    Method: ``scipy.optimize.brentq`` on the bracket [1, 3] (one sign change: the function is
    ``1/pi`` at 0) with ``xtol = 1e-15``; ``scipy.special.airy`` is accurate to a few ulp there,
    so x0 is good to ~1e-14 (checked against mpmath in the tests). Dimensionless.

    Examples
    --------
    >>> print(f"{airy_zero():.10f}")
    1.9863527074
    """
    return float(scipy.optimize.brentq(lambda x: float(_g(x)[0]), 1.0, 3.0,
                                       xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200))


def airy_k(R) -> float:
    """``k = (x0 / R)^3``: the eigenvalue of eq. (8) for the disk radius range ``[0, R]``.

    ``R`` : float in [1e-6, 1e6] pixels (``R_RANGE``); ``k`` is in pixels^-3 and ``1 / k`` is the maximum of the
    disk functional (:func:`theory.functional.max_energy`).

    Examples
    --------
    >>> print(f"{airy_k(1.0):.6f}")
    7.837347
    """
    R = radius(R)
    return (airy_zero() / R) ** 3


def airy_profile(rho, R) -> np.ndarray:
    """The optimal decoder profile of eq. (8): ``f'' = -k rho f``, ``f'(0) = 0``, ``f(R) = 0``.

    Parameters
    ----------
    rho : array-like, radii >= 0 (any shape), finite, in pixels.
    R : float in [1e-6, 1e6] pixels (``R_RANGE``), the largest disk radius (pixels).

    Returns
    -------
    float64 array shaped like ``rho``: ``f(rho) = pi g(x0 rho / R)`` with ``f(0) = 1``, and
    exactly 0 for ``rho >= R`` (the optimum vanishes where no disk reaches).

    Examples
    --------
    >>> airy_profile([0.0, 10.0, 20.0], 20.0).round(6).tolist()
    [1.0, 0.841982, 0.0]
    """
    R = radius(R)
    rho = radii(rho)
    c = airy_zero() / R
    f = np.pi * _g(c * np.minimum(rho, R))[0]
    return np.where(rho < R, f, 0.0)


def airy_profile_derivative(rho, R) -> np.ndarray:
    """``f'(rho)`` of :func:`airy_profile` (one-sided ``f'(R^-)`` at ``rho = R``; 0 beyond).

    ``rho`` : radii >= 0 of any shape, ``R`` > 0 (pixels); float64 shaped like ``rho``, in
    pixels^-1 (``f`` is dimensionless).
    """
    R = radius(R)
    rho = radii(rho)
    c = airy_zero() / R
    d = np.pi * c * _g(c * np.minimum(rho, R))[1]
    return np.where(rho <= R, d, 0.0)


def airy_scale(r, R) -> np.ndarray:
    """Closed-form optimal scale (eq. 5) for the Airy profile: ``h(r) = F(r) / Q(f)``.

    ``F(r) = -f'(min(r, R)) / k`` and ``Q = R f'(R)^2 / (3k)``, so
    ``h(r) = -3 f'(min(r, R)) / (R f'(R)^2)`` for ``f`` normalised to ``f(0) = 1`` (scaling
    ``f`` by ``c`` scales ``h`` by ``1/c``, so ``h f`` is unchanged, as eq. 5 implies).

    Parameters
    ----------
    r : array-like of disk radii >= 0 (pixels), any shape. R : float in [1e-6, 1e6] pixels (``R_RANGE``).

    Returns
    -------
    float64 array shaped like ``r``; constant for ``r >= R``.

    Examples
    --------
    >>> airy_scale([10.0, 31.5, 40.0], 31.5).round(6).tolist()
    [0.245101, 1.375992, 1.375992]
    """
    R = radius(R)
    r = radii(r, "r")
    dR = float(airy_profile_derivative(R, R))
    return -3.0 * airy_profile_derivative(np.minimum(r, R), R) / (R * dR * dR)


# --------------------------------------------------------------------------- shooting
def _shoot(k: float, R: float, dense: bool = False):
    return solve_ivp(lambda s, y: (y[1], -k * s * y[0]), (0.0, R), (1.0, 0.0),
                     method="DOP853", rtol=1e-12, atol=1e-14, dense_output=dense)


def airy_k_shooting(R) -> float:
    """``k`` found by shooting (independent of :func:`airy_zero`): the smallest ``k > 0`` with
    ``y(R) = 0`` for ``y'' = -k s y``, ``y(0) = 1``, ``y'(0) = 0`` (DOP853, rtol 1e-12).

    ``k`` is scanned upwards by factors of 2 from ``0.1 / R^3`` and refined with brentq.
    ``y(R)`` depends on ``k R^3`` only and its second root in ``k`` is ~7.1 times the first,
    so the first doubling with ``y(R) <= 0`` lands in ``(k1, 2 k1]`` and the bracket holds
    the smallest root only. ``R`` > 0 (pixels); ``k`` in pixels^-3, equal to :func:`airy_k`
    to ~1e-9 relative.

    Examples
    --------
    >>> print(f"{airy_k_shooting(1.0):.6f}")
    7.837347
    """
    R = radius(R)

    def end(k):
        return _shoot(k, R).y[0, -1]

    lo = 0.1 / R ** 3
    if end(lo) <= 0:  # pragma: no cover - y(R) ~ 1 - k R^3 / 6 > 0 here
        raise RuntimeError("shooting: no sign change bracket")
    hi = 2 * lo
    while end(hi) > 0:
        lo, hi = hi, 2 * hi
    return float(scipy.optimize.brentq(end, lo, hi, xtol=1e-16 / R ** 3, rtol=1e-14))


def airy_profile_shooting(rho, R) -> np.ndarray:
    """The profile by shooting: the solution at ``k = airy_k_shooting(R)``, 0 beyond ``R``.

    ``rho`` : radii >= 0 of any shape, ``R`` > 0 (pixels); float64 shaped like ``rho``,
    ``f(0) = 1`` (the initial condition), equal to :func:`airy_profile` to ~1e-9.
    """
    R = radius(R)
    rho = radii(rho)
    if rho.size == 0:
        return np.zeros(rho.shape)
    sol = _shoot(airy_k_shooting(R), R, dense=True)
    f = sol.sol(np.minimum(rho, R).ravel())[0].reshape(rho.shape)
    return np.where(rho < R, f, 0.0)
