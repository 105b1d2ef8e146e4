"""P1 finite elements for the disk functional: exact ``J``, ``Q``, gradient and dense matrix.

A profile ``f`` is piecewise linear between the samples ``f[i]`` at radii ``r[i]`` (``r[0] =
0``, strictly increasing, ``R = r[-1]``). On such ``f`` both integrals of the talk's
functional (eqs. 3-7, see :mod:`theory.functional`)

    J(f) = int_0^R F(r)^2 dr,   F(r) = int_0^r f(s) s ds,      Q(f) = int_0^R f(s)^2 s ds,

are computed exactly: ``F`` is a cubic on each cell, so ``J`` is integrated by 4-point
Gauss-Legendre per cell (exact to degree 7, the pieces of ``F^2`` have degree 6); ``Q`` is a
tridiagonal quadratic form. Private: the public entry points are
:func:`theory.functional.energy`, :func:`theory.functional.optimal_scale` and
:func:`theory.functional.energy_minimiser`.

Examples
--------
>>> import numpy as np
>>> p = P1(np.linspace(0.0, 2.0, 5))
>>> f = np.ones(5)
>>> print(f"{p.J(f) / p.Q(f):.12f}")   # f = 1: J/Q = R^3 / 10
0.800000000000
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geoshape import checks
from theory._checks import R_RANGE

__all__ = ["P1", "check_profile"]

# Gauss-Legendre nodes on [0, 1]: 4 points integrate the degree-6 products of the cubic
# pieces of F exactly (exact to degree 7).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(4)
_GL_T = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W


#: Largest (and inverse of the smallest nonzero) max |f| a profile may have.
F_MAX = 1e100


def check_profile(f, rho) -> tuple[np.ndarray, np.ndarray]:
    """``(f, rho)`` as float64 ``(N,)`` arrays: same shape, ``N >= 3``, ``rho[0] = 0``,
    ``rho`` strictly increasing, both finite."""
    rho = checks.real_array(rho, "rho", ndim=1, allow_bool=True)
    f = checks.real_array(f, "f", ndim=1, allow_bool=True)
    if rho.shape != f.shape:
        raise ValueError(f"f and rho must have the same shape, got {f.shape} and {rho.shape}")
    if rho.size < 3:
        raise ValueError(f"rho must have at least 3 points, got {rho.size}")
    if rho[0] != 0.0:
        raise ValueError(f"rho must start at 0 (the functional starts at the centre), got {rho[0]:g}")
    if np.any(np.diff(rho) <= 0):
        raise ValueError("rho must be strictly increasing")
    if rho[-1] > R_RANGE[1]:
        raise ValueError(f"rho must end at most at {R_RANGE[1]:g} pixels (theory._checks.R_RANGE), got {rho[-1]:g}")
    # J ~ f^2 rho^5 and h = <f, 1_B> / |f|^2 ~ 1 / f: within these bounds every product stays
    # inside float64 for rho up to 1e6.
    scale = float(np.max(np.abs(f)))
    if scale > F_MAX or 0.0 < scale < 1.0 / F_MAX:
        raise ValueError(f"f must have max |f| in [1e-100, 1e100] (or be zero), got {scale:g}")
    return f, rho


@dataclass(frozen=True)
class P1:
    """Exact integrals for a piecewise-linear f on the grid r (float64 (N,), r[0] = 0).

    ``f`` arguments are float64 ``(N,)`` samples at ``r``; ``J`` and ``Q`` are floats (``R^5``
    and ``R^2`` units for a dimensionless ``f``).
    """

    r: np.ndarray

    @property
    def h(self):
        return np.diff(self.r)

    def pieces(self):
        """Per-cell integrals of the two hat functions against ``s ds``: ``(Lq, Uq)`` (N-1, 4)
        from the cell start to each Gauss point, ``(L1, U1)`` (N-1,) over the whole cell."""
        a = self.r[:-1, None]
        h = self.h[:, None]
        t = _GL_T[None, :]
        Lq = h * (a * (t - t * t / 2) + h * (t * t / 2 - t ** 3 / 3))  # int phi_m s ds, cell m, to t
        Uq = h * (a * t * t / 2 + h * t ** 3 / 3)                       # int phi_m+1 s ds
        L1 = self.h * (self.r[:-1] / 2 + self.h / 6)
        U1 = self.h * (self.r[:-1] / 2 + self.h / 3)
        return Lq, Uq, L1, U1

    def F_quad(self, f):
        """F at the Gauss points of every cell, shape (N-1, 4)."""
        Lq, Uq, L1, U1 = self.pieces()
        cell = f[:-1] * L1 + f[1:] * U1
        Fm = np.concatenate([[0.0], np.cumsum(cell)[:-1]])
        return Fm[:, None] + f[:-1, None] * Lq + f[1:, None] * Uq

    def F_nodes(self, f):
        """``F`` at the grid nodes, shape (N,), ``F[0] = 0``."""
        Lq, Uq, L1, U1 = self.pieces()
        return np.concatenate([[0.0], np.cumsum(f[:-1] * L1 + f[1:] * U1)])

    def J(self, f):
        """``J(f) = int_0^R F(r)^2 dr`` (exact)."""
        Fq = self.F_quad(f)
        return float(np.sum(self.h[:, None] * _GL_W[None, :] * Fq * Fq))

    def J_grad(self, f):
        """Gradient of :meth:`J` in the nodal values, shape (N,), by the adjoint (reverse
        cumulative sum): ``J_grad(f) = 2 A f`` with ``A`` from :meth:`dense_A`."""
        Lq, Uq, L1, U1 = self.pieces()
        Fq = self.F_quad(f)
        y = 2.0 * self.h[:, None] * _GL_W[None, :] * Fq       # dJ/dF at Gauss points
        Y = y.sum(axis=1)
        Z = np.concatenate([np.cumsum(Y[::-1])[::-1][1:], [0.0]])  # sum over later cells
        g = np.zeros_like(f)
        g[:-1] += (y * Lq).sum(axis=1) + L1 * Z
        g[1:] += (y * Uq).sum(axis=1) + U1 * Z
        return g

    def mass_bands(self):
        """Tridiagonal mass matrix of int f^2 s ds: (diag, off)."""
        a, h = self.r[:-1], self.h
        d = np.zeros(len(self.r))
        d[:-1] += h * (a / 3 + h / 12)
        d[1:] += h * (a / 3 + h / 4)
        return d, h * (a / 6 + h / 12)

    def Q(self, f):
        """``Q(f) = int_0^R f(s)^2 s ds`` (exact)."""
        d, o = self.mass_bands()
        return float(np.dot(d * f, f) + 2 * np.dot(o * f[:-1], f[1:]))

    def dense_A(self):
        """The dense matrix of J (J = f^T A f), built in O(N^2) from its structure:
        for |i - j| >= 2 only the constant tails meet, A_ij = c_i mu_j (i < j)."""
        r, h = self.r, self.h
        N = len(r)
        R = r[-1]
        Lq, Uq, L1, U1 = self.pieces()
        w = _GL_W
        # Phi_j on cell j-1 (left piece) and cell j (right piece), at Gauss points
        left = np.zeros((N, 4))
        left[1:] = Uq
        hl = np.concatenate([[0.0], h])
        right = np.zeros((N, 4))
        right[:-1] = np.concatenate([[0.0], U1])[:-1, None] + Lq
        hr = np.concatenate([h, [0.0]])
        c = np.concatenate([[0.0], U1]) + np.concatenate([L1, [0.0]])
        r_next = np.concatenate([r[1:], [R]])
        tail = R - r_next
        mu = hl * (left @ w) + hr * (right @ w) + c * tail
        A = np.triu(np.outer(c, mu), 2)
        A = A + A.T
        diag = hl * ((left ** 2) @ w) + hr * ((right ** 2) @ w) + c * c * tail
        off = (h * ((right[:-1] * left[1:]) @ w) + hr[1:] * c[:-1] * (right[1:] @ w)
               + c[:-1] * c[1:] * tail[1:])
        A[np.arange(N), np.arange(N)] = diag
        A[np.arange(N - 1), np.arange(1, N)] = off
        A[np.arange(1, N), np.arange(N - 1)] = off
        return A

