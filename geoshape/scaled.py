"""Scaled families: scaled copies of any image, and labelled families of scaled shapes.

The disk data set of the talk is one *scaled family*: the images ``x_r = 1[x in r S]`` of a
unit shape ``S`` (the unit disk) scaled by ``r`` about a fixed centre. This module makes such
families for other shapes (the talk's "further work: apply to general scaling"), and scales
any image (scaled MNIST):

- :func:`unit_shape` -- a unit shape ``S`` of a named kind (:data:`SCALED_KINDS`) as a
  :class:`UnitShape`: which scales put a point inside (:meth:`UnitShape.interval`), its gauge
  (:meth:`UnitShape.gauge`), its half-width and its blurred renderer (:meth:`UnitShape.render`);
- :func:`scaled_shapes` -- ``n`` images of one kind at scales uniform in a range, blurred like
  every geoshape shape (docs/conventions.md), with the scales as the factor;
- :func:`scaled` -- scaled copies of one image about a centre (area averages of its bilinear
  interpolant, computed exactly).

The scale ``r`` is in pixels: the unit shape has "size" 1, ``r S`` has size r. The kinds, their
unit shape ``S`` before the rotation ``theta``, and what the scale is:

- ``disk``: ``|p| <= 1``; the radius.
- ``square``: ``max(|x|, |y|) <= 1``; the half side.
- ``ellipse``: ``x^2 + (y / aspect)^2 <= 1``; the semi-axis along theta.
- ``polygon``: the regular ``n_sides``-gon with a vertex at angle 0; the circumradius.
- ``star``: ``|p| <= 1 + amplitude cos(lobes phi)``; the mean radius.
- ``annulus``: ``ratio <= |p| <= 1``; the outer radius.
- ``crescent``: ``|p| <= 1`` and ``|p - offset e_x| > bite``; the outer radius.

Rotation by ``theta`` is counter-clockwise in (x, y) = (column, row), as for
:func:`geoshape.squares`. The first five are star-shaped about the scaling centre, so their
families are nested (``r S`` inside ``t S`` for ``r <= t``); the annulus and the crescent are
not (the centre lies in their hole), and points leave them as they grow.

Rendering (``sigma > 0``): disks, squares, ellipses, annuli and regular polygons use the
exact renderers of :mod:`geoshape.shapes`; the smooth star and the crescent are rendered as
the polygon of ``n_vertices`` points of their boundary (:func:`geoshape.polygons`); at the
default 720 vertices the polygon is within ``1.2e-4 r`` (radially) of the star's boundary
and ``1.6e-5 r`` of the crescent's (0.004 and 0.0005 pixel at r = 32). ``sigma = 0`` is the exact
indicator at pixel centres, boundary included, for every kind.

Note: ``geoshape.scaled`` is the function :func:`scaled`; import this module's other names
with ``from geoshape.scaled import ...``.

Examples
--------
>>> fam = scaled_shapes("square", 4, (4.0, 12.0), size=32, seed=0)
>>> fam.images.shape, fam.names
((4, 32, 32), ('scale',))
>>> S = unit_shape("square")
>>> S.gauge([3.0, -1.0], [1.0, 2.0]).tolist()      # max(|x|, |y|): the half side through p
[3.0, 2.0]
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from . import checks, shapes
from .datasets import Labelled

__all__ = ["SCALED_KINDS", "UnitShape", "unit_shape", "scaled_shapes", "scaled"]

#: The kinds of unit shape, star-shaped ones first.
SCALED_KINDS = ("disk", "square", "ellipse", "polygon", "star", "annulus", "crescent")

# kind -> its parameters and their defaults (None: not a parameter of that kind).
_DEFAULTS = {
    "disk": {},
    "square": {"theta": 0.0},
    "ellipse": {"aspect": 0.5, "theta": 0.0},
    "polygon": {"n_sides": 5, "theta": 0.0},
    "star": {"lobes": 5, "amplitude": 0.3, "theta": 0.0, "n_vertices": 720},
    "annulus": {"ratio": 0.5},
    "crescent": {"offset": 0.5, "bite": 0.8, "theta": 0.0, "n_vertices": 720},
}
_PARAM_NAMES = ("theta", "aspect", "n_sides", "lobes", "amplitude", "ratio", "offset", "bite",
                "n_vertices")
#: Largest |theta| accepted (radians): far beyond a turn, small enough for cos / sin to be exact.
MAX_THETA = 1e6
#: Largest scale of :func:`scaled` and smallest: 1 / scale must stay a modest float.
SCALE_RANGE = (1e-6, 1e6)


def _check_param(name, value, kind):
    if name in ("n_sides", "lobes", "n_vertices"):
        lo, hi = {"n_sides": (3, shapes.MAX_POLYGON_VERTICES), "lobes": (1, 64),
                  "n_vertices": (8, shapes.MAX_POLYGON_VERTICES)}[name]
        return checks.integer(value, name, lo=lo, hi=hi)
    lo, hi, lo_open = {"theta": (-MAX_THETA, MAX_THETA, False), "aspect": (1e-3, 1e3, False),
                       "amplitude": (0.0, 0.95, False), "ratio": (0.0, 0.99, False),
                       "offset": (0.0, 10.0, True), "bite": (0.0, 11.0, True)}[name]
    return checks.real(value, name, lo=lo, hi=hi, lo_open=lo_open)


@dataclass(frozen=True)
class UnitShape:
    """A unit shape ``S`` of kind ``kind`` (see the module docstring) and its parameters.

    Made by :func:`unit_shape`, which validates. Coordinates ``(x, y)`` are offsets from the
    scaling centre in pixels (x the column, y the row); scales ``r`` are in pixels.
    """

    kind: str
    params: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ geometry
    @property
    def star_shaped(self) -> bool:
        """True if ``S`` is star-shaped about the centre: its scaled family is nested."""
        return self.kind not in ("annulus", "crescent")

    def _rotated(self, x, y):
        th = self.params.get("theta", 0.0)
        c, s = math.cos(th), math.sin(th)
        return c * x + s * y, -s * x + c * y

    def interval(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """The scales ``r >= 0`` at which the point ``(x, y)`` lies in ``r S``: ``[lo, hi]``.

        ``x``, ``y`` : finite real arrays of one shape (offsets from the centre, pixels).
        Returns float64 ``(lo, hi)`` shaped like them; ``hi = inf`` for star-shaped kinds, and
        ``lo = hi = inf`` where no scale puts the point inside (e.g. the crescent's centre).
        """
        x = checks.real_array(x, "x", ndim_max=None)
        y = checks.real_array(y, "y", ndim_max=None)
        if x.shape != y.shape:
            raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
        u, v = self._rotated(x, y)
        p = self.params
        inf = np.full(x.shape, np.inf)
        if self.kind == "disk":
            return np.hypot(x, y), inf
        if self.kind == "square":
            return np.maximum(np.abs(u), np.abs(v)), inf
        if self.kind == "ellipse":
            return np.hypot(u, v / p["aspect"]), inf
        if self.kind == "polygon":
            # the edge of the sector holding p: between vertices j and j + 1 (angles 2 pi j / k),
            # outward normal at angle (j + 1/2) 2 pi / k, at distance cos(pi / k) from 0
            k = p["n_sides"]
            j = np.minimum(np.floor(np.mod(np.arctan2(v, u), 2.0 * np.pi) * (k / (2.0 * np.pi))), k - 1)
            phi = (j + 0.5) * (2.0 * np.pi / k)
            return (u * np.cos(phi) + v * np.sin(phi)) / math.cos(math.pi / k), inf
        if self.kind == "star":
            rho = 1.0 + p["amplitude"] * np.cos(p["lobes"] * np.arctan2(v, u))
            return np.hypot(u, v) / rho, inf
        d = np.hypot(u, v)
        if self.kind == "annulus":
            with np.errstate(divide="ignore"):
                hi = np.where(d > 0, d / p["ratio"], 0.0) if p["ratio"] > 0 else inf
            return np.where(hi >= d, d, np.inf), np.where(hi >= d, hi, np.inf)
        # crescent: |p| <= r and |p - r c| > r bite, c = offset e_x: the quadratic
        # q(r) = |p|^2 - 2 r offset u + r^2 (offset^2 - bite^2) is > 0 for 0 <= r < r_plus.
        a = p["offset"] ** 2 - p["bite"] ** 2                     # < 0: the centre is bitten
        b = p["offset"] * u
        r_plus = (b - np.sqrt(b * b - a * d * d)) / a
        ok = r_plus > d
        return np.where(ok, d, np.inf), np.where(ok, r_plus, np.inf)

    def gauge(self, x, y) -> np.ndarray:
        """The gauge ``|p|_S = inf {t > 0 : p in t S}`` (pixels; inf where no scale reaches p).

        For the star-shaped kinds ``p in r S`` exactly when ``|p|_S <= r``. For the annulus
        and the crescent it is the gauge of their star hull (the disk for the annulus), and
        ``|p|_S <= r`` no longer says that ``p`` is in ``r S``.
        """
        return self.interval(x, y)[0]

    def boundary(self, n_vertices: int | None = None) -> np.ndarray:
        """Vertices (k, 2) of the polygon that renders the unit shape when ``sigma > 0``.

        The regular polygon and the square are exact; the star and the crescent get
        ``n_vertices`` points of their boundary (default the shape's own ``n_vertices``).
        Not defined for the disk, the ellipse and the annulus (rendered in closed form).
        """
        p = self.params
        k = p.get("n_vertices") if n_vertices is None else checks.integer(
            n_vertices, "n_vertices", lo=8, hi=shapes.MAX_POLYGON_VERTICES)
        if self.kind == "square":
            xy = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
        elif self.kind == "polygon":
            ang = 2.0 * np.pi * np.arange(p["n_sides"]) / p["n_sides"]
            xy = np.stack([np.cos(ang), np.sin(ang)], axis=1)
        elif self.kind == "star":
            ang = 2.0 * np.pi * np.arange(k) / k
            rho = 1.0 + p["amplitude"] * np.cos(p["lobes"] * ang)
            xy = np.stack([rho * np.cos(ang), rho * np.sin(ang)], axis=1)
        elif self.kind == "crescent":
            off, bite = p["offset"], p["bite"]
            xt = (1.0 + off * off - bite * bite) / (2.0 * off)     # the two tips (xt, +-yt)
            yt = math.sqrt(max(1.0 - xt * xt, 0.0))
            phi_t, psi_t = math.atan2(yt, xt), math.atan2(yt, xt - off)
            outer, inner = 2.0 * (math.pi - phi_t), 2.0 * (math.pi - psi_t) * bite
            k_out = max(2, int(round(k * outer / (outer + inner))))
            k_in = max(2, k - k_out)
            a = np.linspace(phi_t, 2.0 * np.pi - phi_t, k_out)      # outer arc, through pi
            b = np.linspace(2.0 * np.pi - psi_t, psi_t, k_in + 2)[1:-1]   # bite arc, back
            xy = np.concatenate([np.stack([np.cos(a), np.sin(a)], axis=1),
                                 np.stack([off + bite * np.cos(b), bite * np.sin(b)], axis=1)])
        else:
            raise ValueError(f"boundary: kind {self.kind!r} is rendered in closed form, not as a polygon")
        th = p.get("theta", 0.0)
        c, s = math.cos(th), math.sin(th)
        return np.stack([c * xy[:, 0] - s * xy[:, 1], s * xy[:, 0] + c * xy[:, 1]], axis=1)

    @property
    def half_width(self) -> float:
        """``max over S of max(|x|, |y|)``: ``r S`` fits a ``size`` image about its centre for
        ``r <= size / (2 half_width)``."""
        p = self.params
        th = p.get("theta", 0.0)
        c, s = abs(math.cos(th)), abs(math.sin(th))
        if self.kind in ("disk", "annulus"):
            return 1.0
        if self.kind == "ellipse":
            a = p["aspect"]
            return max(math.sqrt(c * c + a * a * s * s), math.sqrt(s * s + a * a * c * c))
        if self.kind == "star":
            ang = np.linspace(0.0, 2.0 * np.pi, 1 << 16, endpoint=False)
            rho = 1.0 + p["amplitude"] * np.cos(p["lobes"] * ang)
            xy = np.stack([rho * np.cos(ang + th), rho * np.sin(ang + th)], axis=1)
            return float(max(np.abs(xy).max(), np.abs(self.boundary()).max()))
        if self.kind == "crescent":
            ang = np.linspace(0.0, 2.0 * np.pi, 1 << 16, endpoint=False)
            pts = np.concatenate([np.stack([np.cos(ang), np.sin(ang)], 1),
                                  np.stack([p["offset"] + p["bite"] * np.cos(ang), p["bite"] * np.sin(ang)], 1)])
            keep = (np.hypot(pts[:, 0], pts[:, 1]) <= 1 + 1e-12) & (
                np.hypot(pts[:, 0] - p["offset"], pts[:, 1]) >= p["bite"] - 1e-12)
            u, v = pts[keep, 0], pts[keep, 1]
            xy = np.stack([math.cos(th) * u - math.sin(th) * v, math.sin(th) * u + math.cos(th) * v], 1)
            return float(np.abs(xy).max())
        return float(np.abs(self.boundary()).max())   # square, polygon: the vertices

    # ------------------------------------------------------------------ rendering
    def render(self, scales, *, size=64, sigma=1.0, centre=None) -> np.ndarray:
        """Images ``r S`` for each scale ``r``: float32 ``(n, size, size)``.

        ``scales`` : float or array (n,), pixels in ``[0, 16 size / half_width]``. ``size``
        : int in [1, 32768]. ``sigma`` : float, 0 (the exact indicator at pixel centres) or
        in ``[1e-3, size]``. ``centre`` : ``(x, y)`` pixels, default the image centre. See the
        module docstring for how each kind is rendered.
        """
        size = checks.image_size(size)
        sigma = checks.real(sigma, "sigma", lo=0.0, hi=shapes.MAX_SIGMA_FACTOR * size)
        if 0.0 < sigma < shapes.MIN_SIGMA:
            raise ValueError(f"sigma must be 0 (no blur) or >= {shapes.MIN_SIGMA} pixels, got {sigma!r}")
        cen = checks.centres(centre, size, "centre")
        if cen.shape[0] != 1:
            raise ValueError(f"centre must be one (x, y), got shape {cen.shape}")
        r = checks.real_array(scales, "scales")
        checks.check_range(r, "scales", 0.0, shapes.MAX_EXTENT_FACTOR * size / self.half_width)
        r = np.atleast_1d(r)
        n = len(r)
        # the output, and the work arrays: ~8 float64 images (sigma = 0: coordinates, lo, hi)
        # or the kernels' accumulators (one float64 image per thread)
        checks.budget(4 * n * size * size + 64 * size * size, "scales, size",
                      f"the output ({n}, {size}, {size}) float32 and its work arrays")
        cx, cy = float(cen[0, 0]), float(cen[0, 1])
        p = self.params
        if sigma == 0.0:
            return self._indicator(r, size, cx, cy)
        kw = dict(size=size, sigma=sigma)
        c = (cx, cy)
        if self.kind == "disk":
            return shapes.disks(r, c, **kw)
        if self.kind == "annulus":
            return shapes.rings(p["ratio"] * r, r, c, **kw)
        if self.kind == "ellipse":
            a = np.maximum(r, shapes.MIN_SEMI_AXIS)
            out = shapes.ellipses(a, np.maximum(p["aspect"] * r, shapes.MIN_SEMI_AXIS), p["theta"], c, **kw)
            out[r == 0] = 0.0
            return out
        if self.kind == "square":
            return shapes.squares(2.0 * r, p["theta"], c, **kw)
        if self.kind == "polygon":
            return shapes.polygons(p["n_sides"], c, radius=r, theta=p["theta"], **kw)
        verts = r[:, None, None] * self.boundary()[None]
        return shapes.polygons(verts, c, **kw)

    def _indicator(self, r, size, cx, cy):
        i, j = np.indices((size, size), dtype=np.float64)
        lo, hi = self.interval(j - cx, i - cy)
        out = np.empty((len(r), size, size), dtype=np.float32)
        for k, rk in enumerate(r):
            out[k] = (lo <= rk) & (rk <= hi)
        return out


def unit_shape(kind, *, theta=None, aspect=None, n_sides=None, lobes=None, amplitude=None,
               ratio=None, offset=None, bite=None, n_vertices=None) -> UnitShape:
    """The unit shape ``S`` of ``kind`` (the list in the module docstring), validated.

    Each shape parameter belongs to some kinds only (another kind refuses it); None means its
    default.

    Parameters
    ----------
    kind : one of :data:`SCALED_KINDS`.
    theta : rotation (radians, ``|theta| <= 1e6``) of square, ellipse, polygon, star, crescent; 0.
    aspect : ellipse semi-axis ratio (across / along theta), in [1e-3, 1e3]; 0.5.
    n_sides : polygon sides, int in [3, 4096]; 5.
    lobes, amplitude : star ``rho(phi) = 1 + amplitude cos(lobes phi)``, lobes int in [1, 64]
        (5), amplitude in [0, 0.95] (0.3; ``rho > 0``: star-shaped, not convex when
        ``amplitude (lobes^2 + 1) > 1``).
    ratio : annulus inner / outer radius, in [0, 0.99] (0 is the disk); 0.5.
    offset, bite : crescent, the unit disk minus the disk of radius ``bite`` centred at
        ``offset e_x``; ``0 < offset < bite`` (the centre is bitten, so each point is inside
        for one interval of scales) and ``1 - offset < bite < 1 + offset`` (the bite cuts
        the rim: two tips); 0.5 and 0.8.
    n_vertices : polygon points of the star's or crescent's boundary for blurred rendering,
        int in [8, 4096]; 720.

    Returns
    -------
    :class:`UnitShape`

    Examples
    --------
    >>> unit_shape("ellipse", aspect=0.25).gauge([4.0, 0.0], [0.0, 1.0]).tolist()
    [4.0, 4.0]
    >>> lo, hi = unit_shape("annulus", ratio=0.5).interval([3.0], [4.0])
    >>> lo.tolist(), hi.tolist()           # |p| = 5 is inside r A for 5 <= r <= 10
    ([5.0], [10.0])
    """
    kind = checks.choice(kind, "kind", SCALED_KINDS)
    given = dict(theta=theta, aspect=aspect, n_sides=n_sides, lobes=lobes, amplitude=amplitude,
                 ratio=ratio, offset=offset, bite=bite, n_vertices=n_vertices)
    allowed = _DEFAULTS[kind]
    params = {}
    for name in _PARAM_NAMES:
        value = given[name]
        if name not in allowed:
            if value is not None:
                raise ValueError(f"{name} is not a parameter of kind {kind!r} (its parameters: "
                                 f"{tuple(allowed) or 'none'})")
            continue
        params[name] = _check_param(name, allowed[name] if value is None else value, kind)
    if kind == "crescent":
        off, bite_ = params["offset"], params["bite"]
        if not (off < bite_ and 1.0 - off < bite_ < 1.0 + off):
            raise ValueError(f"offset and bite must satisfy 0 < offset < bite and 1 - offset < bite < "
                             f"1 + offset (a crescent whose hole holds the centre), got offset={off!r}, "
                             f"bite={bite_!r}")
    return UnitShape(kind, params)


def _scale_range(value, size):
    arr = checks.real_array(value, "scale_range")
    if arr.shape != (2,):
        raise ValueError(f"scale_range must be a (low, high) pair, got shape {arr.shape}")
    checks.check_range(arr, "scale_range", 0.0, shapes.MAX_EXTENT_FACTOR * size)
    if arr[0] > arr[1]:
        raise ValueError(f"scale_range must satisfy low <= high, got {tuple(arr)}")
    return float(arr[0]), float(arr[1])


def scaled_shapes(kind, n, scale_range, *, size=64, sigma=1.0, seed=0, centre=None, theta=None,
                  aspect=None, n_sides=None, lobes=None, amplitude=None, ratio=None, offset=None,
                  bite=None, n_vertices=None) -> Labelled:
    """``n`` scaled copies ``r S`` of one unit shape, ``r`` uniform on ``scale_range``.

    The scales come from the stream named ``"scale"`` of ``numpy.random.SeedSequence(seed)``
    (``SeedSequence(seed, spawn_key=(crc32(b"scale"),))``, docs/conventions.md); the images
    are rendered by :meth:`UnitShape.render` (exact renderers, or the boundary polygon for
    the star and the crescent; module docstring).

    Parameters
    ----------
    kind : one of :data:`SCALED_KINDS`; the shape parameters as in :func:`unit_shape`.
    n : int >= 1, number of images.
    scale_range : (low, high), pixels, ``0 <= low <= high <= 16 size / half_width``.
    size : int in [1, 32768]. sigma : 0 or in [1e-3, size] (pixels).
    seed : int in [0, 2^63 - 1]. centre : (x, y) pixels, default the image centre.

    Returns
    -------
    ``Labelled(images float32 (n, size, size), {"scale": float64 (n,)})``

    Examples
    --------
    >>> fam = scaled_shapes("annulus", 3, (8.0, 16.0), size=48, ratio=0.5, seed=1)
    >>> x, r = fam.images, fam.factors["scale"]
    >>> print(np.allclose(x.sum(axis=(1, 2)), np.pi * 0.75 * r ** 2, rtol=1e-4))
    True
    """
    shape = unit_shape(kind, theta=theta, aspect=aspect, n_sides=n_sides, lobes=lobes,
                       amplitude=amplitude, ratio=ratio, offset=offset, bite=bite, n_vertices=n_vertices)
    n = checks.count(n, "n")
    size = checks.image_size(size)
    checks.budget(4 * n * size * size, "n, size", f"the images ({n}, {size}, {size}) float32")
    lo, hi = _scale_range(scale_range, size / shape.half_width)
    seed = checks.seed(seed, "seed")
    gen = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(b"scale"),)))
    r = lo + gen.random(n) * (hi - lo)
    images = shape.render(r, size=size, sigma=sigma, centre=centre)
    return Labelled(images, {"scale": r})


# --------------------------------------------------------------------------- scaled images
def _hat_integral(t):
    """``H(t) = int_{-inf}^t hat``, hat the unit triangle on [-1, 1] (bilinear interpolation)."""
    t = np.clip(t, -1.0, 1.0)
    return np.where(t < 0, 0.5 * (t + 1.0) ** 2, 1.0 - 0.5 * (1.0 - t) ** 2)


def _axis_matrix(s, n_out, c_out, n_in, c_in, supersample):
    """(n_out, n_in): output pixel i's weight on input sample k along one axis."""
    k = np.arange(n_in, dtype=np.float64)[None, :]
    if supersample is None:
        ua = c_in + ((np.arange(n_out) - 0.5) - c_out) / s          # pixel edges, input coords
        ub = c_in + ((np.arange(n_out) + 0.5) - c_out) / s
        return s * (_hat_integral(ub[:, None] - k) - _hat_integral(ua[:, None] - k))
    off = (np.arange(supersample) + 0.5) / supersample - 0.5
    u = c_in + ((np.arange(n_out)[:, None] + off[None, :]) - c_out) / s   # (n_out, m)
    w = np.maximum(1.0 - np.abs(u[:, :, None] - k[None]), 0.0)          # (n_out, m, n_in)
    return w.mean(axis=1)


def scaled(image, scales, *, size=None, centre=None, supersample=None) -> np.ndarray:
    """Scaled copies of one image about ``centre``: float32 ``(n, size, size)``.

    The input is read as a function on the plane: the bilinear interpolant of its pixels
    (pixel ``(i, j)`` at ``(x, y) = (j, i)``), zero beyond the outermost pixel centres' hats.
    Scaling by ``s`` maps the input point ``centre`` to the output centre
    ``((size-1)/2, (size-1)/2)`` and stretches lengths by ``s``: output point ``q`` reads
    the input at ``centre + (q - out_centre) / s``. Each output pixel is

    - ``supersample=None`` (default): the exact average of the scaled interpolant over the
      pixel's square (area-exact; bilinear and box are separable, so per axis it is the
      integral of a hat over an interval, in closed form): no aliasing when shrinking;
    - ``supersample=m``: the mean of its ``m x m`` sub-pixel point samples; ``m = 1`` is
      point sampling, which ``scipy.ndimage.affine_transform(order=1)`` also gives, and
      returns the image unchanged at ``s = 1`` (same centres).

    Measured errors (tests): the default is the limit of the ``m x m`` sub-pixel average of
    ``scipy.ndimage.map_coordinates(order=1, mode="grid-constant")`` (the same model, brute
    force), which is 2.3e-4, 5.0e-5 and 1.1e-5 away (max abs, random image) at m = 32, 64,
    128: second order; ``supersample=1`` equals ``scipy.ndimage.affine_transform(order=1)`` to
    float32 rounding. As a model of a continuous image it inherits bilinear interpolation's
    error: a blurred disk (``geoshape.disks``, r = 10, sigma = 1.5, 64 x 64) scaled by ``s`` in
    [0.5, 2] with ``supersample=1`` is within 0.015 (max abs) of the disk of radius ``s r`` and
    blur ``s sigma`` rendered directly; the default output is within 0.014 of that disk's
    pixel average (rendered 15 times finer and averaged over 15 x 15 blocks).

    Parameters
    ----------
    image : 2-D real finite array (H, W), H, W >= 1.
    scales : float or array (n,), each in [1e-6, 1e6].
    size : int in [1, 32768], the output side; default ``max(H, W)``.
    centre : (x, y) in input pixels, any finite; default the input centre ``((W-1)/2, (H-1)/2)``.
    supersample : None (exact area average) or int in [1, 64].

    Returns
    -------
    np.ndarray float32 (n, size, size)

    Examples
    --------
    >>> img = np.zeros((5, 5)); img[2, 2] = 1.0
    >>> scaled(img, 1.0, supersample=1)[0, 2].tolist()   # point samples at s = 1: unchanged
    [0.0, 0.0, 1.0, 0.0, 0.0]
    >>> big = scaled(img, 2.0, size=9, supersample=1)[0, 4]
    >>> big.tolist()                                     # the hat stretched twice as wide
    [0.0, 0.0, 0.0, 0.5, 1.0, 0.5, 0.0, 0.0, 0.0]
    >>> print(round(float(scaled(img, 2.0, size=9).sum()), 6))   # area-exact: mass times s^2
    4.0
    """
    img = checks.real_array(image, "image", ndim=2)
    if img.size == 0:
        raise ValueError(f"image must have at least one pixel, got shape {img.shape}")
    h, w = img.shape
    s = checks.real_array(scales, "scales")
    checks.check_range(s, "scales", SCALE_RANGE[0], SCALE_RANGE[1])
    s = np.atleast_1d(s)
    size = max(h, w) if size is None else checks.image_size(size)
    if centre is None:
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    else:
        c = checks.real_array(centre, "centre", ndim=1)
        if c.shape != (2,):
            raise ValueError(f"centre must be (x, y), got shape {c.shape}")
        cx, cy = float(c[0]), float(c[1])
    if supersample is not None:
        supersample = checks.integer(supersample, "supersample", lo=1, hi=64)
    n = len(s)
    m = 1 if supersample is None else supersample
    # the output, the axis matrices (and their (size, m, W) sub-sample weights), one product
    checks.budget(4 * n * size * size + 8 * (size * (h + w) * (m + 1) + size * w + size * size),
                  "scales, size, supersample", f"the output ({n}, {size}, {size}) float32 and its work arrays")
    oc = (size - 1) / 2.0
    out = np.empty((n, size, size), dtype=np.float32)
    for k, sk in enumerate(s):
        ay = _axis_matrix(float(sk), size, oc, h, cy, supersample)
        ax = _axis_matrix(float(sk), size, oc, w, cx, supersample)
        out[k] = ay @ img @ ax.T
    return out
