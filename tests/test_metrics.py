"""Known-answer tests of validation.metrics against closed forms and independent references
(numpy/scipy, brute-force counting)."""

import warnings
from collections import Counter

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from validation import metrics as M

RTOL = 1e-12  # float64 closed forms: a few ulp times the problem size
N_SAMPLES = 5000  # large enough that histogram bias in MIG stays below ~2 %
SCORE_HIGH = 0.95  # a perfect code: 1 minus estimator bias (MIG 20x20 bins, n=5000: ~0.985)
SCORE_LOW = 0.05  # a code with no separated information (exactly 0 in the limit)


@pytest.fixture(scope="module")
def factors():
    return np.random.default_rng(1).uniform(size=(N_SAMPLES, 2))


# --------------------------------------------------------------------------------------------
# generic


def test_relative_l2_and_cosine_closed_forms():
    b = np.array([3.0, 4.0])
    assert M.relative_l2(b + np.array([0.0, 0.5]), b) == pytest.approx(0.1, rel=RTOL)
    assert M.cosine([1.0, 0.0], [1.0, 1.0]) == pytest.approx(np.sqrt(0.5), rel=RTOL)
    assert M.cosine([[1.0, 2.0]], [[-2.0, -4.0]]) == pytest.approx(-1.0, rel=RTOL)


def test_generic_bad_input():
    with pytest.raises(ValueError, match="b .*zeros"):
        M.relative_l2([1.0], [0.0])
    with pytest.raises(ValueError, match="same shape"):
        M.relative_l2([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="non-zero"):
        M.cosine([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        M.pearson([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(TypeError, match="x must be"):
        M.pearson("ab", [1.0, 2.0])
    with pytest.raises(ValueError, match="same number of rows"):
        M.pearson([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        M.pearson([1.0], [1.0])
    with pytest.raises(ValueError, match="y_true must not be constant"):
        M.r_squared([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(3, 50))
def test_pearson_matches_scipy(seed, n):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=n), rng.normal(size=n)
    y = y + rng.uniform(-2, 2) * x
    ref = scipy.stats.pearsonr(x, y).statistic
    assert M.pearson(x, y) == pytest.approx(ref, abs=1e-10)
    # 1-D affine fit: R^2 = Pearson^2
    assert M.r_squared(x, y) == pytest.approx(ref**2, abs=1e-10)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(3, 40))
def test_spearman_matches_scipy_with_ties(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, size=n).astype(float)  # many ties
    y = x + rng.normal(size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on a constant x
        ref = scipy.stats.spearmanr(x, y).statistic
    expected = 0.0 if np.isnan(ref) else ref  # constant x: scipy gives nan, ours 0
    assert M.spearman(x, y) == pytest.approx(expected, abs=1e-10)


def test_spearman_ignores_monotone_maps():
    x = np.random.default_rng(0).normal(size=200)
    assert M.spearman(x, np.exp(3 * x)) == pytest.approx(1.0)
    assert M.pearson(x, np.exp(3 * x)) < 0.9


def test_pearson_constant_is_zero():
    assert M.pearson([2.0, 2.0, 2.0], [1.0, 2.0, 5.0]) == 0.0


def test_r_squared_exact_and_multivariate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2))
    assert M.r_squared(x, 3 * x[:, 0] - x[:, 1] + 7) == pytest.approx(1.0, abs=1e-12)
    # y = x0 + e with independent e of equal variance: population R^2 = 1/2
    big = rng.normal(size=(200_000, 2))
    assert M.r_squared(big[:, :1], big[:, 0] + big[:, 1]) == pytest.approx(0.5, abs=0.01)
    assert M.coefficient_of_determination([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]) == pytest.approx(0.5)


def test_monotonic():
    r = np.linspace(-1, 1, 101)
    np.random.default_rng(0).shuffle(r)
    assert M.is_monotonic(r**3, r) and M.monotonic_fraction(r**3, r) == 1.0
    assert M.is_monotonic(-np.exp(r), r)
    # |r| goes down for 50 steps then up for 50: dominant direction 50/100
    assert M.monotonic_fraction(np.abs(r), r) == pytest.approx(0.5)
    assert not M.is_monotonic(np.abs(r), r)
    assert M.is_monotonic(np.abs(r), r, tol=1.0)
    # ties in r are averaged: z = [0, 2] at r = 0 (mean 1), z = 3 at r = 1
    assert M.is_monotonic([0.0, 2.0, 3.0], [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="two distinct"):
        M.monotonic_fraction([1.0, 2.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="tol"):
        M.is_monotonic([1.0, 2.0], [0.0, 1.0], tol=-1)


# --------------------------------------------------------------------------------------------
# latent statistics and ellipse protocol


def test_covariance_and_correlation_match_numpy():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 3))
    np.testing.assert_allclose(M.latent_covariance(z), np.cov(z.T, bias=True), rtol=1e-10)
    np.testing.assert_allclose(M.latent_correlation(z), np.corrcoef(z.T), rtol=1e-10, atol=1e-14)
    z[:, 1] = 5.0
    c = M.latent_correlation(z)
    assert c[1, 1] == 1.0 and c[0, 1] == 0.0 and c[1, 2] == 0.0


def _band(s, offset_fn):
    img = np.zeros((s, s))
    for i in range(s):
        for j in range(s):
            img[i, j] = 1.0 if offset_fn(i, j) else 0.0
    return img


def test_ellipse_measures_hand_images():
    s = 8
    full = np.ones((s, s))
    # horizontal bar over rows 3 and 4 (the two middle rows of an 8-image), all columns
    bar = _band(s, lambda i, j: i in (3, 4))
    # main-diagonal band |i - j| <= 1: trace 8, anti-trace = cells with |2i - 7| <= 1 -> 2
    diag = _band(s, lambda i, j: abs(i - j) <= 1)
    m = M.ellipse_measures(np.stack([full, bar + 0.5 * full, diag]))
    np.testing.assert_allclose(m["area"], [64.0, 16 + 32, 8 + 7 + 7], rtol=RTOL)
    # bar+0.5: middle rows sum 2*8*1.5 = 24; middle columns 2*(2*1.5 + 6*0.5) = 12
    np.testing.assert_allclose(m["hv_ratio"], [1.0, 2.0, 1.0], rtol=RTOL)
    np.testing.assert_allclose(m["diag_ratio"], [1.0, 1.0, 8.0 / 2.0], rtol=RTOL)
    # odd size: the single middle row/column
    odd = _band(5, lambda i, j: i == 2 or j == 2)
    odd[2, :] *= 3.0
    np.testing.assert_allclose(M.ellipse_measures(odd[None])["hv_ratio"], [15.0 / 7.0], rtol=RTOL)
    # (n, 1, s, s) accepted
    np.testing.assert_allclose(M.ellipse_measures(full[None, None])["area"], [64.0])


def test_ellipse_measures_bad_input():
    with pytest.raises(ValueError, match="square"):
        M.ellipse_measures(np.ones((2, 4, 5)))
    with pytest.raises(ValueError, match="middle column"):
        M.ellipse_measures(_band(8, lambda i, j: j == 0)[None])
    with pytest.raises(ValueError, match="anti-diagonal"):
        M.ellipse_measures(np.eye(8)[None])
    with pytest.raises(ValueError, match=r"\(n, 1, s, s\)"):
        M.ellipse_measures(np.ones((1, 2, 4, 4)))


def test_abs_correlation_table_and_assignment():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(size=500)
    z = np.column_stack([b, -a, rng.normal(size=500)])
    names, t = M.abs_correlation_table(z, {"a": a, "b": b})
    assert names == ("a", "b")
    assert t[0, 1] == pytest.approx(1.0) and t[1, 0] == pytest.approx(1.0)
    cols, on, off = M.best_assignment(t)
    assert list(cols) == [1, 0]
    assert on == pytest.approx(1.0)
    # largest leak into the chosen components: |corr(a, b)| for independent samples
    assert off == pytest.approx(abs(scipy.stats.pearsonr(a, b).statistic), abs=1e-10)
    with pytest.raises(ValueError, match="rows <= columns"):
        M.best_assignment(np.ones((3, 2)))
    with pytest.raises(TypeError, match="measures"):
        M.abs_correlation_table(z, [])


def test_off_target_excess_is_zero_for_codes_equal_to_correlated_measures():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(2000, 3))
    # three measures with strong mutual correlations (0.6, 0.36, ...), as area and the ratios
    m = np.column_stack([base[:, 0], 0.6 * base[:, 0] + 0.8 * base[:, 1], base[:, 2] + 0.5 * base[:, 1]])
    measures = {"m1": m[:, 0], "m2": m[:, 1], "m3": m[:, 2]}
    mc = np.corrcoef(m, rowvar=False)
    z = m[:, [2, 0, 1]]  # component 0 is m3, 1 is m1, 2 is m2
    _, t = M.abs_correlation_table(z, measures)
    cols = np.array([1, 2, 0])
    ex = M.off_target_excess(t, cols, mc)
    assert np.isnan(ex[[0, 1, 2], cols]).all()
    off = ~np.isnan(ex)
    assert np.abs(ex[off]).max() < 1e-12  # raw off-target is up to |0.6|, all of it the data's
    assert t[off].max() == pytest.approx(abs(mc[0, 1]), abs=1e-12)
    # a component mixing two measures shows a real excess
    z2 = z.copy()
    z2[:, 1] = m[:, 0] + m[:, 2]
    _, t2 = M.abs_correlation_table(z2, measures)
    assert np.nanmax(M.off_target_excess(t2, cols, mc)) > 0.3
    with pytest.raises(ValueError, match="distinct"):
        M.off_target_excess(t, np.array([0, 0, 1]), mc)
    with pytest.raises(ValueError, match="measure_corr"):
        M.off_target_excess(t, cols, mc[:2, :2])


# --------------------------------------------------------------------------------------------
# information theory


def _mi_bruteforce(a, b):
    n = len(a)
    pab, pa, pb = Counter(zip(a, b)), Counter(a), Counter(b)
    return sum(c / n * np.log((c / n) / (pa[x] / n * pb[y] / n)) for (x, y), c in pab.items())


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_mutual_info_matches_bruteforce(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, size=60)
    b = (a + rng.integers(0, 3, size=60)) % 5
    assert M.mutual_info_discrete(a, b) == pytest.approx(_mi_bruteforce(list(a), list(b)), abs=1e-12)
    assert M.mutual_info_discrete(a, a) == pytest.approx(M.entropy_discrete(a), abs=1e-12)


def test_entropy_closed_form():
    assert M.entropy_discrete(np.arange(8)) == pytest.approx(np.log(8), rel=RTOL)
    assert M.entropy_discrete([3, 3, 3]) == 0.0


def _histogram_labels(x, n_bins):
    """disentanglement_lib's _histogram_discretize of one column, shifted to start at 0."""
    return np.digitize(x, np.histogram(x, n_bins)[1][:-1]) - 1


def test_discretize_equal_width():
    x = np.array([0.0, 0.49, 0.5, 1.0])
    np.testing.assert_array_equal(M.discretize(x, 2)[:, 0], [0, 0, 1, 1])
    const = M.discretize(np.ones(3), 4)[:, 0]
    assert np.unique(const).size == 1
    np.testing.assert_array_equal(const, _histogram_labels(np.ones(3), 4))
    with pytest.raises(ValueError, match="n_bins"):
        M.discretize(x, 1)


@pytest.mark.parametrize("step, n_bins", [(3, 3), (3, 4), (5, 5), (10, 5), (10, 10), (11, 11), (7, 20)])
def test_discretize_grid_lands_in_numpys_bins(step, n_bins):
    # codes on a grid lie on bin edges: numpy's rounded edges decide their bin. With step 1/5
    # and 5 bins, 0.6 < linspace(0, 1, 6)[3] = 0.6000000000000001, so 0.6 is in bin 2, where
    # floor(0.6 * 5) would put it in bin 3 (bin 3 stays empty: 0.8 opens bin 4).
    x = np.arange(step + 1) / step
    want = _histogram_labels(x, n_bins)
    np.testing.assert_array_equal(M.discretize(x, n_bins)[:, 0], want)
    z = np.column_stack([x, 2.0 * x - 1.0])
    np.testing.assert_array_equal(M.discretize(z, n_bins), np.column_stack([want, _histogram_labels(z[:, 1], n_bins)]))


def test_discretize_grid_known_bins():
    np.testing.assert_array_equal(M.discretize([0.0, 1 / 3, 2 / 3, 1.0], 3)[:, 0], [0, 1, 2, 2])
    np.testing.assert_array_equal(M.discretize([0.0, 1 / 3, 2 / 3, 1.0], 4)[:, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(M.discretize(np.arange(6) / 5, 5)[:, 0], [0, 1, 2, 2, 4, 4])


# --------------------------------------------------------------------------------------------
# disentanglement scores: the disentanglement_lib known answers


def _codes(kind, f, rng):
    if kind == "identity":
        return f.copy()
    if kind == "constant":
        return np.zeros_like(f)
    if kind == "duplicated":
        return np.column_stack([f[:, 0], f[:, 0], f[:, 1], f[:, 1]])
    if kind == "rotated":  # 45 degree mix: every code carries both factors equally
        return np.column_stack([f[:, 0] + f[:, 1], f[:, 0] - f[:, 1]])
    if kind == "noise":
        return rng.normal(size=f.shape)
    raise AssertionError(kind)


def test_mig_known_answers(factors):
    # continuous factors: discretised into 20 histogram bins as the codes (factor_bins)
    rng = np.random.default_rng(5)
    fb = dict(factor_bins=M.N_BINS)
    assert M.mig(_codes("identity", factors, rng), factors, **fb) > SCORE_HIGH
    assert M.mig(_codes("constant", factors, rng), factors, **fb) == 0.0
    assert M.mig(_codes("duplicated", factors, rng), factors, **fb) < SCORE_LOW
    assert M.mig(_codes("rotated", factors, rng), factors, **fb) < SCORE_LOW
    assert M.mig(_codes("noise", factors, rng), factors, **fb) < SCORE_LOW
    # a monotone reparametrisation keeps the code informative but MIG is histogram-bound
    assert 0.3 < M.mig(factors**3, factors, **fb) < M.mig(factors, factors, **fb)
    # as raw labels a continuous factor has one value per sample and so determines every
    # code's bin: each code has the same MI with it, log(20), and the gap vanishes; a warning
    # names the option that discretises it
    with pytest.warns(UserWarning, match="factor_bins"):
        mi = M.mutual_info_matrix(factors, factors)
    np.testing.assert_allclose(mi, np.log(M.N_BINS), rtol=0.01)
    with pytest.warns(UserWarning, match=r"factors column \d has 5000 distinct values"):
        assert M.mig(factors, factors) < 1e-3


def _grid_factors(n=4000, levels=(40, 32, 3), seed=2):
    """Discrete factors as dSprites has them: 40 positions, 32 orientations, 3 shapes."""
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.integers(0, k, n) for k in levels]).astype(float)


def test_mig_discrete_factors_are_labels_as_given():
    f = _grid_factors()
    # 40 and 32 values stay 40 and 32 labels (no merging into 20 bins): H(f) = the entropy of
    # the raw values
    h = [M.entropy_discrete(f[:, j]) for j in range(3)]
    assert h[0] > np.log(39) and h[1] > np.log(31)
    mi = M.mutual_info_matrix(f, f, n_bins=40)
    np.testing.assert_allclose(np.diag(mi), h, rtol=1e-12)
    # identity code ~1 (its own MI is H exactly, minus the plug-in MI of the independent
    # other codes, ~0.01 nats here), constant code 0
    assert M.mig(f, f, n_bins=40) > SCORE_HIGH
    assert M.mig(np.zeros_like(f), f) == 0.0
    # with 20 code bins the 40-valued factor keeps its 40 labels: the code pairs its values,
    # so MI = log(20) against H = log(40); factor_bins=20 would merge them too and score ~1
    raw = M.mutual_info_matrix(f[:, :1], f[:, :1])[0, 0]
    assert raw == pytest.approx(h[0] - np.log(2), abs=0.01)
    assert M.mig(f[:, :1], f[:, :1]) == pytest.approx(raw / h[0], rel=1e-12)
    assert M.mig(f[:, :1], f[:, :1], factor_bins=20) > 0.99
    # factors with at most factor_bins values keep their labels under the option too
    assert M.mig(f[:, 2:], f[:, 2:], factor_bins=20) == pytest.approx(1.0, rel=1e-12)


def test_factor_bins_bad_input(factors):
    for bad, err in ((1, ValueError), (0, ValueError), (2.5, TypeError), (True, TypeError), ("20", TypeError)):
        with pytest.raises(err, match="factor_bins"):
            M.mig(factors, factors, factor_bins=bad)
        with pytest.raises(err, match="factor_bins"):
            M.mutual_info_matrix(factors, factors, factor_bins=bad)
        with pytest.raises(err, match="factor_bins"):
            M.dci_gbt(factors, factors, factor_bins=bad)


def test_sap_known_answers(factors):
    rng = np.random.default_rng(5)
    assert M.sap(_codes("identity", factors, rng), factors) > SCORE_HIGH
    assert M.sap(_codes("constant", factors, rng), factors) == 0.0
    assert M.sap(_codes("duplicated", factors, rng), factors) < SCORE_LOW
    assert M.sap(_codes("rotated", factors, rng), factors) < SCORE_LOW


def test_dci_known_answers(factors):
    rng = np.random.default_rng(5)
    ident = M.dci(_codes("identity", factors, rng), factors)
    assert min(ident.disentanglement, ident.completeness, ident.informativeness) > SCORE_HIGH
    const = M.dci(_codes("constant", factors, rng), factors)
    assert (const.disentanglement, const.completeness, const.informativeness) == (0.0, 0.0, 0.0)
    # duplicated: each code serves one factor (D ~ 1) but each factor is split evenly over two
    # of four codes, so C = 1 - log(2)/log(4) = 1/2
    dup = M.dci(_codes("duplicated", factors, rng), factors)
    assert dup.disentanglement > SCORE_HIGH
    assert dup.completeness == pytest.approx(0.5, abs=0.01)
    # rotated: the information is all there (I ~ 1) but spread evenly: D = C = 0
    rot = M.dci(_codes("rotated", factors, rng), factors)
    assert rot.informativeness > SCORE_HIGH
    assert rot.disentanglement < SCORE_LOW and rot.completeness < SCORE_LOW
    noise = M.dci(_codes("noise", factors, rng), factors)
    assert noise.informativeness < SCORE_LOW
    # unlike MIG, the additive model sees through a monotone reparametrisation
    cube = M.dci(factors**3, factors)
    assert min(cube.disentanglement, cube.completeness) > SCORE_HIGH


def test_dci_same_seed_same_numbers(factors):
    z = factors + np.random.default_rng(0).normal(scale=0.1, size=factors.shape)
    a, b = M.dci(z, factors, rng=7), M.dci(z, factors, rng=7)
    assert a[:3] == b[:3]


def test_disentanglement_bad_input(factors):
    with pytest.raises(ValueError, match="same number of rows"):
        M.mig(factors[:10], factors)
    with pytest.raises(ValueError, match="constant"):
        M.mig(factors, np.column_stack([factors[:, 0], np.ones(len(factors))]), factor_bins=M.N_BINS)
    with pytest.raises(ValueError, match="test_fraction"):
        M.dci(factors, factors, test_fraction=1.5)
    with pytest.raises(TypeError, match="rng"):
        M.dci(factors, factors, rng="x")
    with pytest.raises(ValueError, match="constant"):
        M.dci(factors, np.ones((len(factors), 1)))


# --------------------------------------------------------------------------------------------
# ordering


def test_pca_errors_against_eigh_projection():
    rng = np.random.default_rng(0)
    # 3 patterns with decreasing variance plus small noise
    pats = rng.normal(size=(3, 16))
    x = (rng.normal(size=(400, 3)) * [3.0, 2.0, 1.0]) @ pats + 0.01 * rng.normal(size=(400, 16))
    errs = M.pca_errors(x.reshape(400, 4, 4), 3)
    xc = x - x.mean(0)
    w, v = np.linalg.eigh(xc.T @ xc)
    v = v[:, ::-1]
    for k in range(4):
        rec = xc @ v[:, :k] @ v[:, :k].T
        assert errs[k] == pytest.approx(np.mean((xc - rec) ** 2), rel=1e-9)
    shares = M.explained_variance_shares(errs[1:], errs[0])
    assert np.all(np.diff(shares) < 0) and shares.sum() == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match="k_max"):
        M.pca_errors(x, 17)


def test_array_arguments_of_wrong_kind_shape_or_size_are_named():
    with pytest.raises(ValueError, match="images needs at least 2 samples"):
        M.pca_errors(np.zeros((0, 4, 4)), 1)
    with pytest.raises(ValueError, match="images must not be empty"):
        M.pca_errors(np.zeros((5, 0, 0)), 0)
    with pytest.raises(TypeError, match="w must be a real number or an array"):
        M.filter_scale("abc")
    with pytest.raises(TypeError, match="w must be a real number or an array"):
        M.filter_cosine(None)
    with pytest.raises(ValueError, match="w must have at most 2"):
        M.filter_scale(np.ones((3, 3, 3)), np.ones((3, 3, 3)))
    with pytest.raises(ValueError, match="w must have at least 1"):
        M.filter_scale(2.0)
    with pytest.raises(TypeError, match="template must be a real number or an array"):
        M.filter_scale([1.0, 2.0, 1.0], "phi")
    with pytest.raises(TypeError, match="mask must be a real number or an array"):
        M.filter_cosine([1.0, 2.0, 1.0], mask="abc")
    with pytest.raises(TypeError, match="kernels must be a real number or an array"):
        M.match_channels("x")
    with pytest.raises(ValueError, match="kernels must be finite"):
        M.match_channels(np.full((2, 3, 3), np.nan))
    with pytest.raises(TypeError, match="a must hold labels of one kind"):
        M.entropy_discrete([None, 1])
    with pytest.raises(TypeError, match="b must hold labels of one kind"):
        M.mutual_info_discrete([1, 2], [None, 1])
    assert M.entropy_discrete(["a", "b"]) == pytest.approx(np.log(2))
    assert M.identifiable_taps(np.int64(4)).tolist() == [True, True, True]


def test_explained_variance_shares_closed_form():
    np.testing.assert_allclose(M.explained_variance_shares([6.0, 3.0, 2.0], 10.0), [0.4, 0.3, 0.1])
    with pytest.raises(ValueError, match="total_error"):
        M.explained_variance_shares([1.0], 0.0)


def test_abs_correlation_table_spearman():
    x = np.linspace(0.1, 3, 50)
    _, t = M.abs_correlation_table(np.column_stack([np.exp(4 * x)]), {"x": x}, method="spearman")
    assert t[0, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="method"):
        M.abs_correlation_table(x, {"x": x}, method="kendall")


# --------------------------------------------------------------------------------------------
# the field's estimators: disentanglement_lib's DCI (gradient-boosted trees) and MIG recipe


def _factors(n=300, k=3, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, k))


def test_dci_gbt_known_answers():
    f = _factors()
    ident = M.dci_gbt(f, f, factor_bins=5)
    assert ident.disentanglement > 0.95 and ident.completeness > 0.95 and ident.informativeness > 0.9
    perm = M.dci_gbt(f[:, [2, 0, 1]], f, factor_bins=5)
    # the same code in another order is as good (tie-breaking inside the trees may differ)
    assert abs(perm.disentanglement - ident.disentanglement) < 0.02
    assert abs(perm.completeness - ident.completeness) < 0.02
    np.testing.assert_allclose(perm.importance[[1, 2, 0]], ident.importance, atol=0.05)
    const = M.dci_gbt(np.zeros_like(f), f, factor_bins=5)
    assert const.disentanglement < 1e-6 and const.completeness < 1e-6
    dup = M.dci_gbt(np.repeat(f[:, :1], 3, axis=1), f, factor_bins=5)
    assert dup.disentanglement < 0.1
    with pytest.raises(ValueError, match="constant"):
        M.dci_gbt(f, np.c_[f[:, :2], np.ones(len(f))], factor_bins=5)
    for kwargs, match in ((dict(test_fraction=1.0), "test_fraction"), (dict(test_fraction=True), "test_fraction"),
                          (dict(factor_bins=1), "factor_bins"), (dict(rng=-1), "rng")):
        with pytest.raises((ValueError, TypeError), match=match):
            M.dci_gbt(f, f, **kwargs)
    with pytest.raises(ValueError, match="codes"):
        M.dci_gbt(f[:10], f, factor_bins=5)


def test_mig_is_disentanglement_libs_recipe():
    # disentanglement_lib: histogram_discretize = np.digitize(x, np.histogram(x, bins)[1][:-1]),
    # MI by sklearn.metrics.mutual_info_score, entropy of the discrete factor. The factors here
    # are continuous: factor_bins=20 discretises them the way the codes are.
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(3)
    f = rng.uniform(size=(2000, 2))
    z = np.c_[f[:, 0] + 0.05 * rng.normal(size=2000), f[:, 1] ** 2, rng.normal(size=2000)]

    def digitize(x):
        return np.digitize(x, np.histogram(x, 20)[1][:-1])

    zd = np.stack([digitize(z[:, i]) for i in range(3)], axis=1)
    fd = np.stack([digitize(f[:, j]) for j in range(2)], axis=1)
    mi = np.array([[mutual_info_score(zd[:, i], fd[:, j]) for j in range(2)] for i in range(3)])
    h = np.array([mutual_info_score(fd[:, j], fd[:, j]) for j in range(2)])
    top = -np.sort(-mi, axis=0)
    want = float(np.mean((top[0] - top[1]) / h))
    np.testing.assert_allclose(M.mutual_info_matrix(z, f, factor_bins=20), mi, rtol=1e-10, atol=1e-12)
    assert M.mig(z, f, factor_bins=20) == pytest.approx(want, rel=1e-10)


def test_mig_is_disentanglement_libs_recipe_on_discrete_factors():
    # disentanglement_lib passes the factors to mutual_info_score as they are
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(4)
    f = _grid_factors(n=3000, seed=4)
    z = np.c_[f[:, 0] + rng.normal(scale=2.0, size=3000), f[:, 1] / 31 + 0.3 * f[:, 2], rng.normal(size=3000)]
    zd = np.stack([np.digitize(z[:, i], np.histogram(z[:, i], 20)[1][:-1]) for i in range(3)], axis=1)
    mi = np.array([[mutual_info_score(f[:, j], zd[:, i]) for j in range(3)] for i in range(3)])
    h = np.array([mutual_info_score(f[:, j], f[:, j]) for j in range(3)])
    top = np.sort(mi, axis=0)[::-1]
    want = float(np.mean((top[0] - top[1]) / h))
    np.testing.assert_allclose(M.mutual_info_matrix(z, f), mi, rtol=1e-10, atol=1e-12)
    assert M.mig(z, f) == pytest.approx(want, rel=1e-10)


def test_dci_gbt_discrete_factors_are_classes_as_given():
    f = _grid_factors(n=400, levels=(24, 3), seed=6)
    res = M.dci_gbt(f, f)
    assert res.importance.shape == (2, 2)
    assert res.disentanglement > 0.9 and res.completeness > 0.9 and res.informativeness > 0.9
