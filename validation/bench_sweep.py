"""Throughput of the sweep runner: the same runs on one worker and on N workers, one run.

    python -m validation.bench_sweep [--quick] [--runs K] [--workers N] [--out results/bench_sweep]

``K`` runs (seeds 0 .. K-1) of ``official_model --quick`` with ``steps`` steps each, through
:func:`validation.sweep.run`, first on a LocalCluster of 1 single-threaded worker, then on one
of ``N`` (default 2, this machine's cores). Each cluster is started and its workers have
imported the experiment before the clock starts, so the ratio measures the runner, not the
start-up. Reported: seconds on 1 and on N workers, the throughput ratio ``t_1 / t_N`` (ideal
N; the goal is >= 0.9 N), and whether every run's results are the same on both (they must
be: each run uses one thread either way). Writes ``metrics.json`` atomically into ``--out``.
Run it on an otherwise idle machine: a busy core lowers the ratio.
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
    import validation.official_model  # noqa: F401  (imports torch, numba, geoshape)

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

        one, many = results(Path(tmp) / "one"), results(Path(tmp) / "many")
        same = len(one) == config.runs and one == many
    ratio = t1 / tn
    metrics = {"runs": config.runs, "workers": config.workers, "seconds_1_worker": t1,
               f"seconds_{config.workers}_workers": tn, "throughput_ratio": ratio,
               "efficiency": ratio / config.workers, "goal_met": int(ratio >= 0.9 * config.workers),
               "same_results": int(same)}
    write_outputs(out, config, metrics)
    table = format_table([[1, t1, config.runs / t1, 1.0], [config.workers, tn, config.runs / tn, ratio]],
                         ["workers", "seconds", "runs / s", "throughput ratio"])
    table += (f"\n\n{config.runs} runs of official_model --quick --steps {config.steps}; ratio {ratio:.2f} "
              f"(ideal {config.workers}, goal >= {0.9 * config.workers:.1f}: "
              f"{'met' if metrics['goal_met'] else 'not met'}); same results on both: {bool(same)}")
    return Result(config, metrics, table, out)


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json")


if __name__ == "__main__":
    cli(sys.argv[1:])
