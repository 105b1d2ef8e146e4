"""The authors' net: the transposed convolutions' bias inside the convolution or added after.

    python -m validation.bench.official [--quick] [--steps N] [--repeats R] [--out DIR]

``nets.OfficialAE`` adds each ``ConvTranspose2d``'s bias after the convolution
(``conv_transpose2d(h, w) + b``) instead of passing it to the convolution: the same parameters,
the same state dict, outputs equal to float rounding. This benchmark trains the authors' net
under their protocol (1000 8-bit disks, batch 64, Adam 0.01, keep-best every 500 steps, one
thread) both ways, in blocks ordered fused, after, after, fused so that the machine's drift
weighs on both sides, and reports steps/s, their ratio, and the largest difference between the
two decoders' outputs on the same weights. Writes ``metrics.json`` and ``bench_official.png``
atomically into ``--out`` (default ``results/bench_official``, ``_quick`` appended with
``--quick``). ``--quick``: 100 steps a block (a few seconds in all).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.nn import functional as F

import nets
from geoshape.io import atomic_write_json
from nets.official import OfficialAE, OfficialAEConfig
from validation._plots import finish, pyplot
from validation.runs import official as R

__all__ = ["FusedBiasAE", "measure", "main", "cli"]


class FusedBiasAE(OfficialAE):
    """The baseline: each transposed convolution computes its bias inside ``conv_transpose2d``."""

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = nets._checks.model_codes(z, self, self.config.latent_dim)[:, :, None, None]
        for conv in self.decoder:
            h = F.leaky_relu(conv(h), self.config.leaky_slope)
        return h


def _steps_per_second(cls, images: np.ndarray, steps: int) -> float:
    model = cls(OfficialAEConfig(), seed=0)
    cfg = R.authors_train_config(steps=steps, seed=1, threads=1)
    t0 = time.perf_counter()
    nets.train(model, images, cfg)
    return steps / (time.perf_counter() - t0)


def measure(steps: int = 1000, repeats: int = 2) -> dict:
    """Steps/s of both variants in blocks fused, after, after, fused (``repeats`` times)."""
    images, _ = R.authors_data(1000, seed=0)
    torch.set_num_threads(1)
    _steps_per_second(OfficialAE, images, 20)       # warm-up: first-call costs out of the blocks
    fused, after = [], []
    for _ in range(repeats):
        fused.append(_steps_per_second(FusedBiasAE, images, steps))
        after.append(_steps_per_second(OfficialAE, images, steps))
        after.append(_steps_per_second(OfficialAE, images, steps))
        fused.append(_steps_per_second(FusedBiasAE, images, steps))
    a, b = OfficialAE(seed=3), FusedBiasAE(seed=3)
    with torch.no_grad():  # trained biases are not zero: compare with some
        gen = torch.Generator().manual_seed(4)
        for conv in a.decoder:
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=gen) * 0.1)
    b.load_state_dict(a.state_dict())
    z = torch.linspace(-2.0, 2.0, 64)[:, None]
    with torch.no_grad():
        diff = float((a.decode(z) - b.decode(z)).abs().max())
    return {"steps_per_second_fused": float(np.mean(fused)), "steps_per_second_after": float(np.mean(after)),
            "ratio_after_over_fused": float(np.sum(after) / np.sum(fused)), "blocks": len(fused),
            "steps_per_block": steps, "max_abs_output_difference": diff,
            "fused_each": fused, "after_each": after}


def main(out: Path, steps: int, repeats: int) -> dict:
    m = measure(steps, repeats)
    fig, ax = pyplot().subplots(figsize=(5.0, 3.2))
    ax.plot(m["fused_each"], "o-", label="bias inside conv_transpose2d")
    ax.plot(m["after_each"], "s-", label="bias added after")
    ax.set_xticks(range(len(m["fused_each"])))
    ax.set_xlabel("block of each variant (run in the order fused, after, after, fused)")
    ax.set_ylabel("steps/s (one thread)")
    ax.set_title(f"authors' net: after / fused = {m['ratio_after_over_fused']:.2f}", fontsize=9)
    ax.legend(fontsize=8)
    finish(fig, out / "bench_official.png", dpi=110)
    atomic_write_json({k: v for k, v in m.items() if not k.endswith("_each")}, out / "metrics.json")
    return m


def cli(argv: Sequence[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="100 steps a block")
    p.add_argument("--steps", type=int, default=1000, help="optimiser steps a block, >= 10")
    p.add_argument("--repeats", type=int, default=2, help="blocks fused, after, after, fused; >= 1")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default results/bench_official, results/bench_official_quick with --quick)")
    args = p.parse_args(argv)
    steps = 100 if args.quick else args.steps
    if steps < 10 or args.repeats < 1:
        p.error("--steps must be >= 10 and --repeats >= 1")
    out = args.out or Path("results/bench_official_quick" if args.quick else "results/bench_official")
    m = main(out, steps, args.repeats)
    print(f"fused {m['steps_per_second_fused']:.1f} steps/s, after {m['steps_per_second_after']:.1f} steps/s: "
          f"ratio {m['ratio_after_over_fused']:.3f} ({m['blocks']} blocks of {steps} steps each side); "
          f"largest output difference {m['max_abs_output_difference']:.2e}")
    print(f"wrote {out}/{{metrics.json, bench_official.png}}")
    return m


if __name__ == "__main__":
    cli(sys.argv[1:])
