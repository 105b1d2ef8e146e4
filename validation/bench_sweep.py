"""Throughput of the sweep runner: the same runs on one worker and on N workers, one run.

    python -m validation.bench_sweep [--quick] [--runs K] [--workers N] [--out results/bench_sweep]

``K`` runs (seeds 0 .. K-1) of ``official_model --quick`` with ``steps`` steps each, through
:func:`validation.sweep.run`, first on a LocalCluster of 1 single-threaded worker, then on one
of ``N`` (default 2, this machine's cores). Each cluster is started and every worker has made
a two-step run of the experiment (imports, numba compilation) before the clock starts, so the
ratio measures the runner, not the start-up. Reported: seconds on 1 and on N workers, the
throughput ratio ``t_1 / t_N`` (ideal N; the goal is >= 0.9 N), a run's own mean time on each
(longer on N workers: the cores contend; the same: any loss is the runner's), and whether every
run's results are the same on both (they must be: each run uses one thread either way). Writes
``metrics.json`` atomically into ``--out``. Run it on an otherwise idle machine: a busy core
lowers the ratio. On this 2-core VM the same command gave ratios 2.46 and 1.61 in two runs in
a row (a run alone took 33 s, then 20 s): the machine's speed drifts between invocations.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from geoshape import checks
from validation import sweep, sweep_summary
from validation._experiment import Result, format_table, run_cli, write_outputs

NAME = "bench_sweep"


@dataclass(frozen=True)
class Config:
    """bench_sweep settings."""

    seed: int = 0
    out: str = f"results/{NAME}"
    runs: int = 4
    workers: int = 2
    steps: int = 400

    @classmethod
    def quick(cls) -> "Config":
        return cls(runs=2, steps=50, out=f"results/{NAME}_quick")

    def __post_init__(self) -> None:
        checks.integer(self.runs, "runs", lo=1, hi=1000)
        checks.integer(self.workers, "workers", lo=1, hi=256)
        checks.integer(self.steps, "steps", lo=1)


def _warm():
    """One two-step run on this worker, outside the clock and set up as a sweep's run is:
    imports torch, numba and geoshape and compiles the kernels, which a run otherwise pays once
    per worker (about 7 s here)."""
    from validation import official_model

    with tempfile.TemporaryDirectory() as tmp:
        res = sweep._run_one("validation.official_model",
                             dataclasses.replace(official_model.Config.quick(), steps=2, out=tmp))
    if res["status"] != "done":
        raise RuntimeError(f"the warm-up run failed: {res['error']}")
    return True


def _timed(config: Config, workers: int, out: Path) -> float:
    with sweep.client_for(workers) as client:
        client.run(_warm)
        t0 = time.perf_counter()
        res = sweep.run("official_model", range(config.seed, config.seed + config.runs),
                        {"steps": [config.steps]}, quick=True, out=out, client=client, progress=False)
        t = time.perf_counter() - t0
    if res.failures:
        raise RuntimeError(f"a benchmark run failed: {res.failures[0]['error']}")
    return t


def main(config: Config) -> Result:
    out = Path(config.out)
    with tempfile.TemporaryDirectory() as tmp:
        t1 = _timed(config, 1, Path(tmp) / "one")
        tn = _timed(config, config.workers, Path(tmp) / "many")
        def results(folder: Path) -> dict:
            return {str(p.relative_to(folder)): {k: v for k, v in json.loads(p.read_text()).items()
                                                 if not sweep_summary.is_timing(k)}
                    for p in folder.glob("*/seed=*/metrics.json")}

        def run_seconds(folder: Path) -> float:  # a run's own time, start-up excluded
            return float(np.mean([json.loads(p.read_text())["total_seconds"]
                                  for p in folder.glob("*/seed=*/metrics.json")]))

        one, many = results(Path(tmp) / "one"), results(Path(tmp) / "many")
        same = len(one) == config.runs and one == many
        run_1, run_n = run_seconds(Path(tmp) / "one"), run_seconds(Path(tmp) / "many")
    ratio = t1 / tn
    metrics = {"runs": config.runs, "workers": config.workers, "seconds_1_worker": t1,
               f"seconds_{config.workers}_workers": tn, "throughput_ratio": ratio,
               "efficiency": ratio / config.workers, "goal_met": int(ratio >= 0.9 * config.workers),
               "same_results": int(same), "run_seconds_1_worker": run_1,
               f"run_seconds_{config.workers}_workers": run_n}
    write_outputs(out, config, metrics)
    table = format_table([[1, t1, config.runs / t1, run_1, 1.0],
                          [config.workers, tn, config.runs / tn, run_n, ratio]],
                         ["workers", "seconds", "runs / s", "mean run seconds", "throughput ratio"])
    table += (f"\n\n{config.runs} runs of official_model --quick --steps {config.steps}; ratio {ratio:.2f} "
              f"(ideal {config.workers}, goal >= {0.9 * config.workers:.1f}: "
              f"{'met' if metrics['goal_met'] else 'not met'}); same results on both: {bool(same)}")
    return Result(config, metrics, table, out)


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json")


if __name__ == "__main__":
    cli(sys.argv[1:])
