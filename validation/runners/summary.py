"""Results over seeds: the statistics, paired comparisons and figure of a sweep.

:func:`describe` gives n, mean, std (ddof 1), median, min, max, quartiles and IQR of one
metric over seeds; :func:`paired` compares two variants measured on the same seeds (per-seed
differences, the sign test and Wilcoxon's signed-rank test from ``scipy.stats``);
:func:`summarize` does both for every metric of every grid point of a sweep folder
(``OUT/<point>/seed=<s>/metrics.json``, written by :mod:`validation.runners.sweep`) and writes
``summary.json``, ``summary.md`` and ``summary.png`` atomically.

An experiment module may declare, for its sweeps:

- ``SWEEP``: a :class:`validation.core.SweepSpec` checked at import: the prefixes of the
  models one run trains (``("pca_ae", "ae")``), the headline metrics shown first in
  ``summary.md`` and plotted in the figure (templates with ``{v}`` for the variant, such as
  ``"{v}.factors.mig"``, or plain metric names of the run), and the variant pairs compared seed
  by seed on each headline; headlines a sweep did not measure are left out;
- ``sweep_summary(per_seed: dict[int, dict]) -> (dict, str)``: its own verdict over the seeds
  of one grid point (numbers for ``summary.json``, text for ``summary.md``).

Without it every metric is a headline of its own (the first :data:`MAX_PANELS` that are not
timings in the figure) and grid points are compared with the first one. A declared headline
that no run of a grid point measured (a variant left out, or named after a value the sweep
changed) is listed under ``not_measured`` and in ``summary.md``, never dropped in silence.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from geoshape.io import atomic_write_bytes, atomic_write_json
from validation.core.sweepspec import SweepSpec

__all__ = ["describe", "paired", "load_runs", "summarize", "is_timing", "median_range"]

#: Metric names that are wall or CPU times: summarised, but never compared as results.
TIMING_MARKERS = ("seconds", "total_seconds", "train_seconds", "cpu_seconds", "_time")


def is_timing(name: str) -> bool:
    """Whether metric ``name`` is a timing (seconds) rather than a result."""
    return any(m in name for m in TIMING_MARKERS)


def _finite(values) -> np.ndarray:
    a = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {a.shape}")
    return a[np.isfinite(a)]


def describe(values: Sequence[float | None]) -> dict[str, float]:
    """``{n, n_missing, mean, std, median, min, max, q25, q75, iqr}`` of ``values`` (a 1-D
    sequence; None, NaN and inf count as missing). ``std`` has ddof 1 (NaN for n < 2);
    quartiles are numpy's linear interpolation; every statistic is NaN when n = 0."""
    a = _finite(values)
    n = int(a.size)
    out = {"n": n, "n_missing": len(values) - n}
    if n == 0:
        return out | {k: math.nan for k in ("mean", "std", "median", "min", "max", "q25", "q75", "iqr")}
    q25, med, q75 = np.percentile(a, [25, 50, 75])
    return out | {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if n > 1 else math.nan,
                  "median": float(med), "min": float(a.min()), "max": float(a.max()),
                  "q25": float(q25), "q75": float(q75), "iqr": float(q75 - q25)}


def median_range(stats: Mapping[str, float], fmt: str = ".3f") -> str:
    """``"median [min, max] over n seeds"`` of a :func:`describe` result."""
    if not stats["n"]:
        return "no finite value"
    return (f"{stats['median']:{fmt}} [{stats['min']:{fmt}}, {stats['max']:{fmt}}] over {stats['n']} "
            f"seed{'s' if stats['n'] != 1 else ''}")


def paired(a: Mapping[int, float | None], b: Mapping[int, float | None]) -> dict[str, float]:
    """``b`` against ``a`` on the seeds where both are finite (``{seed: value}`` each).

    Returns ``n``, the per-seed differences ``b - a`` summarised (``mean_diff``,
    ``median_diff``, ``min_diff``, ``max_diff``), ``wins`` (b > a), ``losses``, ``ties``, the
    two-sided sign test p-value (``scipy.stats.binomtest`` on wins among non-ties) and the
    two-sided Wilcoxon signed-rank p-value (``scipy.stats.wilcoxon``; NaN when every
    difference is 0). The p-values are NaN for n = 0."""
    import scipy.stats

    seeds = sorted(s for s in set(a) & set(b)
                   if a[s] is not None and b[s] is not None and np.isfinite(a[s]) and np.isfinite(b[s]))
    d = np.array([float(b[s]) - float(a[s]) for s in seeds])
    out = {"n": len(seeds), "wins": int((d > 0).sum()), "losses": int((d < 0).sum()), "ties": int((d == 0).sum())}
    if not seeds:
        return out | {k: math.nan for k in ("mean_diff", "median_diff", "min_diff", "max_diff", "sign_p",
                                            "wilcoxon_p")}
    out |= {"mean_diff": float(d.mean()), "median_diff": float(np.median(d)), "min_diff": float(d.min()),
            "max_diff": float(d.max())}
    k = out["wins"] + out["losses"]
    out["sign_p"] = float(scipy.stats.binomtest(out["wins"], k, 0.5).pvalue) if k else 1.0
    out["wilcoxon_p"] = float(scipy.stats.wilcoxon(d).pvalue) if np.any(d != 0) else math.nan
    return out


def load_runs(out: str | Path) -> dict[str, dict[int, dict[str, float]]]:
    """``{point: {seed: metrics}}`` of every ``OUT/<point>/seed=<s>/metrics.json``."""
    out = Path(out)
    runs: dict[str, dict[int, dict]] = {}
    for f in sorted(out.glob("*/seed=*/metrics.json")):
        point, seed = f.parent.parent.name, int(f.parent.name.split("=", 1)[1])
        runs.setdefault(point, {})[seed] = json.loads(f.read_text())
    return runs


def _headlines(module, keys: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
    """``[(template, {variant: metric})]``: the module's headlines (its ``SWEEP``; a plain name,
    without ``{v}``, is one metric of the run), or every key on its own."""
    variants, templates, _ = _declared(module)
    if templates:
        return [(t, {v: t.format(v=v) for v in variants} if "{v}" in t else {"": t}) for t in templates]
    return [(k, {"": k}) for k in keys]


#: Panels of the summary figure at most (five rows of three).
MAX_PANELS = 15


def _shown(module, keys: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
    """The headlines of :func:`_headlines` that the runs measured (``keys``), each reduced to
    its measured variants; every key on its own when the runs measured none of them (a run
    that skips the headline models, e.g. ``pca_ae_digits --linear_only true``)."""
    present = set(keys)
    heads = [(t, {v: k for v, k in per.items() if k in present}) for t, per in _headlines(module, keys)]
    heads = [(t, per) for t, per in heads if per]
    return heads or [(k, {"": k}) for k in keys]


def not_measured(module, keys: Sequence[str]) -> list[str]:
    """The metrics the module's ``SWEEP`` declares as headlines that are not among ``keys``."""
    present = set(keys)
    return [k for _, per in _headlines(module, []) for k in per.values() if k not in present]


def _declared(module) -> tuple[tuple, tuple, tuple]:
    """``(variants, headlines, pairs)`` of the module's ``SWEEP`` (a checked
    :class:`validation.core.SweepSpec`), or empty ones."""
    spec = getattr(module, "SWEEP", None)
    if spec is None:
        return (), (), ()
    if not isinstance(spec, SweepSpec):
        raise TypeError(f"{module.__name__}.SWEEP must be a validation.core.SweepSpec, got {type(spec).__name__}")
    return spec.variants, spec.headlines, spec.pairs


def summarize(out: str | Path, module=None, *, failures: Sequence[Mapping[str, Any]] = (),
              write: bool = True) -> dict:
    """Statistics of every metric of every grid point of the sweep folder ``out``; see the
    module docstring. ``module``: the experiment module (its ``SWEEP`` declaration and
    ``sweep_summary``), or None. ``failures``: ``[{"point", "seed", "error", "traceback"}]`` to
    report. With ``write``, writes ``out/summary.json``, ``summary.md`` and ``summary.png``.
    Returns the summary dict."""
    out = Path(out)
    runs = load_runs(out)
    points = list(runs)
    summary: dict[str, Any] = {"points": {}, "paired_points": {}, "paired_variants": {}, "failures": list(failures)}
    for point, by_seed in runs.items():
        keys = sorted(set().union(*(m.keys() for m in by_seed.values())))
        summary["points"][point] = {
            "seeds": sorted(by_seed),
            "metrics": {k: describe([by_seed[s].get(k) for s in sorted(by_seed)]) for k in keys},
            "not_measured": not_measured(module, keys),
        }
        hook = getattr(module, "sweep_summary", None)
        if hook is not None:
            numbers, text = hook(by_seed)
            summary["points"][point]["verdict"] = {"numbers": numbers, "text": text}
    # grid points against the first one, seed by seed, on every result metric
    for point in points[1:]:
        ref = points[0]
        common = sorted(set(summary["points"][ref]["metrics"]) & set(summary["points"][point]["metrics"]))
        summary["paired_points"][f"{point} vs {ref}"] = {
            k: paired({s: m.get(k) for s, m in runs[ref].items()}, {s: m.get(k) for s, m in runs[point].items()})
            for k in common if not is_timing(k)}
    # variants of one run against each other, on the headlines
    pairs = _declared(module)[2]
    for point, by_seed in runs.items():
        for template, per_variant in _headlines(module, []):
            for va, vb in pairs:
                if va in per_variant and vb in per_variant:
                    ka, kb = per_variant[va], per_variant[vb]
                    c = paired({s: m.get(ka) for s, m in by_seed.items()}, {s: m.get(kb) for s, m in by_seed.items()})
                    if c["n"]:  # both variants were run (a sweep may leave some out)
                        summary["paired_variants"].setdefault(point, {})[f"{template} | {vb} vs {va}"] = c
    if write:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(_jsonable(summary), out / "summary.json")
        text = _markdown(summary, module, runs)
        atomic_write_bytes(out / "summary.md", lambda fh: fh.write(text.encode()), suffix=".md.tmp")
        if runs:
            _figure(summary, module, runs, out / "summary.png")
    return summary


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    return x


def _fmt(v: float) -> str:
    if v is None or not math.isfinite(v):
        return "nan"
    return f"{v:.3f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def _markdown(summary: dict, module, runs) -> str:
    lines = [f"# Sweep summary: {len(summary['points'])} grid point(s), "
             f"{sum(len(r) for r in runs.values())} finished run(s), {len(summary['failures'])} failed", ""]
    for point, body in summary["points"].items():
        stats = body["metrics"]
        lines += [f"## {point} (seeds {', '.join(map(str, body['seeds']))})", "",
                  "| metric | median [min, max] | mean | std | IQR | n |", "|---|---|---|---|---|---|"]
        keys = [k for _, per in _shown(module, [k for k in stats if not is_timing(k)]) for k in per.values()]
        for k in keys:
            s = stats[k]
            rng = f"{_fmt(s['median'])} [{_fmt(s['min'])}, {_fmt(s['max'])}]"
            lines.append(f"| {k} | {rng} | {_fmt(s['mean'])} | {_fmt(s['std'])} | {_fmt(s['iqr'])} | {s['n']} |")
        if body.get("not_measured"):
            lines += ["", f"Declared headlines no run measured ({len(body['not_measured'])}): "
                      + ", ".join(body["not_measured"])]
        if "verdict" in body:
            lines += ["", body["verdict"]["text"]]
        comp = summary["paired_variants"].get(point, {})
        if comp:
            lines += ["", "Paired over seeds (b - a):", "",
                      "| headline | b vs a | median diff | b>a / b<a / ties | sign p | Wilcoxon p |",
                      "|---|---|---|---|---|---|"]
            for name, c in comp.items():
                t, pair = name.split(" | ")
                lines.append(f"| {t.replace('{v}.', '')} | {pair} | {_fmt(c['median_diff'])} | {c['wins']}/{c['losses']}/{c['ties']} "
                             f"| {_fmt(c['sign_p'])} | {_fmt(c['wilcoxon_p'])} |")
        lines.append("")
    for name, comp in summary["paired_points"].items():
        lines += [f"## {name}, paired over seeds", "", "| metric | median diff | b>a / b<a / ties | sign p | "
                  "Wilcoxon p |", "|---|---|---|---|---|"]
        first = next(iter(summary["points"].values()))["metrics"]
        shown = [k for _, per in _headlines(module, [k for k in first if not is_timing(k)]) for k in per.values()]
        for k in shown:
            if k in comp:
                c = comp[k]
                lines.append(f"| {k} | {_fmt(c['median_diff'])} | {c['wins']}/{c['losses']}/{c['ties']} | "
                             f"{_fmt(c['sign_p'])} | {_fmt(c['wilcoxon_p'])} |")
        lines.append("")
    if summary["failures"]:
        lines += ["## Failed runs", ""]
        for f in summary["failures"]:
            lines += [f"### {f['point']} seed {f['seed']}: {f['error']}", "", "```", f.get("traceback", "").rstrip(),
                      "```", ""]
    return "\n".join(lines) + "\n"


def _figure(summary: dict, module, runs, path: Path) -> None:
    """One strip panel per declared headline measured (every one), or per metric when the
    module declares none (the first :data:`MAX_PANELS`): a column per (grid point, variant), a
    dot per seed, a bar at the median."""
    from validation._plots import finish, pyplot

    first = next(iter(summary["points"].values()))["metrics"]
    keys = [k for k in first if not is_timing(k)]
    heads = _shown(module, keys)
    present = set(keys)
    declared = any(k in present for _, per in _headlines(module, []) for k in per.values())
    left_out = 0 if declared else max(len(heads) - MAX_PANELS, 0)
    heads = heads if declared else heads[:MAX_PANELS]
    plt = pyplot()
    ncol = min(3, len(heads))
    nrow = math.ceil(len(heads) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.2 * nrow), squeeze=False)
    gen = np.random.default_rng(0)  # horizontal jitter only: the figure is the same every time
    for ax, (template, per) in zip(axes.flat, heads):
        labels = []
        for point, by_seed in runs.items():
            for v, key in per.items():
                vals = _finite([m.get(key) for m in by_seed.values()])
                x = len(labels)
                labels.append(f"{v}\n{point}" if len(runs) > 1 and v else (v or point))
                if vals.size:
                    ax.scatter(x + gen.uniform(-0.12, 0.12, vals.size), vals, s=14, alpha=0.7)
                    ax.hlines(np.median(vals), x - 0.3, x + 0.3, color="k", lw=1.5)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
        ax.set_title(template.replace("{v}.", ""), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(heads):]:
        ax.axis("off")
    fig.suptitle("Over seeds: one dot per seed, bar at the median"
                 + (f" ({left_out} more metrics in summary.md)" if left_out else ""), fontsize=10)
    finish(fig, path, dpi=90)
