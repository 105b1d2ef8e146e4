"""``python -m validation``: every experiment with its claim and its quick and full run times."""

from __future__ import annotations

import sys
import textwrap

from validation.core.registry import EXPERIMENTS


def listing(width: int = 100) -> str:
    """The experiments as text: name, times, the claim (wrapped to ``width``)."""
    lines = ["geoshape experiments: python -m validation.NAME [--quick] [--seed S] [--out DIR] [--help]", "",
             "Times: 2-core development machine, seed 0, one thread a training.", ""]
    for e in EXPERIMENTS:
        lines.append(f"{e.name}  (quick {e.quick_time}, full {e.full_time})")
        lines += textwrap.wrap(e.claim, width, initial_indent="    ", subsequent_indent="    ")
    lines += ["", "Over seeds: python -m validation.runners.sweep NAME --seeds 0:10;  all at once: python -m "
              "validation.runners.report [--quick]"]
    return "\n".join(lines)


def main(argv=None) -> int:
    print(listing())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
