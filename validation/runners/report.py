"""The whole talk reproduced on one page: run every experiment and write ``REPORT.md``.

    python -m validation.runners.report [--quick] [--seed S] [--out DIR] [--only a,b,...]

Runs each registered experiment (:mod:`validation.core.registry`; its ``--quick``
configuration with ``--quick``) into ``DIR/NAME/`` (``DIR/NAME_quick/`` with ``--quick``, so a
quick report never overwrites a full run; default ``DIR`` ``results/``), then writes ``DIR/REPORT.md``
(``DIR/REPORT_quick.md``)
atomically: per experiment the claim of the talk it tests, its printed table, its headline
metrics and its figures. An experiment that fails is reported as failed (with the error)
and the others still run; the command then exits non-zero.

Full run: the sum of the experiments' full runs (about 69 minutes on 2 idle cores, plus 1 h 35 min
for the authors'-protocol sweep ``interpolation_official``); ``--quick``: about 7 minutes (the
registry's times, :func:`validation.core.registry.total_minutes`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

from geoshape import checks
from geoshape.io import atomic_write_bytes
from validation.core.registry import EXPERIMENTS as REGISTERED

#: (module, section title, the claim of the talk it tests), in the talk's order: the registry's.
EXPERIMENTS: tuple[tuple[str, str, str], ...] = tuple((e.name, e.title, e.claim) for e in REGISTERED)


@dataclasses.dataclass(frozen=True)
class ReportConfig:
    quick: bool = False
    seed: int = 0
    out: str = "results"
    only: tuple[str, ...] = ()

    def __post_init__(self):
        known = {name for name, _, _ in EXPERIMENTS}
        unknown = set(self.only) - known
        if unknown:
            raise ValueError(f"only: unknown experiment(s) {sorted(unknown)}; known: {sorted(known)}")
        checks.seed(self.seed, "seed")


def _run_one(name: str, cfg: ReportConfig) -> dict:
    mod = importlib.import_module(f"validation.{name}")
    base = mod.Config.quick() if cfg.quick else mod.Config()
    changes = {"out": str(Path(cfg.out) / (name + ("_quick" if cfg.quick else "")))}
    fields = {f.name for f in dataclasses.fields(base)}
    if "seed" in fields:
        changes["seed"] = cfg.seed
    if "progress" in fields:
        changes["progress"] = False
    t0 = time.perf_counter()
    result = mod.main(dataclasses.replace(base, **changes))
    return {"table": result.table, "metrics": result.metrics, "out": Path(result.out),
            "seconds": time.perf_counter() - t0}


def main(cfg: ReportConfig) -> dict:
    """Run the experiments and write REPORT.md; returns {name: outcome}."""
    out = Path(cfg.out)
    outcomes: dict[str, dict] = {}
    for name, title, claim in EXPERIMENTS:
        if cfg.only and name not in cfg.only:
            continue
        print(f"== {name}", flush=True)
        try:
            outcomes[name] = _run_one(name, cfg)
            print(outcomes[name]["table"], flush=True)
        except Exception as e:  # report it and go on with the other experiments
            outcomes[name] = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
            print(outcomes[name]["trace"], file=sys.stderr, flush=True)
    text = render(outcomes, cfg)
    path = out / ("REPORT_quick.md" if cfg.quick else "REPORT.md")
    atomic_write_bytes(path, lambda fh: fh.write(text.encode()), suffix=".md.tmp")
    print(f"wrote {path}")
    return outcomes


def render(outcomes: dict, cfg: ReportConfig) -> str:
    """Markdown for the outcomes (figures linked relative to the report)."""
    out = Path(cfg.out)
    mode = "quick (CI-sized) runs" if cfg.quick else "full runs"
    lines = ["# geoshape: the talk reproduced", "",
             f"*Understanding geometric attributes of images with Autoencoders* — {mode}, "
             f"seed {cfg.seed}. Each section: the claim, the experiment's table, its figures. "
             "Rerun with `python -m validation.runners.report" + (" --quick" if cfg.quick else "") + "`.", ""]
    for name, title, claim in EXPERIMENTS:
        if name not in outcomes:
            continue
        o = outcomes[name]
        lines += [f"## {title} (`python -m validation.{name}`)", "", f"Claim: {claim}", ""]
        if "error" in o:
            lines += [f"**Failed:** `{o['error']}`", ""]
            continue
        lines += ["```", o["table"].rstrip(), "```", "",
                  f"Run time: {o['seconds']:.0f} s. Metrics: `{name}/metrics.json`.", ""]
        for png in sorted(o["out"].glob("*.png")):
            try:
                rel = png.relative_to(out)
            except ValueError:
                rel = png
            lines += [f"![{name}: {png.stem}]({rel.as_posix()})", ""]
    return "\n".join(lines) + "\n"


def cli(argv: Sequence[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="every experiment's CI-sized run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results")
    p.add_argument("--only", default="", help="comma-separated experiment names")
    args = p.parse_args(argv)
    try:
        cfg = ReportConfig(quick=args.quick, seed=args.seed, out=args.out,
                           only=tuple(s for s in args.only.split(",") if s))
    except ValueError as e:
        p.error(str(e))
    outcomes = main(cfg)
    if any("error" in o for o in outcomes.values()):
        sys.exit(1)
    return outcomes


if __name__ == "__main__":
    cli(sys.argv[1:])
