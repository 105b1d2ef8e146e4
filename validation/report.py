"""The whole talk reproduced on one page: run every experiment and write ``REPORT.md``.

    python -m validation.report [--quick] [--seed S] [--out DIR] [--only a,b,...]

Runs each experiment of :data:`EXPERIMENTS` (its ``--quick`` configuration with
``--quick``) into ``DIR/NAME/`` (default ``results/``), then writes ``DIR/REPORT.md``
atomically: per experiment the claim of the talk it tests, its printed table, its headline
metrics and its figures. An experiment that fails is reported as failed (with the error)
and the others still run; the command then exits non-zero.

Full run: the sum of the experiments' full runs (about 45 minutes on 2 cores, plus 3 h 16 min
for the authors'-protocol sweep ``interpolation_official``);
``--quick``: about 7 minutes.
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

from geoshape.io import atomic_write_bytes

#: (module, section title, the claim of the talk it tests), in the talk's order.
EXPERIMENTS: tuple[tuple[str, str, str], ...] = (
    ("disk_vs_airy", "Decoding a disk",
     "Without biases the decoder's output is h(r) f, and f maximises the energy of eq. 3: "
     "the autoencoder's profile is Airy's function (eq. 8)."),
    ("disk_encoder", "Encoding a disk",
     "The encoder is an averaging filter: the latent code follows the disk's area."),
    ("bias_ablation", "Removing the biases",
     "A bias-free 1-D autoencoder reaches the best rank-1 reconstruction h(r) f and no better."),
    ("interpolation", "Interpolating unknown radii",
     "Trained without radii 11-18, an autoencoder interpolates badly unless its latent space "
     "is regularised (types 1-3)."),
    ("official_model", "The authors' own network",
     "The authors' 1,116-parameter Keras layout, trained their way (finite 8-bit set, constant "
     "lr 0.01, keep-best), encodes a disk by its area."),
    ("interpolation_official", "Interpolating unknown radii, the authors' way",
     "The same claim under the authors' protocol: their network, their finite 8-bit data set and "
     "their training, with the regularisers of the talk and of their code."),
    ("position_encoder", "Encoding position",
     "Filtering by [1, 2, 1] and subsampling extracts the position of a Dirac (eqs. 9-12, "
     "Table 1); a trained encoder finds these weights."),
    ("position_decoder", "Decoding position",
     "Decoding a position into a continuous Dirac (eq. 13) is harder and less reliable."),
    ("pca_ae_ellipses", "PCA-like autoencoder on ellipses",
     "Growing the latent one component at a time with a covariance penalty orders and "
     "decorrelates the latent components (eqs. 14-17)."),
    ("pca_ae_grey_disks", "PCA-like autoencoder on grey disks",
     "The talk's failure case: radius and grey level."),
    ("pca_ae_position", "PCA-like autoencoder and position",
     "Translation needs two coordinates learned together: packets of 2 components."),
)


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
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")


def _run_one(name: str, cfg: ReportConfig) -> dict:
    mod = importlib.import_module(f"validation.{name}")
    base = mod.Config.quick() if cfg.quick else mod.Config()
    changes = {"out": str(Path(cfg.out) / name)}
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
    atomic_write_bytes(out / "REPORT.md", lambda fh: fh.write(text.encode()), suffix=".md.tmp")
    print(f"wrote {out / 'REPORT.md'}")
    return outcomes


def render(outcomes: dict, cfg: ReportConfig) -> str:
    """Markdown for the outcomes (figures linked relative to the report)."""
    out = Path(cfg.out)
    mode = "quick (CI-sized) runs" if cfg.quick else "full runs"
    lines = ["# geoshape: the talk reproduced", "",
             f"*Understanding geometric attributes of images with Autoencoders* — {mode}, "
             f"seed {cfg.seed}. Each section: the claim, the experiment's table, its figures. "
             "Rerun with `python -m validation.report" + (" --quick" if cfg.quick else "") + "`.", ""]
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
