"""The generated part of ``docs/results/NAME.md``: every kept sweep's headlines, from its summary.

    python -m validation.runners.pages [--check] [--root DIR]

A kept sweep is a folder ``docs/sweeps/*/`` written by :mod:`validation.runners.sweep` (its
``sweep.json`` names the experiment, its ``summary.json`` holds the statistics over seeds).
For each experiment with kept sweeps, the block between the lines ``<!-- generated: kept
sweeps -->`` and ``<!-- end generated -->`` of its results page is rewritten: per sweep and grid
point, median [min, max] and the number of seeds of every headline the experiment's ``SWEEP``
declares (:func:`validation.runners.summary.summarize`'s choice). A page without the markers
gets the block appended. The prose around it, which reads the numbers, stays hand-written.
``--check`` writes nothing and exits 1 naming the pages whose block is not what the summaries
give (the test suite runs it, so that a page never quotes a stale table).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from geoshape.io import atomic_write_bytes
from validation.core.registry import module as experiment_module
from validation.runners.summary import _fmt, _shown, is_timing

__all__ = ["BEGIN", "END", "kept_sweeps", "block", "update", "main"]

BEGIN = "<!-- generated: kept sweeps -->"
END = "<!-- end generated -->"
ROOT = Path(__file__).resolve().parents[2]


def kept_sweeps(root: Path = ROOT) -> dict[str, list[Path]]:
    """``{experiment: [sweep folders]}`` of ``root/docs/sweeps``, folders in name order."""
    out: dict[str, list[Path]] = {}
    for f in sorted((Path(root) / "docs" / "sweeps").glob("*/sweep.json")):
        if (f.parent / "summary.json").is_file():
            out.setdefault(json.loads(f.read_text(encoding="utf-8"))["experiment"], []).append(f.parent)
    return out


def block(name: str, folders: Sequence[Path], root: Path = ROOT) -> str:
    """The generated block of experiment ``name`` for its kept sweep ``folders`` (markers included)."""
    mod = experiment_module(name)
    lines = [BEGIN, "", "### Kept sweeps (generated from their summaries)", "",
             "Regenerate with `python -m validation.runners.pages`; median [min, max] over the seeds.", ""]
    for folder in folders:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        spec = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
        rel = folder.relative_to(root).as_posix()
        for point, body in summary["points"].items():
            seeds = body["seeds"]
            stats = body["metrics"]
            lines += [f"`{rel}`, {point}{' (quick)' if spec.get('quick') else ''}, seeds "
                      f"{', '.join(map(str, seeds))}:", "",
                      "| headline | median [min, max] | n |", "|---|---|---|"]
            for _, per in _shown(mod, [k for k in stats if not is_timing(k)]):
                for key in per.values():
                    s = stats[key]
                    lines.append(f"| `{key}` | {_fmt(s['median'])} [{_fmt(s['min'])}, {_fmt(s['max'])}] | {s['n']} |")
            lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def _with_block(text: str, new: str) -> str:
    if BEGIN in text and END in text:
        i, j = text.index(BEGIN), text.index(END) + len(END)
        return text[:i] + new.rstrip("\n") + text[j:]
    return text.rstrip("\n") + "\n\n" + new


def update(root: Path = ROOT, *, check: bool = False) -> list[Path]:
    """Rewrite (or with ``check`` only compare) the generated block of every results page with
    kept sweeps; returns the pages whose block changed (or would change)."""
    root = Path(root)
    if not (root / "docs" / "sweeps").is_dir() or not (root / "docs" / "results").is_dir():
        raise ValueError(f"root must be a repository with docs/sweeps and docs/results, got {str(root)!r}")
    changed = []
    for name, folders in kept_sweeps(root).items():
        page = root / "docs" / "results" / f"{name}.md"
        if not page.is_file():
            raise FileNotFoundError(f"kept sweeps of {name} but no results page {page}")
        text = page.read_text(encoding="utf-8")
        new = _with_block(text, block(name, folders, root))
        if new != text:
            changed.append(page)
            if not check:
                atomic_write_bytes(page, lambda fh, b=new.encode("utf-8"): fh.write(b), suffix=".md.tmp")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m validation.runners.pages", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page's block is stale")
    p.add_argument("--root", type=Path, default=ROOT, help="the repository (docs/sweeps, docs/results)")
    args = p.parse_args(argv)
    changed = update(args.root, check=args.check)
    for page in changed:
        print(f"{'stale' if args.check else 'rewrote'}: {page}")
    if not changed:
        print("every results page's kept-sweeps block is up to date")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
