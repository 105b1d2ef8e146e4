"""The experiment contract as a type: :class:`ExperimentConfig` and its fields.

Every experiment's ``Config`` is a frozen dataclass that subclasses :class:`ExperimentConfig`,
which owns what every run shares:

- ``seed``: seeds every random stream of the run, each a named child of
  ``SeedSequence(seed)`` (:mod:`validation.core.streams`);
- ``out``: the output folder; ``None`` means ``results/NAME``, or ``results/NAME_quick`` for
  the CI-sized run (:meth:`ExperimentConfig.quick`), always (:attr:`output_dir`);
- ``threads``: torch threads of each training; ``None`` means one (see :data:`DEFAULT_THREADS`);
- ``device``: ``"cpu"`` or ``"cuda"`` for the trainings (measures run on the CPU).

Each field is declared with :func:`param`: its default, one line of documentation (units,
range, meaning: ``--help`` prints it) and its check, a ``geoshape.checks`` function applied on
construction, so a bad value raises ``ValueError`` / ``TypeError`` naming the field before any
work is done. Cross-field rules go in ``validate()``. A subclass declares ``NAME`` (the module
name under ``validation``) and ``QUICK`` (the field changes of the CI-sized run); it writes no
``quick()`` and no ``out`` default of its own.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Config(ExperimentConfig):
...     NAME = "demo"
...     QUICK = {"steps": 10}
...     steps: int = param(100, "optimiser steps; int in [1, 10^6]", ints(1, 10**6))
>>> Config().output_dir.as_posix(), Config.quick().output_dir.as_posix(), Config.quick().steps
('results/demo', 'results/demo_quick', 10)
>>> Config(steps=0)
Traceback (most recent call last):
...
ValueError: steps must be in [1, 1000000], got 0
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

from geoshape import checks

__all__ = ["ExperimentConfig", "param", "ints", "reals", "one_of", "flag", "optional", "tuple_of", "pow2",
           "DEFAULT_THREADS", "DEVICES"]

#: Torch threads of a training when ``threads`` is None. One: on the 2-core development
#: machine a 2-thread training ran 46.9 steps/s on idle cores but 10.8 with another busy
#: process (OpenMP threads spin-wait on each other), against 29.9 and 30.8 for one thread
#: (``python -m validation.bench.nets``); one thread is also what a sweep worker runs, so a run
#: alone and the same run in a sweep give the same numbers. Pass ``--threads 2`` on idle cores.
DEFAULT_THREADS = 1
#: Devices a training may run on.
DEVICES = ("cpu", "cuda")

Check = Callable[[Any, str], Any]


def param(default: Any, doc: str, check: Check | None = None):
    """A config field: ``default``, its one-line ``doc`` (shown by ``--help``) and ``check``,
    called as ``check(value, field_name)`` on construction; it returns the value to keep (so
    ``1`` becomes ``1.0`` for a real field) or raises naming the field."""
    if not isinstance(doc, str) or not doc:
        raise TypeError("doc must be a non-empty str")
    return field(default=default, metadata={"doc": doc, "check": check})


# ------------------------------------------------------------------ check factories (geoshape.checks)
def ints(lo: int | None = None, hi: int | None = None) -> Check:
    """An ``int`` in ``[lo, hi]``."""
    return lambda v, name: checks.integer(v, name, lo, hi)


def reals(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
          hi_open: bool = False) -> Check:
    """A finite real in the stated interval (kept as ``float``)."""
    return lambda v, name: checks.real(v, name, lo, hi, lo_open=lo_open, hi_open=hi_open)


def one_of(*allowed: Any) -> Check:
    """One of ``allowed``."""
    return lambda v, name: checks.choice(v, name, allowed)


def flag(v, name: str) -> bool:
    """A ``bool``."""
    return checks.boolean(v, name)


def pow2(minimum: int = 8) -> Check:
    """An image side that is a power of two ``>= minimum``."""
    return lambda v, name: checks.size_pow2(v, name, minimum)


def tuple_of(item: Check, *, nonempty: bool = True, distinct: bool = False, what: str = "values") -> Check:
    """A tuple (a list is accepted and kept as a tuple) whose items pass ``item``: TypeError
    naming the field for anything else (a str included), ValueError when empty (with
    ``nonempty``) or, with ``distinct``, when an item repeats."""
    def check(v, name: str) -> tuple:
        if isinstance(v, (str, bytes)) or not isinstance(v, (tuple, list)):
            raise TypeError(f"{name} must be a tuple of {what}, got {type(v).__name__} {v!r}")
        if nonempty and not v:
            raise ValueError(f"{name} must hold at least one of its {what}, got an empty tuple")
        out = tuple(item(x, name) for x in v)
        if distinct and len(set(out)) != len(out):
            raise ValueError(f"{name} must not repeat an item, got {v!r}")
        return out
    return check


def optional(check: Check) -> Check:
    """``None`` or a value passing ``check``."""
    return lambda v, name: None if v is None else check(v, name)


def _out(v, name: str):
    if v is None:
        return None
    if not isinstance(v, (str, Path)) or not str(v):
        raise TypeError(f"{name} must be a non-empty path (str) or None, got {v!r}")
    return str(v)


@dataclass(frozen=True)
class ExperimentConfig:
    """The fields every experiment's config shares; see the module docstring."""

    #: The experiment's module name under ``validation`` (``"disk_vs_airy"``).
    NAME: ClassVar[str] = ""
    #: Field changes of the CI-sized run (:meth:`quick`).
    QUICK: ClassVar[Mapping[str, Any]] = {}
    #: Whether the experiment trains (``threads`` and ``device`` then apply).
    TRAINS: ClassVar[bool] = True

    seed: int = param(0, "seeds every random stream of the run (named children of SeedSequence(seed)); "
                         "int in [0, 2**63 - 1]", checks.seed)
    out: str | None = param(None, "output folder; default results/NAME, results/NAME_quick for --quick", _out)
    threads: int | None = param(None, f"torch threads of each training, int in [1, 64]; default "
                                      f"{DEFAULT_THREADS} (does not thrash a busy 2-core machine)",
                                optional(ints(1, 64)))
    device: str = param("cpu", "torch device of the trainings: cpu or cuda (measures run on the CPU)",
                        one_of(*DEVICES))
    quick_run: bool = param(False, "the CI-sized run (set by --quick; output folder NAME_quick)", flag)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check = f.metadata.get("check")
            if check is not None:
                object.__setattr__(self, f.name, check(getattr(self, f.name), f.name))
        self._check_device()
        self.validate()

    def validate(self) -> None:
        """Rules between fields (``ValueError`` naming them); the fields are checked already."""

    def _check_device(self) -> None:
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ValueError("device='cuda' but torch sees no CUDA device here; use device='cpu'")

    @classmethod
    def quick(cls, **changes: Any):
        """The CI-sized run: ``QUICK`` applied, then ``changes``; its output folder is
        ``results/NAME_quick`` unless ``out`` is given."""
        return cls(**{**cls.QUICK, "quick_run": True, **changes})

    def replace(self, **changes: Any):
        """A copy with ``changes`` (checked like a new config)."""
        return dataclasses.replace(self, **changes)

    @property
    def output_dir(self) -> Path:
        """``out``, or ``results/NAME`` (``results/NAME_quick`` for a quick run)."""
        if self.out is not None:
            return Path(self.out)
        return Path("results") / (self.NAME + ("_quick" if self.quick_run else ""))

    @property
    def torch_threads(self) -> int:
        """``threads``, or :data:`DEFAULT_THREADS`."""
        return DEFAULT_THREADS if self.threads is None else self.threads

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict, ``out`` resolved, with the experiment's name."""
        d = dataclasses.asdict(self)
        d["out"] = self.output_dir.as_posix()
        return {"experiment": self.NAME, **d}

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """``{field: its one-line documentation}``."""
        return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(cls)}
