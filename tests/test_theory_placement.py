"""Tests of theory.placement: the constructed decoder that places a Dirac (eq. 13), its proof,
its layer table, the 2-D pyramid and the blurred-template gap.

References, all written here independently of the code under test: eq. 13 in closed form
``max(0, 1 - |t - p|)``; the layer's two formulas (``relu(c_k - c_{k-1} - c_{k+1})`` at even
samples, ``c_k + c_{k+1} - |c_k - c_{k+1}|`` at odd ones) as explicit loops; the layer as a
network built from ``numpy.correlate``; ``geoshape.dirac`` / ``dirac2d``; the blurred disk's
closed form ``scipy.stats.ncx2.cdf`` (docs/conventions.md) and ``scipy.signal.convolve2d``.
"""

import math

import numpy as np
import pytest
import scipy.signal
import scipy.stats
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import geoshape
import theory
from theory import placement

# float64 codes on the grid 2^-53 Z (everything numpy's random() draws) make 1 - a exact, and
# every later operation is then exact too: the construction must equal eq. 13 to the bit.
EXACT = 0.0
# Any other float64 code: the first layer rounds 1 - a by half an ulp of 1 (2^-53) and each
# layer doubles the position, so layer l is off by at most 2^(l-1) 2^-53.
ULP1 = 2.0**-53
# The layer against its formulas: the same additions in the same order, so a few ulp at most.
ATOL_LAYER = 1e-15
# geoshape.dirac / dirac2d return float32: eq. 13 rounded to float32 (values in [0, 1]).
ATOL_FLOAT32 = 2e-7
# geoshape.disks is exact to 4e-6 (its docstring); the template and the reference both use it.
ATOL_DISKS = 1e-5


def hat(t, p):
    """Eq. 13: max(0, 1 - |t - p|) on the samples t (brute force, broadcast)."""
    return np.maximum(0.0, 1.0 - np.abs(np.asarray(t, float) - np.asarray(p, float)))


def formula_layer(c):
    """Reference: the two formulas of the construction, sample by sample (c_-1 = c_n = 0)."""
    c = list(map(float, c))
    n = len(c)
    get = lambda k: c[k] if 0 <= k < n else 0.0  # noqa: E731
    out = []
    for j in range(2 * n - 1):
        k = j // 2
        if j % 2 == 0:
            out.append(max(0.0, get(k) - get(k - 1) - get(k + 1)))
        else:
            out.append(get(k) + get(k + 1) - abs(get(k) - get(k + 1)))
    return np.array(out)


def network_layer(c):
    """Reference: zero insertion, four numpy.correlate channels (the taps typed in), ReLU, mix."""
    taps = [[-1, 0, 1, 0, -1], [0, 1, 0, 1, 0], [0, 1, 0, -1, 0], [0, -1, 0, 1, 0]]
    mix = [1, 1, -1, -1]
    c = np.asarray(c, float)
    u = np.zeros(2 * len(c) - 1)
    u[0::2] = c
    out = np.zeros_like(u)
    for t, w in zip(taps, mix):
        # 'valid' on u padded by 2 zeros a side: v[j] = sum_t taps[t] u[j + t - 2]
        out += w * np.maximum(0.0, np.correlate(np.pad(u, 2), np.asarray(t, float), mode="valid"))
    return out


# --------------------------------------------------------------------------- one layer
@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_layer_equals_its_formulas_on_any_nonnegative_input(c):
    got = placement.placement_layer(c)
    want = formula_layer(c)
    err = np.abs(got - want)
    assert err.max() <= ATOL_LAYER, f"worst {err.max():.3g} at sample {err.argmax()}, c = {c}"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=12))
def test_layer_is_the_correlate_network_with_the_typed_taps(c):
    got = placement.placement_layer(c)
    want = network_layer(c)
    assert np.abs(got - want).max() <= ATOL_LAYER, (got, want)


def test_layer_doubles_the_position_of_a_dirac_and_keeps_leading_axes():
    p = np.array([[0.0, 1.25], [2.5, 3.0]])            # (2, 2) positions on 4 samples
    c = hat(np.arange(4), p[..., None])                  # (2, 2, 4)
    out = placement.placement_layer(c)
    assert out.shape == (2, 2, 7)
    np.testing.assert_array_equal(out, hat(np.arange(7), 2 * p[..., None]))


# --------------------------------------------------------------------------- all layers
@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**53), st.integers(1, 10))
def test_construction_is_bit_exact_on_the_2_53_grid(k, L):
    a = k / 2**53
    layers = placement.construct_dirac(a, L)
    assert len(layers) == L
    for l, c in enumerate(layers, 1):
        assert c.shape == (2 ** (l - 1) + 1,)
        want = hat(np.arange(c.size), 2 ** (l - 1) * a)
        err = np.abs(c - want).max()
        assert err == EXACT, f"a = {a!r}, layer {l}: worst {err:.3g} at {np.abs(c - want).argmax()}"


def test_construction_is_bit_exact_for_numpy_random_codes():
    a = np.random.default_rng(0).random(500)
    for l, c in enumerate(placement.construct_dirac(a, 10), 1):
        want = hat(np.arange(c.shape[-1]), 2 ** (l - 1) * a[:, None])
        assert np.abs(c - want).max() == EXACT, f"layer {l}"


@settings(max_examples=80, deadline=None)
@given(st.floats(0.0, 1.0, allow_subnormal=True), st.integers(1, 10))
def test_construction_error_is_at_most_the_doubled_first_rounding(a, L):
    for l, c in enumerate(placement.construct_dirac(a, L), 1):
        want = hat(np.arange(c.size), 2 ** (l - 1) * a)
        bound = 2 ** (l - 1) * ULP1
        err = np.abs(c - want).max()
        assert err <= bound, f"a = {a!r}, layer {l}: {err:.3g} > 2^(l-1) 2^-53 = {bound:.3g}"


def test_integer_positions_give_geoshape_one_hots():
    L = 5
    k = np.arange(2 ** (L - 1) + 1)
    final = placement.construct_dirac(k / 2 ** (L - 1), L)[-1]
    np.testing.assert_array_equal(final, geoshape.dirac(k, k.size))


def test_construction_keeps_the_shape_of_the_codes():
    a = np.full((3, 2), 0.3)
    layers = placement.construct_dirac(a, 4)
    assert [c.shape for c in layers] == [(3, 2, 2), (3, 2, 3), (3, 2, 5), (3, 2, 9)]


# --------------------------------------------------------------------------- 2-D
@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(1, 6))
def test_2d_product_is_geoshape_dirac2d(ax, ay, L):
    img = placement.construct_dirac2d(ax, ay, L, "product")[-1]
    n = 2 ** (L - 1) + 1
    pos = [min(2 ** (L - 1) * ax, n - 1), min(2 ** (L - 1) * ay, n - 1)]
    want = geoshape.dirac2d(pos, n)[0]
    assert np.abs(img - want).max() <= ATOL_FLOAT32


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(1, 6))
def test_2d_pyramid_is_the_min_of_the_hats(ax, ay, L):
    layers = placement.construct_dirac2d(ax, ay, L, "pyramid")
    for l, img in enumerate(layers, 1):
        t = np.arange(img.shape[-1])
        want = np.minimum(hat(t, 2 ** (l - 1) * ay)[:, None], hat(t, 2 ** (l - 1) * ax)[None, :])
        assert np.abs(img - want).max() <= 4 * ULP1 * 2 ** (l - 1), f"layer {l}"


def test_2d_broadcasts_codes():
    out = placement.construct_dirac2d(np.array([0.0, 0.5]), 0.25, 2, "product")[-1]
    assert out.shape == (2, 3, 3)


def test_pyramid_gap_against_brute_force():
    g = placement.pyramid_product_gap(129)
    # brute force over one cell: the four pixels around (1 + dx, 1 + dy) on a 4 x 4 grid
    off = np.linspace(0, 1, 129)
    t = np.arange(4.0)
    worst, worst_c, masses = 0.0, 0.0, []
    for dx in off:
        hx = hat(t, 1 + dx)
        for dy in off:
            hy = hat(t, 1 + dy)
            pyr = np.minimum(hy[:, None], hx[None, :])
            prod = hy[:, None] * hx[None, :]
            worst = max(worst, np.abs(pyr - prod).max())
            m = pyr.sum()
            masses.append(m)
            cx, cy = (pyr.sum(0) * t).sum() / m, (pyr.sum(1) * t).sum() / m
            worst_c = max(worst_c, math.hypot(cx - 1 - dx, cy - 1 - dy))
    assert g.max_abs == pytest.approx(0.25, abs=1e-15) and worst == pytest.approx(0.25, abs=1e-15)
    assert g.worst_offset == (0.5, 0.5)
    assert g.mass == pytest.approx((min(masses), max(masses)), abs=1e-12)
    assert g.mass == pytest.approx((1.0, 2.0), abs=1e-12)
    assert g.max_centroid_error == pytest.approx(worst_c, abs=1e-12)
    # the supremum is sqrt(2) (3/2 - sqrt(2)), at offsets 1/sqrt(2) - 1/2 (docs/placement.md); a
    # grid of step 1/128 misses that point by < 1/256, which costs < 1e-4 at a smooth maximum
    sup = math.sqrt(2) * (1.5 - math.sqrt(2))
    assert sup - 1e-4 <= g.max_centroid_error <= sup + 1e-15


# --------------------------------------------------------------------------- proof
@pytest.fixture(scope="module")
def proof():
    return theory.prove_position_decoder()


def test_proof_holds_with_every_case(proof):
    assert proof.holds and bool(proof)
    assert len(proof.steps) == 34, [s.name for s in proof.steps]
    assert len(proof.cases) == 16                       # 8 intervals of a - k, even and odd
    failed = [s.name for s in proof.steps if not s.holds]
    assert not failed, failed
    text = str(proof)
    assert "HOLDS" in text and "p in [k + 1/2, k + 1)" in text and "FAIL" not in text
    assert proof.latex().startswith("\\begin{align*}")


def test_proof_layer_formulas_are_the_talk_formulas(proof):
    cm, c0, cp = (sp.Symbol(n, nonnegative=True) for n in ("c_km1", "c_k", "c_kp1"))
    assert proof.even.free_symbols <= {cm, c0, cp} and proof.odd.free_symbols <= {cm, c0, cp}
    rng = np.random.default_rng(1)
    for vals in rng.random((20, 3)):
        sub = dict(zip((cm, c0, cp), map(sp.Float, vals)))
        assert float(proof.even.subs(sub)) == pytest.approx(max(0.0, vals[1] - vals[0] - vals[2]), abs=1e-14)
        assert float(proof.odd.subs(sub)) == pytest.approx(2 * min(vals[1], vals[2]), abs=1e-14)


def test_a_wrong_mix_visibly_fails():
    # without channel D the odd samples are wrong wherever c_{k+1} > c_k
    bad = theory.prove_position_decoder(mix=(1, 1, -1, 0))
    assert not bad.holds
    failed = {s.name for s in bad.steps if not s.holds}
    assert failed == {"induction, sample 2k+1, p in [k + 1/2, k + 1)", "induction, sample 2k+1, p in [k + 1, k + 2)"}


def test_a_first_layer_without_bias_fails_the_base_case():
    bad = theory.prove_position_decoder(first_bias=(0, 0))
    assert {s.name for s in bad.steps if not s.holds} == {"base case, sample 0, 0 <= a < 1",
                                                         "base case, sample 0, a = 1"}


@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(taps="x"), TypeError, "taps"), (dict(taps=np.ones((4, 3))), ValueError, "taps"),
    (dict(mix=(1, 1, 1)), ValueError, "mix"), (dict(first_bias=(np.nan, 0)), ValueError, "first_bias"),
    (dict(first_weight=[[1, 2]]), ValueError, "first_weight")])
def test_proof_refuses_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        theory.prove_position_decoder(**kwargs)


# --------------------------------------------------------------------------- table
def test_table_n8_golden():
    # typed in from the construction by hand: position 3 is a = 3/8
    t = theory.placement_layer_table(8)
    assert t.n_layers == 4 and [c.shape[1] for c in t.layers] == [2, 3, 5, 9]
    assert t.column(3) == [[5 / 8, 3 / 8], [1 / 4, 3 / 4, 0], [0, 1 / 2, 1 / 2, 0, 0],
                           [0, 0, 0, 1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0]]
    assert t.column(5)[1] == [0, 3 / 4, 1 / 4]
    np.testing.assert_array_equal(t.output, np.eye(8))
    md = t.to_markdown().splitlines()
    assert len(md) == 2 + 8 and "layer 4 (9)" in md[0]
    assert "| 3 | 3/8 | [5/8, 3/8] | [1/4, 3/4, 0] |" in md[5]
    assert "position 3 (a = 3/8)" in str(t)


def test_table_subpixel_positions():
    t = theory.placement_layer_table(8, positions=[2.5])
    np.testing.assert_array_equal(t.output[0], hat(np.arange(8), 2.5))
    assert "layer 3 (Dirac at 5/4): [0, 3/4, 1/4, 0, 0]" in str(t)


@pytest.mark.parametrize("n, L", [(2, 1), (3, 2), (5, 3), (8, 4), (9, 4), (10, 5), (64, 7), (65, 7)])
def test_table_layer_count(n, L):
    t = theory.placement_layer_table(n, positions=[0.0])
    assert t.n_layers == L
    assert 2 ** (L - 1) + 1 >= n and (L == 1 or 2 ** (L - 2) + 1 < n)   # the fewest layers that reach n


# --------------------------------------------------------------------------- template gap
def disk_closed_form(d, r, sigma):
    """The blurred disk at distance d (docs/conventions.md): ncx2.cdf((r/sigma)^2, 2, (d/sigma)^2)."""
    return scipy.stats.ncx2.cdf((r / sigma) ** 2, 2, (np.asarray(d) / sigma) ** 2)


def test_disk_template_is_the_closed_form_at_integer_offsets():
    T = theory.disk_template(4.0, 1.0)
    h = math.ceil(4 + 6)
    assert T.shape == (2 * h + 1, 2 * h + 1)
    yy, xx = np.mgrid[-h:h + 1, -h:h + 1]
    assert np.abs(T - disk_closed_form(np.hypot(xx, yy), 4.0, 1.0)).max() <= ATOL_DISKS


def test_template_gap_against_an_independent_computation():
    size, r, s = 32, 4.0, 1.0
    g = theory.template_placement_gap(r, s, size=size, n_offsets=4)
    T = theory.disk_template(r, s)
    c0 = (size - 1) // 2
    yy, xx = np.mgrid[0:size, 0:size]
    for iy, ix in [(0, 0), (0, 2), (2, 2), (1, 3)]:
        dx, dy = g.offsets[ix], g.offsets[iy]
        dec = scipy.signal.convolve2d(geoshape.dirac2d([c0 + dx, c0 + dy], size)[0], T, mode="same")
        exact = disk_closed_form(np.hypot(xx - c0 - dx, yy - c0 - dy), r, s)
        assert g.max_abs[iy, ix] == pytest.approx(np.abs(dec - exact).max(), abs=ATOL_DISKS)
        rel = np.linalg.norm(dec - exact) / np.linalg.norm(exact)
        assert g.rel_l2[iy, ix] == pytest.approx(rel, abs=ATOL_DISKS)
    assert g.max_abs[0, 0] <= ATOL_DISKS                # an integer centre is placed exactly


def test_template_gap_is_within_the_interpolation_bound():
    # bilinear interpolation errs by at most (max|I_xx| + max|I_yy|) / 8 on a unit cell; for a
    # radial I(d) the Hessian's eigenvalues are I''(d) and I'(d)/d (closed form, differenced)
    r, s = 4.0, 1.0
    d = np.linspace(1e-3, r + 8 * s, 20001)
    f = disk_closed_form(d, r, s)
    f1 = np.gradient(f, d)
    f2 = np.gradient(f1, d)
    M = max(np.abs(f2).max(), np.abs(f1 / d).max())
    g = theory.template_placement_gap(r, s, size=32, n_offsets=4)
    assert g.worst_abs <= 2 * M / 8 + ATOL_DISKS, (g.worst_abs, M)
    assert g.worst_offset == (0.5, 0.5)


def test_template_gap_shrinks_with_the_blur():
    gaps = [theory.template_placement_gap(4.0, s, size=32, n_offsets=2).worst_abs for s in (0.5, 1.0, 2.0)]
    assert gaps[0] > gaps[1] > gaps[2] > 0


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, exc, word", [
    (lambda: placement.construct_dirac(1.5, 3), ValueError, "a must be <= 1"),
    (lambda: placement.construct_dirac(-0.1, 3), ValueError, "a must be >= 0"),
    (lambda: placement.construct_dirac(np.nan, 3), ValueError, "a must be finite"),
    (lambda: placement.construct_dirac("x", 3), TypeError, "a must"),
    (lambda: placement.construct_dirac(0.5, 0), ValueError, r"n_layers must be in \[1, 20\]"),
    (lambda: placement.construct_dirac(0.5, 2.0), TypeError, "n_layers"),
    (lambda: placement.construct_dirac(np.zeros(10**6), 20), ValueError, "memory budget"),
    (lambda: placement.construct_dirac2d(0.5, 2.0, 3), ValueError, "ay must be <= 1"),
    (lambda: placement.construct_dirac2d(0.5, 0.5, 3, "sum"), ValueError, "kind must be one of"),
    (lambda: placement.construct_dirac2d(np.zeros(2), np.zeros(3), 3), ValueError, "broadcast"),
    (lambda: placement.placement_layer("x"), TypeError, "c must"),
    (lambda: placement.placement_layer(np.zeros((2, 0))), ValueError, "c must have at least 1"),
    (lambda: placement.placement_layer_table(1), ValueError, r"n must be in \[2, 4097\]"),
    (lambda: placement.placement_layer_table(8, positions=[7.5]), ValueError, "positions must be <= 7"),
    (lambda: placement.pyramid_product_gap(1), ValueError, "n_offsets"),
    (lambda: placement.template_placement_gap(-1.0), ValueError, "radius"),
    (lambda: placement.template_placement_gap(4.0, 1e-5), ValueError, "sigma"),
    (lambda: placement.template_placement_gap(4.0, size=0), ValueError, "size"),
    (lambda: placement.template_placement_gap(4.0, size=1024, n_offsets=64), ValueError, "n_offsets, size"),
    (lambda: placement.disk_template(4.0, half_width=-1), ValueError, "half_width"),
    (lambda: placement.disk_template(4.0, half_width=4097), ValueError, r"half_width must be in \[0, 4096\]"),
])
def test_bad_input_names_the_argument_and_range(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
