"""What an experiment declares for its summary over seeds: :class:`SweepSpec`.

``variants``: prefixes of the models one run trains (``("pca_ae", "ae")``), or empty;
``headlines``: the metrics the summary plots and tabulates first, templates with ``{v}`` for
the variant (``"{v}.on_target.area"``) or plain metric names; ``pairs``: ``((a, b), ...)``
variants compared seed by seed on each headline. Checked on construction: a pair or a
template naming a missing variant raises before any run.

>>> SweepSpec(("a", "b"), ("{v}.mse",), (("a", "b"),)).metrics()
[('a.mse', {'v': 'a'}), ('b.mse', {'v': 'b'})]
>>> SweepSpec(("a",), ("{v}.mse",), (("a", "c"),))
Traceback (most recent call last):
...
ValueError: pairs names variant 'c', not one of variants ('a',)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SweepSpec"]


def _strs(value, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of str, got {value!r}")
    for v in value:
        if not isinstance(v, str) or not v:
            raise TypeError(f"{name} must hold non-empty str, got {v!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} must not repeat an item, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class SweepSpec:
    variants: tuple[str, ...] = ()
    headlines: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "variants", _strs(self.variants, "variants"))
        object.__setattr__(self, "headlines", _strs(self.headlines, "headlines"))
        if not self.headlines:
            raise ValueError("headlines must name at least one metric")
        for h in self.headlines:
            if "{v}" in h and not self.variants:
                raise ValueError(f"headlines template {h!r} needs variants, and variants is empty")
        pairs = []
        for p in self.pairs:
            if not isinstance(p, (tuple, list)) or len(p) != 2:
                raise TypeError(f"pairs must hold (a, b) pairs of variants, got {p!r}")
            for v in p:
                if v not in self.variants:
                    raise ValueError(f"pairs names variant {v!r}, not one of variants {self.variants}")
            if p[0] == p[1]:
                raise ValueError(f"pairs must compare two different variants, got {tuple(p)}")
            pairs.append((p[0], p[1]))
        object.__setattr__(self, "pairs", tuple(pairs))

    def metrics(self) -> list[tuple[str, dict[str, str]]]:
        """Every headline metric name with its variant (``{"v": name}``, or ``{}``)."""
        out = []
        for h in self.headlines:
            if "{v}" in h:
                out += [(h.format(v=v), {"v": v}) for v in self.variants]
            else:
                out.append((h, {}))
        return out
