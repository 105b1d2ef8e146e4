"""The sympy proof of :mod:`theory.placement`'s construction (:func:`prove_position_decoder`),
kept apart so that the construction itself reads in one screen; import it from
:mod:`theory.placement` or :mod:`theory`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from geoshape import checks

from .placement import FIRST_BIAS, FIRST_WEIGHT, MIX, TAPS
from .position import ProofStep, steps_latex

# --------------------------------------------------------------------------- the proof
@dataclass(frozen=True)
class PlacementProof:
    """Result of :func:`prove_position_decoder`: ``holds`` is True only if every step did.

    ``steps``: all :class:`~theory.position.ProofStep` s (lemmas, base case, padding,
    induction cases, sizes, 2-D); ``cases``: the induction cases alone. ``even`` / ``odd``:
    the layer's output at samples ``2k`` / ``2k+1`` as derived from the taps and the mix, in
    the symbols ``c_km1, c_k, c_kp1`` (``c_{k-1}, c_k, c_{k+1}``).
    """

    taps: tuple
    mix: tuple
    first_weight: tuple
    first_bias: tuple
    even: sp.Expr
    odd: sp.Expr
    steps: tuple

    @property
    def holds(self) -> bool:
        return bool(self.steps) and all(s.holds for s in self.steps)

    @property
    def cases(self) -> tuple:
        return tuple(s for s in self.steps if s.name.startswith("induction"))

    def __bool__(self) -> bool:
        return self.holds

    def __str__(self) -> str:
        lines = [f"Position decoder proof: layer 1 = {list(self.first_weight)} a + {list(self.first_bias)}, "
                 f"taps {[list(t) for t in self.taps]}, mix {list(self.mix)}  ->  "
                 f"{'HOLDS' if self.holds else 'FAILS'}",
                 f"  layer output at 2k:   {self.even}",
                 f"  layer output at 2k+1: {self.odd}",
                 "  claim: layer l is max(0, 1 - |t - 2^(l-1) a|) on 2^(l-1) + 1 samples, a in [0, 1]"]
        for n, s in enumerate(self.steps, 1):
            lines += s.text_lines(n)
        return "\n".join(lines)

    def latex(self) -> str:
        """An ``align*`` block, one line per step."""
        return steps_latex(self.steps)


def _hat(x):
    """Eq. 13 as a sympy expression: max(0, 1 - |x|)."""
    return sp.Max(0, 1 - sp.Abs(x))


def _srelu(x):
    return sp.Max(0, x)


def _step(name, statement, hypothesis, lhs, rhs, nonnegative=None) -> ProofStep:
    """A checked identity ``lhs == rhs`` (simplified residual 0); with ``nonnegative``, also
    that this expression is nonnegative by sympy's assumptions (an inequality step)."""
    residual = sp.simplify(lhs - rhs)
    ok = bool(residual == 0)
    if nonnegative is not None:
        ok = ok and bool(nonnegative.is_nonnegative)
    return ProofStep(name, statement, hypothesis, lhs, rhs, residual, ok)


def _exact_matrix(value, name: str, shape: tuple) -> tuple:
    """``value`` as nested tuples of exact sympy numbers of the given shape (checked)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers of shape {shape}, got {type(value).__name__}")
    arr = checks.real_array(value, name, ndim=len(shape))
    if shape[0] is None:
        shape = (arr.shape[0],) + shape[1:]
    if arr.shape != shape or arr.size == 0:
        raise ValueError(f"{name} must have shape {shape} (channels at least 1), got {arr.shape}")
    return tuple(sp.nsimplify(float(v), rational=True) for v in arr.ravel()) if arr.ndim == 1 else \
        tuple(tuple(sp.nsimplify(float(v), rational=True) for v in row) for row in arr)


def _interval(p, q, t):
    """A parametrisation by ``t >= 0`` of ``[p, q)`` (``(-oo, q]`` when p = -oo, ``[p, oo)``
    when q = oo): inside it every Abs and Max of the case has a fixed sign."""
    if p == -sp.oo:
        return q - t
    if q == sp.oo:
        return p + t
    return p + (q - p) * t / (1 + t)


def _span(p, q) -> str:
    """``"p in [k - 1, k - 1/2)"`` for the case ``p - k`` in ``[p, q)``."""
    def at(v):
        if v in (sp.oo, -sp.oo):
            return str(v).replace("oo", "inf")
        return "k" if v == 0 else f"k {'+' if v > 0 else '-'} {abs(v)}"
    left = "(" if p == -sp.oo else "["
    right = "]" if p == -sp.oo else ")"
    return f"p in {left}{at(p)}, {at(q)}{right}"


#: Breakpoints of s = a - k for every Abs / Max in one layer: the hats c_{k-1}, c_k, c_{k+1}
#: kink at s = -2..2, the targets at s = +-1/2, 0, 1/2, 1, the ReLUs at s = +-1/2.
_BREAKS = (-sp.oo, -2, -1, -sp.Rational(1, 2), 0, sp.Rational(1, 2), 1, 2, sp.oo)


def prove_position_decoder(taps: Sequence[Sequence[float]] = TAPS, mix: Sequence[float] = MIX,
                           first_weight: Sequence[float] = FIRST_WEIGHT,
                           first_bias: Sequence[float] = FIRST_BIAS) -> PlacementProof:
    """Machine-check that the constructed decoder outputs the eq. 13 Dirac at every layer.

    Claim: layer ``l`` is ``max(0, 1 - |t - 2^(l-1) a|)``, ``t = 0 .. 2^(l-1)``, for every
    real ``a`` in ``[0, 1]``. Induction on ``l``; every step is a sympy identity (``Max`` /
    ``Abs`` resolved under the case's assumptions, the residual simplified to 0), never a
    sample:

    1. lemmas: ``|x| = relu(x) + relu(-x)`` (cases ``x >= 0``, ``x <= 0``) and
       ``min(u, v) = (u + v - |u - v|) / 2`` (cases ``u <= v``, ``v <= u``);
    2. base case: the first layer ``first_weight a + first_bias`` is ``[hat(0 - a), hat(1 - a)]``
       for ``a`` in ``[0, 1)`` and at ``a = 1``;
    3. zero padding: ``hat(-1 - p) = 0`` for ``p >= 0`` and ``hat(n - p) = 0`` for ``p <= n - 1``,
       so the layer's padded samples equal the Dirac's own (zero) values there;
    4. induction: with ``c_m = hat(m - p)`` and the layer's output at ``2k`` / ``2k + 1`` (derived
       here from ``taps`` and ``mix`` by zero insertion and correlation), the outputs equal
       ``hat(2k - 2p)`` / ``hat(2k + 1 - 2p)``, for integer ``k`` and real ``p`` in each of the
       eight cases ``p - k`` in ``(-oo, -2], [-2, -1), [-1, -1/2), [-1/2, 0), [0, 1/2), [1/2, 1),
       [1, 2), [2, oo)`` (inside each, every ``Abs`` / ``Max`` has a fixed sign);
    5. sizes: ``2 (2^(l-1) + 1) - 1 = 2^l + 1``, and ``2 p = 2^l a`` for ``p = 2^(l-1) a``;
    6. 2-D: the pyramid ``min(hx, hy)`` is the ReLU expression ``(hx + hy - relu(hx - hy) -
       relu(hy - hx)) / 2``; the product ``hat_x hat_y`` has mixed derivative
       ``d^2 / (da_x da_y) = 1`` inside a pixel cell, so it is not piecewise linear (a ReLU
       network's output is, with mixed derivative 0 almost everywhere); and
       ``0 <= 1/4 - (min(u, v) - u v) = (u - 1/2)^2 + u w`` (``v = u + w``), with equality at
       ``u = v = 1/2``: the pyramid exceeds the product by at most 1/4.

    Parameters
    ----------
    taps : ``(R, 5)`` real correlation taps at offsets -2..2 (default :data:`TAPS`, R = 4).
    mix : ``(R,)`` real weights of the rectified channels (default :data:`MIX`).
    first_weight, first_bias : ``(2,)`` each, the first layer (default ``(-1, 1)``, ``(1, 0)``).
        Numbers are made exact with ``nsimplify``; a wrong construction makes its steps fail.

    Returns
    -------
    :class:`PlacementProof` with ``.holds``, ``.steps``, ``.cases``, ``str()`` and ``.latex()``.
    """
    T = _exact_matrix(taps, "taps", (None, 5))
    M = _exact_matrix(mix, "mix", (len(T),))
    W = _exact_matrix(first_weight, "first_weight", (2,))
    B = _exact_matrix(first_bias, "first_bias", (2,))
    t = sp.Symbol("t", nonnegative=True)
    x, u, v = sp.symbols("x u v", real=True)
    cm, c0, cp = sp.symbols("c_km1 c_k c_kp1", nonnegative=True)   # display only: c_m are hats
    k = sp.Symbol("k", integer=True)
    p = sp.Symbol("p", real=True)
    n = sp.Symbol("n", integer=True, positive=True)
    steps = []

    # the layer derived from the taps: zero insertion puts c_{k-1}, c_k, c_{k+1} at offsets
    # -2, 0, +2 of an even sample 2k, and c_k, c_{k+1} at offsets -1, +1 of an odd one.
    def even_of(a_, b_, c_):
        return sum(w * _srelu(r[0] * a_ + r[2] * b_ + r[4] * c_) for r, w in zip(T, M))

    def odd_of(b_, c_):
        return sum(w * _srelu(r[1] * b_ + r[3] * c_) for r, w in zip(T, M))

    # 1. lemmas
    for case, sub in (("x >= 0", t), ("x <= 0", -t)):
        steps.append(_step(f"lemma |x|, {case}", "|x| = relu(x) + relu(-x)", case,
                           (_srelu(x) + _srelu(-x)).subs(x, sub), sp.Abs(x).subs(x, sub)))
    for case, (uu, vv) in (("u <= v", (u, u + t)), ("v <= u", (v + t, v))):
        steps.append(_step(f"lemma min, {case}", "min(u, v) = (u + v - |u - v|) / 2", case,
                           (uu + vv - sp.Abs(uu - vv)) / 2, sp.Min(uu, vv)))

    # 2. base case: layer 1 on 2 samples
    a = sp.Symbol("a", real=True)
    for case, sub in (("0 <= a < 1", t / (1 + t)), ("a = 1", sp.Integer(1))):
        for j in (0, 1):
            steps.append(_step(f"base case, sample {j}, {case}",
                               f"layer 1 sample {j}: w_{j} a + b_{j} = hat({j} - a)", case,
                               W[j] * sub + B[j], _hat(j - a).subs(a, sub)))

    # 3. zero padding at both ends of a layer of n samples
    steps.append(_step("zero padding, left", "c_(-1) = hat(-1 - p) = 0 (the padding)", "p >= 0",
                       _hat(-1 - p).subs(p, t), sp.Integer(0)))
    steps.append(_step("zero padding, right", "c_n = hat(n - p) = 0 (the padding)", "p <= n - 1",
                       _hat(n - p).subs(p, n - 1 - t), sp.Integer(0)))

    # 4. induction, eight cases of s = p - k, even and odd output samples
    c = {m: _hat(k + m - p) for m in (-1, 0, 1)}
    even, odd = even_of(c[-1], c[0], c[1]), odd_of(c[0], c[1])
    for lo, hi in zip(_BREAKS[:-1], _BREAKS[1:]):
        sub = {p: k + _interval(lo, hi, t)}
        hyp = _span(lo, hi) + ", k integer"
        steps.append(_step(f"induction, sample 2k, {_span(lo, hi)}",
                           "layer(c)[2k] = hat(2k - 2p), c_m = hat(m - p)", hyp,
                           even.subs(sub), _hat(2 * k - 2 * p).subs(sub)))
        steps.append(_step(f"induction, sample 2k+1, {_span(lo, hi)}",
                           "layer(c)[2k+1] = hat(2k + 1 - 2p), c_m = hat(m - p)", hyp,
                           odd.subs(sub), _hat(2 * k + 1 - 2 * p).subs(sub)))

    # 5. sizes and positions
    l = sp.Symbol("l", integer=True, positive=True)
    steps.append(_step("sizes", "n_(l+1) = 2 n_l - 1 with n_l = 2^(l-1) + 1", "l >= 1",
                       2 * (2 ** (l - 1) + 1) - 1, 2 ** l + 1))
    steps.append(_step("positions", "p_(l+1) = 2 p_l with p_l = 2^(l-1) a", "l >= 1",
                       2 * (2 ** (l - 1) * a), 2 ** l * a))

    # 6. 2-D
    hx, hy = sp.symbols("h_x h_y", real=True)
    pyr = (hx + hy - _srelu(hx - hy) - _srelu(hy - hx)) / 2
    for case, sub in (("h_x <= h_y", {hy: hx + t}), ("h_y <= h_x", {hx: hy + t})):
        steps.append(_step(f"2-D pyramid, {case}", "min(h_x, h_y) = (h_x + h_y - relu(h_x - h_y) - "
                           "relu(h_y - h_x)) / 2", case, pyr.subs(sub), sp.Min(hx, hy).subs(sub)))
    w1, w2 = sp.symbols("w1 w2", positive=True)
    i, j = sp.symbols("i j", integer=True)
    ax, ay = sp.symbols("a_x a_y", real=True)
    sx, sy = 1 / (1 + w1), 1 / (1 + w2)        # in (0, 1): the open cell
    prod = sp.simplify((_hat(j - ax) * _hat(i - ay)).subs({ax: j - 1 + sx, ay: i - 1 + sy}))
    mixed = sp.diff(prod, w1, w2) / (sp.diff(sx, w1) * sp.diff(sy, w2))
    steps.append(_step("2-D product is not piecewise linear",
                       "d^2/(da_x da_y) [hat(j - a_x) hat(i - a_y)] = 1 (a ReLU net's is 0 a.e.)",
                       "j - 1 < a_x < j, i - 1 < a_y < i", mixed, sp.Integer(1)))
    w = sp.Symbol("w", nonnegative=True)
    un = sp.Symbol("u", nonnegative=True)
    bound = (un - sp.Rational(1, 2)) ** 2 + un * w    # un = min(u, v) >= 0, w = |u - v| >= 0
    for case, (uu, vv) in (("u <= v", (un, un + w)), ("v <= u", (un + w, un))):
        steps.append(_step(f"2-D pyramid - product <= 1/4, {case}",
                           "1/4 - (min(u, v) - u v) = (m - 1/2)^2 + m w >= 0, m = min(u, v), w = |u - v|",
                           f"u, v >= 0, {case}", sp.Rational(1, 4) - (sp.Min(uu, vv) - uu * vv), bound,
                           nonnegative=bound))
    half = sp.Rational(1, 2)
    steps.append(_step("2-D pyramid - product = 1/4 at u = v = 1/2", "min(1/2, 1/2) - 1/4 = 1/4",
                       "u = v = 1/2", sp.Min(half, half) - half * half, sp.Rational(1, 4)))

    return PlacementProof(taps=T, mix=M, first_weight=W, first_bias=B,
                          even=sp.simplify(even_of(cm, c0, cp)), odd=sp.simplify(odd_of(c0, cp)),
                          steps=tuple(steps))
