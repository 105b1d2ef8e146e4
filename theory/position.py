"""The position encoder of the talk (eqs. 9-13, Table 1): numbers and a machine-checked proof.

One *layer* correlates a signal with ``phi = [phi0, phi1, phi2]`` (zero padding) and keeps the
samples at odd 0-based indices (the talk's "even positions", 1-based). Written out, the layer
maps ``x`` of length ``2n`` to ``u`` of length ``n`` with

    u[m] = phi0 x[2m] + phi1 x[2m+1] + phi2 x[2m+2],        x[2n] = 0 (padding).

``E_L`` is ``L`` such layers. For the one-hot ``delta_i`` of length ``2^L`` (``i`` 0-based from
the left) and ``phi = (1, 2, 1)``, ``E_L(delta_i) = i + 1`` -- the talk's eq. (11)
``E_L(delta_a) = 2^L - a`` with ``a = 2^L - 1 - i`` counted from the right. With ``c * phi`` the
output is ``c^L (i + 1)``, and for the continuous Dirac of eq. (13) (linear split between
``floor a`` and ``ceil a``) it is ``a + 1``. In 2-D two channels handle the two axes.

:func:`prove_position_encoder` checks the induction of the talk symbolically with sympy
(symbolic ``L`` and ``k``, the three cases of the talk, c-scaling, continuous extension); it
takes the filter and the claimed formula as parameters so that a wrong claim visibly fails.

The module is longer than the others (~460 lines) because the numbers and the proof state
the same layer formula: the proof's KroneckerDelta form of a layer sits beside the array
form it certifies, so a change to one is read next to the other.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import sympy as sp

from geoshape import checks

from ._proof_args import claim_function as _claim
from ._proof_args import symbolic_phi as _symbolic_phi

__all__ = [
    "position_encode",
    "position_encode2d",
    "position_layer",
    "position_layer_table",
    "PositionTable",
    "ProofStep",
    "PositionProof",
    "prove_position_encoder",
    "position_filter_conditions",
]

DEFAULT_PHI = (1, 2, 1)


# --------------------------------------------------------------------------- validation
def _check_phi(phi) -> np.ndarray:
    """The filter as float64 (3,): three finite real taps (a domain check on geoshape.checks).

    A list or tuple of real numbers of any kind is converted tap by tap with ``float``, so
    sympy numbers (e.g. from :func:`position_filter_conditions`) and fractions work as taps.
    """
    if isinstance(phi, (list, tuple)) and all(
            isinstance(t, numbers.Real) and not isinstance(t, bool) for t in phi):
        phi = [float(t) for t in phi]
    arr = checks.real_array(phi, "phi", ndim_max=None)
    if arr.shape != (3,):
        raise ValueError(f"phi must have exactly 3 taps, got shape {arr.shape}")
    return arr


def _log2_exact(n: int, name: str) -> int:
    if n < 1 or (n & (n - 1)) != 0:
        raise ValueError(f"{name} must have length a power of two (1, 2, 4, ...), got {n}")
    return n.bit_length() - 1


# --------------------------------------------------------------------------- numerics
def _finite_or_raise(out: np.ndarray) -> np.ndarray:
    """``out``, or ValueError when the layers overflowed float64 (|phi|^L |x| past 1.8e308)."""
    if not np.all(np.isfinite(out)):
        raise ValueError("phi, x: the encoding overflows float64 (each layer multiplies the values by up "
                         "to |phi0| + |phi1| + |phi2|); use smaller taps or inputs")
    return out


def _layer(x: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """One unchecked layer along the last axis (length 2n -> n)."""
    even = x[..., 0::2]
    odd = x[..., 1::2]
    nxt = np.zeros_like(even)
    nxt[..., :-1] = even[..., 1:]  # x[2m+2]; the last one is the zero padding
    return phi[0] * even + phi[1] * odd + phi[2] * nxt


def position_layer(x, phi: Sequence[float] = DEFAULT_PHI) -> np.ndarray:
    """One layer of the talk's encoder (eq. 10 filter, then subsampling) on the last axis.

    Parameters
    ----------
    x : array (..., 2n), real, finite; 2n a power of two, at least 2.
    phi : 3 real taps, default ``(1, 2, 1)`` (eq. 10).

    Returns
    -------
    float64 array (..., n): ``u[m] = phi0 x[2m] + phi1 x[2m+1] + phi2 x[2m+2]`` (``x[2n] = 0``).
    """
    p = _check_phi(phi)
    arr = checks.real_array(x, "x", ndim_max=None, min_ndim=1, allow_bool=True)
    L = _log2_exact(arr.shape[-1], "x (last axis)")
    if L < 1:
        raise ValueError("x (last axis) must have length >= 2 for one layer, got 1")
    return _layer(arr, p)


def position_encode(x, phi: Sequence[float] = DEFAULT_PHI) -> np.ndarray:
    """The linear position encoder ``E_L`` of the talk (eqs. 9-12) on the last axis.

    Parameters
    ----------
    x : array (..., 2^L), real and finite, ``L >= 0`` (length 1 means no layer).
    phi : 3 real taps, default ``(1, 2, 1)``.

    Returns
    -------
    float64 array (...,): one value per row. ``E_L(delta_i) = i + 1`` for the one-hot at
    0-based index ``i``; ``c * phi`` gives ``c^L (i + 1)``; the continuous Dirac of eq. (13)
    at real ``a`` gives ``a + 1``. Results are exact in float64 for integer inputs and taps
    while the values stay below 2^53.

    Examples
    --------
    >>> position_encode([0, 0, 0, 0, 0, 1, 0, 0])
    array(6.)
    """
    p = _check_phi(phi)
    arr = checks.real_array(x, "x", ndim_max=None, min_ndim=1, allow_bool=True)
    L = _log2_exact(arr.shape[-1], "x (last axis)")
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(L):
            arr = _layer(arr, p)
    return _finite_or_raise(arr[..., 0])


def position_encode2d(x, phi: Sequence[float] = DEFAULT_PHI) -> np.ndarray:
    """Two-channel 2-D position encoder: returns ``(..., 2)`` = ``(x + 1, y + 1)`` for a Dirac.

    Each layer applies, per channel, a separable 3x3 correlation then keeps odd 0-based indices
    on both axes. Channel ``x`` uses ``phi`` along columns and ``psi = (1, 1, 0)`` along rows
    (``psi`` with this subsampling sums each merged pair of rows, so it forgets the row index
    while keeping the mass); channel ``y`` swaps the roles. After ``L`` layers this equals
    ``position_encode`` of the column (resp. row) marginal, so a Dirac at pixel (row i,
    column j) gives ``(c^L (j + 1), c^L (i + 1))`` for ``c * phi``; a bilinear continuous
    Dirac at ``(x, y)`` gives ``(x + 1, y + 1)``.

    Parameters
    ----------
    x : array (..., 2^L, 2^L), real and finite (square images).
    phi : 3 real taps, default ``(1, 2, 1)``.

    Returns
    -------
    float64 array (..., 2): ``(..., 0)`` the column (x) channel, ``(..., 1)`` the row (y) channel.
    """
    p = _check_phi(phi)
    arr = checks.real_array(x, "x", ndim_max=None, min_ndim=2, allow_bool=True)
    h, w = arr.shape[-2:]
    if h != w:
        raise ValueError(f"x must be square on its last two axes, got {h}x{w}")
    L = _log2_exact(w, "x (last two axes)")
    psi = np.array([1.0, 1.0, 0.0])
    cx = arr
    cy = arr
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(L):
            # channel x: phi along columns (last axis), psi along rows
            cx = _layer(np.swapaxes(_layer(cx, p), -1, -2), psi)
            cx = np.swapaxes(cx, -1, -2)
            # channel y: psi along columns, phi along rows
            cy = _layer(np.swapaxes(_layer(cy, psi), -1, -2), p)
            cy = np.swapaxes(cy, -1, -2)
    return _finite_or_raise(np.stack([cx[..., 0, 0], cy[..., 0, 0]], axis=-1))


# --------------------------------------------------------------------------- Table 1
@dataclass(frozen=True)
class PositionTable:
    """Intermediate outputs of the encoder for every one-hot of length n (talk, Table 1).

    ``layers[l]`` is an integer array ``(n, n // 2**l)``: row ``i`` is ``u(l)`` for ``delta_i``
    (``layers[0]`` is the input, the identity). Its dtype is int64 when every entry fits
    (``(|phi0| + |phi1| + |phi2|)^L < 2^63``), else ``object`` holding Python ints, so every
    entry is exact whatever the taps. ``str()`` prints the table in the talk's
    column order (the 1 moving from the right end to the left end).
    """

    n: int
    phi: tuple
    layers: tuple

    def column(self, i: int) -> list:
        """``[x, u(1), ..., u(L)]`` for ``delta_i`` as lists of ints."""
        return [layer[i].tolist() for layer in self.layers]

    def __str__(self) -> str:
        names = ["x"] + [f"u({l})" for l in range(1, len(self.layers))]
        order = list(range(self.n - 1, -1, -1))
        blocks = [order[s:s + 4] for s in range(0, self.n, 4)]
        lines = []
        for block in blocks:
            for name, layer in zip(names, self.layers):
                cells = ["[" + ", ".join(str(v) for v in layer[i]) + "]" for i in block]
                lines.append(f"{name:5s} " + " ".join(cells))
            lines.append("")
        return "\n".join(lines).rstrip()


def position_layer_table(n: int = 8, phi: Sequence[int] = DEFAULT_PHI) -> PositionTable:
    """All intermediate outputs ``u(1), ..., u(L)`` for the ``n`` one-hot inputs (Table 1).

    Parameters
    ----------
    n : power of two >= 1 (Table 1 of the talk is ``n = 8``), at most 2^12.
    phi : 3 integer taps, default ``(1, 2, 1)``; arithmetic is exact: int64 while the bound
        ``(|phi0| + |phi1| + |phi2|)^L`` on every entry fits in it, Python integers beyond.

    Returns
    -------
    :class:`PositionTable`.
    """
    n = checks.integer(n, "n")
    if n > 4096:
        raise ValueError(f"n must be at most 4096 (the table has n^2 entries), got {n}")
    L = _log2_exact(n, "n")
    if not isinstance(phi, (tuple, list, np.ndarray)) or len(phi) != 3 or not all(
            isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in phi):
        raise TypeError(f"phi must be 3 integers for the exact table, got {phi!r}")
    taps = [int(t) for t in phi]
    # No entry exceeds (sum |phi|)^L in magnitude: int64 is exact below 2^63, else Python ints.
    exact_int64 = sum(abs(t) for t in taps) ** L < 2**63
    dtype = np.int64 if exact_int64 else object
    if not exact_int64:
        # An object array costs a pointer plus a Python int (>= 28 bytes) per entry.
        checks.budget(2 * n * n * 40, "n, phi", "the exact table in Python integers")
    p = np.array(taps, dtype=dtype)
    x = np.eye(n, dtype=np.int64).astype(dtype)
    layers = [x]
    for _ in range(L):
        x = _layer(x, p)
        layers.append(x)
    return PositionTable(n=n, phi=tuple(int(t) for t in phi), layers=tuple(layers))


# --------------------------------------------------------------------------- the proof
@dataclass(frozen=True)
class ProofStep:
    """One checked statement: ``lhs == rhs`` under ``hypothesis``; ``holds`` iff the
    simplified ``residual`` (lhs - rhs) is identically zero."""

    name: str
    statement: str
    hypothesis: str
    lhs: sp.Expr
    rhs: sp.Expr
    residual: sp.Expr
    holds: bool

    def text_lines(self, n: int) -> list[str]:
        """The step as printed in a proof: number ``n``, verdict, statement, hypothesis, identity."""
        return [f"  {n}. [{'ok' if self.holds else 'FAIL'}] {self.name}: {self.statement}",
                f"       under {self.hypothesis}",
                f"       {self.lhs}  =  {self.rhs}   (residual {self.residual})"]

    def latex(self) -> str:
        mark = r"\checkmark" if self.holds else r"\times"
        name = self.name.replace("_", r"\_")
        return (rf"\text{{{name}}}:\ {sp.latex(self.lhs)} = {sp.latex(self.rhs)}"
                rf"\quad ({self.hypothesis})\quad {mark}")


def steps_latex(steps) -> str:
    """Proof steps as one ``align*`` block, a line per step (both proofs print this way)."""
    body = " \\\\\n".join(s.latex() for s in steps)
    return "\\begin{align*}\n" + body + "\n\\end{align*}"


@dataclass(frozen=True)
class PositionProof:
    """Result of :func:`prove_position_encoder`: ``holds`` is True only if every step did."""

    phi: tuple
    claim: sp.Expr
    steps: tuple

    @property
    def holds(self) -> bool:
        return bool(self.steps) and all(s.holds for s in self.steps)

    def __bool__(self) -> bool:
        return self.holds

    def __str__(self) -> str:
        head = (f"Position encoder proof: phi = {list(self.phi)}, claim E_L(delta_i) = "
                f"{self.claim}  ->  {'HOLDS' if self.holds else 'FAILS'}")
        lines = [head]
        for n, s in enumerate(self.steps, 1):
            lines += s.text_lines(n)
        return "\n".join(lines)

    def latex(self) -> str:
        """An ``align*`` block, one line per step."""
        return steps_latex(self.steps)


_L = sp.Symbol("L", integer=True, nonnegative=True)
_I = sp.Symbol("i", integer=True, nonnegative=True)
_K = sp.Symbol("k", integer=True, nonnegative=True)
_M = sp.Symbol("m", integer=True)
_J = sp.Symbol("j", integer=True, nonnegative=True)   # slack witness: 2^L = k + 1 + j
_T = sp.Symbol("t", real=True)                        # fractional part in eq. (13)


def _is_zero(expr) -> tuple[sp.Expr, bool]:
    res = sp.simplify(sp.powsimp(sp.expand(sp.expand_power_exp(expr)), force=True))
    res = sp.simplify(sp.expand(res))
    return res, bool(res == 0)


def _layer_of_dirac(i, m, phi):
    """Entry m of one layer applied to delta_i (KroneckerDelta form of the layer formula)."""
    return (phi[0] * sp.KroneckerDelta(2 * m, i) + phi[1] * sp.KroneckerDelta(2 * m + 1, i)
            + phi[2] * sp.KroneckerDelta(2 * m + 2, i))


def _resolve_piecewise(expr, witness: dict) -> sp.Expr | None:
    """Pick the branch of a Piecewise that the case hypothesis selects.

    ``witness`` rewrites the hypothesis into substitutions of nonnegative integers (e.g.
    ``2**L -> k + 1 + j``); a branch is taken only if its condition becomes True and every
    earlier condition becomes False. Returns None when sympy cannot decide (then the step fails).
    """
    expr = sp.piecewise_fold(expr)
    if not isinstance(expr, sp.Piecewise):
        return expr
    for value, cond in expr.args:
        c = sp.simplify(sp.sympify(cond).subs(witness))
        if c is sp.true:
            return value
        if c is not sp.false:
            return None
    return None


def _step(name, statement, hypothesis, lhs, rhs) -> ProofStep:
    if lhs is None:
        return ProofStep(name, statement, hypothesis, sp.nan, rhs, sp.nan, False)
    residual, ok = _is_zero(lhs - rhs)
    return ProofStep(name, statement, hypothesis, lhs, rhs, residual, ok)


def prove_position_encoder(phi: Sequence = DEFAULT_PHI,
                           claim: Callable | None = None) -> PositionProof:
    """Machine-check the talk's induction (eqs. 11-13) that ``E_L(delta_i) = claim(L, i)``.

    The hypothesis at level ``L`` is used in the linear form of eq. (12),
    ``E_L(y) = sum_{m=0}^{2^L-1} claim(L, m) y[m]``. One more layer maps ``delta_i`` to
    ``u[m] = phi0 [2m = i] + phi1 [2m+1 = i] + phi2 [2m+2 = i]`` (KroneckerDelta; sympy removes
    the parity-impossible terms), and sympy evaluates the delta sum for symbolic ``L`` and ``k``.
    Steps (each must simplify to an identity):

    1. base case ``L = 1``: ``E_1(delta_0) = claim(1, 0)`` and ``E_1(delta_1) = claim(1, 1)``;
    2. linearity of a layer (what licenses eq. 12);
    3. induction, ``i = 2k + 1`` (talk's case "a even"), ``0 <= k <= 2^L - 1``;
    4. induction, ``i = 2k`` with ``1 <= k <= 2^L - 1`` (talk's case "a odd");
    5. induction, ``i = 0`` (talk's case "a at the end", ``a = 2^(L+1) - 1``);
    6. continuous extension (eq. 13): ``(1-t) claim(L, i) + t claim(L, i+1) = claim(L, i + t)``.

    The range conditions that sympy's delta summation attaches are discharged by writing the
    case hypothesis with nonnegative integer witnesses (``2^L = k + 1 + j``, ``k = k' + 1``);
    a condition sympy cannot decide makes the step fail, never pass.

    Parameters
    ----------
    phi : 3 taps, numbers or sympy expressions (e.g. ``(c, 2*c, c)`` with a sympy symbol c).
    claim : callable ``(L, i) -> sympy expression``; default ``i + 1`` (``c^L (i + 1)`` is the
        c-scaled claim). The talk's right-indexed form is ``lambda L, i: 2**L - (2**L - 1 - i)``.

    Returns
    -------
    :class:`PositionProof` with ``.holds``, ``.steps``, ``str()`` and ``.latex()``.
    """
    p = _symbolic_phi(phi)
    C = _claim(claim, (_L, _I))
    L, i, k, m, j, t = _L, _I, _K, _M, _J, _T
    steps = []

    # 1. base case L = 1: length 2, one layer, output u[0]
    for ii in (0, 1):
        lhs = _layer_of_dirac(sp.Integer(ii), sp.Integer(0), p)
        steps.append(_step(f"base case delta_{ii}",
                           f"E_1(delta_{ii}) = phi*delta_{ii} at index 1 = claim(1, {ii})",
                           "L = 1", sp.simplify(lhs), C(1, ii)))

    # 2. linearity of one layer on symbolic signals x, y and scalars alpha, beta
    alpha, beta = sp.symbols("alpha beta")
    xf, yf = sp.Function("x"), sp.Function("y")
    lay = lambda g: p[0] * g(2 * m) + p[1] * g(2 * m + 1) + p[2] * g(2 * m + 2)  # noqa: E731
    lhs = lay(sp.Lambda(_M, alpha * xf(_M) + beta * yf(_M)))
    steps.append(_step("linearity", "layer(alpha x + beta y) = alpha layer(x) + beta layer(y)",
                       "all m", sp.expand(lhs), sp.expand(alpha * lay(xf) + beta * lay(yf))))

    def induction(name, talk, ii, witness, hyp):
        summand = C(L, m) * _layer_of_dirac(ii, m, p)
        total = sp.Sum(summand, (m, 0, 2 ** L - 1)).doit()
        value = _resolve_piecewise(total, witness)
        return _step(f"induction, {name}",
                     f"E_(L+1)(delta_i) = sum_m claim(L, m) layer(delta_i)[m] = claim(L+1, i)"
                     f"  [talk: {talk}]", hyp, value, C(L + 1, ii))

    # 3. i = 2k + 1 (talk: a even)
    steps.append(induction("i = 2k+1", "a even", 2 * k + 1, {2 ** L: k + 1 + j},
                           "0 <= k <= 2^L - 1"))
    # 4. i = 2k, 1 <= k <= 2^L - 1 (talk: a odd); substitute k = k' + 1 in the conditions
    kp = sp.Symbol("kp", integer=True, nonnegative=True)
    st = induction("i = 2k", "a odd", 2 * k, {k: kp + 1, 2 ** L: kp + 2 + j},
                   "1 <= k <= 2^L - 1")
    steps.append(st)
    # 5. i = 0 (talk: a = 2^(L+1) - 1, the end)
    steps.append(induction("i = 0", "a at the end", sp.Integer(0), {2 ** L: 1 + j}, "L >= 0"))

    # 6. continuous Dirac (eq. 13): delta_a = (1-t) delta_i + t delta_{i+1}, a = i + t
    lhs = (1 - t) * C(L, i) + t * C(L, i + 1)
    steps.append(_step("continuous Dirac (eq. 13)",
                       "E_L((1-t) delta_i + t delta_(i+1)) = claim(L, i + t)",
                       "0 <= i <= 2^L - 2, 0 <= t < 1, linearity", lhs, C(L, i + t)))
    return PositionProof(phi=p, claim=C(L, i), steps=tuple(steps))


def position_filter_conditions(claim: Callable | None = None) -> dict:
    """Solve the induction identities for a general filter ``(phi0, phi1, phi2)``.

    Returns the sympy solution dict (empty if none): for the default claim ``i + 1`` it is
    ``{phi0: 1, phi1: 2, phi2: 1}``, i.e. eq. (10)'s filter is the *only* one that works.
    The identities must hold for every integer ``k``, so each polynomial in ``k`` is split
    into its coefficients.
    """
    C = _claim(claim, (_L, _K))
    q0, q1, q2 = sp.symbols("phi0 phi1 phi2")
    k, L = _K, _L
    eqs = [q1 * C(L, k) - C(L + 1, 2 * k + 1),
           q0 * C(L, k) + q2 * C(L, k - 1) - C(L + 1, 2 * k),
           q0 * C(L, 0) - C(L + 1, 0),
           q0 - C(1, 0), q1 - C(1, 1)]
    coeffs = []
    for e in eqs:
        e = sp.expand(sp.expand_power_exp(e))
        coeffs.extend(sp.Poly(e, k).all_coeffs() if e.has(k) else [e])
    sol = sp.solve(coeffs, [q0, q1, q2], dict=True)
    return sol[0] if sol else {}
