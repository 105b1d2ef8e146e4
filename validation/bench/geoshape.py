"""Benchmark: geoshape's exact blurred disks and ellipses against the usual ways to make them.

    python -m validation.bench.geoshape [--quick] [--n N] [--seed S] [--out DIR]

Measured in one run, on the same random 64x64 images (radius uniform in [1, 24) pixels,
sub-pixel centres uniform within 8 pixels of the image centre, sigma = 1):

- ``geoshape.disks`` / ``geoshape.ellipses`` (numba, all cores);
- (a) a plain loop: point-sampled indicator + ``scipy.ndimage.gaussian_filter``;
- (b) the official code's method: the indicator averaged over 800 random Gaussian shifts
  of the centre (a Monte-Carlo blur);
- (c) ``scipy.stats.ncx2.cdf`` per pixel (exact; also once per distinct pixel distance).

Each method's worst absolute error against the exact closed form is reported next to its
speed, and speeds as ratios to geoshape measured in the same run. Also the first-call cost
(JIT compilation) in a fresh process, with numba's on-disk cache cold and warm.
Writes ``metrics.json`` into ``--out`` (default ``results/bench_geoshape``,
``results/bench_geoshape_quick`` with ``--quick``).

Measured on the 2-core development machine: see the README ("Benchmarks").
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from scipy import ndimage
from scipy.stats import ncx2

import geoshape
from geoshape.io import atomic_write_json


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    n: int = 20000          # images per timed geoshape call
    n_slow: int = 200       # images for the slow baselines (a), (c)
    n_official: int = 20    # images for baseline (b)
    size: int = 64
    sigma: float = 1.0
    repeats: int = 3        # best of
    seed: int = 0
    out: str = "results/bench_geoshape"
    jit: bool = True        # measure first-call cost in fresh processes


QUICK = dict(n=2000, n_slow=40, n_official=4, repeats=2, jit=False)


def _params(cfg, n, rng):
    radii = rng.uniform(1.0, 24.0, n)
    centres = (cfg.size - 1) / 2 + rng.uniform(-8.0, 8.0, (n, 2))
    return radii, centres


def _best_time(fn, repeats):
    best = np.inf
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _exact(radii, centres, size, sigma):
    jj, ii = np.meshgrid(np.arange(size), np.arange(size))
    out = np.empty((len(radii), size, size))
    for k, (r, (cx, cy)) in enumerate(zip(radii, centres)):
        d = np.hypot(jj - cx, ii - cy)
        out[k] = ncx2.cdf((r / sigma) ** 2, 2, (d / sigma) ** 2)
    return out


def _exact_by_distinct_distance(radii, centres, size, sigma):
    jj, ii = np.meshgrid(np.arange(size), np.arange(size))
    out = np.empty((len(radii), size, size))
    for k, (r, (cx, cy)) in enumerate(zip(radii, centres)):
        d2 = (jj - cx) ** 2 + (ii - cy) ** 2
        uniq, inv = np.unique(d2, return_inverse=True)
        out[k] = ncx2.cdf((r / sigma) ** 2, 2, uniq / sigma ** 2)[inv].reshape(size, size)
    return out


def _indicator_filter(radii, centres, size, sigma):
    jj, ii = np.meshgrid(np.arange(size), np.arange(size))
    out = np.empty((len(radii), size, size))
    for k, (r, (cx, cy)) in enumerate(zip(radii, centres)):
        ind = ((jj - cx) ** 2 + (ii - cy) ** 2 <= r * r).astype(np.float64)
        out[k] = ndimage.gaussian_filter(ind, sigma, mode="constant")
    return out


def _official(radii, centres, size, sigma, rng, shifts=800):
    jj, ii = np.meshgrid(np.arange(size), np.arange(size))
    out = np.empty((len(radii), size, size))
    for k, (r, (cx, cy)) in enumerate(zip(radii, centres)):
        acc = np.zeros((size, size))
        for dx, dy in rng.normal(0.0, sigma, (shifts, 2)):
            acc += (jj - cx - dx) ** 2 + (ii - cy - dy) ** 2 <= r * r
        out[k] = acc / shifts
    return out


def _ellipse_params(cfg, n, rng):
    a = rng.uniform(4.0, 24.0, n)
    b = rng.uniform(4.0, 24.0, n)
    theta = rng.uniform(0.0, np.pi, n)
    centres = (cfg.size - 1) / 2 + rng.uniform(-4.0, 4.0, (n, 2))
    return a, b, theta, centres


def _ellipse_filter(a, b, theta, centres, size, sigma):
    jj, ii = np.meshgrid(np.arange(size), np.arange(size))
    out = np.empty((len(a), size, size))
    for k in range(len(a)):
        c, s = np.cos(theta[k]), np.sin(theta[k])
        u = (jj - centres[k, 0]) * c + (ii - centres[k, 1]) * s
        v = -(jj - centres[k, 0]) * s + (ii - centres[k, 1]) * c
        ind = ((u / a[k]) ** 2 + (v / b[k]) ** 2 <= 1).astype(np.float64)
        out[k] = ndimage.gaussian_filter(ind, sigma, mode="constant")
    return out


_JIT_SNIPPET = """
import time
t0 = time.perf_counter()
import geoshape
t1 = time.perf_counter()
geoshape.disks([3.0], size=64)
t2 = time.perf_counter()
geoshape.ellipses([5.0], [3.0], [0.3], size=64)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def _first_call_cost():
    """Import and first-call seconds in fresh processes: cold cache, then warm cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        res = {}
        for label in ("cold", "warm"):
            out = subprocess.run([sys.executable, "-c", _JIT_SNIPPET], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            imp, disk, ell = map(float, out)
            res[f"jit_{label}_import_s"] = imp
            res[f"jit_{label}_first_disks_s"] = disk
            res[f"jit_{label}_first_ellipses_s"] = ell
    return res


def main(cfg: BenchConfig) -> dict:
    rng = np.random.default_rng(cfg.seed)
    size, sigma = cfg.size, cfg.sigma
    m: dict[str, float] = {"threads": float(numba.get_num_threads())}

    radii, centres = _params(cfg, cfg.n, rng)
    geoshape.disks(radii[:8], centres[:8], size=size, sigma=sigma)  # compile / load cache
    t, imgs = _best_time(lambda: geoshape.disks(radii, centres, size=size, sigma=sigma),
                         cfg.repeats)
    m["disks_per_s"] = cfg.n / t
    k = cfg.n_slow
    exact = _exact(radii[:k], centres[:k], size, sigma)
    m["disks_max_abs_err"] = float(np.abs(imgs[:k] - exact).max())

    t, _ = _best_time(lambda: _exact(radii[:k], centres[:k], size, sigma), 1)
    m["ncx2_per_pixel_per_s"] = k / t
    t, _ = _best_time(lambda: _exact_by_distinct_distance(radii[:k], centres[:k], size, sigma), 1)
    m["ncx2_distinct_per_s"] = k / t
    t, filt = _best_time(lambda: _indicator_filter(radii[:k], centres[:k], size, sigma),
                         cfg.repeats)
    m["filter_per_s"] = k / t
    m["filter_max_abs_err"] = float(np.abs(filt - exact).max())
    j = cfg.n_official
    t, off = _best_time(lambda: _official(radii[:j], centres[:j], size, sigma,
                                          np.random.default_rng(cfg.seed)), 1)
    m["official_per_s"] = j / t
    m["official_max_abs_err"] = float(np.abs(off - exact[:j]).max())
    m["speedup_vs_filter"] = m["disks_per_s"] / m["filter_per_s"]
    m["speedup_vs_official"] = m["disks_per_s"] / m["official_per_s"]
    m["speedup_vs_ncx2"] = m["disks_per_s"] / m["ncx2_per_pixel_per_s"]
    m["speedup_vs_ncx2_distinct"] = m["disks_per_s"] / m["ncx2_distinct_per_s"]

    a, b, theta, ec = _ellipse_params(cfg, cfg.n, rng)
    geoshape.ellipses(a[:8], b[:8], theta[:8], ec[:8], size=size, sigma=sigma)
    t, _ = _best_time(lambda: geoshape.ellipses(a, b, theta, ec, size=size, sigma=sigma),
                      cfg.repeats)
    m["ellipses_per_s"] = cfg.n / t
    t, _ = _best_time(lambda: _ellipse_filter(a[:k], b[:k], theta[:k], ec[:k], size, sigma),
                      cfg.repeats)
    m["ellipse_filter_per_s"] = k / t
    m["ellipse_speedup_vs_filter"] = m["ellipses_per_s"] / m["ellipse_filter_per_s"]
    # Ellipse accuracy where a closed form exists: a == b is the disk.
    circ = geoshape.ellipses(radii[:k], radii[:k], theta[:k], centres[:k], size=size, sigma=sigma)
    m["ellipses_equal_axes_max_abs_err"] = float(np.abs(circ - exact).max())

    if cfg.jit:
        m.update(_first_call_cost())

    _print_table(m)
    out = Path(cfg.out)
    atomic_write_json(dataclasses.asdict(cfg), out / "config.json")
    atomic_write_json(m, out / "metrics.json")
    return m


def _print_table(m):
    rows = [
        ("geoshape.disks", m["disks_per_s"], m["disks_max_abs_err"], 1.0),
        ("(a) indicator + gaussian_filter", m["filter_per_s"], m["filter_max_abs_err"],
         m["speedup_vs_filter"]),
        ("(b) official: 800 Gaussian shifts", m["official_per_s"], m["official_max_abs_err"],
         m["speedup_vs_official"]),
        ("(c) ncx2.cdf per pixel", m["ncx2_per_pixel_per_s"], 0.0, m["speedup_vs_ncx2"]),
        ("(c') ncx2.cdf per distinct distance", m["ncx2_distinct_per_s"], 0.0,
         m["speedup_vs_ncx2_distinct"]),
        ("geoshape.ellipses", m["ellipses_per_s"], m["ellipses_equal_axes_max_abs_err"], 1.0),
        ("(a) ellipse indicator + filter", m["ellipse_filter_per_s"], float("nan"),
         m["ellipse_speedup_vs_filter"]),
    ]
    print(f"{'method (64x64, sigma=1)':38s} {'images/s':>12s} {'max|err|':>10s} {'geoshape x':>11s}")
    for name, rate, err, ratio in rows:
        print(f"{name:38s} {rate:12,.0f} {err:10.2g} {ratio:11.1f}")
    if "jit_cold_first_disks_s" in m:
        print(f"first call (fresh process): cold cache {m['jit_cold_first_disks_s']:.2f} s disks + "
              f"{m['jit_cold_first_ellipses_s']:.2f} s ellipses; warm cache "
              f"{m['jit_warm_first_disks_s']:.2f} s + {m['jit_warm_first_ellipses_s']:.2f} s")


def cli(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, no JIT measurement (< 30 s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None,
                   help=f"output folder (default {BenchConfig.out}, {BenchConfig.out}_quick with --quick)")
    p.add_argument("--n", type=int, default=None, help="images per timed geoshape call")
    args = p.parse_args(argv)
    kw = dict(QUICK) if args.quick else {}
    if args.n is not None:
        if args.n < 10:
            p.error("--n must be >= 10")
        kw["n"] = args.n
    out = args.out or (BenchConfig.out + "_quick" if args.quick else BenchConfig.out)
    cfg = BenchConfig(seed=args.seed, out=out, **kw)
    return main(cfg)


if __name__ == "__main__":
    cli()
