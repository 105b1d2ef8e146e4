"""Tests of theory.disk: the disk variational problem (talk eqs. 3-8) and its pixel form.

Independent references: mpmath (Airy functions and their zero, 30 digits), scipy.integrate
quad / dblquad, closed forms (f = 1 gives J/Q = R^3/10, h = r^2/R^2; blurred disks are
scipy.stats.ncx2.cdf as in docs/conventions.md), numpy eigh / SVD of explicitly built matrices.
"""

import mpmath as mp
import numpy as np
import scipy.linalg
import scipy.sparse.linalg
import pytest
import scipy.integrate
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ncx2

import geoshape  # noqa: F401  (plain import: a broken geoshape fails these tests, never skips them)
import theory

mp.mp.dps = 30

X0_MPMATH = None  # filled lazily by x0_reference()

# scipy.special.airy is accurate to a few ulp near x ~ 2, so brentq pins x0 to ~1e-15.
ATOL_X0 = 1e-14
# The profile is a difference of Airy functions of size ~1: a few ulp, amplified by cancellation.
RTOL_AIRY = 1e-12
ATOL_AIRY = 1e-13
# DOP853 at rtol 1e-12 over one oscillation.
RTOL_SHOOT = 1e-9
# Central second difference with step h = 1e-3 R: error ~ h^2 f''''/12 ~ 6e-6 (k R units).
FD_REL = 1e-5
# energy_minimiser against airy_profile at n_points = 2000, R = 31.5 (the default R of
# energy_convergence_table): the P1 error there is 7.2e-8 (measured, all three methods);
# the bound sits 2x above it, so a loss of the method's second order shows.
MAX_DIFF_2000 = 1.5e-7
# The three solvers of the same discrete problem agree to their stopping tolerance.
ATOL_SOLVERS = 1e-8
# The observed order of the P1 Ritz solution in the max norm is 2.
ORDER, ORDER_TOL = 2.0, 0.1
# scipy quad asked for 1e-10 .. 1e-13 relative on piecewise-smooth integrands.
RTOL_QUAD = 1e-9


def x0_reference():
    global X0_MPMATH
    if X0_MPMATH is None:
        g = lambda x: mp.airybi(0, 1) * mp.airyai(-x) - mp.airyai(0, 1) * mp.airybi(-x)  # noqa: E731
        X0_MPMATH = mp.findroot(g, 1.98)
    return X0_MPMATH


def airy_mpmath(rho, R):
    """pi [Bi'(0) Ai(-c rho) - Ai'(0) Bi(-c rho)], c = x0 / R, at 30 digits."""
    c = x0_reference() / R
    x = c * mp.mpf(rho)
    return float(mp.pi * (mp.airybi(0, 1) * mp.airyai(-x) - mp.airyai(0, 1) * mp.airybi(-x)))


def disks_reference(radii, size, sigma):
    """Centred blurred disks from docs/conventions.md's closed form (ncx2.cdf), sigma = 0: d <= r."""
    c = (size - 1) / 2.0
    i, j = np.indices((size, size))
    d = np.hypot(j - c, i - c)
    r = np.asarray(radii, dtype=np.float64)[:, None, None]
    if sigma == 0:
        return (d[None] <= r).astype(np.float64)
    return ncx2.cdf((r / sigma) ** 2, 2, (d[None] / sigma) ** 2)


# --------------------------------------------------------------------------- Airy
def test_airy_zero_against_mpmath():
    x0 = theory.airy_zero()
    err = abs(x0 - float(x0_reference()))
    assert err < ATOL_X0, f"x0 = {x0!r}, mpmath {x0_reference()}, err {err:.2e}"
    assert 1.986 < x0 < 1.987


@pytest.mark.parametrize("R", [1.0, 31.5, 250.0])
def test_airy_k_and_shooting(R):
    k = theory.airy_k(R)
    assert k == pytest.approx(float((x0_reference() / R) ** 3), rel=1e-14)
    ks = theory.airy_k_shooting(R)
    assert ks == pytest.approx(k, rel=RTOL_SHOOT), f"shooting k={ks!r} vs closed form {k!r}"


def test_airy_profile_against_mpmath_and_shooting():
    R = 31.5
    rho = np.array([0.0, 0.3, 5.0, 12.5, 20.0, 29.0, 31.4])
    got = theory.airy_profile(rho, R)
    want = np.array([airy_mpmath(r, R) for r in rho])
    err = np.abs(got - want)
    assert np.all(err <= ATOL_AIRY + RTOL_AIRY * np.abs(want)), f"worst at rho={rho[err.argmax()]}: {err.max():.2e}"
    shoot = theory.airy_profile_shooting(rho, R)
    np.testing.assert_allclose(shoot, want, atol=RTOL_SHOOT)


def test_airy_profile_boundary_values_and_support():
    R = 20.0
    assert theory.airy_profile(0.0, R) == pytest.approx(1.0, abs=1e-15)
    assert abs(theory.airy_profile(R * (1 - 1e-15), R)) < 1e-13
    np.testing.assert_array_equal(theory.airy_profile([R, R + 1, 1e6], R), 0.0)
    assert theory.airy_profile_derivative(0.0, R) == pytest.approx(0.0, abs=1e-15)
    # monotone decreasing on [0, R] (first eigenfunction has no interior zero)
    f = theory.airy_profile(np.linspace(0, R, 500), R)
    assert np.all(np.diff(f) < 0) and np.all(f[:-1] > 0)


@settings(max_examples=40, deadline=None)
@given(R=st.floats(0.5, 200.0), u=st.floats(0.01, 0.99))
def test_airy_profile_satisfies_ode(R, u):
    k = theory.airy_k(R)
    h = 1e-3 * R
    rho = u * R
    f = theory.airy_profile(np.array([rho - h, rho, rho + h]), R)
    f2 = (f[0] - 2 * f[1] + f[2]) / h ** 2
    assert abs(f2 + k * rho * f[1]) <= FD_REL * k * R, f"R={R} rho={rho}: f''={f2}, -k rho f={-k * rho * f[1]}"
    # f'(0) = 0 and f''(0) = 0: f(h) - 1 = -k h^3 / 6 + O(h^6)
    fh = theory.airy_profile(h, R)
    assert fh - 1 == pytest.approx(-k * h ** 3 / 6, rel=1e-3, abs=1e-15)
    # closed-form derivative against a central difference, error h^2 |f'''| / 6 with
    # f''' = -k (f + rho f') and |f| <= 1, rho |f'| < 2 on [0, R]
    d = theory.airy_profile_derivative(rho, R)
    assert d == pytest.approx((f[2] - f[0]) / (2 * h), rel=0, abs=k * h ** 2 * 3 / 6)


# --------------------------------------------------------------------------- energy
def energy_quad(f, rho):
    """Reference J/Q of the piecewise-linear interpolant, by scipy.integrate.quad."""
    fi = lambda s: np.interp(s, rho, f)  # noqa: E731
    pts = list(rho[1:-1])
    F = lambda r: scipy.integrate.quad(lambda s: fi(s) * s, 0, r, points=[p for p in pts if p < r] or None,  # noqa: E731
                                       epsabs=0, epsrel=1e-11, limit=200)[0]
    J = scipy.integrate.quad(lambda r: F(r) ** 2, 0, rho[-1], points=pts, epsabs=0, epsrel=1e-10, limit=200)[0]
    Q = scipy.integrate.quad(lambda s: fi(s) ** 2 * s, 0, rho[-1], points=pts, epsabs=0, epsrel=1e-11, limit=200)[0]
    return J / Q


def test_energy_against_quad():
    rng = np.random.default_rng(0)
    rho = np.concatenate([[0.0], np.sort(rng.uniform(0, 4, 4)), [4.0]])
    f = rng.normal(size=rho.size)
    assert theory.energy(f, rho) == pytest.approx(energy_quad(f, rho), rel=RTOL_QUAD)


@pytest.mark.parametrize("R", [1.0, 7.0])
def test_energy_constant_profile_closed_form(R):
    # f = 1: F = r^2/2, J = R^5/20, Q = R^2/2 -> J/Q = R^3/10 (exact for piecewise-linear f)
    rho = np.linspace(0, R, 7)
    assert theory.energy(np.ones(7), rho) == pytest.approx(R ** 3 / 10, rel=1e-13)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), scale=st.floats(1e-3, 1e3), sign=st.sampled_from([-1, 1]))
def test_energy_invariant_to_normalisation_and_bounded(seed, scale, sign):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40))
    R = float(rng.uniform(0.5, 50))
    rho = np.linspace(0, R, n)
    f = rng.normal(size=n)
    e = theory.energy(f, rho)
    assert theory.energy(sign * scale * f, rho) == pytest.approx(e, rel=1e-12)
    # Rayleigh quotient: never above the continuous maximum (R / x0)^3
    assert e <= theory.max_energy(R) * (1 + 1e-12)


def test_airy_attains_max_energy():
    R = 31.5
    rho = np.linspace(0, R, 4001)
    e = theory.energy(theory.airy_profile(rho, R), rho)
    assert e == pytest.approx(float((R / x0_reference()) ** 3), rel=1e-9)


def test_energy_minimiser_n2000_matches_airy():
    R = 31.5
    rho, f = theory.energy_minimiser(R, 2000)
    assert rho[0] == 0 and rho[-1] == R and rho.shape == f.shape == (2000,)
    assert f[0] == 1.0 and f[-1] == 0.0
    diff = np.abs(f - theory.airy_profile(rho, R))
    assert diff.max() < MAX_DIFF_2000, f"max |f - airy| = {diff.max():.3e} at rho = {rho[diff.argmax()]:.3f}"


def test_three_solvers_agree():
    R = 10.0
    out = {m: theory.energy_minimiser(R, 300, method=m, return_energy=True) for m in ("eigh", "lanczos", "gradient")}
    for m in ("lanczos", "gradient"):
        np.testing.assert_allclose(out[m][1], out["eigh"][1], atol=ATOL_SOLVERS, err_msg=m)
        assert out[m][2] == pytest.approx(out["eigh"][2], rel=1e-12)
    # the discrete maximum approaches the continuous one from below (Rayleigh-Ritz)
    assert out["eigh"][2] <= theory.max_energy(R) * (1 + 1e-14)
    assert out["eigh"][2] == pytest.approx(theory.max_energy(R), rel=1e-9)


def test_convergence_order_two():
    table = theory.energy_convergence_table(R=31.5, n_points=(26, 51, 101, 201, 401, 801), method="lanczos")
    print(table)
    assert abs(table.observed_order - ORDER) < ORDER_TOL, str(table)
    assert all(abs(o - ORDER) < ORDER_TOL for o in table.orders), str(table)
    # eigenvalue (energy) error is the square of the eigenfunction error: order 4
    assert all(abs(o - 4.0) < 0.2 for o in table.energy_orders[:4]), str(table)
    errs = [r[2] for r in table.rows]
    assert all(a > b for a, b in zip(errs, errs[1:]))
    assert "observed order" in str(table)


# --------------------------------------------------------------------------- optimal scale (eq. 5)
def test_airy_scale_against_quad_and_numeric():
    R = 31.5
    f = lambda s: theory.airy_profile(s, R)  # noqa: E731
    Q = scipy.integrate.quad(lambda s: f(s) ** 2 * s, 0, R, epsabs=0, epsrel=1e-13)[0]
    r = np.array([0.0, 1.0, 10.0, 25.0, R, 40.0])
    want = np.array([scipy.integrate.quad(lambda s: f(s) * s, 0, min(x, R), epsabs=0, epsrel=1e-13)[0] / Q
                     for x in r])
    np.testing.assert_allclose(theory.airy_scale(r, R), want, rtol=RTOL_QUAD, atol=1e-14)
    rho = np.linspace(0, R, 4001)
    np.testing.assert_allclose(theory.optimal_scale(f(rho), rho, r), want, rtol=1e-6, atol=1e-12)


def test_optimal_scale_constant_profile_and_least_squares():
    R = 5.0
    rho = np.linspace(0, R, 4)
    r = np.array([0.0, 0.7, 2.5, 5.0, 9.0])
    np.testing.assert_allclose(theory.optimal_scale(np.ones(4), rho, r), np.minimum(r, R) ** 2 / R ** 2, rtol=1e-13)
    rng = np.random.default_rng(1)
    images, prof = rng.normal(size=(5, 4, 4)), rng.normal(size=(4, 4))
    lsq = [np.linalg.lstsq(prof.reshape(-1, 1), x.ravel(), rcond=None)[0][0] for x in images]
    np.testing.assert_allclose(theory.image_scales(images, prof), lsq, rtol=1e-12)


# --------------------------------------------------------------------------- discrete form
@pytest.mark.parametrize("n, size", [(40, 16), (600, 24)])  # numpy-svd path, ARPACK path
def test_disk_profile_against_numpy_eigh(n, size):
    rng = np.random.default_rng(2)
    imgs = disks_reference(rng.uniform(0, size / 2, n), size, 1.0)
    X = imgs.reshape(n, -1)
    w, V = np.linalg.eigh(X.T @ X)
    ref = V[:, -1] * np.sign(V[:, -1].sum())
    got = theory.disk_profile(imgs)
    assert got.shape == (size, size)
    assert np.linalg.norm(got) == pytest.approx(1.0, abs=1e-12) and got.sum() > 0
    np.testing.assert_allclose(got.ravel(), ref, atol=1e-9)
    assert theory.rank1_floor(imgs) == pytest.approx((np.sum(X * X) - w[-1]) / X.size, rel=1e-8)


def test_pixel_grid_profile_against_dense_eigh_and_sampled_disks():
    size, R = 16, 8.0
    c = (size - 1) / 2
    i, j = np.indices((size, size))
    d = np.hypot(j - c, i - c).ravel()
    M = np.maximum(R - np.maximum(d[:, None], d[None, :]), 0.0)
    ref = np.linalg.eigh(M)[1][:, -1]
    ref *= np.sign(ref.sum())
    G = theory.pixel_grid_profile(size, R)
    np.testing.assert_allclose(G.ravel(), ref, atol=1e-12)
    radii = (np.arange(4000) + 0.5) * R / 4000  # midpoint quadrature of U[0, R)
    P0 = theory.disk_profile(disks_reference(radii, size, 0.0))
    assert np.linalg.norm(P0 - G) < 2e-3


def test_pixel_grid_profile_structured_solver_against_all_pixel_matrix():
    # size 80 has 603 distinct distances: past 600 the optimum comes from the matrix-free
    # product (two cumulative sums) instead of the dense distance matrix. The reference is
    # the dense 6400 x 6400 matrix over all pixels.
    size, R = 80, 37.0
    c = (size - 1) / 2
    i, j = np.indices((size, size))
    d = np.hypot(j - c, i - c).ravel()
    M = np.maximum(R - np.maximum(d[:, None], d[None, :]), 0.0)
    ref = scipy.sparse.linalg.eigsh(M, k=1, which="LA", tol=0)[1][:, 0]  # Lanczos on the dense matrix
    ref *= np.sign(ref.sum())
    np.testing.assert_allclose(theory.pixel_grid_profile(size, R).ravel(), ref, atol=1e-12)


def test_radial_profile_is_lossless_on_radial_images():
    size, R = 32, 16.0
    c = (size - 1) / 2
    i, j = np.indices((size, size))
    img = theory.airy_profile(np.hypot(j - c, i - c), R)
    rho, val = theory.radial_profile(img)
    assert np.all(np.diff(rho) > 0)
    np.testing.assert_allclose(val, theory.airy_profile(rho, R), atol=1e-15)
    rb, vb = theory.radial_profile(np.ones((9, 9)), centre=(2.0, 3.0), bin_width=1.5)
    np.testing.assert_allclose(vb, 1.0)
    assert 0.0 <= rb[0] < 1.5 and np.all(np.diff(rb) > 0)


def test_radial_blur_of_disk_is_marcum_q():
    d = np.linspace(0, 30, 61)
    for R, s in ((12.0, 1.0), (3.0, 0.7)):
        got = theory.radial_blur(lambda x: np.ones_like(x), R, d, s)
        np.testing.assert_allclose(got, ncx2.cdf((R / s) ** 2, 2, (d / s) ** 2), atol=1e-12)


def test_airy_image():
    size, R = 16, 8.0
    img0 = theory.airy_image(size, R)
    c = (size - 1) / 2
    i, j = np.indices((size, size))
    raw = np.array([airy_mpmath(x, R) if x < R else 0.0 for x in np.hypot(j - c, i - c).ravel()])
    np.testing.assert_allclose(img0.ravel(), raw / np.linalg.norm(raw), atol=1e-13)
    # blurred: one pixel against a polar dblquad of f(s) g(p - q)
    img1 = theory.airy_image(size, R, sigma=1.0)
    p = np.array([j[3, 5] - c, i[3, 5] - c])

    def integrand(th, s):
        q = s * np.array([np.cos(th), np.sin(th)])
        return theory.airy_profile(s, R) * s * np.exp(-np.sum((p - q) ** 2) / 2) / (2 * np.pi)

    val = scipy.integrate.dblquad(integrand, 0, R, 0, 2 * np.pi, epsabs=1e-12, epsrel=1e-10)[0]
    raw1 = theory.radial_blur(lambda s: theory.airy_profile(s, R), R, np.hypot(j - c, i - c), 1.0)
    assert raw1[3, 5] == pytest.approx(val, rel=1e-8)
    np.testing.assert_allclose(img1, raw1 / np.linalg.norm(raw1), atol=1e-15)


def test_two_ray_floor():
    rng = np.random.default_rng(4)
    u = np.zeros(16)
    u[:8] = 1
    v = np.zeros(16)
    v[8:] = 1
    a = rng.uniform(0.5, 2, 10)
    X = np.concatenate([a[:5, None] * u, a[5:, None] * v]).reshape(10, 4, 4)
    fit = theory.two_ray_fit(X, rng=0)
    assert fit.mse == pytest.approx(0.0, abs=1e-12)
    assert theory.rank1_floor(X) > 0.1
    assert set(np.flatnonzero(fit.labels)) in ({0, 1, 2, 3, 4}, {5, 6, 7, 8, 9})
    Y = disks_reference(rng.uniform(0, 8, 60), 16, 1.0)
    two, one = theory.two_ray_floor(Y, rng=1), theory.rank1_floor(Y)
    assert two <= one + 1e-15
    assert two == theory.two_ray_floor(Y, rng=1)  # same seed, same number


def test_discrete_vs_airy_report():
    rep = theory.discrete_vs_airy(32, n_radii=256, grid_sizes=(16, 32))
    print(rep)
    # the grid alone is almost nothing: the pixel-counting measure is a good quadrature of s ds
    assert rep.l2_pixel_grid_vs_airy < 1e-3
    assert rep.l2_sigma0_vs_airy < 5e-3
    # the blur is the main cause: modelling it removes most of the gap
    assert rep.l2_discrete_vs_blurred_airy < 0.5 * rep.l2_discrete_vs_airy
    assert rep.l2_sigma_vs_sigma0 == pytest.approx(rep.l2_discrete_vs_airy, rel=0.3)
    assert 0 < rep.outside_fraction < 1e-2
    assert rep.grid_refinement[1][1] < rep.grid_refinement[0][1]
    assert "headline" in str(rep)
    a = theory.discrete_vs_airy(32, n_radii=128, radii="random", rng=5, grid_sizes=())
    b = theory.discrete_vs_airy(32, n_radii=128, radii="random", rng=5, grid_sizes=())
    assert a == b  # same seed, same numbers
    # radius sampling noise: 128 random radii are farther from Airy than the 256-point grid
    assert a.l2_sigma0_vs_pixel_grid > rep.l2_sigma0_vs_pixel_grid


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, match", [
    (lambda: theory.airy_k(0.0), r"R must be finite and in \[1e-06, 1e\+06\]"),
    # k = (x0 / R)^3 overflowed here; the radius range is enforced instead.
    (lambda: theory.airy_k(1e-110), r"R must be finite and in \[1e-06"),
    (lambda: theory.max_energy(1e110), r"R must be finite and in \[1e-06"),
    (lambda: theory.airy_k_shooting(1e-300), r"R must be finite and in \[1e-06"),
    (lambda: theory.energy_minimiser(1e300, 51), r"R must be finite and in \[1e-06"),
    (lambda: theory.energy_convergence_table(n_points=(51, 51)), "strictly increasing"),
    (lambda: theory.pixel_grid_profile(2**15), "memory budget"),
    (lambda: theory.airy_image(2**15), "memory budget"),
    (lambda: theory.radial_blur(np.ones_like, 32.0, [1.0], 1e-300), "memory budget"),
    (lambda: theory.discrete_vs_airy(1024, n_radii=2**12), "memory budget"),
    (lambda: theory.two_ray_floor(np.ones((4, 2, 2)), n_random=2**20), "n_random"),
    (lambda: theory.two_ray_fit(np.ones((4, 2, 2)), rng=-1), "rng"),
    (lambda: theory.airy_k(-1.0), "R must be"),
    (lambda: theory.airy_k(float("nan")), "R must be"),
    (lambda: theory.airy_profile([1.0, np.nan], 5.0), "rho must be finite"),
    (lambda: theory.airy_profile([-1.0], 5.0), "rho must be >= 0"),
    (lambda: theory.airy_profile([1.0], 0.0), "R must be"),
    (lambda: theory.airy_k_shooting(-2.0), "R must be"),
    (lambda: theory.energy_minimiser(0.0, 10), "R must be"),
    (lambda: theory.energy_minimiser(5.0, 2), "n_points must be >= 3"),
    (lambda: theory.energy_minimiser(5.0, 10, method="newton"), "method"),
    (lambda: theory.energy(np.ones(3), np.array([0.0, 1.0])), "same shape"),
    (lambda: theory.energy(np.ones(2), np.array([0.0, 1.0])), "at least 3"),
    (lambda: theory.energy(np.ones(3), np.array([0.5, 1.0, 2.0])), "start at 0"),
    (lambda: theory.energy(np.ones(3), np.array([0.0, 2.0, 1.0])), "strictly increasing"),
    (lambda: theory.energy(np.array([1.0, np.nan, 0.0]), np.array([0.0, 1.0, 2.0])), "f must be finite"),
    (lambda: theory.energy(np.zeros(3), np.array([0.0, 1.0, 2.0])), "identically zero"),
    (lambda: theory.disk_profile(np.zeros((3, 4, 4))), "all zero"),
    (lambda: theory.disk_profile(np.full((3, 4, 4), np.nan)), "images must be finite"),
    (lambda: theory.disk_profile(np.ones(4)), "images must have at least 2"),
    (lambda: theory.radial_profile(np.ones((3, 3, 3))), "image must have 2"),
    (lambda: theory.radial_profile(np.ones((3, 3)), bin_width=0.0), "bin_width"),
    (lambda: theory.airy_image(16, sigma=-1.0), "sigma must be"),
    (lambda: theory.airy_image(0), "size must be"),
    (lambda: theory.airy_scale([1.0], -3.0), "R must be"),
    (lambda: theory.optimal_scale(np.ones(3), np.array([0.0, 1.0, 2.0]), [-1.0]), "r must be >= 0"),
    (lambda: theory.discrete_vs_airy(48), "power of two"),
    (lambda: theory.discrete_vs_airy(32, radii="sobol"), "radii"),
    (lambda: theory.image_scales(np.ones((2, 3, 3)), np.ones((4, 4))), "profile must have the shape of one image"),
    # empty or wrongly shaped arrays are named, not left to numpy's reshape or broadcasting
    (lambda: theory.image_scales(np.ones((0, 3, 3)), np.ones((3, 3))), "images must hold at least one non-empty image"),
    (lambda: theory.image_scales(np.ones((2, 0, 0)), np.ones((0, 0))), "images must hold at least one non-empty image"),
    (lambda: theory.image_scales(np.ones((2, 3, 3)), np.ones(9)), "profile must have the shape of one image"),
    (lambda: theory.image_scales(np.ones(3), np.ones(3)), "images must have at least 2"),
    (lambda: theory.radial_profile(np.ones((0, 0))), "image must have at least one pixel"),
    (lambda: theory.radial_profile(np.ones((3, 0))), "image must have at least one pixel"),
    (lambda: theory.radial_blur(lambda s: np.ones(3), 4.0, [1.0], 1.0), "profile must return an array shaped like"),
    (lambda: theory.radial_blur(lambda s: 1.0, 4.0, [1.0], 1.0), "profile must return an array shaped like"),
    (lambda: theory.radial_blur(lambda s: s[:, None] * [1.0, 1.0], 4.0, [1.0], 1.0),
     "profile must return an array shaped like"),
    (lambda: theory.radial_blur(lambda s: np.full_like(s, np.nan), 4.0, [1.0], 1.0), "profile must return finite"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_input_types_name_the_argument():
    with pytest.raises(TypeError, match="rng must be"):
        theory.two_ray_fit(np.ones((4, 2, 2)), rng=1.5)
    with pytest.raises(TypeError, match="rng must be"):
        theory.two_ray_fit(np.ones((4, 2, 2)), rng="0")
    with pytest.raises(TypeError, match="n_points must be a sequence"):
        theory.energy_convergence_table(n_points=51)


def test_bad_input_types():
    with pytest.raises(TypeError, match="n_points must be an int"):
        theory.energy_minimiser(5.0, 10.5)
    with pytest.raises(TypeError, match="R must be a real number"):
        theory.airy_k("3")
    with pytest.raises(TypeError, match="profile must be a callable"):
        theory.radial_blur(3.0, 1.0, [0.0], 1.0)
    with pytest.raises(TypeError, match="profile must return finite real numbers"):
        theory.radial_blur(lambda s: None, 1.0, [0.0], 1.0)
    with pytest.raises(TypeError, match="profile must return finite real numbers"):
        theory.radial_blur(lambda s: ["a"] * len(s), 1.0, [0.0], 1.0)
    with pytest.raises(TypeError, match="profile must be a callable f"):
        theory.radial_blur(lambda: 1.0, 1.0, [0.0], 1.0)
    with pytest.raises(TypeError, match="images must hold real numbers"):
        theory.image_scales(np.array([["a"]]), np.ones(1))
