"""Tests of theory.position: the talk's position encoder (eqs. 9-13, Table 1) and its proof.

References: the talk's Table 1 typed in by hand, a brute-force encoder built from
``numpy.correlate`` (one call per layer and per row) and an explicit layer matrix, and the
closed forms ``i + 1``, ``c^L (i + 1)``, ``a + 1``.
"""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import theory

# float64 holds every integer below 2^53 exactly; the encoder of a one-hot with integer taps
# only adds integers, so the comparison is exact.
EXACT = 0.0
# c-scaled and real-valued inputs: L <= 12 layers of 3-tap sums, a few ulp per layer.
RTOL_FLOAT = 1e-12

# Table 1 of the talk (n = 8), typed in column by column in the talk's order: the one moves
# from the right end (0-based i = 7) to the left end (i = 0). Each entry: (x, u1, u2, u3).
TALK_TABLE_1 = [
    ([0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 2], [0, 4], [8]),
    ([0, 0, 0, 0, 0, 0, 1, 0], [0, 0, 1, 1], [1, 3], [7]),
    ([0, 0, 0, 0, 0, 1, 0, 0], [0, 0, 2, 0], [2, 2], [6]),
    ([0, 0, 0, 0, 1, 0, 0, 0], [0, 1, 1, 0], [3, 1], [5]),
    ([0, 0, 0, 1, 0, 0, 0, 0], [0, 2, 0, 0], [4, 0], [4]),
    ([0, 0, 1, 0, 0, 0, 0, 0], [1, 1, 0, 0], [3, 0], [3]),
    ([0, 1, 0, 0, 0, 0, 0, 0], [2, 0, 0, 0], [2, 0], [2]),
    ([1, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0], [1, 0], [1]),
]


def brute_encode(x, phi=(1, 2, 1)):
    """Reference: per row, numpy.correlate with zero padding ('same'), keep odd indices."""
    x = np.asarray(x, dtype=np.float64)
    rows = x.reshape(-1, x.shape[-1])
    out = []
    for row in rows:
        while row.size > 1:
            row = np.correlate(row, np.asarray(phi, dtype=np.float64), mode="same")[1::2]
        out.append(row[0])
    return np.array(out).reshape(x.shape[:-1])


def layer_matrix(n, phi):
    """Reference: the (n/2, n) matrix of one layer, written from the talk's definition."""
    M = np.zeros((n // 2, n))
    for m in range(n // 2):
        for t, j in enumerate((2 * m, 2 * m + 1, 2 * m + 2)):
            if j < n:
                M[m, j] = phi[t]
    return M


# --------------------------------------------------------------------------- Table 1
def test_table1_golden():
    table = theory.position_layer_table(8)
    assert len(table.layers) == 4
    for column, i in zip(TALK_TABLE_1, range(7, -1, -1)):
        got = table.column(i)
        assert got == [list(v) for v in column], f"delta_{i}: got {got}, talk has {column}"


def test_table1_str_lists_talk_order():
    text = str(theory.position_layer_table(8))
    first = text.splitlines()[0]
    assert first.startswith("x") and "[0, 0, 0, 0, 0, 0, 0, 1]" in first.split("]")[0] + "]"
    assert "u(3)  [8] [7] [6] [5]" in text
    assert "u(3)  [4] [3] [2] [1]" in text


def test_table_all_layers_match_matrix_reference():
    n = 16
    table = theory.position_layer_table(n)
    x = np.eye(n)
    for l in range(1, 5):
        x = x @ layer_matrix(x.shape[1], (1, 2, 1)).T
        np.testing.assert_array_equal(table.layers[l], x)


@pytest.mark.parametrize("c", [10**6, -(10**7)])
def test_table_is_exact_beyond_int64(c):
    # Homogeneity of degree l in phi: with phi = c (1, 2, 1) every entry of u(l) is c^l times
    # the (1, 2, 1) table, whose entries are small ints; at n = 64 they pass 2^63 (c = 1e6:
    # delta_0 gives 64e36), where int64 arithmetic used to wrap to negative numbers.
    n = 64
    base = theory.position_layer_table(n)
    big = theory.position_layer_table(n, phi=(c, 2 * c, c))
    assert max(abs(int(v)) for v in big.layers[-1][:, 0]) >= 2**63
    for l in range(len(base.layers)):
        want = [[c**l * int(v) for v in row] for row in base.layers[l].tolist()]
        assert [[int(v) for v in row] for row in big.layers[l].tolist()] == want, f"layer {l}"
    # The float encoder agrees to its own rounding.
    enc = theory.position_encode(np.eye(n), phi=(c, 2 * c, c))
    assert np.allclose(enc, [float(v) for v in big.layers[-1][:, 0]], rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- encoder
@pytest.mark.parametrize("L", range(0, 11))
def test_every_dirac_gives_i_plus_1(L):
    n = 2 ** L
    got = theory.position_encode(np.eye(n))
    want = np.arange(n) + 1.0
    err = np.abs(got - want)
    assert err.max() <= EXACT, f"L={L}: worst i={err.argmax()} got {got[err.argmax()]}"


@settings(max_examples=60, deadline=None)
@given(L=st.integers(0, 12), data=st.data())
def test_dirac_exact_against_brute_force(L, data):
    n = 2 ** L
    i = data.draw(st.integers(0, n - 1))
    x = np.zeros(n)
    x[i] = 1.0
    got = theory.position_encode(x)
    assert got == i + 1
    assert got == brute_encode(x)


@settings(max_examples=40, deadline=None)
@given(L=st.integers(1, 12), c=st.floats(-3, 3).filter(lambda v: abs(v) > 0.1), data=st.data())
def test_c_scaling(L, c, data):
    n = 2 ** L
    i = data.draw(st.integers(0, n - 1))
    x = np.zeros(n)
    x[i] = 1.0
    got = theory.position_encode(x, phi=(c, 2 * c, c))
    want = c ** L * (i + 1)
    assert got == pytest.approx(want, rel=RTOL_FLOAT, abs=0.0)


@settings(max_examples=40, deadline=None)
@given(L=st.integers(1, 8), seed=st.integers(0, 2 ** 32 - 1))
def test_linearity_and_general_phi_against_matrix(L, seed):
    rng = np.random.default_rng(seed)
    n = 2 ** L
    phi = rng.normal(size=3)
    x, y = rng.normal(size=(2, n))
    a, b = rng.normal(size=2)
    ref = np.eye(1)
    for l in range(1, L + 1):  # E = M_(last) ... M_(first): the 1x2 layer comes first here
        ref = ref @ layer_matrix(2 ** l, phi)
    ex, ey = theory.position_encode(x, phi), theory.position_encode(y, phi)
    np.testing.assert_allclose(ex, (ref @ x)[0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(theory.position_encode(a * x + b * y, phi), a * ex + b * ey,
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(theory.position_encode(x, phi), brute_encode(x, phi), rtol=1e-10, atol=1e-10)


@settings(max_examples=50, deadline=None)
@given(L=st.integers(1, 12), data=st.data())
def test_continuous_dirac_eq13(L, data):
    n = 2 ** L
    a = data.draw(st.floats(0.0, n - 1.0))
    x = np.zeros(n)
    lo, hi = int(np.floor(a)), int(np.ceil(a))
    x[lo] = 1 - (a - lo)       # eq. (13), written out by hand
    x[hi] = 1 - (hi - a)
    assert theory.position_encode(x) == pytest.approx(a + 1, rel=RTOL_FLOAT, abs=1e-12)


def test_batch_shape_and_position_layer():
    x = np.zeros((3, 5, 8))
    x[..., 2] = 1
    assert theory.position_encode(x).shape == (3, 5)
    np.testing.assert_array_equal(theory.position_layer(np.eye(8)[2]), [1, 1, 0, 0])  # Table 1


# --------------------------------------------------------------------------- 2-D
@settings(max_examples=30, deadline=None)
@given(L=st.integers(0, 6), data=st.data())
def test_2d_dirac(L, data):
    n = 2 ** L
    i, j = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
    img = np.zeros((n, n))
    img[i, j] = 1.0
    got = theory.position_encode2d(img)
    np.testing.assert_array_equal(got, [j + 1, i + 1])  # (x, y) = (column, row)


def test_2d_matches_marginal_reference_and_bilinear_dirac():
    rng = np.random.default_rng(3)
    imgs = rng.normal(size=(4, 16, 16))
    got = theory.position_encode2d(imgs)
    want = np.stack([brute_encode(imgs.sum(axis=1)), brute_encode(imgs.sum(axis=2))], axis=-1)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-10)
    x, y = 5.25, 9.6
    img = np.zeros((16, 16))
    for r, wr in ((9, 0.4), (10, 0.6)):
        for c, wc in ((5, 0.75), (6, 0.25)):
            img[r, c] = wr * wc
    np.testing.assert_allclose(theory.position_encode2d(img), [x + 1, y + 1], rtol=RTOL_FLOAT)


# --------------------------------------------------------------------------- proof
def test_proof_holds_and_is_readable():
    proof = theory.prove_position_encoder()
    assert proof.holds, str(proof)
    assert len(proof.steps) == 7 and all(s.holds for s in proof.steps)
    names = [s.name for s in proof.steps]
    assert any("2k+1" in n for n in names) and any("i = 2k" == n.split(", ")[1] for n in names if ", " in n)
    text = str(proof)
    assert "HOLDS" in text and "a at the end" in text
    tex = proof.latex()
    assert tex.startswith("\\begin{align*}") and tex.count("\\checkmark") == 7


def test_proof_c_scaling_and_talk_indexing():
    c = sp.Symbol("c", nonzero=True)
    assert theory.prove_position_encoder((c, 2 * c, c), lambda L, i: c ** L * (i + 1)).holds
    # the talk's own statement E_L(delta_a) = 2^L - a with a = 2^L - 1 - i
    assert theory.prove_position_encoder(claim=lambda L, i: 2 ** L - (2 ** L - 1 - i)).holds


@pytest.mark.parametrize("phi, claim, failing", [
    ((1, 3, 1), None, "induction, i = 2k+1"),
    ((1, 2, 1), lambda L, i: i + 2, "base case delta_0"),
    ((1, 2, 2), None, "induction, i = 2k"),
    ((1, 2, 1), lambda L, i: 2 ** L - i, "base case delta_0"),
])
def test_wrong_claims_fail(phi, claim, failing):
    proof = theory.prove_position_encoder(phi, claim)
    assert not proof.holds, str(proof)
    assert not bool(proof)
    assert failing in [s.name for s in proof.steps if not s.holds]
    assert "FAILS" in str(proof)


def test_c_scaled_claim_with_unscaled_filter_fails():
    c = sp.Symbol("c", positive=True)
    assert not theory.prove_position_encoder((1, 2, 1), lambda L, i: c ** L * (i + 1)).holds


def test_filter_is_unique():
    sol = theory.position_filter_conditions()
    q = sp.symbols("phi0 phi1 phi2")
    assert {str(k): v for k, v in sol.items()} == {"phi0": 1, "phi1": 2, "phi2": 1}
    assert all(s in sol for s in q)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, match", [
    (lambda: theory.position_encode(np.zeros(6)), "power of two"),
    (lambda: theory.position_encode(np.array([0.0, np.nan])), "x must be finite"),
    (lambda: theory.position_encode(np.zeros(4), phi=(1, 2)), "phi"),
    (lambda: theory.position_encode(np.zeros(4), phi=(1, np.inf, 1)), "phi"),
    (lambda: theory.position_encode(np.zeros((4, 0))), "power of two"),
    (lambda: theory.position_encode2d(np.zeros((4, 8))), "square"),
    (lambda: theory.position_encode2d(np.zeros((6, 6))), "power of two"),
    (lambda: theory.position_layer(np.zeros(1)), "length >= 2"),
    (lambda: theory.position_layer_table(6), "n must have length a power of two"),
    (lambda: theory.position_layer_table(8, phi=(1, 2)), "phi"),
    (lambda: theory.prove_position_encoder(phi=(1, 2)), "phi"),
])
def test_bad_input_value_error(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_bad_input_types():
    with pytest.raises(TypeError, match="x must hold real numbers"):
        theory.position_encode(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="n must be an int"):
        theory.position_layer_table(8.0)
    with pytest.raises(TypeError, match="claim"):
        theory.prove_position_encoder(claim="i + 1")


_BAD_PHI = [
    (None, TypeError, "phi must be a sequence of 3 taps"),
    (3, TypeError, "phi must be a sequence of 3 taps"),
    (2.5, TypeError, "phi must be a sequence of 3 taps"),
    ("abc", TypeError, "phi must be a sequence of 3 taps"),
    ({1: 2}, TypeError, "phi must be a sequence of 3 taps"),
    ((1, 2, None), TypeError, "phi taps must be numbers or sympy expressions"),
    ((1, 2, "x y"), TypeError, "phi taps must be numbers or sympy expressions"),
    ((1, 2, [1]), TypeError, "phi taps must be numbers or sympy expressions"),
    ((1, 2, True), TypeError, "phi taps must be numbers or sympy expressions"),
    ((1, 2, (1, 2)), TypeError, "phi taps must be numbers or sympy expressions"),
    ((1, 2), ValueError, "phi must have exactly 3 taps"),
    (np.ones((3, 1)), ValueError, "phi must be a 1-D sequence of 3 taps"),
    ((1, np.inf, 1), ValueError, "phi must be finite"),
    ((1, np.float32("nan"), 1), ValueError, "phi must be finite"),
]


@pytest.mark.parametrize("phi, err, match", _BAD_PHI)
def test_proof_refuses_a_bad_filter_naming_phi(phi, err, match):
    with pytest.raises(err, match=match):
        theory.prove_position_encoder(phi)


_BAD_CLAIMS = [
    (3, "claim must be a callable"),
    ("i + 1", "claim must be a callable"),
    (lambda L, i: None, "claim must return a number or a sympy expression"),
    (lambda L, i: [i], "claim must return a number or a sympy expression"),
    (lambda L, i: "i + 1", "claim must return a number or a sympy expression"),
    (lambda L, i: i > 1, "claim must return a number or a sympy expression"),
    (lambda L: L, "claim must be a callable .* raised TypeError"),
    (lambda L, i: i + None, "claim must be a callable .* raised TypeError"),
]


@pytest.mark.parametrize("claim, match", _BAD_CLAIMS)
def test_proof_functions_refuse_a_bad_claim_naming_it(claim, match):
    with pytest.raises(TypeError, match=match):
        theory.prove_position_encoder(claim=claim)
    with pytest.raises(TypeError, match=match):
        theory.position_filter_conditions(claim)


def test_proof_takes_filters_of_every_sequence_kind():
    assert theory.prove_position_encoder(np.array([1, 2, 1])).holds
    assert theory.prove_position_encoder([1.0, 2.0, 1.0]).holds
    assert theory.prove_position_encoder(sp.Tuple(1, 2, 1)).holds
