"""Arguments of the sympy proofs of :mod:`theory.position`, checked before any symbolic work:
the filter ``phi`` (three exact taps) and the ``claim`` ``(L, i) -> expression``."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Callable

import numpy as np
import sympy as sp

__all__ = ["symbolic_phi", "claim_function"]


def symbolic_phi(phi) -> tuple:
    """The proof's filter: a sequence of 3 finite taps, each a real number (made exact by
    ``nsimplify``) or a sympy expression; TypeError / ValueError naming ``phi`` otherwise."""
    if isinstance(phi, (str, bytes)) or not isinstance(phi, (Sequence, np.ndarray, sp.Tuple)):
        raise TypeError(f"phi must be a sequence of 3 taps (numbers or sympy expressions), "
                        f"got {type(phi).__name__}")
    if isinstance(phi, np.ndarray) and phi.ndim != 1:
        raise ValueError(f"phi must be a 1-D sequence of 3 taps, got an array of shape {phi.shape}")
    if len(phi) != 3:
        raise ValueError(f"phi must have exactly 3 taps, got {len(phi)}")
    taps = []
    for t in phi:
        if isinstance(t, (bool, np.bool_)):
            raise TypeError(f"phi taps must be numbers or sympy expressions, got a bool in {phi!r}")
        if isinstance(t, numbers.Real) and not np.isfinite(float(t)):
            raise ValueError(f"phi must be finite, got {phi!r}")
        try:
            e = t if isinstance(t, sp.Basic) else sp.sympify(t, strict=True)
        except (sp.SympifyError, TypeError, ValueError) as exc:
            raise TypeError(f"phi taps must be numbers or sympy expressions, got {type(t).__name__} "
                            f"in {phi!r}") from exc
        if not isinstance(e, sp.Expr):
            raise TypeError(f"phi taps must be numbers or sympy expressions, got {type(t).__name__} in {phi!r}")
        if not isinstance(t, sp.Basic):
            e = sp.nsimplify(e)  # 0.5 -> 1/2: exact taps for the symbolic identities
        if e.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            raise ValueError(f"phi must be finite, got {phi!r}")
        taps.append(e)
    return tuple(taps)


def claim_function(claim, symbols: tuple) -> Callable:
    """``claim`` as a function ``(L, i) -> sympy expression`` (default ``i + 1``), tried once on
    ``symbols`` and on ``(1, 0)`` before any work: a value that is not callable, a callable of
    another arity, or one whose result is not a number or sympy expression (a string, None, a
    list) is a TypeError naming ``claim``."""
    if claim is None:
        def claim(L, i):
            return i + 1
    if not callable(claim):
        raise TypeError(f"claim must be a callable (L, i) -> expression, got {type(claim).__name__}")

    def C(LL, ii):
        try:
            out = claim(LL, ii)
        except Exception as exc:  # noqa: BLE001 - any failure of the caller's claim names it
            raise TypeError(f"claim must be a callable (L, i) -> expression; claim({LL}, {ii}) raised "
                            f"{type(exc).__name__}: {exc}") from exc
        try:
            e = sp.sympify(out, strict=True)
        except (sp.SympifyError, TypeError, ValueError):
            e = None
        if not isinstance(e, sp.Expr):
            raise TypeError(f"claim must return a number or a sympy expression, claim({LL}, {ii}) returned "
                            f"{type(out).__name__} {out!r:.60}")
        return e

    C(*symbols)
    C(1, 0)
    return C
