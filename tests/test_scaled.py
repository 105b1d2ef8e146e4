"""geoshape.polygons, geoshape.scaled and the scaled families against independent references:
the erf product of an axis-aligned square (scipy.special.ndtr), a brute-force supersampled and
blurred polygon indicator (matplotlib's point-in-polygon, scipy.ndimage), scipy.ndimage's
bilinear resampling, closed-form areas, and the set definitions of each unit shape."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch
from matplotlib.path import Path
from scipy import ndimage, special

import geoshape
from geoshape.scaled import SCALED_KINDS, unit_shape

# Measured worst cases over the cases below (max abs, images in [0, 1]): square 4-gons 6.0e-7
# from the erf product; star, crescent, pentagon and bow polygons 4.2e-4 from the supersampled
# reference, whose own error falls as factor^-2 (1.6e-3, 4.3e-4, 7.5e-5 at factors 15, 31, 63
# on the star at sigma 0.6: the kernel is the limit); a 1024-gon 1.0e-5 from the disk's closed
# form; scaled() 7.4e-5 from a 64 x 64 sub-pixel brute force (second order: the brute force's
# own error), 3e-8 from scipy.ndimage.affine_transform with supersample=1; the model error of
# scaled() on a blurred disk 0.015 (point samples) and 0.014 (pixel averages). Each bound sits
# 2x-16x above its measured figure.
ATOL_SQUARE = 1e-5
ATOL_POLYGON = 1e-3
ATOL_SCALED_BRUTE = 3e-4
ATOL_SCALED_AFFINE = 1e-6
ATOL_SCALED_MODEL = 0.03
# float32 output in [0, 1]
ATOL_F32 = 2e-7
# The blurred star and crescent are 720-gons: measured blurred masses are within 4.8e-5 (star)
# and 7e-6 (crescent) of the smooth shapes' areas, the others within 7e-7.
RTOL_AREA = 2e-4
SIZE = 24


def assert_close(actual, expected, atol, what):
    err = np.abs(np.asarray(actual, np.float64) - expected)
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err.max() <= atol, (f"{what}: worst abs error {err.max():.3g} > {atol:g} at {worst} "
                               f"(got {np.asarray(actual)[worst]:.8g}, expected {expected[worst]:.8g})")


def polygon_sd(vx, vy):
    """Signed distance to the polygon (negative inside): distance to the nearest edge, the sign
    from matplotlib's even-odd point-in-polygon test (independent of geoshape's kernel)."""
    path = Path(np.stack([vx, vy], axis=1), closed=False)
    ax, ay = np.asarray(vx), np.asarray(vy)
    bx, by = np.roll(ax, -1), np.roll(ay, -1)

    def sd(x, y):
        px, py = x.ravel(), y.ravel()
        d = np.full(px.shape, np.inf)
        for k in range(len(ax)):                            # nearest edge, one edge at a time
            ex, ey = bx[k] - ax[k], by[k] - ay[k]
            t = np.clip(((px - ax[k]) * ex + (py - ay[k]) * ey) / (ex * ex + ey * ey), 0.0, 1.0)
            d = np.minimum(d, np.hypot(px - ax[k] - t * ex, py - ay[k] - t * ey))
        inside = path.contains_points(np.stack([x.ravel(), y.ravel()], axis=1))
        return np.where(inside, -d, d).reshape(x.shape)

    return sd


def supersampled_reference(signed_distance, size, sigma, factor=31):
    """The indicator on a grid ``factor`` times finer, each fine cell holding its first-order
    coverage ``clip(1/2 - sd/h, 0, 1)``, blurred by the same Gaussian, read at pixel centres
    (as in tests/test_geoshape.py)."""
    fine = -0.5 + (np.arange(size * factor) + 0.5) / factor
    xx, yy = np.meshgrid(fine, fine)
    coverage = np.clip(0.5 - signed_distance(xx, yy) * factor, 0.0, 1.0)
    blurred = ndimage.gaussian_filter(coverage, sigma * factor, mode="constant", truncate=6.0)
    o = (factor - 1) // 2
    return blurred[o::factor, o::factor]


def erf_square(half, cx, cy, sigma, size):
    g = np.arange(size, dtype=np.float64)
    px = special.ndtr((g - cx + half) / sigma) - special.ndtr((g - cx - half) / sigma)
    py = special.ndtr((g - cy + half) / sigma) - special.ndtr((g - cy - half) / sigma)
    return py[:, None] * px[None, :]


def shoelace(v):
    x, y = v[:, 0], v[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def star_vertices(k=50, r=8.0, amp=0.45, lobes=5):
    ang = 2 * np.pi * np.arange(k) / k
    rho = r * (1 + amp * np.cos(lobes * ang))
    return np.stack([rho * np.cos(ang), rho * np.sin(ang)], axis=1)


# --------------------------------------------------------------------------- polygons
@pytest.mark.parametrize("half, sigma, cx, cy", [(5.0, 1.0, 11.5, 11.5), (3.3, 0.4, 10.2, 13.7),
                                                 (7.1, 2.5, 12.9, 9.1)])
def test_square_polygon_is_the_erf_product(half, sigma, cx, cy):
    img = geoshape.polygons(4, (cx, cy), radius=half * math.sqrt(2), theta=math.pi / 4, size=SIZE,
                            sigma=sigma)[0]
    assert_close(img, erf_square(half, cx, cy, sigma, SIZE), ATOL_SQUARE, "square as a 4-gon")


@pytest.mark.parametrize("name", ["non-convex star", "crescent", "pentagon", "self-touching bow"])
@pytest.mark.parametrize("sigma", [0.8, 1.5])
def test_polygon_matches_supersampled_reference(name, sigma):
    cx, cy = 11.3, 12.1
    if name == "non-convex star":
        v = star_vertices()
    elif name == "crescent":
        v = 9.0 * unit_shape("crescent", theta=0.7, n_vertices=64).boundary()
    elif name == "pentagon":
        ang = 0.2 + 2 * np.pi * np.arange(5) / 5
        v = 8.0 * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    else:
        v = np.array([[-7.0, -5.0], [7.0, 5.0], [7.0, -5.0], [-7.0, 5.0]])   # two triangles
    img = geoshape.polygons(v, (cx, cy), size=SIZE, sigma=sigma)[0]
    ref = supersampled_reference(polygon_sd(cx + v[:, 0], cy + v[:, 1]), SIZE, sigma)
    assert_close(img, ref, ATOL_POLYGON, name)


def test_polygon_mass_is_its_shoelace_area():
    v = star_vertices(k=48, r=7.0)
    img = geoshape.polygons(v, size=40, sigma=1.0)[0]
    assert abs(img.sum() - shoelace(v)) <= RTOL_AREA * shoelace(v)


def test_polygon_sigma_zero_is_the_even_odd_indicator():
    v = star_vertices(k=40, r=9.0)
    cx, cy = 11.6, 11.4
    img = geoshape.polygons(v, (cx, cy), size=SIZE, sigma=0.0)[0]
    jj, ii = np.meshgrid(np.arange(SIZE, dtype=float), np.arange(SIZE, dtype=float))
    inside = Path(np.stack([cx + v[:, 0], cy + v[:, 1]], 1)).contains_points(np.stack([jj.ravel(), ii.ravel()], 1))
    sd = polygon_sd(cx + v[:, 0], cy + v[:, 1])(jj, ii)
    clear = np.abs(sd) > 1e-9                       # matplotlib leaves the boundary undefined
    assert np.array_equal(img.ravel()[clear.ravel()] == 1.0, inside[clear.ravel()])
    # the boundary is included: a vertex on a pixel centre lights it
    tri = geoshape.polygons([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]], (4.0, 4.0), size=12, sigma=0.0)[0]
    assert tri[4, 4] == 1.0 and tri[4, 9] == 1.0 and tri[9, 4] == 1.0


def test_regular_polygon_many_sides_is_the_disk():
    from scipy.stats import ncx2
    r, sigma = 8.0, 1.0
    img = geoshape.polygons(1024, radius=r, size=SIZE, sigma=sigma)[0]
    jj, ii = np.meshgrid(np.arange(SIZE), np.arange(SIZE))
    d = np.hypot(jj - 11.5, ii - 11.5)
    # a 1024-gon is within r (1 - cos(pi / 1024)) = 4e-5 pixel of the circle (measured 1.0e-5)
    assert_close(img, ncx2.cdf((r / sigma) ** 2, 2, (d / sigma) ** 2), 1e-4, "1024-gon vs disk")


def test_polygon_degenerate_and_broadcast():
    assert not geoshape.polygons(6, radius=0.0, size=8).any()
    flat = [[-3.0, 0.0], [3.0, 0.0], [0.0, 0.0]]                 # zero area
    assert not geoshape.polygons(flat, size=8, sigma=1.0).any()
    x = geoshape.polygons(5, radius=[2.0, 3.0, 4.0], size=16)
    assert x.shape == (3, 16, 16) and x.dtype == np.float32
    assert np.all(np.diff(x.sum(axis=(1, 2))) > 0)
    # rotation by one side's angle maps the regular polygon onto itself
    a, b = geoshape.polygons(5, radius=6.0, theta=[0.1, 0.1 + 2 * np.pi / 5], size=16)
    assert_close(a, b.astype(np.float64), 1e-5, "rotated pentagon")


@pytest.mark.parametrize("kwargs, match", [
    (dict(vertices=5), "radius"),
    (dict(vertices=[[0, 0], [1, 0], [0, 1]], radius=2.0), "radius"),
    (dict(vertices=2, radius=2.0), "vertices"),
    (dict(vertices=[[0, 0], [1, 0]]), "vertices"),
    (dict(vertices=[[0, 0, 0], [1, 0, 0], [0, 1, 0]]), "vertices"),
    (dict(vertices=[[0, 0], [1e9, 0], [0, 1]]), "vertices"),
    (dict(vertices=5, radius=2.0, sigma=1e-5), "sigma"),
])
def test_polygon_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        geoshape.polygons(size=8, **kwargs)


# --------------------------------------------------------------------------- unit shapes
def member(kind, x, y, r, p):
    """x in r S straight from the set definitions of the module table (no gauge)."""
    th = p.get("theta", 0.0)
    u = math.cos(th) * x + math.sin(th) * y
    v = -math.sin(th) * x + math.cos(th) * y
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "disk":
            return np.hypot(x, y) <= r
        if kind == "square":
            return (np.abs(u) <= r) & (np.abs(v) <= r)
        if kind == "ellipse":
            return (u / r) ** 2 + (v / (p["aspect"] * r)) ** 2 <= 1
        if kind == "polygon":
            ang = 2 * np.pi * np.arange(p["n_sides"]) / p["n_sides"]
            path = Path(r * np.stack([np.cos(ang), np.sin(ang)], 1))
            return path.contains_points(np.stack([u.ravel(), v.ravel()], 1)).reshape(u.shape)
        if kind == "star":
            return np.hypot(u, v) <= r * (1 + p["amplitude"] * np.cos(p["lobes"] * np.arctan2(v, u)))
        if kind == "annulus":
            return (np.hypot(x, y) <= r) & (np.hypot(x, y) >= p["ratio"] * r)
        return (np.hypot(u, v) <= r) & (np.hypot(u - r * p["offset"], v) > r * p["bite"])


PARAMS = {"disk": {}, "square": {"theta": 0.3}, "ellipse": {"aspect": 0.4, "theta": 1.0},
          "polygon": {"n_sides": 7, "theta": 0.2}, "star": {"lobes": 4, "amplitude": 0.35, "theta": 0.5},
          "annulus": {"ratio": 0.6}, "crescent": {"offset": 0.4, "bite": 0.9, "theta": 2.0}}


@pytest.mark.parametrize("kind", SCALED_KINDS)
def test_interval_is_the_set_of_scales_that_contain_the_point(kind):
    p = PARAMS[kind]
    S = unit_shape(kind, **p)
    pts = np.random.default_rng(zlib.crc32(kind.encode())).uniform(-10, 10, (200, 2))
    lo, hi = S.interval(pts[:, 0], pts[:, 1])
    r = np.linspace(0.0, 60.0, 6001)                       # step 0.01
    inside = np.stack([member(kind, pts[:, 0], pts[:, 1], rk, p) for rk in r], axis=1)   # (200, 6001)
    for k in range(len(pts)):
        got = (r >= lo[k]) & (r <= hi[k])
        differ = got != inside[k]
        # only within one r-step of an end of the interval (or of 60, where hi is cut)
        near = np.minimum(np.abs(r - lo[k]), np.abs(r - hi[k])) <= 0.011
        assert not np.any(differ & ~near), (kind, pts[k], lo[k], hi[k])
    assert S.star_shaped == (kind not in ("annulus", "crescent"))


def test_polygon_gauge_matches_bisection_on_matplotlib_membership():
    S = unit_shape("polygon", n_sides=5, theta=0.4)
    pts = np.random.default_rng(1).uniform(-5, 5, (300, 2))
    ang = 0.4 + 2 * np.pi * np.arange(5) / 5
    path = Path(np.stack([np.cos(ang), np.sin(ang)], 1))
    lo, hi = np.full(300, 1e-6), np.full(300, 50.0)
    for _ in range(60):                                     # bisection on t: p / t in S
        mid = 0.5 * (lo + hi)
        ins = path.contains_points(pts / mid[:, None])
        hi, lo = np.where(ins, mid, hi), np.where(ins, lo, mid)
    np.testing.assert_allclose(S.gauge(pts[:, 0], pts[:, 1]), hi, rtol=1e-9)


@pytest.mark.parametrize("kind", SCALED_KINDS)
def test_family_is_nested_iff_star_shaped(kind):
    S = unit_shape(kind, **PARAMS[kind])
    x = S.render(np.linspace(1.0, 11.0, 21), size=32, sigma=0.0)
    nested = bool(np.all(np.diff(x, axis=0) >= 0))
    assert nested == S.star_shaped


def crescent_area(off, bite):
    """Unit disk minus its lens with the disk (off e_x, bite): the circle-intersection formula."""
    d, r1, r2 = off, 1.0, bite
    lens = (r1 ** 2 * math.acos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1))
            + r2 ** 2 * math.acos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2))
            - 0.5 * math.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2)))
    return math.pi - lens


def unit_area(kind, p):
    if kind == "disk":
        return math.pi
    if kind == "square":
        return 4.0
    if kind == "ellipse":
        return math.pi * p["aspect"]
    if kind == "polygon":
        n = p["n_sides"]
        return 0.5 * n * math.sin(2 * math.pi / n)
    if kind == "star":
        return math.pi * (1 + p["amplitude"] ** 2 / 2)
    if kind == "annulus":
        return math.pi * (1 - p["ratio"] ** 2)
    return crescent_area(p["offset"], p["bite"])


@pytest.mark.parametrize("kind", SCALED_KINDS)
def test_scaled_shapes_mass_is_the_scaled_area(kind):
    p = PARAMS[kind]
    fam = geoshape.scaled_shapes(kind, 4, (6.0, 12.0), size=64, sigma=1.0, seed=3, **p)
    r = fam.factors["scale"]
    assert fam.images.shape == (4, 64, 64) and fam.images.dtype == np.float32
    area = unit_area(kind, p) * r ** 2
    np.testing.assert_allclose(fam.images.sum(axis=(1, 2)), area, rtol=RTOL_AREA)


def test_scaled_shapes_draws_from_the_named_stream():
    fam = geoshape.scaled_shapes("ellipse", 5, (2.0, 10.0), size=16, seed=11)
    u = np.random.default_rng(np.random.SeedSequence(11, spawn_key=(zlib.crc32(b"scale"),))).random(5)
    np.testing.assert_array_equal(fam.factors["scale"], 2.0 + 8.0 * u)
    again = geoshape.scaled_shapes("ellipse", 5, (2.0, 10.0), size=16, seed=11)
    assert np.array_equal(again.images, fam.images)
    other = geoshape.scaled_shapes("ellipse", 5, (2.0, 10.0), size=16, seed=12)
    assert not np.any(np.isin(other.factors["scale"], fam.factors["scale"]))


def test_render_uses_the_closed_form_renderers():
    r = np.array([3.0, 7.5])
    S = unit_shape("ellipse", aspect=0.5, theta=0.3)
    assert np.array_equal(S.render(r, size=20), geoshape.ellipses(r, 0.5 * r, 0.3, size=20))
    A = unit_shape("annulus", ratio=0.25)
    assert np.array_equal(A.render(r, size=20), geoshape.rings(0.25 * r, r, size=20))
    # scale 0 is empty when blurred, for every kind
    for kind in SCALED_KINDS:
        assert not unit_shape(kind).render([0.0], size=8, sigma=1.0).any(), kind


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="disk", theta=0.1), "theta"),
    (dict(kind="square", aspect=0.5), "aspect"),
    (dict(kind="star", amplitude=1.0), "amplitude"),
    (dict(kind="crescent", offset=0.9, bite=0.5), "offset and bite"),
    (dict(kind="crescent", offset=0.2, bite=0.5), "offset and bite"),
    (dict(kind="hexagon"), "kind"),
    (dict(kind="polygon", n_sides=2), "n_sides"),
])
def test_unit_shape_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        unit_shape(**kwargs)


def test_scaled_shapes_bad_arguments():
    with pytest.raises(ValueError, match="scale_range"):
        geoshape.scaled_shapes("disk", 2, (5.0, 1.0), size=16)
    with pytest.raises(ValueError, match="scale_range"):
        geoshape.scaled_shapes("disk", 2, (1.0, 1e9), size=16)
    with pytest.raises(TypeError, match="seed"):
        geoshape.scaled_shapes("disk", 2, (1.0, 2.0), size=16, seed=1.5)


# --------------------------------------------------------------------------- scaled images
def brute_scaled(img, s, size, c, m=64):
    """``m x m`` sub-pixel average of scipy's bilinear interpolant (zero beyond the image)."""
    oc = (size - 1) / 2
    off = (np.arange(m) + 0.5) / m - 0.5
    t = (np.arange(size)[:, None] + off[None]).ravel()
    X, Y = np.meshgrid(c[0] + (t - oc) / s, c[1] + (t - oc) / s)
    v = ndimage.map_coordinates(img, [Y.ravel(), X.ravel()], order=1, mode="grid-constant", cval=0.0)
    return v.reshape(size, m, size, m).mean(axis=(1, 3))


@pytest.mark.parametrize("s", [0.3, 0.77, 1.0, 1.6, 3.1])
def test_scaled_is_the_area_average_of_the_bilinear_interpolant(s):
    img = np.random.default_rng(0).random((20, 24))
    for c in [(11.5, 9.5), (3.2, 14.7)]:
        got = geoshape.scaled(img, s, size=28, centre=c)[0]
        assert_close(got, brute_scaled(img, s, 28, c), ATOL_SCALED_BRUTE, f"scale {s}, centre {c}")


@pytest.mark.parametrize("s", [0.3, 1.0, 2.2])
def test_scaled_point_samples_are_scipy_affine_transform(s):
    img = np.random.default_rng(1).random((20, 24))
    c, size = (11.5, 9.5), 28
    oc = (size - 1) / 2
    ref = ndimage.affine_transform(img, [1 / s, 1 / s], offset=[c[1] - oc / s, c[0] - oc / s],
                                   output_shape=(size, size), order=1, mode="grid-constant", cval=0.0)
    assert_close(geoshape.scaled(img, s, size=size, centre=c, supersample=1)[0], ref, ATOL_SCALED_AFFINE,
                 f"point samples at scale {s}")


def test_scaled_identity_and_mass():
    img = np.random.default_rng(2).random((16, 16))
    assert_close(geoshape.scaled(img, 1.0, supersample=1)[0], img, ATOL_F32, "scale 1")
    # area-exact: a support well inside the output keeps its mass times s^2
    x = geoshape.disks(4.0, size=16, sigma=1.0)[0].astype(np.float64)
    out = geoshape.scaled(x, [0.5, 1.5, 2.5], size=64)
    np.testing.assert_allclose(out.sum(axis=(1, 2)), x.sum() * np.array([0.25, 2.25, 6.25]), rtol=1e-6)


def test_scaled_blurred_disk_is_the_scaled_disk_within_the_documented_error():
    r, sig, n, q = 10.0, 1.5, 64, 15
    x = geoshape.disks(r, size=n, sigma=sig)[0]
    for s in (0.5, 0.8, 1.3, 2.0):
        point = geoshape.scaled(x, s, supersample=1)[0]
        assert_close(point, geoshape.disks(s * r, size=n, sigma=s * sig)[0].astype(np.float64),
                     ATOL_SCALED_MODEL, f"point samples at scale {s}")
        fine = geoshape.disks(s * r * q, size=n * q, sigma=s * sig * q)[0].astype(np.float64)
        assert_close(geoshape.scaled(x, s)[0], fine.reshape(n, q, n, q).mean(axis=(1, 3)),
                     ATOL_SCALED_MODEL, f"pixel averages at scale {s}")


@pytest.mark.parametrize("kwargs, match", [
    (dict(image=np.ones(4), scales=1.0), "image"),
    (dict(image=np.ones((4, 4)), scales=0.0), "scales"),
    (dict(image=np.ones((4, 4)), scales=1.0, supersample=0), "supersample"),
    (dict(image=np.ones((4, 4)), scales=1.0, centre=(1.0, 2.0, 3.0)), "centre"),
    (dict(image=np.ones((4, 4)), scales=[1.0] * 10, size=32768), "size"),
])
def test_scaled_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        geoshape.scaled(**kwargs)


# --------------------------------------------------------------------------- bad values
BAD = [math.nan, math.inf, -math.inf, -1, -1.5, 0, 0.0, 2**70, 1e300, 1e-300, -(2**63), 2**64, True, None,
       "x", b"x", [], [1, 2], (), {}, np.zeros((2, 3, 4, 5)), np.array([]), np.array([np.nan]),
       np.array(["a"]), object(), 1 + 2j, np.float32(np.nan), torch.zeros(2)]
IMG = geoshape.disks([2.0, 3.0, 4.0], size=8).astype(np.float64)
VALID = {
    "polygons": (geoshape.polygons, dict(vertices=5, centres=None, radius=[3.0], theta=0.3, size=8, sigma=1.0,
                                         grey=1.0)),
    "polygons(array)": (geoshape.polygons, dict(vertices=[[3, 0], [0, 3], [-3, 0], [0, -1]], centres=None,
                                                radius=None, theta=0.3, size=8, sigma=1.0, grey=1.0)),
    "scaled": (geoshape.scaled, dict(image=IMG[1], scales=[0.5, 1.5], size=8, centre=None, supersample=None)),
    "scaled_shapes": (geoshape.scaled_shapes, dict(kind="star", n=2, scale_range=(1.0, 3.0), size=8, sigma=1.0,
                                                   seed=0, centre=None, theta=None, aspect=None, lobes=5,
                                                   amplitude=0.3, n_vertices=64)),
    "scaled_shapes(crescent)": (geoshape.scaled_shapes, dict(kind="crescent", n=2, scale_range=(1.0, 3.0), size=8,
                                                             sigma=0.0, seed=0, offset=0.5, bite=0.8)),
    "unit_shape": (geoshape.unit_shape, dict(kind="ellipse", theta=0.3, aspect=0.5)),
}


def _finite(out):
    if isinstance(out, geoshape.Labelled):
        out = out.images
    return not isinstance(out, np.ndarray) or bool(np.all(np.isfinite(out)))


@pytest.mark.parametrize("name", sorted(VALID))
def test_bad_values_give_a_result_or_an_error_naming_the_argument(name):
    fn, kwargs = VALID[name]
    assert _finite(fn(**kwargs))
    failures = []
    for arg in kwargs:
        for value in BAD:
            kw = dict(kwargs, **{arg: value})
            try:
                out = fn(**kw)
            except (ValueError, TypeError) as e:
                if arg not in str(e):
                    failures.append(f"{name}({arg}={value!r:.30}): {type(e).__name__} without {arg!r}: {e}")
                continue
            if not _finite(out):
                failures.append(f"{name}({arg}={value!r:.30}): non-finite result")
    assert not failures, "\n".join(failures)
