"""Any experiment over seeds and a grid of settings, on Dask distributed.

    python -m validation.runners.sweep EXPERIMENT [--seeds 0:10] [--set field=v1,v2 ...] [--quick]
        [--workers N] [--scheduler tcp://host:8786] [--device cpu|cuda] [--out DIR]

Runs ``EXPERIMENT.main(config)`` for every grid point x seed. The grid is the product of the
``--set`` options (a field's values separated by commas; for a field whose value is a tuple,
the grid values are separated by ``;`` and each value's items by commas:
``--set penalties=denoise;encoder_l2,denoise``). ``--seeds`` takes ``a:b`` (a, ..., b - 1),
a comma list or one integer. Each run writes ``OUT/<point>/seed=<s>/`` -- ``config.json``,
``metrics.json`` and the rest -- exactly as ``python -m validation.EXPERIMENT --seed s
--out OUT/<point>/seed=<s> --field value ...`` would on a process with the worker's thread
count (bit-identical metrics, timings excepted; tested), plus ``run.log`` with what the run
printed. ``<point>`` is ``default`` without ``--set``, else ``field=value,field=value``.
Then ``OUT/summary.{json,md,png}`` (:mod:`validation.runners.summary`).

Where it runs: an embedded ``LocalCluster`` of ``--workers`` single-threaded worker
processes (default: the machine's cores), or the existing cluster at ``--scheduler``. Each
run sets torch and numba to its worker's thread count (one thread on a single-threaded
worker) and, inside a sweep, an experiment's own two-process pool runs in the worker's
process instead (``validation.runs.disk.pool_map``): a sweep never nests a second pool.

Resuming: a run whose ``metrics.json`` exists is skipped, so rerunning the same command
after an interruption, a killed worker (Dask reschedules its run on another worker) or a
failure redoes only what is missing. A run that raises is reported in the summary with its
traceback and does not stop the others. Bad fields or values (``--set``, ``--device``) fail
before any run, with the experiment's own message; so does an ``--out`` that holds a
different sweep.

A batch cluster (SLURM) with ``dask-jobqueue``; the workers need this package installed
(``pip install -c constraints.txt -e .`` in a shared environment) and the same Python::

    from dask_jobqueue import SLURMCluster
    from distributed import Client
    cluster = SLURMCluster(cores=1, processes=1, memory="4GB", walltime="02:00:00",
                           job_script_prologue=["source /path/to/geoshape/.venv/bin/activate"])
    cluster.scale(jobs=20)          # 20 single-threaded workers
    validation.runners.sweep.run("pca_ae_ellipses", seeds=range(10), client=Client(cluster),
                         out="/shared/results/ellipses")

(or start the scheduler and ``dask worker ADDRESS --nthreads 1`` by hand and pass
``--scheduler ADDRESS``). ``out`` must be a folder every worker can write.

The Python API: :func:`run` (below) returns a :class:`SweepResult`; :func:`plan` only builds
and checks the runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import io
import itertools
import json
import os
import re
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from geoshape import checks
from geoshape.io import atomic_write_json
from validation.runners import summary as sweep_summary
from validation.core import IN_SWEEP_ENV, parse_value

__all__ = ["Run", "SweepResult", "plan", "run", "client_for", "parse_seeds", "parse_grid", "cli", "IN_SWEEP_ENV"]

#: Fields the runner owns: every run's seed and output folder.
_OWNED = ("seed", "out", "quick_run")
_SAFE = re.compile(r"^[A-Za-z0-9_.,=+\-]+$")


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its grid point name, seed, folder and the full config."""

    point: str
    seed: int
    out: Path
    config: Any

    @property
    def done(self) -> bool:
        return (self.out / "metrics.json").exists()


@dataclass
class SweepResult:
    """What :func:`run` returns: the runs, what happened to each, and the summary."""

    out: Path
    runs: list[Run]
    status: dict[tuple[str, int], str]          # "done", "skipped" or "failed"
    failures: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    seconds: float = 0.0


# --------------------------------------------------------------------------- planning
def _module(experiment: str):
    if not isinstance(experiment, str) or not experiment:
        raise TypeError(f"experiment must be a module name such as 'pca_ae_ellipses', got {experiment!r}")
    # A bare name is one of ours first, then any importable module (a user's own experiment).
    names = [experiment] if "." in experiment else [f"validation.{experiment}", experiment]
    mod = None
    for name in names:
        try:
            mod = importlib.import_module(name)
            break
        except ModuleNotFoundError as e:
            if e.name != name:  # the module exists but one of its imports is missing
                raise
    if mod is None:
        from validation.runners.report import EXPERIMENTS

        raise ValueError(f"experiment {experiment!r} not found as {' or '.join(names)}; experiments: "
                         f"{', '.join(n for n, _, _ in EXPERIMENTS)}, or any importable module with "
                         f"Config and main(config)")
    if not (hasattr(mod, "Config") and callable(getattr(mod, "main", None))):
        raise ValueError(f"experiment {experiment!r} has no Config and main(config)")
    return mod


def parse_seeds(text: str) -> list[int]:
    """``"a:b"`` -> a, ..., b - 1; ``"1,4,7"``; ``"3"``. ValueError on anything else."""
    if not isinstance(text, str):
        raise TypeError(f"seeds must be a str such as '0:10', got {type(text).__name__}")
    try:
        if ":" in text:
            a, b = (int(p) for p in text.split(":"))
            seeds = list(range(a, b))
        else:
            seeds = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ValueError(f"--seeds must be 'a:b', a comma list or an integer, got {text!r}") from None
    return seeds


def parse_grid(config_cls, items: Sequence[str], *, quick: bool = False) -> dict[str, list]:
    """``["field=v1,v2", ...]`` -> ``{field: [typed values]}``, typed like the field (see
    :func:`validation.core.run.parse_value`; tuple fields: values separated by ``;``)."""
    base = config_cls.quick() if quick else config_cls()
    names = {f.name for f in dataclasses.fields(config_cls)}
    grid: dict[str, list] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set takes field=v1,v2, got {item!r}")
        name, raw = item.split("=", 1)
        if name not in names:
            raise ValueError(f"--set {name}: {config_cls.__module__} has no field {name!r}; fields: "
                             f"{', '.join(sorted(names - set(_OWNED)))}")
        if name in _OWNED:
            raise ValueError(f"--set {name}: the sweep sets {name} itself (use --seeds / --out)")
        if name in grid:
            raise ValueError(f"--set {name} given twice")
        sep = ";" if isinstance(getattr(base, name), tuple) else ","
        try:
            grid[name] = [parse_value(base, name, v) for v in raw.split(sep)]
        except ValueError as e:
            raise ValueError(f"--set {name}: {e}") from None
    return grid


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "+".join(_fmt(x) for x in v) if v else "empty"
    if isinstance(v, float):
        return repr(v)
    return str(v) if str(v) else "empty"


def _point_name(values: Mapping[str, Any]) -> str:
    if not values:
        return "default"
    name = ",".join(f"{k}={_fmt(v)}" for k, v in values.items())
    if not _SAFE.match(name):
        raise ValueError(f"grid point {name!r} is not a safe folder name: values may use letters, digits and _ . + -")
    return name


def plan(experiment: str, seeds: Sequence[int] = range(10), grid: Mapping[str, Sequence] | None = None, *,
         quick: bool = False, device: str | None = None, out: str | Path | None = None) -> list[Run]:
    """Every run of the sweep, each config built (so checked by the experiment's own
    validation) before anything runs. ``grid``: ``{field: [values]}`` of typed values; the
    other arguments as in :func:`run`. Raises ValueError / TypeError naming the bad item."""
    mod = _module(experiment)
    cls = mod.Config
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    for s in seeds:
        checks.seed(s, "seeds")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    grid = dict(grid or {})
    names = {f.name for f in dataclasses.fields(cls)}
    for name, values in grid.items():
        if name not in names or name in _OWNED:
            raise ValueError(f"grid field {name!r} is not a settable field of {cls.__module__}.Config")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
    base = cls.quick() if quick else cls()
    fixed = {}
    if device is not None:
        if "device" not in names:
            raise ValueError(f"--device: {cls.__module__}.Config has no device field")
        fixed["device"] = checks.choice(device, "device", ("cpu", "cuda"))
    short = experiment.rsplit(".", 1)[-1]
    out = Path(out) if out is not None else Path("results") / "sweeps" / (short + ("_quick" if quick else ""))
    runs, seen = [], set()
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo))
        point = _point_name(values)
        if point in seen:
            raise ValueError(f"two grid points share the folder name {point!r}")
        seen.add(point)
        for s in seeds:
            run_out = out / point / f"seed={s}"
            try:
                cfg = dataclasses.replace(base, **values, **fixed, seed=s, out=str(run_out))
            except (ValueError, TypeError) as e:
                raise type(e)(f"grid point {point}, seed {s}: {e}") from None
            runs.append(Run(point, s, run_out, cfg))
    return runs


# --------------------------------------------------------------------------- one run, on a worker
def _run_one(module_name: str, config) -> dict:
    """Run ``module.main(config)`` in this (worker) process: threads set to the worker's, the
    run's output to its ``run.log``; exceptions returned with their traceback, not raised."""
    threads = 1
    try:
        from distributed import get_worker

        threads = max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        pass
    os.environ[IN_SWEEP_ENV] = "1"
    os.environ["TQDM_DISABLE"] = "1"
    import numba
    import torch

    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            importlib.import_module(module_name).main(config)
        status, err, tb = "done", "", ""
    except Exception as e:  # reported in the summary; the other runs go on
        status, err, tb = "failed", f"{type(e).__name__}: {e}", traceback.format_exc()
    (out / "run.log").write_text(log.getvalue() + tb)
    return {"status": status, "error": err, "traceback": tb, "seconds": time.perf_counter() - t0,
            "threads": threads, "pid": os.getpid()}


# --------------------------------------------------------------------------- the sweep
def _sweep_record(experiment, seeds, grid, quick, device) -> dict:
    return {"experiment": experiment, "seeds": list(seeds), "quick": bool(quick), "device": device,
            "grid": {k: [list(v) if isinstance(v, tuple) else v for v in vals] for k, vals in (grid or {}).items()}}


def run(experiment: str, seeds: Sequence[int] = range(10), grid: Mapping[str, Sequence] | None = None, *,
        quick: bool = False, device: str | None = None, out: str | Path | None = None, workers: int | None = None,
        scheduler: str | None = None, client=None, progress: bool = True) -> SweepResult:
    """Run the sweep (module docstring) and write its summary.

    Args:
        experiment: a module of :mod:`validation` (``"pca_ae_ellipses"``), else any importable
            module (bare or dotted name, importable on the workers too) with ``Config`` and
            ``main``.
        seeds: the seeds, distinct ints in ``[0, 2**63 - 1]``; every grid point runs them all.
        grid: ``{field: [value, ...]}``, typed values of the experiment's ``Config`` fields
            (``seed`` and ``out`` excepted); the sweep runs their product.
        quick: start every config from ``Config.quick()``.
        device: ``"cpu"`` or ``"cuda"`` for experiments with a ``device`` field.
        out: the sweep's folder (default ``results/sweeps/EXPERIMENT[_quick]``).
        workers: LocalCluster worker processes, one thread each (default: ``os.cpu_count()``);
            ignored with ``scheduler`` or ``client``.
        scheduler: address of an existing Dask scheduler; client: an existing
            ``distributed.Client`` (takes precedence).
        progress: a tqdm bar over runs (done / running / failed).

    Returns: a :class:`SweepResult`; ``status[(point, seed)]`` is "done", "skipped" (its
    ``metrics.json`` existed) or "failed" (``failures`` hold the error and traceback).
    """
    t0 = time.perf_counter()
    runs = plan(experiment, seeds, grid, quick=quick, device=device, out=out)
    mod = _module(experiment)
    out = runs[0].out.parent.parent
    if workers is not None:
        workers = checks.integer(workers, "workers", lo=1, hi=1024)
    record = _sweep_record(experiment, seeds, grid, quick, device)
    sweep_file = out / "sweep.json"
    if sweep_file.exists():
        old = json.loads(sweep_file.read_text())
        if {k: old.get(k) for k in record} != json.loads(json.dumps(record)):
            raise ValueError(f"out={str(out)!r} holds a different sweep ({sweep_file}); choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(record, sweep_file)

    status: dict[tuple[str, int], str] = {}
    todo = []
    for r in runs:
        if r.done:
            status[(r.point, r.seed)] = "skipped"
        else:
            todo.append(r)
    failures: list[dict] = []
    if todo:
        failures = _execute(mod.__name__, todo, status, workers=workers, scheduler=scheduler, client=client,
                            progress=progress)
    summary = sweep_summary.summarize(out, mod, failures=failures)
    return SweepResult(out, runs, status, failures, summary, time.perf_counter() - t0)


@contextlib.contextmanager
def client_for(workers: int | None = None, scheduler: str | None = None, client=None):
    """The ``distributed.Client`` a sweep runs on: ``client`` if given, else one connected to
    ``scheduler``, else an embedded ``LocalCluster`` of ``workers`` (default: the cores)
    single-threaded worker processes, with the environment of a sweep's run (one OpenMP /
    numba thread, bars off); closed on exit unless it was given."""
    if client is not None:
        yield client
        return
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as c:
            yield c
        return
    n = workers or os.cpu_count() or 1
    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    env.update({IN_SWEEP_ENV: "1", "TQDM_DISABLE": "1", "NUMBA_NUM_THREADS": "1"})
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as c:
            yield c


def _task_key(module_name: str) -> str:
    """A unique Dask key whose prefix (``dask.utils.key_split``) is the same for every run of
    the sweep: Dask groups tasks by prefix to learn their duration and to steal queued ones for
    idle workers. With a key of its own per run, 4 runs of official_model went 3 + 1 to 2
    workers (throughput ratio 1.24 of 2)."""
    return f"sweep_{module_name.rsplit('.', 1)[-1].replace('-', '_')}-{uuid.uuid4().hex}"


def _execute(module_name, todo: list[Run], status, *, workers, scheduler, client, progress) -> list[dict]:
    from distributed import as_completed
    from tqdm.auto import tqdm

    failures = []
    with client_for(workers, scheduler, client) as c:
        futures = {c.submit(_run_one, module_name, r.config, key=_task_key(module_name)): r for r in todo}
        n_workers = max(1, len(c.scheduler_info().get("workers", {})) or 1)
        bar = tqdm(total=len(todo), desc=f"{len(todo)} runs", unit="run", disable=not progress)
        done = failed = 0
        try:
            for fut in as_completed(futures):
                r = futures[fut]
                try:
                    res = fut.result()
                except Exception as e:  # the worker died on this run more often than Dask allows
                    res = {"status": "failed", "error": f"{type(e).__name__}: {e}",
                           "traceback": traceback.format_exc()}
                status[(r.point, r.seed)] = res["status"]
                if res["status"] == "failed":
                    failed += 1
                    failures.append({"point": r.point, "seed": r.seed, "error": res["error"],
                                     "traceback": res["traceback"]})
                else:
                    done += 1
                running = min(n_workers, len(todo) - done - failed)
                bar.set_postfix(done=done, running=running, failed=failed)
                bar.update(1)
        except BaseException:
            c.cancel(list(futures))
            raise
        finally:
            bar.close()
    return failures


# --------------------------------------------------------------------------- command line
def cli(argv: Sequence[str] | None = None) -> SweepResult:
    p = argparse.ArgumentParser(prog="python -m validation.runners.sweep", description=__doc__.splitlines()[0])
    p.add_argument("experiment", help="a validation module, e.g. pca_ae_ellipses")
    p.add_argument("--seeds", default="0:10", help="a:b (a .. b-1), a comma list or one seed; default 0:10")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=V1,V2",
                   help="grid over a Config field (repeatable; tuple fields: values separated by ';')")
    p.add_argument("--quick", action="store_true", help="every run from Config.quick()")
    p.add_argument("--workers", type=int, default=None, help="LocalCluster workers, one thread each (default: cores)")
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    p.add_argument("--device", default=None, choices=("cpu", "cuda"))
    p.add_argument("--out", default=None, help="default results/sweeps/EXPERIMENT[_quick]")
    args = p.parse_args(argv)
    try:
        mod = _module(args.experiment)
        grid = parse_grid(mod.Config, args.sets, quick=args.quick)
        seeds = parse_seeds(args.seeds)
        plan(args.experiment, seeds, grid, quick=args.quick, device=args.device, out=args.out)
        if args.workers is not None:
            checks.integer(args.workers, "workers", lo=1, hi=1024)
    except (ValueError, TypeError) as e:
        p.error(str(e))
    res = run(args.experiment, seeds, grid, quick=args.quick, device=args.device, out=args.out,
              workers=args.workers, scheduler=args.scheduler)
    n = {s: sum(1 for v in res.status.values() if v == s) for s in ("done", "skipped", "failed")}
    print((res.out / "summary.md").read_text())
    print(f"{len(res.runs)} runs: {n['done']} done, {n['skipped']} skipped, {n['failed']} failed in "
          f"{res.seconds:.0f} s\nwrote {res.out}/{{sweep.json, summary.json, summary.md, summary.png}} and "
          f"{res.out}/<point>/seed=<s>/")
    if n["failed"]:
        raise SystemExit(1)
    return res


if __name__ == "__main__":
    cli(sys.argv[1:])
