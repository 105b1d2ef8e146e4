"""The ``Examples`` sections of every module of the four packages run as tests.

A docstring example is documentation a user copies; it must keep giving the printed answer.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

PACKAGES = ("geoshape", "theory", "nets", "validation")


def _modules() -> list[str]:
    names = []
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        names.append(pkg)
        for info in pkgutil.walk_packages(mod.__path__, prefix=f"{pkg}."):
            names.append(info.name)
    return sorted(names)


MODULES = _modules()


def test_every_package_is_searched():
    # a walk that found nothing would make every parametrised case below vacuous
    for pkg in PACKAGES:
        assert sum(m == pkg or m.startswith(pkg + ".") for m in MODULES) >= 2, pkg


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    # the names a reader of the docs has imported already (README: ``import geoshape, theory, nets``)
    extra = {"np": np, **{p: importlib.import_module(p) for p in PACKAGES}}
    tests = [t for t in finder.find(mod, name, extraglobs=extra) if t.examples]
    if not tests:
        pytest.skip("no examples")
    with np.printoptions(legacy="1.25"):  # scalar reprs as 0.5, not np.float64(0.5)
        for t in tests:
            runner.run(t)
    res = runner.summarize(verbose=False)
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples failed in {name}"


def test_examples_exist():
    # the public entry points document themselves with a runnable example
    finder = doctest.DocTestFinder(exclude_empty=True)
    counted = 0
    for name in MODULES:
        counted += sum(len(t.examples) for t in finder.find(importlib.import_module(name), name))
    assert counted >= 20, f"only {counted} doctest examples in the packages"
