"""geoshape against independent references: scipy.stats.ncx2 (the disk closed form),
scipy.special (Bessel, normal CDF), a brute-force supersampled and blurred indicator
(ellipses, rotated squares), and hand-computable Diracs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, special
from scipy.stats import ncx2

import geoshape
from geoshape import _kernels

# geoshape's contract (docs/conventions.md): disks within 1e-5 of the closed form, ellipses within 1e-3
# of a supersampled reference. Measured worst cases (random draws over the strategies below):
# disks 9.0e-7 from the closed form for sigma in [1e-3, 4]; ellipses with equal axes 3.8e-5
# from the disk closed form; ellipses 3.2e-4 from the supersampled reference (itself 7.5e-5
# from the closed form on circles). Each bound sits 3x-11x above its measured figure.
ATOL_ELLIPSE_AS_DISK = 1e-4
ATOL_DISK = 1e-5
ATOL_ELLIPSE = 1e-3
# float32 output: values in [0, 1] carry ~6e-8 rounding.
ATOL_F32 = 2e-7

SIZE = 32


def closed_form_disk(r, cx, cy, sigma, size, grey=1.0):
    """1 - Q1(d/sigma, r/sigma) via scipy's non-central chi-square CDF (docs/conventions.md)."""
    jj, ii = np.meshgrid(np.arange(size), np.arange(size))
    d = np.hypot(jj - cx, ii - cy)
    return grey * ncx2.cdf((r / sigma) ** 2, 2, (d / sigma) ** 2)


def assert_close(actual, expected, atol, what):
    err = np.abs(np.asarray(actual, np.float64) - expected)
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err.max() <= atol, (f"{what}: worst abs error {err.max():.3g} > {atol:g} at {worst} "
                               f"(got {actual[worst]:.8g}, expected {expected[worst]:.8g})")


def supersampled_reference(signed_distance, size, sigma, factor=31):
    """Brute force: the shape's indicator on a grid ``factor`` times finer, blurred with the
    same Gaussian (scipy.ndimage, in fine-pixel units), read at the pixel centres.

    ``factor`` is odd so that pixel centres are fine-grid points. Each fine cell holds its
    first-order coverage ``clip(1/2 - sd/h, 0, 1)`` (sd the signed distance to the boundary,
    h the fine spacing) instead of a 0/1 sample, which removes most of the staircase error.
    """
    fine = -0.5 + (np.arange(size * factor) + 0.5) / factor
    xx, yy = np.meshgrid(fine, fine)
    coverage = np.clip(0.5 - signed_distance(xx, yy) * factor, 0.0, 1.0)
    blurred = ndimage.gaussian_filter(coverage, sigma * factor, mode="constant", truncate=6.0)
    o = (factor - 1) // 2
    return blurred[o::factor, o::factor]


def ellipse_sd(a, b, theta, cx, cy):
    """First-order signed distance to an ellipse: (F - 1) / |grad F|, F = sqrt(u^2/a^2 + v^2/b^2)."""
    c, s = np.cos(theta), np.sin(theta)

    def sd(x, y):
        u = (x - cx) * c + (y - cy) * s
        v = -(x - cx) * s + (y - cy) * c
        f = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        grad = np.hypot(u / a ** 2, v / b ** 2) / np.maximum(f, 1e-12)
        return (f - 1.0) / np.maximum(grad, 1e-12)

    return sd


# ---------------------------------------------------------------- disks: closed form

@settings(max_examples=100, deadline=None)
@given(sigma=st.floats(1e-3, 4.0) | st.floats(-3.0, 0.0).map(lambda e: 10.0 ** e), r=st.floats(1e-3, 64.0),
       cx=st.floats(-8.0, 72.0), cy=st.floats(-8.0, 72.0))
def test_disk_matches_marcum_closed_form(sigma, r, cx, cy):
    img = geoshape.disks(r, (cx, cy), size=64, sigma=sigma)[0]
    assert_close(img, closed_form_disk(r, cx, cy, sigma, 64), ATOL_DISK, "disk vs ncx2")


@pytest.mark.parametrize("sigma,r", [(0.3, 0.01), (0.3, 31.7), (4.0, 0.5), (4.0, 64.0),
                                     (1.0, 11.3), (2.5, 3.0)])
def test_disk_closed_form_corner_cases(sigma, r):
    img = geoshape.disks(r, (31.37, 30.9), size=64, sigma=sigma)[0]
    assert_close(img, closed_form_disk(r, 31.37, 30.9, sigma, 64), ATOL_DISK, "disk vs ncx2")


def test_disk_centre_value_is_exact():
    # At d = 0 the closed form reduces to 1 - exp(-r^2 / (2 sigma^2)).
    r, sigma = 2.0, 1.5
    img = geoshape.disks(r, (10.0, 10.0), size=32, sigma=sigma)[0]
    assert abs(img[10, 10] - (-np.expm1(-r * r / (2 * sigma * sigma)))) < ATOL_F32


def test_disk_sigma_zero_is_indicator():
    img = geoshape.disks(5.0, (10.0, 12.0), size=32, sigma=0.0)[0]
    jj, ii = np.meshgrid(np.arange(32), np.arange(32))
    np.testing.assert_array_equal(img, ((jj - 10) ** 2 + (ii - 12) ** 2 <= 25).astype(np.float32))


def test_radius_zero_is_empty():
    assert not geoshape.disks(0.0, size=16).any()


@settings(max_examples=25, deadline=None)
@given(r=st.floats(2.0, 12.0), sigma=st.floats(0.3, 3.0), grey=st.floats(0.1, 3.0))
def test_disk_mass_is_pi_r2_grey(r, sigma, grey):
    # Far from the border the Gaussian preserves mass. By Poisson summation the pixel-centre
    # sum equals the integral plus aliases at the nonzero integer frequencies k, each at most
    # area * exp(-2 pi^2 sigma^2 |k|^2): 4 nearest ones, then 4 diagonal ones, ...
    img = geoshape.disks(r, size=64, sigma=sigma, grey=grey)[0]
    mass = float(img.astype(np.float64).sum())
    q = np.exp(-2 * np.pi ** 2 * sigma ** 2)
    alias = 4 * q + 4 * q ** 2 + 4 * q ** 4  # relative bound on the aliasing
    assert mass == pytest.approx(np.pi * r * r * grey, rel=alias + 1e-6)


@settings(max_examples=20, deadline=None)
@given(r=st.floats(0.5, 30.0), sigma=st.just(0.0) | st.floats(1e-3, 3.0))
def test_centred_disk_symmetries(r, sigma):
    img = geoshape.disks(r, size=64, sigma=sigma)[0]
    for name, t in [("flip rows", img[::-1]), ("flip cols", img[:, ::-1]), ("transpose", img.T)]:
        assert_close(t, img.astype(np.float64), 1e-6, name)


@settings(max_examples=20, deadline=None)
@given(r=st.floats(0.5, 10.0), sigma=st.floats(0.3, 2.0), dx=st.integers(-5, 5),
       dy=st.integers(-5, 5), fx=st.floats(0, 1), fy=st.floats(0, 1))
def test_disk_translation_by_whole_pixels(r, sigma, dx, dy, fx, fy):
    c = np.array([31.0 + fx, 31.0 + fy])
    a = geoshape.disks(r, c, size=64, sigma=sigma)[0]
    b = geoshape.disks(r, c + (dx, dy), size=64, sigma=sigma)[0]
    # Interior crop so that nothing leaves the image.
    sl = (slice(8, 56), slice(8, 56))
    moved = b[8 + dy:56 + dy, 8 + dx:56 + dx]
    assert_close(moved, a[sl].astype(np.float64), 1e-6, "translation")


@settings(max_examples=20, deadline=None)
@given(r=st.floats(0.5, 30.0), dr=st.floats(0.01, 5.0), sigma=st.floats(0.3, 4.0))
def test_disk_monotonic_in_radius(r, dr, sigma):
    small, big = geoshape.disks([r, r + dr], (30.3, 33.1), size=64, sigma=sigma)
    assert np.all(big.astype(np.float64) >= small - ATOL_F32)


def test_rings_are_difference_of_disks():
    ring = geoshape.rings(3.0, 7.5, (15.2, 16.0), size=32, sigma=1.2)[0]
    ref = closed_form_disk(7.5, 15.2, 16.0, 1.2, 32) - closed_form_disk(3.0, 15.2, 16.0, 1.2, 32)
    assert_close(ring, ref, 2 * ATOL_DISK, "ring")


def test_broadcasting_and_dtype():
    out = geoshape.disks([1.0, 2.0, 3.0], [[5, 5], [6, 6], [7, 7]], size=16, grey=0.5)
    assert out.shape == (3, 16, 16) and out.dtype == np.float32
    out = geoshape.disks(3.0, [[5, 5], [6, 6]], size=16, sigma=[0.5, 1.0])
    assert out.shape == (2, 16, 16)
    assert_close(out[1], closed_form_disk(3.0, 6, 6, 1.0, 16), ATOL_DISK, "broadcast sigma")


def test_numba_kernel_matches_its_python_function():
    # The compiled kernel and its pure-Python body (numba's .py_func) agree bit for bit
    # up to float rounding: catches numba-specific miscompilation or typing surprises.
    b = 7.3
    lo1, hi1, c1 = _kernels.disk_table(b, _kernels._GL_X, _kernels._GL_W)
    lo2, hi2, c2 = _kernels.disk_table.py_func(b, _kernels._GL_X, _kernels._GL_W)
    assert (lo1, hi1) == (lo2, hi2)
    np.testing.assert_allclose(c1, c2, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("nu,fn", [(0, special.i0e), (1, special.i1e)])
def test_bessel_matches_scipy(nu, fn):
    x = np.concatenate([[0.0, 1e-9], np.geomspace(1e-4, 1e5, 400)])
    ours = np.array([_kernels.bessel_ie(nu, float(v)) for v in x])
    np.testing.assert_allclose(ours, fn(x), rtol=1e-12)


# ---------------------------------------------------------------- ellipses, squares

def test_reference_itself_is_accurate_on_a_disk():
    # The brute-force reference must be far more accurate than the 1e-3 it certifies.
    r, cx, cy, sigma = 7.3, 15.4, 16.2, 1.0
    for r, cx, cy, sigma, theta in [(7.3, 15.4, 16.2, 1.0, 0.3), (1.6, 15.3, 15.9, 0.7, 1.1),
                                    (10.2, 16.3, 15.1, 2.0, 2.0)]:
        ref = supersampled_reference(ellipse_sd(r, r, theta, cx, cy), SIZE, sigma)
        err = np.abs(ref - closed_form_disk(r, cx, cy, sigma, SIZE)).max()
        assert err < ATOL_ELLIPSE / 5, f"supersampled reference error {err:.2g}"


@settings(max_examples=15, deadline=None)
@given(a=st.floats(1.5, 12.0), b=st.floats(1.5, 12.0), theta=st.floats(0.0, np.pi),
       sigma=st.floats(0.7, 3.0), cx=st.floats(13, 18), cy=st.floats(13, 18))
def test_ellipse_matches_supersampled_reference(a, b, theta, sigma, cx, cy):
    img = geoshape.ellipses(a, b, theta, (cx, cy), size=SIZE, sigma=sigma)[0]
    ref = supersampled_reference(ellipse_sd(a, b, theta, cx, cy), SIZE, sigma)
    assert_close(img, ref, ATOL_ELLIPSE, "ellipse")


@settings(max_examples=60, deadline=None)
@given(r=st.floats(0.5, 40.0), theta=st.floats(0, 2 * np.pi), sigma=st.floats(1e-3, 4.0),
       cx=st.floats(0, 63), cy=st.floats(0, 63))
def test_ellipse_with_equal_axes_is_the_disk(r, theta, sigma, cx, cy):
    img = geoshape.ellipses(r, r, theta, (cx, cy), size=64, sigma=sigma)[0]
    assert_close(img, closed_form_disk(r, cx, cy, sigma, 64), ATOL_ELLIPSE_AS_DISK, "ellipse a == b")


def test_ellipse_rotation_by_half_turn_swaps_axes():
    e1 = geoshape.ellipses(10.0, 4.0, 0.0, size=32)[0]
    e2 = geoshape.ellipses(4.0, 10.0, np.pi / 2, size=32)[0]
    e3 = geoshape.ellipses(4.0, 10.0, 0.0, size=32)[0]
    assert_close(e1, e2.astype(np.float64), 1e-5, "a,b,0 vs b,a,pi/2")
    assert_close(e1.T, e3.astype(np.float64), 1e-5, "transpose swaps x and y")


def test_ellipse_sigma_zero_is_indicator():
    img = geoshape.ellipses(6.0, 3.0, 0.0, (10.0, 10.0), size=32, sigma=0.0)[0]
    jj, ii = np.meshgrid(np.arange(32), np.arange(32))
    np.testing.assert_array_equal(
        img, (((jj - 10) / 6.0) ** 2 + ((ii - 10) / 3.0) ** 2 <= 1).astype(np.float32))


def test_axis_aligned_square_is_product_of_normal_cdfs():
    side, cx, cy, sigma = 9.0, 14.3, 17.1, 1.3
    img = geoshape.squares(side, 0.0, (cx, cy), size=SIZE, sigma=sigma)[0]
    g = np.arange(SIZE)
    px = special.ndtr((g - cx + side / 2) / sigma) - special.ndtr((g - cx - side / 2) / sigma)
    py = special.ndtr((g - cy + side / 2) / sigma) - special.ndtr((g - cy - side / 2) / sigma)
    assert_close(img, py[:, None] * px[None, :], ATOL_DISK, "aligned square")


@settings(max_examples=12, deadline=None)
@given(side=st.floats(3.0, 18.0), theta=st.floats(0.05, 1.5), sigma=st.floats(0.7, 2.5))
def test_rotated_square_matches_supersampled_reference(side, theta, sigma):
    cx, cy = 15.6, 15.2
    c, s = np.cos(theta), np.sin(theta)

    def sd(x, y):  # exact inside and next to the edges, where the coverage is not 0 or 1
        u = (x - cx) * c + (y - cy) * s
        v = -(x - cx) * s + (y - cy) * c
        return np.maximum(np.abs(u), np.abs(v)) - side / 2

    img = geoshape.squares(side, theta, (cx, cy), size=SIZE, sigma=sigma)[0]
    assert_close(img, supersampled_reference(sd, SIZE, sigma), ATOL_ELLIPSE, "rotated square")


def test_rotated_square_by_quarter_turn_equals_aligned_one():
    # theta close to (not at) pi/2 goes through the polygon quadrature; compare with the
    # exact product path.
    a = geoshape.squares(8.0, np.pi / 2 - 1e-9, (15.0, 16.0), size=SIZE, sigma=1.0)[0]
    b = geoshape.squares(8.0, 0.0, (15.0, 16.0), size=SIZE, sigma=1.0)[0]
    assert_close(a, b.astype(np.float64), 2e-5, "polygon vs product")


# ---------------------------------------------------------------- Diracs

def test_dirac_integer_and_real_positions():
    np.testing.assert_array_equal(geoshape.dirac([0, 3], 4), np.eye(4, dtype=np.float32)[[0, 3]])
    d = geoshape.dirac([1.25, 2.5, 3.0], 4)
    np.testing.assert_allclose(d, [[0, 0.75, 0.25, 0], [0, 0, 0.5, 0.5], [0, 0, 0, 1]])


@settings(max_examples=50, deadline=None)
@given(a=st.floats(0.0, 15.0))
def test_dirac_mass_and_mean_position(a):
    d = geoshape.dirac(a, 16)[0].astype(np.float64)
    assert d.sum() == pytest.approx(1.0, abs=1e-6)
    assert (d * np.arange(16)).sum() == pytest.approx(a, abs=1e-5)


def test_dirac2d_is_outer_product():
    img = geoshape.dirac2d([[1.5, 2.0]], 4)[0]
    expected = np.zeros((4, 4))
    expected[2, 1] = expected[2, 2] = 0.5
    np.testing.assert_allclose(img, expected)


# ---------------------------------------------------------------- data sets

def test_centred_disks_excluded_interval_and_seed():
    a = geoshape.centred_disks(2000, size=64, exclude=(11, 18), rng=3)
    b = geoshape.centred_disks(2000, size=64, exclude=(11, 18), rng=3)
    r = a.factors["radius"]
    assert not np.any((r >= 11) & (r < 18))
    assert r.min() >= 0 and r.max() < 32
    np.testing.assert_array_equal(a.images, b.images)
    # Uniform over the kept set: about (32 - 7) / 32 of [0, 32) is kept, so the share below
    # 11 is 11 / 25 (binomial sd ~ 0.011 at n = 2000).
    assert np.mean(r < 11) == pytest.approx(11 / 25, abs=0.05)
    assert_close(a.images[0], closed_form_disk(r[0], 31.5, 31.5, 1.0, 64), ATOL_DISK, "dataset")


def test_random_disks_factors_match_images():
    lab = geoshape.random_disks(6, size=32, radius=(2, 5), grey=(0.2, 1.0), rng=7)
    assert lab.names == ("radius", "x", "y", "grey")
    assert lab.factor_matrix().shape == (6, 4)
    f = lab.factors
    ref = closed_form_disk(f["radius"][2], f["x"][2], f["y"][2], 1.0, 32, f["grey"][2])
    assert_close(lab.images[2], ref, ATOL_DISK, "random disk")


def test_random_ellipses_and_diracs_datasets():
    e = geoshape.random_ellipses(4, size=32, a=(3, 8), b=(3, 8), rng=0)
    assert e.names == ("a", "b", "theta") and e.images.shape == (4, 32, 32)
    d1 = geoshape.random_diracs(50, 16, rng=0)
    assert np.all(d1.images.argmax(1) == d1.factors["position"])
    d2 = geoshape.random_diracs2d(5, 8, continuous=True, rng=0)
    sums = d2.images.sum(axis=(1, 2))
    np.testing.assert_allclose(sums, 1.0, atol=1e-6)


def test_same_seed_same_arrays_with_parallel_loops():
    a = geoshape.random_ellipses(64, size=32, a=(3, 12), b=(3, 12), rng=11).images
    b = geoshape.random_ellipses(64, size=32, a=(3, 12), b=(3, 12), rng=11).images
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("call,exc,word", [
    (lambda: geoshape.disks(np.nan), ValueError, "radii"),
    (lambda: geoshape.disks(np.inf), ValueError, "radii"),
    (lambda: geoshape.disks(-1.0), ValueError, "radii"),
    (lambda: geoshape.disks(3.0, sigma=-0.1), ValueError, "sigma"),
    (lambda: geoshape.disks(3.0, size=0), ValueError, "size"),
    (lambda: geoshape.disks(3.0, size=2**15 + 1), ValueError, "size"),
    (lambda: geoshape.disks(3.0, sigma=1e-300), ValueError, "sigma"),
    (lambda: geoshape.ellipses(3.0, 2.0, 0.0, sigma=65.0), ValueError, "sigma"),
    (lambda: geoshape.disks(3.0, size=-4), ValueError, "size"),
    (lambda: geoshape.ellipses(1e-170, 2.0, 0.3), ValueError, "a"),
    (lambda: geoshape.ellipses(2.0, 1e-200, 0.3, sigma=0.0), ValueError, "b"),
    (lambda: geoshape.random_disks(2, margin=[1, 2]), ValueError, "margin"),
    (lambda: geoshape.random_disks(2, position="no"), TypeError, "position"),
    (lambda: geoshape.random_diracs(2, 4, continuous="no"), TypeError, "continuous"),
    (lambda: geoshape.random_diracs2d(2, 4, continuous=1), TypeError, "continuous"),
    (lambda: geoshape.centred_disks(2, r_max=[]), TypeError, "r_max"),
    (lambda: geoshape.centred_disks(2, r_min="0"), TypeError, "r_min"),
    (lambda: geoshape.disks(3.0, size=64.0), TypeError, "size"),
    (lambda: geoshape.disks([1.0, 2.0], [[1, 1], [2, 2], [3, 3]]), ValueError, "mismatched"),
    (lambda: geoshape.disks("3"), TypeError, "radii"),
    (lambda: geoshape.disks(np.array([1 + 1j])), TypeError, "radii"),
    (lambda: geoshape.disks(3.0, centres=(1.0, 2.0, 3.0)), ValueError, "centres"),
    (lambda: geoshape.disks(3.0, grey=np.nan), ValueError, "grey"),
    (lambda: geoshape.ellipses(0.0, 2.0, 0.0), ValueError, "a"),
    (lambda: geoshape.ellipses(2.0, 2.0, np.nan), ValueError, "theta"),
    (lambda: geoshape.rings(5.0, 3.0), ValueError, "inner"),
    (lambda: geoshape.squares(-2.0), ValueError, "side"),
    (lambda: geoshape.dirac([4.5], 4), ValueError, "positions"),
    (lambda: geoshape.dirac([1.0], 0), ValueError, "n"),
    (lambda: geoshape.dirac2d([[1.0, 2.0, 3.0]], 4), ValueError, "positions"),
    (lambda: geoshape.centred_disks(0), ValueError, "n"),
    (lambda: geoshape.centred_disks(5, exclude=(20, 10)), ValueError, "exclude"),
    (lambda: geoshape.centred_disks(5, exclude=(0, 32)), ValueError, "exclude"),
    (lambda: geoshape.centred_disks(5, rng="seed"), TypeError, "rng"),
    (lambda: geoshape.random_disks(5, radius=(5, 2)), ValueError, "radius"),
])
def test_bad_input_is_rejected_with_the_argument_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


@pytest.mark.parametrize("call,names", [
    (lambda: geoshape.disks([3, 3], size=2**15), "radii, size"),     # 2 images of 4 GiB each
    (lambda: geoshape.disks(np.ones(300_000), size=64), "radii, size"),
    (lambda: geoshape.ellipses(3, 2, np.zeros(300_000), size=64), "a, b, size"),
    (lambda: geoshape.squares(3, np.full(300_000, 0.1), size=64), "side, size"),
    (lambda: geoshape.dirac([3], n=2**40), "positions, n"),
    (lambda: geoshape.dirac2d([[1, 2]], n=2**20), "positions, n"),
    (lambda: geoshape.centred_disks(2**40), "n, size"),
    (lambda: geoshape.random_disks(2**30), "n, size"),
    (lambda: geoshape.random_ellipses(2**30), "n, size"),
    (lambda: geoshape.random_diracs(2**40, 16), "n, length"),
    (lambda: geoshape.random_diracs2d(2**20, 2**10), "n, size"),
])
def test_calls_past_the_memory_budget_are_refused_before_allocating(call, names):
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="memory budget") as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value).startswith(names), info.value
    assert peak < 64 * 2**20, f"{peak} bytes allocated before refusing"


# ---------------------------------------------------------------- odd image sizes

@pytest.mark.parametrize("size", [63, 31, 7, 1])
def test_odd_sizes_match_the_closed_form_with_a_pixel_at_the_centre(size):
    c = (size - 1) / 2  # a pixel centre for odd sizes
    for r, sigma in [(0.3 * size, 0.5), (0.1 * size + 0.2, 1.0)]:
        img = geoshape.disks(r, size=size, sigma=sigma)[0]
        assert img.shape == (size, size)
        assert_close(img, closed_form_disk(r, c, c, sigma, size), ATOL_DISK, f"size {size} disk")
    d = geoshape.centred_disks(3, size=size, rng=0)
    assert d.images.shape == (3, size, size)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(5, 70), r=st.floats(0.0, 20.0), sigma=st.floats(1e-3, 3.0),
       dx=st.floats(-3, 3), dy=st.floats(-3, 3))
def test_disks_match_ncx2_at_any_size(size, r, sigma, dx, dy):
    cx, cy = (size - 1) / 2 + dx, (size - 1) / 2 + dy
    img = geoshape.disks(r, (cx, cy), size=size, sigma=sigma)[0]
    assert_close(img, closed_form_disk(r, cx, cy, sigma, size), ATOL_DISK, "disk at any size")


def test_odd_size_ellipse_with_equal_axes_is_the_disk():
    e = geoshape.ellipses(9.5, 9.5, 0.4, size=63, sigma=0.5)[0]
    assert_close(e, closed_form_disk(9.5, 31, 31, 0.5, 63), ATOL_ELLIPSE_AS_DISK, "ellipse a == b, size 63")


@pytest.mark.parametrize("a", [1e-12, 1e-9, 1e-6])
def test_tiny_ellipses_keep_their_mass(a):
    # the blurred mass of an ellipse is pi a b (the Gaussian integrates to 1)
    x = geoshape.ellipses(a, 5.0, 0.3, size=32, sigma=1.0)
    np.testing.assert_allclose(float(x.astype(np.float64).sum()), np.pi * a * 5.0, rtol=2e-5)


def gauss_legendre_square(side, theta, cx, cy, sigma, size, n=160):
    """Independent reference: 2-D Gauss-Legendre over the square in its own frame of the
    Gaussian kernel (a smooth integrand, so the rule converges fast)."""
    x, w = np.polynomial.legendre.leggauss(n)
    u, wu = x * side / 2, w * side / 2
    uu, vv = np.meshgrid(u, u)
    ww = np.outer(wu, wu)
    c, s = np.cos(theta), np.sin(theta)
    px, py = cx + c * uu - s * vv, cy + s * uu + c * vv
    ref = np.empty((size, size))
    for i in range(size):
        for j in range(size):
            g = np.exp(-((px - j) ** 2 + (py - i) ** 2) / (2 * sigma ** 2))
            ref[i, j] = (g * ww).sum() / (2 * np.pi * sigma ** 2)
    return ref


@pytest.mark.parametrize("side,theta,sigma", [(7.0, 0.125, 1.0), (5.0, 0.7, 0.6)])
def test_rotated_square_matches_gauss_legendre_reference(side, theta, sigma):
    # (7, 0.125, 1) once exposed a too-coarse quadrature (2e-3 error) in the polygon kernel.
    img = geoshape.squares(side, theta, (15.6, 15.2), size=SIZE, sigma=sigma)[0]
    ref = gauss_legendre_square(side, theta, 15.6, 15.2, sigma, SIZE)
    assert_close(img, ref, 1e-5, "rotated square vs 2-D Gauss-Legendre")


# ---------------------------------------------------------------- 8-bit quantisation

def test_quantize_is_the_png_round_trip_of_the_authors_data():
    x = geoshape.disks(9.3, size=63, sigma=0.5)
    q = geoshape.quantize_8bit(x)
    # reference: what np.uint8(clip(255 x)) / 255 gives (the authors' write and read)
    ref = np.uint8(np.clip(255.0 * x.astype(np.float64), 0, 255)).astype(np.float64) / 255.0
    np.testing.assert_array_equal(q, ref.astype(np.float32))
    assert q.dtype == np.float32 and q.shape == x.shape
    levels = np.unique(np.round(q.astype(np.float64) * 255, 4))  # float32 k/255 is k to 1.5e-5
    assert np.all(levels == np.round(levels)) and levels.min() >= 0 and levels.max() <= 255
    assert 0 <= float((x - q).min()) and float((x - q).max()) < 1 / 255 + 1e-7


def test_quantized_datasets_keep_their_factors():
    plain = geoshape.centred_disks(20, size=63, sigma=0.5, rng=3)
    quant = geoshape.centred_disks(20, size=63, sigma=0.5, quantize=True, rng=3)
    np.testing.assert_array_equal(plain.factors["radius"], quant.factors["radius"])
    np.testing.assert_array_equal(geoshape.quantize_8bit(plain.images), quant.images)
    e = geoshape.random_ellipses(3, size=31, a=(3, 8), b=(3, 8), quantize=True, rng=0).images
    np.testing.assert_array_equal(e, np.floor(e * 255 + 1e-4) / 255)
    with pytest.raises(TypeError, match="quantize"):
        geoshape.centred_disks(2, quantize="yes")
    with pytest.raises(TypeError, match="quantize"):
        geoshape.random_disks(2, quantize=1)
