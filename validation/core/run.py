"""One run of an experiment: the command line, the printed table, the recorded outputs.

    python -m validation.NAME [--quick] [--seed S] [--out DIR] [--threads T] [--device D] [--FIELD value ...]

:func:`parse_cli` builds the config from ``argv`` (every field of the experiment's
:class:`~validation.core.config.ExperimentConfig` is an option, documented by its ``param``
line); :func:`write_outputs` writes ``config.json`` (the run whole: the experiment's config,
the model config and resolved ``TrainConfig`` of every training, the random streams drawn, the
package versions and the git commit), ``metrics.json`` and ``weights.pt``, each atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from geoshape.io import atomic_write_json
from nets.io import atomic_torch_save
from nets.saveload import model_description
from validation._io import flat_numbers

#: "1" in a process running one run of a sweep (:mod:`validation.runners.sweep`): experiments then run
#: their own several trainings in that process instead of a pool of their own.
IN_SWEEP_ENV = "GEOSHAPE_SWEEP_WORKER"

__all__ = ["IN_SWEEP_ENV", "Result", "format_table", "parse_cli", "parse_value", "write_outputs", "run_cli", "environment",
           "training_records", "limited_threads"]

_PACKAGES = ("geoshape", "numpy", "scipy", "numba", "torch", "sympy", "matplotlib", "scikit-learn", "dask",
             "distributed")


@contextlib.contextmanager
def limited_threads(n: int):
    """Run the block with ``n`` torch threads and ``n`` BLAS threads (threadpoolctl, which
    scikit-learn installs); the previous settings come back after. On the shared 2-core
    machine a 2-thread OpenBLAS SVD of the 4000 x 784 digit training set took 33 s against
    1.0 s for one thread, and of a 2048 x 1024 bank 16.6 s against 1.3 s."""
    import torch
    from threadpoolctl import threadpool_limits

    from geoshape import checks

    n = checks.integer(n, "n", 1, 1024)
    prev = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        torch.set_num_threads(prev)


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


# ----------------------------------------------------------------------------- command line
def _kind(f: dataclasses.Field, cur: Any) -> str:
    """``"bool" | "int" | "float" | "str" | "tuple:<item kind>"`` from the field's annotation."""
    ann = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    ann = ann.replace(" ", "")
    if ann.startswith("tuple"):
        for k in ("int", "str", "float"):
            if ann.startswith(f"tuple[{k}"):
                return f"tuple:{k}"
        return f"tuple:{type(cur[0]).__name__}" if cur else "tuple:float"
    for k in ("bool", "int", "float"):
        if ann.split("|")[0] == k:
            return k
    return "str"


def parse_value(base, name: str, raw: str):
    """The command-line string ``raw`` as a value of field ``name`` of the config ``base``,
    typed by the field's annotation: bools from 1/0/true/false/yes/no, ints, floats, tuples
    from comma-separated items, strings as given; ``none`` for a field that may be None.
    ValueError if ``raw`` does not parse."""
    f = {g.name: g for g in dataclasses.fields(base)}[name]
    cur = getattr(base, name)
    kind = _kind(f, cur)
    optional = "None" in str(f.type)
    try:
        if optional and raw.lower() == "none":
            return None
        if kind == "bool":
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind.startswith("tuple:"):
            item = {"int": int, "str": str, "float": float}.get(kind[6:], float)
            return tuple(item(v) for v in raw.split(",") if v)
        return raw
    except ValueError:
        raise ValueError(f"cannot parse {raw!r} as {kind.replace('tuple:', 'comma-separated ')}") from None


def _timing_line(config_cls) -> str:
    from validation.core.registry import REGISTRY

    spec = REGISTRY.get(config_cls.NAME)
    if spec is None:
        return ""
    return f" Run time on the 2-core development machine: quick {spec.quick_time}, full {spec.full_time}."


def parse_cli(config_cls, argv: Sequence[str] | None, description: str):
    """``[--quick] [--FIELD value ...]`` -> a ``config_cls`` instance. Every field but
    ``quick_run`` is an option, its help the field's ``param`` line and its default;
    ``--quick`` starts from ``config_cls.quick()``. Values are checked by the config."""
    p = argparse.ArgumentParser(description=description + _timing_line(config_cls))
    p.add_argument("--quick", action="store_true", help=f"the CI-sized run, into results/{config_cls.NAME}_quick")
    fields = {f.name: f for f in dataclasses.fields(config_cls) if f.name != "quick_run"}
    defaults = config_cls()
    for name, f in fields.items():
        doc = f.metadata.get("doc", "").replace("NAME", config_cls.NAME or "NAME")
        p.add_argument(f"--{name}", dest=name, default=None, metavar=_kind(f, getattr(defaults, name)).upper(),
                       help=f"{doc} (default: {getattr(defaults, name)!r})")
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


# ----------------------------------------------------------------------------- the record
@dataclass
class Result:
    """What ``main`` returns: the config, the flat metrics written to ``metrics.json``, the
    printed table, where everything went, and any training histories."""

    config: Any
    metrics: dict[str, float]
    table: str
    out: Path
    histories: dict[str, Any] = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def environment() -> dict:
    """Python, the versions of the packages a run depends on, and the git commit of the
    source tree (with ``dirty`` if it has uncommitted changes), or None outside git."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    root = Path(__file__).resolve().parents[2]
    commit = None
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode == 0:
            commit = head.stdout.strip()
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                   capture_output=True, text=True, timeout=10)
            if dirty.returncode == 0 and dirty.stdout.strip():
                commit += "-dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"versions": versions, "git_commit": commit}


def _history_dict(h) -> dict:
    return h.to_dict() if hasattr(h, "to_dict") else dict(h)


def training_records(histories: Mapping[str, Any]) -> dict:
    """``{name: {"model": ..., "train_config": ...}}`` of every training behind ``histories``
    (``{name: History | its dict | list of them (one per stage)}``); stages as lists."""
    out = {}
    for name, h in histories.items():
        hs = h if isinstance(h, (list, tuple)) else [h]
        recs = []
        for one in hs:
            d = _history_dict(one)
            recs.append({"model": d.get("model"), "train_config": d.get("train_config")})
        out[name] = recs[0] if len(recs) == 1 else recs
    return out


def write_outputs(out: Path, config, metrics: dict, weights: dict | None = None, *,
                  histories: Mapping[str, Any] | None = None, streams: Mapping[str, int] | None = None,
                  extra: Mapping[str, Any] | None = None) -> None:
    """``config.json`` (the run whole), ``metrics.json`` (flat numbers) and ``weights.pt``,
    each atomically. ``histories``: every training's :class:`nets.History` (its model and
    ``TrainConfig``); ``streams``: the random streams drawn (``Streams.used``); ``extra``: any
    other setting the run resolved (e.g. a training recipe's fixed values). With ``weights``,
    config.json also records under ``"models"`` each saved model's class, config and stages
    (``nets.saveload.model_description``), from which ``nets.load_results`` rebuilds it."""
    out = Path(out)
    cfg = config.to_dict() if hasattr(config, "to_dict") else dataclasses.asdict(config)
    record = {"config": cfg, "trainings": training_records(histories or {}), "streams": dict(streams or {}),
              **({"resolved": dict(extra)} if extra else {}), **environment()}
    if weights:  # what nets.load_results needs to rebuild each saved model
        record["models"] = {k: model_description(m) for k, m in weights.items()}
    atomic_write_json(record, out / "config.json")
    atomic_write_json(flat_numbers(metrics), out / "metrics.json")
    if weights:
        atomic_torch_save({k: {n: t.detach().cpu().contiguous() for n, t in m.state_dict().items()}
                           for k, m in weights.items()}, out / "weights.pt")


def run_cli(config_cls, main: Callable[[Any], Result], argv: Sequence[str] | None, doc: str, files: str,
            footer: Callable[[Result], str] | None = None) -> Result:
    """The body of every experiment's ``cli``: the config from ``argv`` (:func:`parse_cli`,
    described by the first line of ``doc``), ``main``'s run, its table, ``footer(result)`` if
    given, and the list of ``files`` written."""
    result = main(parse_cli(config_cls, argv, doc.strip().splitlines()[0]))
    print(result.table)
    if footer is not None:
        print(footer(result))
    print(f"\nwrote {result.out}/{{{files}}}")
    return result
