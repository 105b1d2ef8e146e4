"""What every experiment shares: the command line, the output folder, the printed table.

An experiment module defines a frozen dataclass ``Config`` (with a ``quick()`` classmethod
for the CI-sized run), ``main(config) -> Result``, its table and figures, and ``cli(argv)``
(:func:`run_cli`); the shared machinery lives in the private modules ``_disk_runs`` (disk
autoencoder trainings), ``_pca_runs`` (PCA-AE trainings and measures), ``_plots`` (figures)
and ``_io`` (output formats). No experiment imports another.

    python -m validation.NAME [--quick] [--seed S] [--out DIR] [--field value ...]
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from geoshape.io import atomic_write_json
from nets.io import atomic_torch_save
from validation._io import flat_numbers

#: "1" in a process running one run of a sweep (:mod:`validation.sweep`): experiments then run
#: their own several trainings in that process instead of a pool of their own.
IN_SWEEP_ENV = "GEOSHAPE_SWEEP_WORKER"

__all__ = ["IN_SWEEP_ENV", "Result", "format_table", "parse_cli", "parse_value", "write_outputs", "run_cli"]


def format_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """Right-aligned text table; floats with 3 decimals, or 2 significant digits if small."""

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
        return str(v)

    cells = [list(map(str, header))] + [[fmt(v) for v in r] for r in rows]
    w = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["  ".join(c[i].rjust(w[i]) for i in range(len(header))) for c in cells]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def parse_cli(config_cls, argv: Sequence[str] | None, description: str):
    """``[--quick] [--seed S] [--out DIR] [--field value ...]`` -> config instance.

    Every field of the frozen dataclass ``config_cls`` is an option; tuples take
    comma-separated values, booleans 1/0/true/false. ``--quick`` starts from
    ``config_cls.quick()``. Values are checked by the config's own validation.
    """
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="CI-sized run (under a minute)")
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    defaults = config_cls()
    for name in fields:
        p.add_argument(f"--{name}", dest=name, default=None, help=f"default {getattr(defaults, name)!r}")
    args = p.parse_args(argv)
    base = config_cls.quick() if args.quick else defaults
    changes = {}
    for name in fields:
        raw = getattr(args, name)
        if raw is None:
            continue
        try:
            changes[name] = parse_value(base, name, raw)
        except ValueError as e:
            p.error(f"--{name}: {e}")
    try:
        return dataclasses.replace(base, **changes)
    except (ValueError, TypeError) as e:
        p.error(str(e))


def parse_value(base, name: str, raw: str):
    """The command-line string ``raw`` as a value of field ``name``, typed like the field's
    value in the config ``base``: bools from 1/0/true/false/yes/no, ints, floats (also for
    fields whose value is None, ``out`` excepted), tuples from comma-separated items of the
    type of the tuple's first item (float when empty), strings as given. ValueError if
    ``raw`` does not parse."""
    cur = getattr(base, name)
    try:
        if isinstance(cur, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if isinstance(cur, int):
            return int(raw)
        if isinstance(cur, float) or cur is None and name != "out":
            return float(raw)
        if isinstance(cur, tuple):
            kind = type(cur[0]) if cur else float
            return tuple(kind(v) for v in raw.split(",") if v)
        return raw
    except ValueError:
        raise ValueError(f"cannot parse {raw!r} as {type(cur).__name__}") from None


@dataclass
class Result:
    """What ``main`` returns: the config, the flat metrics written to ``metrics.json``, the
    printed table, where everything went, and any training histories."""

    config: Any
    metrics: dict[str, float]
    table: str
    out: Path
    histories: dict[str, Any] = field(default_factory=dict)


def write_outputs(out: Path, config, metrics: dict, weights: dict | None = None) -> None:
    """``config.json``, ``metrics.json`` (flat numbers) and ``weights.pt``, each atomically."""
    out = Path(out)
    atomic_write_json(dataclasses.asdict(config), out / "config.json")
    atomic_write_json(flat_numbers(metrics), out / "metrics.json")
    if weights:
        atomic_torch_save({k: {n: t.detach().cpu().contiguous() for n, t in m.state_dict().items()}
                           for k, m in weights.items()}, out / "weights.pt")


def run_cli(config_cls, main: Callable[[Any], Result], argv: Sequence[str] | None, doc: str, files: str,
            footer: Callable[[Result], str] | None = None) -> Result:
    """The body of every experiment's ``cli``: the config from ``argv`` (:func:`parse_cli`,
    described by the first line of ``doc``), ``main``'s run, its table, ``footer(result)`` if
    given, and the list of ``files`` written."""
    result = main(parse_cli(config_cls, argv, doc.splitlines()[0]))
    print(result.table)
    if footer is not None:
        print(footer(result))
    print(f"\nwrote {result.out}/{{{files}}}")
    return result
