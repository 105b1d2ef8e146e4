"""Bring your own images: :func:`load_images` reads a ``.npy``, a ``.npz``, one PNG/TIFF file or
a folder of them into the float32 ``(n, h, w)`` array in [0, 1] that geoshape and nets use.

Values: integer images are scaled by their dtype's largest value (uint8 by 255, uint16 by
65535; signed integers must be >= 0), boolean ones give 0 and 1, floating ones must already lie
in [0, 1] (NaN and inf refused). Greyscale only: colour images (RGB, RGBA, grey + alpha) are
refused unless ``colour="luminance"``, which takes the ITU-R BT.601 luma
``Y = 0.299 R + 0.587 G + 0.114 B`` of the scaled channels (alpha is dropped, not composited).

Shapes: all images of one call share one shape; a folder whose files differ is refused,
naming the first file that differs. Rectangular images are read as they are, but every model of
nets takes square images of side ``config.size`` (a power of two, or 2^k - 1 for the authors'
layout): pass ``size=`` to have anything else refused at load time. Nothing is resized or
cropped here; resample beforehand (e.g. ``skimage.transform.resize``) if the sides differ.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.save(folder / "two.npy", np.array([[[0, 255], [51, 102]]] * 2, dtype=np.uint8))
>>> x = load_images(folder / "two.npy", size=2)
>>> x.dtype, x.shape, x[0].tolist()
(dtype('float32'), (2, 2, 2), [[0.0, 1.0], [0.20000000298023224, 0.4000000059604645]])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from . import checks

__all__ = ["load_images", "COLOUR_MODES", "BT601", "IMAGE_SUFFIXES"]

#: What ``colour=`` may be: refuse colour images, or convert them to their luma.
COLOUR_MODES = ("refuse", "luminance")
#: ITU-R BT.601 luma weights of R, G and B.
BT601 = (0.299, 0.587, 0.114)
#: File name endings read from a folder (case-insensitive).
IMAGE_SUFFIXES = (".png", ".tif", ".tiff")
#: The imageio plugin that reads each suffix (no guessing through other formats' readers).
_PLUGINS = {".png": "pillow", ".tif": "tifffile", ".tiff": "tifffile"}
_CHANNELS = {2: "grey + alpha", 3: "RGB", 4: "RGBA"}
#: Floating images may overshoot [0, 1] by this much (then are clipped): float32 renderers
#: such as geoshape's own blurred shapes reach 1 + 1e-6 by rounding.
RANGE_TOL = 1e-5


def _to_unit(arr: np.ndarray, where: str) -> np.ndarray:
    """``arr`` as float64 in [0, 1]: integers scaled by their dtype's maximum, bools as 0/1,
    floats checked (finite, within [0, 1] up to ``RANGE_TOL``, then clipped)."""
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(np.float64)
    if kind in "ui":
        if kind == "i" and arr.size and arr.min() < 0:
            raise ValueError(f"{where}: signed integer images must be >= 0, found min {arr.min()}")
        return arr.astype(np.float64) / float(np.iinfo(arr.dtype).max)
    if kind == "f":
        out = arr.astype(np.float64)
        nan = np.isnan(out)
        if nan.any():
            raise ValueError(f"{where}: contains NaN (first at index {tuple(int(i) for i in np.argwhere(nan)[0])})")
        if out.size and not (out.min() >= -RANGE_TOL and out.max() <= 1.0 + RANGE_TOL):
            raise ValueError(f"{where}: floating-point images must lie within [0, 1] (to {RANGE_TOL:g}), found "
                             f"the range [{out.min():g}, {out.max():g}] (scale them first, or store integers)")
        return np.clip(out, 0.0, 1.0)
    raise TypeError(f"{where}: images must have an integer, bool or float dtype, got {arr.dtype}")


def _grey(arr: np.ndarray, colour: str, where: str) -> np.ndarray:
    """``(..., h, w)`` from ``(..., h, w)`` or channels-last ``(..., h, w, c)`` (``c`` given by
    the caller's layout, 1 to 4), values already in [0, 1]."""
    c = arr.shape[-1]
    if c == 1:
        return arr[..., 0]
    if colour == "refuse":
        raise ValueError(f"{where}: holds {_CHANNELS[c]} images (last axis of {arr.shape} has {c} channels); "
                         f"greyscale images are expected: pass colour='luminance' to convert them "
                         f"(ITU-R BT.601)")
    if c == 2:
        return arr[..., 0]
    y = BT601[0] * arr[..., 0] + BT601[1] * arr[..., 1] + BT601[2] * arr[..., 2]
    return np.clip(y, 0.0, 1.0)  # the weights sum to 1 up to rounding


def _array_layout(arr: np.ndarray, where: str) -> tuple[np.ndarray, bool]:
    """A stored array as ``(n, h, w)`` or channels-last ``(n, h, w, c)``; returns
    ``(array, has_channels)``."""
    if arr.ndim == 2:
        return arr[None], False
    if arr.ndim == 3:
        return arr, False
    if arr.ndim == 4 and 1 <= arr.shape[3] <= 4:
        return arr, True
    if arr.ndim == 4 and arr.shape[1] == 1:
        return arr[:, 0], False
    raise ValueError(f"{where}: holds an array of shape {arr.shape}; expected (h, w), (n, h, w), "
                     f"(n, 1, h, w) or (n, h, w, c) with c in 1..4 channels")


def _from_array(arr: Any, colour: str, where: str) -> np.ndarray:
    if not isinstance(arr, np.ndarray) or arr.dtype == object:
        raise TypeError(f"{where}: must hold a numeric array, got {type(arr).__name__}")
    arr, has_channels = _array_layout(arr, where)
    if arr.shape[0] == 0:
        raise ValueError(f"{where}: holds no images (shape {arr.shape})")
    checks.budget(8 * arr.size, "path", f"the images {arr.shape} as float64 during conversion")
    unit = _to_unit(arr, where)
    return _grey(unit, colour, where) if has_channels else unit


def _read_npz(p: Path, colour: str) -> np.ndarray:
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = list(z.files)
            if "images" in keys:
                key = "images"
            elif len(keys) == 1:
                key = keys[0]
            else:
                raise ValueError(f"path: {p} holds {len(keys)} arrays {keys[:10]}, none named 'images'; "
                                 f"name the images array 'images' or store only it")
            arr = z[key]
    except ValueError as e:
        if str(e).startswith("path:"):
            raise
        raise ValueError(f"path: {p} cannot be read as .npz (damaged, truncated or holding objects?): "
                         f"{e}") from None
    except Exception as e:  # noqa: BLE001 - zip and header errors of every kind mean a damaged file
        raise ValueError(f"path: {p} cannot be read as .npz (damaged or truncated?): "
                         f"{type(e).__name__}: {e}") from None
    return _from_array(arr, colour, f"path: {p}[{key!r}]")


def _read_npy(p: Path, colour: str) -> np.ndarray:
    try:
        arr = np.load(p, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - header and read errors of every kind mean a damaged file
        raise ValueError(f"path: {p} cannot be read as .npy (damaged, truncated or holding objects?): "
                         f"{type(e).__name__}: {e}") from None
    return _from_array(arr, colour, f"path: {p}")


def _read_file(f: Path, colour: str) -> np.ndarray:
    """One PNG/TIFF file as float64 ``(h, w)`` in [0, 1]."""
    import imageio.v3 as iio

    where = f"path: {f}"
    try:
        arr = np.asarray(iio.imread(f, plugin=_PLUGINS[f.suffix.lower()]))
    except Exception as e:  # noqa: BLE001 - any decoder failure means an unreadable image file
        raise ValueError(f"{where} cannot be read as an image: {type(e).__name__}: {str(e)[:200]}") from None
    if arr.ndim == 3 and 1 <= arr.shape[2] <= 4:
        return _grey(_to_unit(arr, where), colour, where)
    if arr.ndim != 2:
        raise ValueError(f"{where}: holds an array of shape {arr.shape}; expected one image (h, w) or "
                         f"(h, w, c) with c in 1..4 channels (multi-page files are not read)")
    return _to_unit(arr, where)


def _check_side(shape: tuple[int, ...], size: int | None, where: str) -> None:
    if size is not None and tuple(shape) != (size, size):
        raise ValueError(f"{where} holds images of {shape[0]} x {shape[1]}, but size = {size} requires square "
                         f"{size} x {size} images (nets models take square images of side config.size; "
                         f"resample or crop them first)")


def _read_folder(p: Path, colour: str, size: int | None) -> np.ndarray:
    files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")
                   and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"path: folder {p} has no image files ({', '.join(IMAGE_SUFFIXES)})")
    first = _read_file(files[0], colour)
    _check_side(first.shape, size, f"path: {files[0]}")
    checks.budget(4 * len(files) * first.size, "path", f"the {len(files)} images of {first.shape} as float32")
    out = np.empty((len(files), *first.shape), np.float32)
    out[0] = first
    for i, f in enumerate(files[1:], start=1):
        img = _read_file(f, colour)
        if img.shape != first.shape:
            raise ValueError(f"path: {f} is {img.shape[0]} x {img.shape[1]} but {files[0].name} is "
                             f"{first.shape[0]} x {first.shape[1]}: all images of a folder must share one shape")
        out[i] = img
    return out


def load_images(path: str | os.PathLike, *, size: int | None = None, colour: str = "refuse") -> np.ndarray:
    """Greyscale images from ``path`` as a float32 array ``(n, h, w)`` in [0, 1].

    Args:
        path: a ``.npy`` file; a ``.npz`` file (its array ``images``, or its only array); a
            ``.png`` / ``.tif`` / ``.tiff`` file (one image); or a folder of such files, read in
            the sorted order of their names (``img10`` sorts before ``img2``: pad numbers with
            zeros) -- other files and hidden files in it are ignored. Arrays may be ``(h, w)``
            (one image), ``(n, h, w)``, ``(n, 1, h, w)`` or channels-last ``(n, h, w, c)``
            with ``c`` in 1..4.
        size: None (any shape shared by all images) or the side every image must have, an
            int >= 1: images are then required to be square ``size x size`` (what a model
            with ``config.size = size`` takes); they are never resized.
        colour: ``"refuse"`` (default: RGB, RGBA and grey + alpha images are a ValueError) or
            ``"luminance"`` (converted to ``0.299 R + 0.587 G + 0.114 B``, ITU-R BT.601;
            alpha dropped).

    Integer images are divided by their dtype's maximum (uint8 by 255, uint16 by 65535);
    bools give 0 and 1; floating images must lie in [0, 1]. Raises ValueError naming the file
    for a missing or unreadable file, an empty folder or array, NaN or out-of-range values,
    colour images under ``colour="refuse"``, images of different shapes in a folder (the
    first one that differs) and, with ``size``, images that are not ``size x size``;
    TypeError for a ``path`` that is not a path and for non-numeric data.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    if size is not None:
        size = checks.image_size(size, "size")
    colour = checks.choice(colour, "colour", COLOUR_MODES)
    p = Path(os.fspath(path))
    if p.is_dir():
        images = _read_folder(p, colour, size)
    elif not p.is_file():
        raise ValueError(f"path: no such file or folder {p}")
    elif p.suffix.lower() == ".npy":
        images = _read_npy(p, colour)
    elif p.suffix.lower() == ".npz":
        images = _read_npz(p, colour)
    elif p.suffix.lower() in IMAGE_SUFFIXES:
        images = _read_file(p, colour)[None]
    else:
        raise ValueError(f"path: {p} must be a .npy, .npz, {', '.join(IMAGE_SUFFIXES)} file or a folder of images")
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"path: {p} holds empty images (shape {images.shape})")
    _check_side(images.shape[1:], size, f"path: {p}")
    return np.ascontiguousarray(images, dtype=np.float32)
