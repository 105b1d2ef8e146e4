"""The disk functional of the talk (eqs. 3-7), its discrete maximiser and the convergence table.

A bias-free decoder with a 1-D latent outputs ``h(r) f`` (talk, eq. 2). Training on centred
disks of radius ``r in [0, R]`` (pixels) then solves (eqs. 3-7), for a radial ``f`` on ``[0, R]``,

    maximise  J(f) = int_0^R F(r)^2 dr,   F(r) = int_0^r f(s) s ds,
    subject to Q(f) = int_0^R f(s)^2 s ds = 1,

(the factors 2 pi of the plane cancel in ``J / Q`` up to a constant), with the optimal scale
``h(r) = <f, 1_{B_r}> / |f|^2 = F(r) / Q(f)`` (eq. 5). The first variation gives
``s int_s^R F = lambda s f(s)``, i.e. Airy's equation (8), solved in :mod:`theory.airy`; the
maximum of ``J / Q`` is ``1 / k = (R / x0)^3`` (:func:`max_energy`).

- :func:`energy` -- ``J / Q`` of a piecewise-linear profile, integrated exactly;
- :func:`optimal_scale` -- eq. (5) for any piecewise-linear profile;
- :func:`energy_minimiser` -- the talk's "numerical minimisation of energy": ``f`` piecewise
  linear on a uniform grid (P1 finite elements, ``f(R) = 0``, integrals in
  :mod:`theory._p1`), maximised as a generalised symmetric eigenproblem (dense ``eigh`` or
  matrix-free Lanczos) or by fixed-step normalised gradient ascent on ``J / Q``;
- :func:`energy_convergence_table` -- the order of convergence to
  :func:`theory.airy.airy_profile` (2 in the max norm, 4 for the energy).

The module is not called ``theory.energy`` because ``theory.energy`` is the function
:func:`energy`, re-exported by the package.

Examples
--------
>>> import numpy as np
>>> print(f"{energy(np.ones(5), np.linspace(0.0, 2.0, 5)):.12f}")   # f = 1: R^3 / 10
0.800000000000
>>> rho, f = energy_minimiser(10.0, 200)
>>> print(f"{np.abs(f - airy_profile(rho, 10.0)).max():.1e}")
7.2e-06
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from geoshape import checks
from theory._checks import radii, radius
from theory._p1 import P1, check_profile
from theory.airy import airy_k, airy_profile

__all__ = [
    "energy",
    "max_energy",
    "optimal_scale",
    "energy_minimiser",
    "energy_convergence_table",
    "ConvergenceTable",
]

#: Most steps of ``energy_minimiser(method="gradient")`` (it converges in ~60 on the tests' grids).
_GRADIENT_MAXITER = 10000


def energy(f, rho) -> float:
    """The normalised disk functional of eqs. (3)-(7): ``J(f) / Q(f)``.

    ``J = int_0^R (int_0^r f(s) s ds)^2 dr`` and ``Q = int_0^R f^2 rho drho`` with ``R =
    rho[-1]``, for ``f`` piecewise linear between the samples, both integrated exactly. Equal
    to ``J`` under the talk's normalisation ``Q = 1``; invariant to scaling ``f``. At the
    optimum it is ``(R / x0)^3`` (:func:`max_energy`).

    Parameters
    ----------
    f : (N,) samples of the profile. rho : (N,) strictly increasing radii (pixels),
        ``rho[0] = 0``, N >= 3.

    Returns
    -------
    float (``R^3`` units when f is dimensionless).

    Examples
    --------
    >>> import numpy as np
    >>> rho = np.linspace(0.0, 31.5, 2001)
    >>> print(f"{energy(airy_profile(rho, 31.5), rho) / max_energy(31.5):.9f}")
    1.000000000
    """
    f, rho = check_profile(f, rho)
    p = P1(rho)
    q = p.Q(f)
    if q <= 0:
        raise ValueError("f must not be identically zero")
    return p.J(f) / q


def max_energy(R) -> float:
    """The maximum of ``J / Q`` over profiles on ``[0, R]``: ``1 / k = (R / x0)^3``.

    ``R`` : float in [1e-6, 1e6] pixels (``R_RANGE``); the result is in pixels^3, like :func:`energy`.

    Examples
    --------
    >>> print(f"{max_energy(1.0):.6f}")
    0.127594
    """
    return 1.0 / airy_k(R)


def optimal_scale(f, rho, r) -> np.ndarray:
    """Optimal scale of eq. (5) for any radial profile: ``h(r) = <f, 1_{B_r}> / |f|^2 = F(r)/Q``.

    ``f`` is piecewise linear on ``rho`` (as in :func:`energy`) and 0 beyond ``rho[-1]``.

    Parameters
    ----------
    f, rho : (N,) as in :func:`energy`. r : array-like of disk radii >= 0 (pixels), any shape.

    Returns
    -------
    float64 array shaped like ``r`` (``1 / f`` units: ``h f`` is the decoder output);
    constant for ``r >= rho[-1]``.

    Examples
    --------
    >>> import numpy as np
    >>> optimal_scale(np.ones(4), np.linspace(0.0, 5.0, 4), [0.0, 2.5, 5.0, 9.0]).round(12).tolist()
    [0.0, 0.25, 1.0, 1.0]
    """
    f, rho = check_profile(f, rho)
    r = radii(r, "r")
    p = P1(rho)
    q = p.Q(f)
    if q <= 0:
        raise ValueError("f must not be identically zero")
    Fn = p.F_nodes(f)
    rr = np.minimum(r, rho[-1]).ravel()
    m = np.clip(np.searchsorted(rho, rr, side="right") - 1, 0, len(rho) - 2)
    a, h = rho[m], rho[m + 1] - rho[m]
    t = (rr - a) / h
    L = h * (a * (t - t * t / 2) + h * (t * t / 2 - t ** 3 / 3))
    U = h * (a * t * t / 2 + h * t ** 3 / 3)
    F = Fn[m] + f[m] * L + f[m + 1] * U
    return (F / q).reshape(r.shape)


def energy_minimiser(R, n_points, method: str = "eigh", *, tol: float = 1e-12,
                     return_energy: bool = False):
    """The talk's "numerical minimisation of energy": maximise the discretised ``J / Q``.

    ``f`` is piecewise linear on ``n_points`` equispaced radii in ``[0, R]`` with ``f(R) = 0``
    (P1 finite elements); ``J`` and ``Q`` are integrated exactly, so ``J = f^T A f`` and
    ``Q = f^T B f`` and the maximiser is the top generalised eigenvector of ``A f = lambda B f``
    (a Rayleigh-Ritz approximation of eqs. 3-8). Converges to
    :func:`theory.airy.airy_profile` with order 2 in the max norm (see
    :func:`energy_convergence_table`).

    Parameters
    ----------
    R : float in [1e-6, 1e6] pixels (``R_RANGE``), the largest disk radius (pixels).
    n_points : int >= 3, grid size N (``method="eigh"`` builds dense N x N matrices: N <= 6000).
    method : ``"eigh"`` -- dense generalised symmetric eigen-solve (banded Cholesky
        ``B = L L^T``, then ``scipy.linalg.eigh`` with the ``evr`` driver on ``L^-1 A L^-T``
        for the top pair; ``tol`` is not used); ``"lanczos"`` -- the same eigenproblem
        matrix-free with ``scipy.sparse.linalg.eigsh`` (O(N) per step, eigsh tolerance
        ``tol * 1e-3``); ``"gradient"`` -- gradient ascent on ``J/Q`` with the exact (adjoint)
        gradient, in the variables ``g = sqrt(diag B) f`` (a fixed diagonal change of
        variables that evens out the ``s ds`` weight): each step adds the fixed-size step
        ``grad_g(J/Q) / (2 J/Q)`` (no line search) and rescales ``g`` to unit norm; it stops
        when that step's norm is below ``tol`` and raises ``RuntimeError`` after 10000 steps.
    tol : float > 0, stopping tolerance of ``"lanczos"`` and ``"gradient"``.
    return_energy : also return the maximised ``J / Q``.

    Returns
    -------
    ``(rho, f)`` float64 arrays (N,), ``rho`` the grid, ``f(0) = 1``, ``f[-1] = 0``; with
    ``return_energy``, ``(rho, f, energy)`` (energy a float in pixels^3, at most
    :func:`max_energy`).

    Examples
    --------
    >>> rho, f, e = energy_minimiser(31.5, 101, return_energy=True)
    >>> print(rho.shape, f[0], f[-1] == 0.0, f"{1 - e / max_energy(31.5):.2e}")
    (101,) 1.0 True 2.26e-10
    """
    R = radius(R)
    n_points = checks.integer(n_points, "n_points", lo=3)
    method = checks.choice(method, "method", ("eigh", "lanczos", "gradient"))
    if method == "eigh" and n_points > 6000:
        raise ValueError(f"n_points must be <= 6000 for method='eigh' (dense), got {n_points}")
    tol = checks.positive(tol, "tol")
    return_energy = checks.boolean(return_energy, "return_energy")
    # About sixteen float64 vectors of length N live at once (grid, bands, iterates).
    checks.budget(16 * 8 * n_points, "n_points", f"the grid of {n_points} points")
    rho = np.linspace(0.0, R, n_points)
    p = P1(rho)
    d, o = p.mass_bands()
    n = n_points - 1  # unknowns: f(R) = 0 is imposed
    d, o = d[:n], o[:n - 1]

    def embed(u):
        return np.concatenate([u, [0.0]])

    if method == "eigh":
        A = p.dense_A()[:n, :n]
        # B = L L^T (banded Cholesky); C = L^-1 A L^-T is the equivalent standard problem.
        # O(N^2) to form, then LAPACK evr for the top pair: ~4x faster than the gvx driver.
        lower = np.zeros((2, n))
        lower[0], lower[1, :-1] = d, o
        cb = scipy.linalg.cholesky_banded(lower, lower=True)
        LA = scipy.linalg.solve_banded((1, 0), cb, A)
        C = scipy.linalg.solve_banded((1, 0), cb, LA.T)
        _, vec = scipy.linalg.eigh(0.5 * (C + C.T), subset_by_index=[n - 1, n - 1], driver="evr")
        upper = np.zeros((2, n))
        upper[0, 1:], upper[1] = cb[1, :-1], cb[0]
        u = scipy.linalg.solve_banded((0, 1), upper, vec[:, 0])
    elif method == "lanczos":
        Aop = scipy.sparse.linalg.LinearOperator(
            (n, n), matvec=lambda v: p.J_grad(embed(np.ravel(v)))[:n] / 2.0, dtype=np.float64)
        B = scipy.sparse.diags([o, d, o], [-1, 0, 1], format="csc")
        v0 = np.cos(0.5 * np.pi * rho[:n] / R)  # deterministic start near the optimum
        _, vec = scipy.sparse.linalg.eigsh(Aop, k=1, M=B, which="LA", v0=v0, tol=tol * 1e-3)
        u = vec[:, 0]
    else:
        s = np.sqrt(d)

        def Bmul(u):
            return d * u + np.concatenate([o * u[1:], [0.0]]) + np.concatenate([[0.0], o * u[:-1]])

        g = np.cos(0.5 * np.pi * rho[:n] / R) * s  # deterministic start
        g /= np.linalg.norm(g)
        for _ in range(_GRADIENT_MAXITER):
            u = g / s
            Bu = Bmul(u)
            Q = float(np.dot(u, Bu))
            val = p.J(embed(u)) / Q
            # gradient of J/Q in the variables g = sqrt(diag B) f, made dimensionless by J/Q:
            # a unit step is then stable (the scaled mass matrix has eigenvalues in (0, 2))
            grad = (p.J_grad(embed(u))[:n] / 2.0 - val * Bu) / (Q * val) / s
            g = g + grad
            g /= np.linalg.norm(g)
            if np.linalg.norm(grad) < tol:
                break
        else:  # pragma: no cover - converges in ~60 steps
            raise RuntimeError(f"gradient ascent did not reach tol={tol} in {_GRADIENT_MAXITER} steps")
        u = g / s
    f = embed(u)
    f = f / f[0]
    if return_energy:
        return rho, f, p.J(f) / p.Q(f)
    return rho, f


@dataclass(frozen=True)
class ConvergenceTable:
    """Convergence of :func:`energy_minimiser` to the Airy closed form as the grid is refined.

    ``rows``: tuples ``(n_points, h, max_abs_err, energy_rel_err)`` with ``h = R / (n_points
    - 1)`` (pixels), ``max_abs_err = max |f - airy_profile|`` at the grid nodes (``f(0) = 1``
    units) and ``energy_rel_err = |J/Q - (R/x0)^3| / (R/x0)^3``; ``orders`` and
    ``energy_orders``: observed orders ``log(err_i / err_(i+1)) / log(h_i / h_(i+1))`` of the
    two errors between successive rows; ``observed_order``: the least-squares slope of
    log(max error) against log(h). ``str()`` prints the table.
    """

    R: float
    method: str
    rows: tuple
    orders: tuple
    energy_orders: tuple
    observed_order: float

    def __str__(self) -> str:
        head = (f"energy_minimiser(R={self.R:g}, method={self.method!r}) vs airy_profile\n"
                f"{'n_points':>9} {'h':>10} {'max|f-airy|':>12} {'order':>6}"
                f" {'rel.err J/Q':>12} {'order':>6}")
        lines = [head]
        for idx, (n, h, e, ee) in enumerate(self.rows):
            o = f"{self.orders[idx - 1]:6.2f}" if idx else "      "
            oe = f"{self.energy_orders[idx - 1]:6.2f}" if idx else "      "
            lines.append(f"{n:9d} {h:10.5f} {e:12.3e} {o} {ee:12.3e} {oe}")
        lines.append(f"observed order (least squares, max error): {self.observed_order:.3f}")
        return "\n".join(lines)


def energy_convergence_table(R: float = 31.5, n_points=(26, 51, 101, 201, 401, 801, 1601),
                             method: str = "eigh") -> ConvergenceTable:
    """Refine the grid of :func:`energy_minimiser` and measure the error to :func:`airy_profile`.

    Parameters
    ----------
    R : float in [1e-6, 1e6] pixels (``R_RANGE``). n_points : at least 2 strictly increasing grid sizes, each an int >= 3 (the default
        doubles ``n_points - 1``, so ``h`` halves between rows). method : as in
        :func:`energy_minimiser`.

    Returns
    -------
    :class:`ConvergenceTable`. The max error is taken at the grid nodes; the energy error is
    ``|J/Q - (R/x0)^3| / (R/x0)^3``.

    Examples
    --------
    >>> t = energy_convergence_table(31.5, (26, 51, 101))
    >>> print(" ".join(f"{o:.2f}" for o in t.orders), " ".join(f"{o:.2f}" for o in t.energy_orders))
    1.99 2.00 4.00 4.00
    """
    R = radius(R)
    if isinstance(n_points, (str, bytes)) or not hasattr(n_points, "__iter__"):
        raise TypeError(f"n_points must be a sequence of grid sizes, got {type(n_points).__name__}")
    ns = [checks.integer(n, "n_points", lo=3) for n in n_points]
    if len(ns) < 2:
        raise ValueError("n_points must list at least 2 grid sizes")
    if any(b <= a for a, b in zip(ns, ns[1:])):
        # An order is a log-ratio between consecutive rows: equal sizes give 0/0.
        raise ValueError(f"n_points must be strictly increasing, got {tuple(ns)}")
    exact = max_energy(R)
    rows = []
    for n in ns:
        rho, f, e = energy_minimiser(R, n, method=method, return_energy=True)
        err = float(np.max(np.abs(f - airy_profile(rho, R))))
        rows.append((n, R / (n - 1), err, abs(e - exact) / exact))
    hs = np.array([r[1] for r in rows])
    es = np.array([r[2] for r in rows])
    ees = np.array([max(r[3], 1e-300) for r in rows])
    orders = tuple(float(np.log(es[i] / es[i + 1]) / np.log(hs[i] / hs[i + 1])) for i in range(len(ns) - 1))
    eorders = tuple(float(np.log(ees[i] / ees[i + 1]) / np.log(hs[i] / hs[i + 1])) for i in range(len(ns) - 1))
    slope = float(np.polyfit(np.log(hs), np.log(es), 1)[0])
    return ConvergenceTable(R=R, method=method, rows=tuple(rows), orders=orders,
                            energy_orders=eorders, observed_order=slope)
