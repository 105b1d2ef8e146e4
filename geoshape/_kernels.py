"""Numba kernels of geoshape: fast, unchecked, fed contiguous float64 arrays.

Nothing here validates its input; ``geoshape.shapes`` does that once and then calls
these kernels. No ``fastmath``: the results are held against closed forms. All kernels
share one module (~520 lines, half of it the derivations below) so that numba compiles
and caches them together and their shared tables and constants have one home.

Blurred disk (exact)
--------------------
A disk of radius r blurred by an isotropic Gaussian of std sigma and sampled at a point
at distance d from its centre has the value ``J(d/sigma, r/sigma)`` with

    J(a, b) = 1 - Q1(a, b) = P(chi'^2_2(nc=a^2) <= b^2)          (Marcum Q-function)

J has closed-form derivatives in a (``dQ1/da = b exp(-(a^2+b^2)/2) I1(ab)``):

    J'(a)  = -b exp(-(a-b)^2/2) I1e(ab)
    J''(a) = -b exp(-(a-b)^2/2) [b I0e(ab) - a I1e(ab) - I1e(ab)/a]

and J(0, b) = 1 - exp(-b^2/2). Per image the kernel tabulates J, J', J'' on nodes of
spacing ``_NODE_STEP`` across the band ``|a - b| < _BAND`` (J itself by Gauss-Legendre
integration of J' from a point where J is known to 1e-15), then evaluates every band
pixel by quintic Hermite interpolation (error < 1e-7). Outside the band J is 0 or 1
to within 3.5e-6 (checked against scipy.stats.ncx2 over b in (0, 250]).

Blurred ellipse / polygon (quadrature of exact 1-D integrals)
------------------------------------------------------------
The 2-D Gaussian is separable, so for any shape whose horizontal chords are
``[x_L(y), x_R(y)]``:

    I(x, y) = int g_sigma(y - t) [Phi((x_R(t) - x)/sigma) - Phi((x_L(t) - x)/sigma)] dt.

The inner integral is exact (erf); the outer one is a quadrature over nodes t_k with
weights w_k. For an ellipse, t = c_y + Y sin(phi) makes x_L, x_R smooth and periodic in
phi, so the midpoint rule in phi converges spectrally. For a polygon x_L, x_R are piecewise
linear in t and composite Gauss-Legendre on each piece is used.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

# Switch from the power series to the asymptotic expansion of I_nu(x) e^-x: at x = 20 the
# series needs 35 terms and the 12-term expansion is accurate to 4e-13 (relative).
_BESSEL_SWITCH = 20.0


@njit(cache=True)
def bessel_ie(nu, x):
    """Exponentially scaled modified Bessel function I_nu(x) e^-x, nu in {0, 1}, x >= 0.

    numba has no Bessel functions; this is the power series below _BESSEL_SWITCH and the
    Hankel asymptotic expansion above it (tested against scipy.special.i0e/i1e to 1e-12).
    """
    if x < _BESSEL_SWITCH:
        half = 0.5 * x
        term = 1.0 if nu == 0 else half
        total = term
        q = half * half
        k = 0
        while term > 1e-17 * total:
            k += 1
            term *= q / (k * (k + nu))
            total += term
        return total * math.exp(-x)
    mu = 4.0 * nu * nu
    term = 1.0
    total = 1.0
    for k in range(1, 13):
        term *= -(mu - (2 * k - 1) ** 2) / (8.0 * k * x)
        total += term
    return total / math.sqrt(2.0 * math.pi * x)


# Half-width, in units of sigma, of the band around the disk edge that is interpolated.
# Outside it the blurred disk is 0 or 1 to 3.5e-6 (max over b in (0, 250] against
# scipy.stats.ncx2: 3.4e-6 inside, 2.8e-7 outside; 5.5 would give 2.5e-7 at ~10% more work).
_BAND = 5.0
# Hermite node spacing in units of sigma; quintic Hermite error ~ h^6 |J^(6)| / 46080.
_NODE_STEP = 0.5
# Where integration of J' starts when the band does not reach a = 0: 1 - J < 1e-15 there.
_START = 9.0
# Gaussian truncation of the chord quadrature, in sigma (tail mass beyond: 6e-7).
_TRUNC = 5.0

# 4-point Gauss-Legendre rule on [0, 1].
_GL_X = np.array([0.0694318442029737, 0.3300094782075719,
                  0.6699905217924281, 0.9305681557970263])
_GL_W = np.array([0.1739274225687269, 0.3260725774312731,
                  0.3260725774312731, 0.1739274225687269])

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


@njit(cache=True)
def _dj(a, b):
    """J'(a) for the disk profile (see module docstring)."""
    return -b * math.exp(-0.5 * (a - b) * (a - b)) * bessel_ie(1, a * b)


@njit(cache=True)
def _d2j(a, b):
    """J''(a) for the disk profile; the I1e(ab)/a term tends to b/2 as a -> 0."""
    x = a * b
    i1 = bessel_ie(1, x)
    if x < 1e-8:
        ratio = 0.5 * b  # I1(x)/x -> 1/2, times b
    else:
        ratio = i1 / a
    return -b * math.exp(-0.5 * (a - b) * (a - b)) * (b * bessel_ie(0, x) - a * i1 - ratio)


@njit(cache=True)
def _integrate_dj(a0, a1, b, gl_x, gl_w):
    """int_{a0}^{a1} J'(s) ds by composite 4-point Gauss-Legendre, pieces <= 0.5."""
    length = a1 - a0
    if length <= 0.0:
        return 0.0
    pieces = int(math.ceil(length / 0.5))
    h = length / pieces
    total = 0.0
    for p in range(pieces):
        lo = a0 + p * h
        for q in range(4):
            total += gl_w[q] * _dj(lo + gl_x[q] * h, b)
    return total * h


@njit(cache=True)
def disk_table(b, gl_x, gl_w):
    """Quintic-Hermite coefficients of J(., b) over the band around a = b.

    Returns ``(a_lo, a_hi, coef)``: ``coef[k, :]`` holds the six polynomial
    coefficients of J on ``[a_lo + k h, a_lo + (k+1) h]`` in the local variable
    t in [0, 1], h = _NODE_STEP. Below a_lo J is 1 (or a_lo = 0), above a_hi J is 0.
    """
    h = _NODE_STEP
    a_lo = max(0.0, b - _BAND)
    n_int = int(math.ceil((b + _BAND - a_lo) / h))
    a_hi = a_lo + n_int * h
    # J at a_lo: exact at a = 0, else integrated from a point where J = 1 to 1e-15.
    if a_lo == 0.0:
        j = -math.expm1(-0.5 * b * b)
    else:
        a_start = max(0.0, b - _START)
        j = -math.expm1(-0.5 * b * b) if a_start == 0.0 else 1.0
        j += _integrate_dj(a_start, a_lo, b, gl_x, gl_w)
    coef = np.empty((n_int, 6))
    a = a_lo
    p0 = j
    m0 = _dj(a, b) * h
    c0 = _d2j(a, b) * h * h
    for k in range(n_int):
        a1 = a_lo + (k + 1) * h
        p1 = p0 + _integrate_dj(a, a1, b, gl_x, gl_w)
        m1 = _dj(a1, b) * h
        c1 = _d2j(a1, b) * h * h
        big_a = p1 - p0 - m0 - 0.5 * c0
        big_b = m1 - m0 - c0
        big_c = c1 - c0
        coef[k, 0] = p0
        coef[k, 1] = m0
        coef[k, 2] = 0.5 * c0
        coef[k, 3] = 10.0 * big_a - 4.0 * big_b + 0.5 * big_c
        coef[k, 4] = -15.0 * big_a + 7.0 * big_b - big_c
        coef[k, 5] = 6.0 * big_a - 3.0 * big_b + 0.5 * big_c
        a, p0, m0, c0 = a1, p1, m1, c1
    return a_lo, a_hi, coef


@njit(cache=True)
def _render_disk(out, r, cx, cy, sigma, grey, gl_x, gl_w):
    """Write every pixel of one blurred disk into ``out`` (size, size)."""
    size_y, size_x = out.shape
    if sigma == 0.0:
        r2 = r * r
        for i in range(size_y):
            dy2 = (i - cy) * (i - cy)
            for j in range(size_x):
                out[i, j] = grey if (j - cx) * (j - cx) + dy2 <= r2 else 0.0
        return
    b = r / sigma
    a_lo, a_hi, coef = disk_table(b, gl_x, gl_w)
    n_last = coef.shape[0] - 1
    flat = coef.ravel()
    d_lo = a_lo * sigma
    d_hi = a_hi * sigma
    scale = 1.0 / (sigma * _NODE_STEP)   # distance -> node units
    offset = a_lo / _NODE_STEP
    for i in range(size_y):
        row = out[i]
        dy = i - cy
        dy2 = dy * dy
        if dy2 >= d_hi * d_hi:
            row[:] = 0.0
            continue
        # Columns split into: outside (0) | band | interior (grey) | band | outside (0).
        half_hi = math.sqrt(d_hi * d_hi - dy2)
        j_start = min(size_x, max(0, int(math.ceil(cx - half_hi))))
        j_stop = max(j_start, min(size_x, int(math.floor(cx + half_hi)) + 1))
        in_start = j_stop
        in_stop = j_stop
        if dy2 < d_lo * d_lo:
            half_lo = math.sqrt(d_lo * d_lo - dy2)
            in_start = min(j_stop, max(j_start, int(math.ceil(cx - half_lo))))
            in_stop = max(in_start, min(j_stop, int(math.floor(cx + half_lo)) + 1))
        row[:j_start] = 0.0
        row[j_stop:] = 0.0
        row[in_start:in_stop] = grey
        for seg in range(2):
            lo = j_start if seg == 0 else in_stop
            hi = in_start if seg == 0 else j_stop
            for j in range(lo, hi):
                dx = j - cx
                u = math.sqrt(dx * dx + dy2) * scale - offset
                k = int(u)
                if k > n_last:
                    k = n_last
                elif k < 0:
                    k = 0
                t = u - k
                o = 6 * k
                v = flat[o + 5]
                v = v * t + flat[o + 4]
                v = v * t + flat[o + 3]
                v = v * t + flat[o + 2]
                v = v * t + flat[o + 1]
                v = v * t + flat[o]
                row[j] = grey * v


@njit(parallel=True, cache=True)
def disks_kernel(out, radii, cx, cy, sigma, grey, gl_x, gl_w):
    """Render blurred disks into ``out`` (n, size, size); every pixel is written."""
    for n in prange(out.shape[0]):
        _render_disk(out[n], radii[n], cx[n], cy[n], sigma[n], grey[n], gl_x, gl_w)


# Standard normal CDF by cubic Hermite interpolation of exact values and slopes: libm's
# erfc dominated the ellipse kernel. Nodes every 1/32 on [-_PHI_Z, _PHI_Z]; the error bound
# h^4 max|Phi^(4)| / 384 is 2e-9; beyond the range Phi is 0 or 1 to 4e-11.
_PHI_Z = 6.5
_PHI_STEP = 1.0 / 32.0


def _phi_table() -> np.ndarray:
    """Coefficients (n_intervals, 4) of the cubic of Phi on each interval, local t in [0, 1]."""
    from scipy.special import ndtr

    z = np.arange(-_PHI_Z, _PHI_Z + 0.5 * _PHI_STEP, _PHI_STEP)
    p = ndtr(z)
    m = np.exp(-0.5 * z * z) * _INV_SQRT2PI * _PHI_STEP
    p0, p1, m0, m1 = p[:-1], p[1:], m[:-1], m[1:]
    return np.ascontiguousarray(np.stack(
        [p0, m0, 3 * (p1 - p0) - 2 * m0 - m1, 2 * (p0 - p1) + m0 + m1], axis=1))


PHI_TABLE = _phi_table()


@njit(cache=True)
def _phi(z, tab):
    """Standard normal CDF from ``PHI_TABLE`` (passed in: global arrays defeat numba's cache)."""
    u = (z + _PHI_Z) * (1.0 / _PHI_STEP)
    if u <= 0.0:
        return 0.0
    k = int(u)
    if k >= tab.shape[0]:
        return 1.0
    t = u - k
    return ((tab[k, 3] * t + tab[k, 2]) * t + tab[k, 1]) * t + tab[k, 0]


@njit(cache=True)
def _accumulate_chord(out, tk, x_l, x_r, wk, sigma, grey, hcol, tab):
    """Add one quadrature node of the chord integral to ``out`` (float64 image).

    out[i, j] += grey * wk * g_sigma(i - tk) * (Phi((x_r - j)/sigma) - Phi((x_l - j)/sigma))
    """
    size_y, size_x = out.shape
    reach = _TRUNC * sigma
    i0 = max(0, int(math.ceil(tk - reach)))
    i1 = min(size_y - 1, int(math.floor(tk + reach)))
    if i0 > i1:
        return
    j0 = max(0, int(math.ceil(x_l - reach)))
    j1 = min(size_x - 1, int(math.floor(x_r + reach)))
    if j0 > j1:
        return
    inv_sigma = 1.0 / sigma
    for j in range(j0, j1 + 1):
        # Each Phi term is 0 or 1 to 3e-7 more than _TRUNC sigma from its chord end.
        right = 1.0 if j < x_r - reach else _phi((x_r - j) * inv_sigma, tab)
        left = 0.0 if j > x_l + reach else _phi((x_l - j) * inv_sigma, tab)
        hcol[j] = right - left
    scale = grey * wk * inv_sigma * _INV_SQRT2PI
    for i in range(i0, i1 + 1):
        z = (i - tk) * inv_sigma
        c = scale * math.exp(-0.5 * z * z)
        for j in range(j0, j1 + 1):
            out[i, j] += c * hcol[j]


# Midpoint spacing of the ellipse quadrature, in sigma, along the fastest-moving of
# t, x_L, x_R. The trapezoid/midpoint error for a Gaussian of std sigma sampled at
# spacing h*sigma is ~ 2 exp(-2 pi^2 / h^2): 6e-7 at h = 1.15; the chords' own variation
# adds to it (measured against the disk closed form: ~3e-5 worst case, vs 1e-3 required).
_ELLIPSE_STEP = 1.15


@njit(cache=True)
def _render_ellipse(out, acc, hcol, a, b, theta, cx, cy, sigma, grey, tab):
    size_y, size_x = out.shape
    ct = math.cos(theta)
    st = math.sin(theta)
    # Quadratic form A x^2 + 2 B x y + C y^2 <= 1 of the ellipse about its centre.
    qa = ct * ct / (a * a) + st * st / (b * b)
    qb = ct * st * (1.0 / (a * a) - 1.0 / (b * b))
    qc = st * st / (a * a) + ct * ct / (b * b)
    if sigma == 0.0:
        for i in range(size_y):
            dy = i - cy
            for j in range(size_x):
                dx = j - cx
                inside = qa * dx * dx + 2.0 * qb * dx * dy + qc * dy * dy <= 1.0
                out[i, j] = grey if inside else 0.0
        return
    big_y = math.sqrt(a * a * st * st + b * b * ct * ct)  # vertical half-extent
    shear = -qb / qa                                       # chord midpoints: x = shear * y
    half_w = 1.0 / math.sqrt(qa)                           # chord half-width at y = 0
    speed = max(big_y, abs(shear) * big_y + half_w)
    n_nodes = max(8, int(math.ceil(math.pi * speed / (_ELLIPSE_STEP * sigma))))
    dphi = math.pi / n_nodes
    acc[:, :] = 0.0
    for k in range(n_nodes):
        phi = -0.5 * math.pi + (k + 0.5) * dphi
        sp = math.sin(phi)
        cp = math.cos(phi)
        t = big_y * sp
        xm = cx + shear * t
        w = half_w * cp
        _accumulate_chord(acc, cy + t, xm - w, xm + w, big_y * cp * dphi, sigma, grey, hcol,
                          tab)
    for i in range(size_y):
        for j in range(size_x):
            out[i, j] = acc[i, j]


@njit(parallel=True, cache=True)
def ellipses_kernel(out, a, b, theta, cx, cy, sigma, grey, tab):
    """Render blurred ellipses into ``out`` (n, size, size); every pixel is written."""
    n_img, size_y, size_x = out.shape
    for n in prange(n_img):
        acc = np.empty((size_y, size_x))
        hcol = np.empty(size_x)
        _render_ellipse(out[n], acc, hcol, a[n], b[n], theta[n], cx[n], cy[n],
                        sigma[n], grey[n], tab)


@njit(cache=True)
def _render_polygon(out, acc, hcol, vx, vy, sigma, grey, gl_x, gl_w, tab):
    """Blurred convex polygon with vertices (vx, vy) in order (either orientation)."""
    size_y, size_x = out.shape
    nv = vx.shape[0]
    if sigma == 0.0:
        # Inside test for a convex polygon: all edge cross products share a sign.
        for i in range(size_y):
            for j in range(size_x):
                pos = 0
                neg = 0
                for e in range(nv):
                    x0, y0 = vx[e], vy[e]
                    x1, y1 = vx[(e + 1) % nv], vy[(e + 1) % nv]
                    cr = (x1 - x0) * (i - y0) - (y1 - y0) * (j - x0)
                    if cr > 0:
                        pos += 1
                    elif cr < 0:
                        neg += 1
                out[i, j] = grey if (pos == 0 or neg == 0) else 0.0
        return
    ys = np.sort(vy.copy())
    acc[:, :] = 0.0
    for s in range(nv - 1):
        t0 = ys[s]
        t1 = ys[s + 1]
        if t1 - t0 <= 0.0:
            continue
        # Pieces of sigma / 4: with 4 Gauss-Legendre nodes each the error is < 1e-6 (a piece
        # of one sigma left 2e-3 on a square rotated by 0.125 rad).
        pieces = int(math.ceil((t1 - t0) / (0.25 * sigma)))
        h = (t1 - t0) / pieces
        for p in range(pieces):
            for q in range(4):
                t = t0 + (p + gl_x[q]) * h
                # Chord of a convex polygon at height t: min/max of edge crossings.
                x_l = 1e300
                x_r = -1e300
                for e in range(nv):
                    x0, y0 = vx[e], vy[e]
                    x1, y1 = vx[(e + 1) % nv], vy[(e + 1) % nv]
                    if (y0 <= t <= y1) or (y1 <= t <= y0):
                        if y1 == y0:
                            xa, xb = min(x0, x1), max(x0, x1)
                        else:
                            xa = x0 + (t - y0) * (x1 - x0) / (y1 - y0)
                            xb = xa
                        x_l = min(x_l, xa)
                        x_r = max(x_r, xb)
                if x_r >= x_l:
                    _accumulate_chord(acc, t, x_l, x_r, gl_w[q] * h, sigma, grey, hcol, tab)
    for i in range(size_y):
        for j in range(size_x):
            out[i, j] = acc[i, j]


@njit(parallel=True, cache=True)
def polygons_kernel(out, vx, vy, sigma, grey, gl_x, gl_w, tab):
    """Render blurred convex polygons; vx, vy (n, n_vertices)."""
    n_img, size_y, size_x = out.shape
    for n in prange(n_img):
        acc = np.empty((size_y, size_x))
        hcol = np.empty(size_x)
        _render_polygon(out[n], acc, hcol, vx[n], vy[n], sigma[n], grey[n], gl_x, gl_w, tab)


def threads() -> int:
    """Number of threads numba's parallel loops use."""
    return numba.get_num_threads()


# --------------------------------------------------------------------------- simple polygons
# Any simple polygon (convex, star-shaped or not), filled by the even-odd rule. Its horizontal
# cross-section at height t is a union of chords whose ends are the edge crossings, sorted and
# paired; between two consecutive vertex heights the set of crossing edges is fixed and every
# crossing is linear in t, so the chord integral of the module docstring is smooth there and
# composite 4-point Gauss-Legendre on pieces of sigma / 4 integrates it (as for convex polygons).


@njit(cache=True)
def _inside_even_odd(vx, vy, px, py):
    """Point (px, py) in the polygon (vx, vy) by the even-odd rule, boundary included."""
    nv = vx.shape[0]
    inside = False
    for e in range(nv):
        x0, y0 = vx[e], vy[e]
        x1, y1 = vx[(e + 1) % nv], vy[(e + 1) % nv]
        cr = (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)
        if (cr == 0.0 and min(x0, x1) <= px <= max(x0, x1)
                and min(y0, y1) <= py <= max(y0, y1)):
            return True
        if (y0 > py) != (y1 > py):
            xc = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
            if px < xc:
                inside = not inside
    return inside


@njit(cache=True)
def _render_simple_polygon(out, acc, hcol, act, xs, vx, vy, sigma, grey, gl_x, gl_w, tab):
    """Blurred simple polygon (even-odd fill) with vertices (vx, vy) in order."""
    size_y, size_x = out.shape
    nv = vx.shape[0]
    if sigma == 0.0:
        for i in range(size_y):
            for j in range(size_x):
                out[i, j] = grey if _inside_even_odd(vx, vy, float(j), float(i)) else 0.0
        return
    ys = np.sort(vy.copy())
    acc[:, :] = 0.0
    for s in range(nv - 1):
        t0 = ys[s]
        t1 = ys[s + 1]
        if t1 - t0 <= 0.0:
            continue
        # The edges crossing the open band (t0, t1): their y-range covers it.
        na = 0
        for e in range(nv):
            y0 = vy[e]
            y1 = vy[(e + 1) % nv]
            if min(y0, y1) <= t0 and max(y0, y1) >= t1:
                act[na] = e
                na += 1
        if na < 2:
            continue
        pieces = int(math.ceil((t1 - t0) / (0.25 * sigma)))
        h = (t1 - t0) / pieces
        for p in range(pieces):
            for q in range(4):
                t = t0 + (p + gl_x[q]) * h
                for a in range(na):
                    e = act[a]
                    x0, y0 = vx[e], vy[e]
                    x1, y1 = vx[(e + 1) % nv], vy[(e + 1) % nv]
                    xc = x0 + (t - y0) * (x1 - x0) / (y1 - y0)
                    # insertion sort: few crossings per height
                    b = a
                    while b > 0 and xs[b - 1] > xc:
                        xs[b] = xs[b - 1]
                        b -= 1
                    xs[b] = xc
                for a in range(0, na - 1, 2):
                    _accumulate_chord(acc, t, xs[a], xs[a + 1], gl_w[q] * h, sigma, grey, hcol,
                                      tab)
    for i in range(size_y):
        for j in range(size_x):
            out[i, j] = acc[i, j]


@njit(parallel=True, cache=True)
def simple_polygons_kernel(out, vx, vy, sigma, grey, gl_x, gl_w, tab):
    """Render blurred simple polygons (even-odd fill); vx, vy (n, n_vertices) absolute."""
    n_img, size_y, size_x = out.shape
    nv = vx.shape[1]
    for n in prange(n_img):
        acc = np.empty((size_y, size_x))
        hcol = np.empty(size_x)
        act = np.empty(nv, dtype=np.int64)
        xs = np.empty(nv)
        _render_simple_polygon(out[n], acc, hcol, act, xs, vx[n], vy[n], sigma[n], grey[n],
                               gl_x, gl_w, tab)
